# Unit tests of the IKEv2 message codec (iked/ike_codec.cmake).
set(ikemsg_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(ikemsg_testutil STATIC ${ikemsg_dir}/ikemsg_test.c)
target_link_libraries(ikemsg_testutil PUBLIC mgate_ikecodec)
target_include_directories(ikemsg_testutil PUBLIC ${ikemsg_dir})

foreach(t parse payload build)
  add_executable(test_ikemsg_${t} ${ikemsg_dir}/test_ikemsg_${t}.c)
  target_link_libraries(test_ikemsg_${t} PRIVATE ikemsg_testutil PkgConfig::CMOCKA)
  add_test(NAME ikemsg_${t} COMMAND test_ikemsg_${t})
  set_tests_properties(ikemsg_${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()

# Writes the fuzzer's seed corpus (tests/fuzz/corpus/ike_msg) from messages
# the codec's builder produces: `ikemsg_gen_corpus <dir>`.
add_executable(ikemsg_gen_corpus ${ikemsg_dir}/ikemsg_gen_corpus.c)
target_link_libraries(ikemsg_gen_corpus PRIVATE ikemsg_testutil)

# The fuzz target's checks (parse, validate, rebuild, re-parse) run over the
# seed corpus in every build, with or without clang/libFuzzer.
add_executable(ikemsg_fuzz_replay ${ikemsg_dir}/ikemsg_fuzz_replay.c
               ${CMAKE_CURRENT_LIST_DIR}/../fuzz/fuzz_ike_msg.c)
target_link_libraries(ikemsg_fuzz_replay PRIVATE mgate_ikecodec)
add_test(NAME ikemsg_fuzz_replay
         COMMAND ikemsg_fuzz_replay ${CMAKE_CURRENT_LIST_DIR}/../fuzz/corpus/ike_msg)
set_tests_properties(ikemsg_fuzz_replay PROPERTIES LABELS unit TIMEOUT 60)
