# fuzz_ike_frag: RFC 7383 reassembly (iked/ike_frag.c, instrumented) driven
# by a script of authentic, forged and raw fragments; label fuzz, bounded
# by MGATE_FUZZ_SECONDS.
if(MGATE_FUZZ AND CMAKE_C_COMPILER_ID STREQUAL "Clang")
  add_executable(fuzz_ike_frag ${CMAKE_CURRENT_LIST_DIR}/fuzz_ike_frag.c
                               ${CMAKE_SOURCE_DIR}/iked/ike_frag.c)
  target_compile_options(fuzz_ike_frag PRIVATE -fsanitize=fuzzer,address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
  target_link_options(fuzz_ike_frag PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_ike_frag PRIVATE mgate_iked_core)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz_ike_frag_corpus)
  add_test(NAME fuzz_ike_frag
           COMMAND fuzz_ike_frag -max_total_time=${MGATE_FUZZ_SECONDS} -rss_limit_mb=1024
                   -timeout=10 -max_len=16384 -artifact_prefix=${CMAKE_CURRENT_BINARY_DIR}/
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz_ike_frag_corpus
                   ${CMAKE_CURRENT_LIST_DIR}/corpus/ike_frag)
  set_tests_properties(fuzz_ike_frag PROPERTIES LABELS fuzz TIMEOUT 300)
endif()
