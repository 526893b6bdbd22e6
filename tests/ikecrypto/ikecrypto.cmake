# Unit tests of the iked crypto layer (cmocka, label unit).
add_library(mgate_ikecrypto_testpki STATIC ${CMAKE_CURRENT_LIST_DIR}/testpki.c)
target_include_directories(mgate_ikecrypto_testpki PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(mgate_ikecrypto_testpki PUBLIC PkgConfig::OPENSSL)

foreach(t prf dh sk keys auth cert)
  add_executable(test_ikecrypto_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_ikecrypto_${t} PRIVATE mgate_ikecrypto mgate_ikecrypto_testpki
                        PkgConfig::CMOCKA)
  add_test(NAME ikecrypto_${t} COMMAND test_ikecrypto_${t})
  set_tests_properties(ikecrypto_${t} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
