# Unit tests of authorization by policyd, the pure part (iked/ike_grant.h):
# selector narrowing against a grant and the grant cache. cmocka, label unit.
foreach(t ts_narrow grant_cache)
  add_executable(test_ikedauthz_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_ikedauthz_${t} PRIVATE mgate_iked_core PkgConfig::CMOCKA)
  add_test(NAME ikedauthz_${t} COMMAND test_ikedauthz_${t})
  set_tests_properties(ikedauthz_${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()
