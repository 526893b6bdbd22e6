# Unit tests of iked's core library (iked/iked_lib.cmake): the [iked]
# section, proposal selection, the lease pool. cmocka, label unit.
foreach(t iked_conf ike_proposal lease_pool)
  add_executable(test_ikedconf_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_ikedconf_${t} PRIVATE mgate_iked_core PkgConfig::CMOCKA)
  add_test(NAME ikedconf_${t} COMMAND test_ikedconf_${t})
  set_tests_properties(ikedconf_${t} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
# The [iked] example in docs/config.md is parsed as written.
target_compile_definitions(test_ikedconf_iked_conf
                           PRIVATE MGATE_DOCS_CONFIG_MD="${PROJECT_SOURCE_DIR}/docs/config.md")
