# Unit tests of the responder's exchanges (cmocka, label unit): a test
# initiator on the same codec and crypto drives IKE_SA_INIT, IKE_AUTH and
# INFORMATIONAL against ike_exch_* with certificates made at run time.
find_package(Threads REQUIRED)
add_library(mgate_ikeexch_testlib STATIC ${CMAKE_CURRENT_LIST_DIR}/ti.c ${CMAKE_CURRENT_LIST_DIR}/fx.c
            ${CMAKE_CURRENT_LIST_DIR}/ti_frag.c ${CMAKE_CURRENT_LIST_DIR}/ti_rekey.c)
target_include_directories(mgate_ikeexch_testlib PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(mgate_ikeexch_testlib PUBLIC mgate_iked_core mgate_ikecrypto_testpki
                      PkgConfig::SQLITE)

foreach(t ok bad cookie mobike rekey)
  add_executable(test_ikeexch_${t} ${CMAKE_CURRENT_LIST_DIR}/test_exch_${t}.c)
  target_link_libraries(test_ikeexch_${t} PRIVATE mgate_ikeexch_testlib PkgConfig::CMOCKA
                        Threads::Threads)
  add_test(NAME ikeexch_${t} COMMAND test_ikeexch_${t})
  set_tests_properties(ikeexch_${t} PROPERTIES LABELS unit TIMEOUT 300)
endforeach()

# Responder-side handshake cost (a benchmark, not a test).
add_executable(ikeexch_bench ${CMAKE_CURRENT_LIST_DIR}/ikeexch_bench.c)
target_link_libraries(ikeexch_bench PRIVATE mgate_ikeexch_testlib)
