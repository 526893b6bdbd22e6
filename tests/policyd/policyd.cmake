# policyd: registry and enrollment with mgate's CA, through mgatectl (netns);
# password hashing and serials (unit, cmocka).
add_test(NAME policyd_enroll COMMAND ${CMAKE_CURRENT_LIST_DIR}/policyd.sh ${CMAKE_BINARY_DIR})
set_tests_properties(policyd_enroll PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)

add_executable(test_policyd_enroll ${CMAKE_CURRENT_LIST_DIR}/test_enroll.c)
target_link_libraries(test_policyd_enroll PRIVATE mgate_policyd PkgConfig::CMOCKA)
add_test(NAME policyd_unit COMMAND test_policyd_enroll)
set_tests_properties(policyd_unit PROPERTIES LABELS unit TIMEOUT 60)

# Policy values and the resolution of effective policies; compliance rules.
add_executable(test_policyd_policy ${CMAKE_CURRENT_LIST_DIR}/test_policy.c)
target_link_libraries(test_policyd_policy PRIVATE mgate_policyd PkgConfig::CMOCKA)
add_test(NAME policyd_policy_unit COMMAND test_policyd_policy)
set_tests_properties(policyd_policy_unit PROPERTIES LABELS unit TIMEOUT 60)

# Groups, policies, compliance, authorization and AccessChanged events
# through mgatectl and ipc_probe (netns).
add_test(NAME policyd_access COMMAND ${CMAKE_CURRENT_LIST_DIR}/access.sh ${CMAKE_BINARY_DIR})
set_tests_properties(policyd_access PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)
add_executable(test_policyd_compliance ${CMAKE_CURRENT_LIST_DIR}/test_compliance.c)
target_link_libraries(test_policyd_compliance PRIVATE mgate_policyd PkgConfig::CMOCKA)
add_test(NAME policyd_compliance_unit COMMAND test_policyd_compliance)
set_tests_properties(policyd_compliance_unit PROPERTIES LABELS unit TIMEOUT 60)

# External-CA mode: registration of certificates issued elsewhere (netns).
add_test(NAME policyd_extca COMMAND ${CMAKE_CURRENT_LIST_DIR}/extca.sh ${CMAKE_BINARY_DIR})
set_tests_properties(policyd_extca PROPERTIES LABELS netns TIMEOUT 120 SKIP_RETURN_CODE 77)
