# RFC 7383 fragments in the responder (reassembly, our fragments) and the
# IKE_SA_INIT guard (per-source rate limit, half-open bound): cmocka, label
# unit, on the exchange tests' fixture and test initiator.
foreach(t frag guard)
  add_executable(test_ikeexch_${t} ${CMAKE_CURRENT_LIST_DIR}/test_exch_${t}.c)
  target_link_libraries(test_ikeexch_${t} PRIVATE mgate_ikeexch_testlib PkgConfig::CMOCKA
                        Threads::Threads)
  add_test(NAME ikeexch_${t} COMMAND test_ikeexch_${t})
  set_tests_properties(ikeexch_${t} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()
