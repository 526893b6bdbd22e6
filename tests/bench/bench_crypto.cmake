# iked crypto benchmark (an executable, not a test): handshake crypto per core.
add_executable(ike_crypto_bench ${CMAKE_CURRENT_LIST_DIR}/ike_crypto_bench.c)
target_link_libraries(ike_crypto_bench PRIVATE mgate_ikecrypto mgate_ikecrypto_testpki)
