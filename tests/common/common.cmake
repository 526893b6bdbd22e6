# Unit tests of common/ (cmocka), label unit.
foreach(t conf frame envelope db ipc)
  add_executable(test_common_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_common_${t} PRIVATE mgate_common PkgConfig::CMOCKA)
  add_test(NAME common_${t} COMMAND test_common_${t})
  set_tests_properties(common_${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()
