# libFuzzer target for policyd's policy values and group paths (clang,
# -DMGATE_FUZZ=ON), label fuzz: runs for a bounded time from its seeds.
if(MGATE_FUZZ AND CMAKE_C_COMPILER_ID STREQUAL "Clang")
  add_executable(fuzz_policy ${CMAKE_CURRENT_LIST_DIR}/fuzz_policy.c
                             ${PROJECT_SOURCE_DIR}/policyd/policy.c
                             ${PROJECT_SOURCE_DIR}/policyd/policy_resolve.c)
  target_include_directories(fuzz_policy PRIVATE ${PROJECT_SOURCE_DIR}/policyd)
  target_compile_options(fuzz_policy PRIVATE -fsanitize=fuzzer,address,undefined
                                             -fno-sanitize-recover=undefined)
  target_link_options(fuzz_policy PRIVATE -fsanitize=fuzzer,address,undefined)
  add_test(NAME fuzz_policy
           COMMAND fuzz_policy -max_total_time=${MGATE_FUZZ_SECONDS} -rss_limit_mb=1024 -timeout=10
                   -max_len=512 ${CMAKE_CURRENT_BINARY_DIR}/fuzz_policy_corpus
                   ${CMAKE_CURRENT_LIST_DIR}/corpus/policy)
  set_tests_properties(fuzz_policy PROPERTIES LABELS fuzz TIMEOUT 300)
  file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz_policy_corpus)
endif()
