# IKE SA checkpoint benchmark (an executable, not a test): per-SA save,
# update, delete and a full load on tmpfs (iked/README.md, "Restart").
add_executable(ckpt_bench ${CMAKE_CURRENT_LIST_DIR}/ckpt_bench.c)
target_link_libraries(ckpt_bench PRIVATE mgate_iked_core)
set_target_properties(ckpt_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/bench)
