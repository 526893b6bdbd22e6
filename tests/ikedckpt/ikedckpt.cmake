# Unit tests of the IKE SA checkpoint (iked/iked_checkpoint*.c): record and
# file round trips, refused files, file modes. cmocka, label unit.
add_executable(test_ikedckpt_checkpoint ${CMAKE_CURRENT_LIST_DIR}/test_checkpoint.c)
target_link_libraries(test_ikedckpt_checkpoint PRIVATE mgate_iked_core PkgConfig::CMOCKA)
add_test(NAME ikedckpt_checkpoint COMMAND test_ikedckpt_checkpoint)
set_tests_properties(ikedckpt_checkpoint PROPERTIES LABELS unit TIMEOUT 120)
