# libFuzzer targets for common/ parsers (clang, -DMGATE_FUZZ=ON), label fuzz:
# each runs for a bounded time from its seed corpus.
if(MGATE_FUZZ AND CMAKE_C_COMPILER_ID STREQUAL "Clang")
  foreach(t ipc_frame conf)
    add_executable(fuzz_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c)
    target_compile_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${t} PRIVATE mgate_common)
    add_test(NAME fuzz_${t}
             COMMAND fuzz_${t} -max_total_time=${MGATE_FUZZ_SECONDS} -rss_limit_mb=1024
                     -timeout=10 ${CMAKE_CURRENT_BINARY_DIR}/fuzz_${t}_corpus
                     ${CMAKE_CURRENT_LIST_DIR}/corpus/${t})
    set_tests_properties(fuzz_${t} PROPERTIES LABELS fuzz TIMEOUT 300)
    file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz_${t}_corpus)
  endforeach()
endif()
