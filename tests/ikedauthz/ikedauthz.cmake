# Unit tests of authorization by policyd, the pure part (iked/ike_grant.h):
# selector narrowing against a grant, the grant cache, and IKE_AUTH held
# for policyd and resumed. cmocka, label unit.
foreach(t ts_narrow grant_cache)
  add_executable(test_ikedauthz_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_ikedauthz_${t} PRIVATE mgate_iked_core PkgConfig::CMOCKA)
  add_test(NAME ikedauthz_${t} COMMAND test_ikedauthz_${t})
  set_tests_properties(ikedauthz_${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()

# IKE_AUTH held and resumed with a grant, on the exchange tests' initiator
# (tests/ikeexch: mgate_ikeexch_testlib).
add_executable(test_ikedauthz_exch ${CMAKE_CURRENT_LIST_DIR}/test_exch_authz.c)
target_link_libraries(test_ikedauthz_exch PRIVATE mgate_ikeexch_testlib PkgConfig::CMOCKA)
add_test(NAME ikedauthz_exch COMMAND test_ikedauthz_exch)
set_tests_properties(ikedauthz_exch PROPERTIES LABELS unit TIMEOUT 120)
