# iked crypto layer (OpenSSL 3): transforms, prf/prf+, key derivation,
# key exchange groups, SK payload protection, AUTH and certificates.
find_package(Threads REQUIRED)

add_library(mgate_ikecrypto STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ike_crypto.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_prf.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_dh.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_keys.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_sk.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_auth.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_auth_sig.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_cert.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_cert_peer.c
)
target_include_directories(mgate_ikecrypto PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(mgate_ikecrypto PUBLIC PkgConfig::OPENSSL Threads::Threads)
