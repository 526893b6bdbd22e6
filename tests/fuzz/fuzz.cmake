# libFuzzer targets; only with -DMGATE_FUZZ=ON and clang. Each fuzzer is
# built from its library's sources again with coverage instrumentation, so
# the regular libraries stay uninstrumented.
if(MGATE_FUZZ AND CMAKE_C_COMPILER_ID STREQUAL "Clang")
  set(mgate_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
                       -fno-omit-frame-pointer -g)

  # fuzz_ike_msg: the IKEv2 message codec (iked/ike_codec.cmake).
  get_target_property(ikecodec_sources mgate_ikecodec SOURCES)
  get_target_property(ikecodec_includes mgate_ikecodec INCLUDE_DIRECTORIES)
  add_executable(fuzz_ike_msg ${CMAKE_CURRENT_LIST_DIR}/fuzz_ike_msg.c ${ikecodec_sources})
  target_include_directories(fuzz_ike_msg PRIVATE ${ikecodec_includes})
  target_compile_options(fuzz_ike_msg PRIVATE ${mgate_fuzz_flags})
  target_link_options(fuzz_ike_msg PRIVATE ${mgate_fuzz_flags})

  # New inputs go to a scratch corpus in the build tree; the seeds in the
  # source tree are only read.
  set(fuzz_ike_msg_work ${CMAKE_CURRENT_BINARY_DIR}/fuzz_ike_msg_corpus)
  file(MAKE_DIRECTORY ${fuzz_ike_msg_work})
  add_test(NAME fuzz_ike_msg
           COMMAND fuzz_ike_msg -max_total_time=${MGATE_FUZZ_SECONDS} -rss_limit_mb=1024 -max_len=4096
                   -print_final_stats=1 -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/
                   ${fuzz_ike_msg_work} ${CMAKE_CURRENT_LIST_DIR}/corpus/ike_msg)
  set_tests_properties(fuzz_ike_msg PROPERTIES LABELS fuzz TIMEOUT 180)
endif()
