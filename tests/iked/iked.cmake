# mgate-iked as a process: ike_initiator (the exchange tests' test initiator
# on a UDP socket) against a real iked + xfrmd in a network namespace of the
# host. The host kernel has no ESP, so the gateway runs without subnets: IKE
# SAs come up without a CHILD SA (TS_UNACCEPTABLE). CHILD SAs and traffic are
# the VM interop test's.
add_executable(ike_initiator ${CMAKE_CURRENT_LIST_DIR}/ike_initiator.c
                             ${CMAKE_CURRENT_LIST_DIR}/ike_initiator_frag.c)
target_link_libraries(ike_initiator PRIVATE mgate_ikeexch_testlib)
set_target_properties(ike_initiator PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

add_test(NAME iked_netns COMMAND ${CMAKE_CURRENT_LIST_DIR}/iked_netns.sh ${CMAKE_BINARY_DIR})
set_tests_properties(iked_netns PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)

# Dead peer detection (liveness checks answered, a silent device torn down)
# and cookies (RFC 7296 §2.6) through the same daemons.
add_test(NAME iked_dpd COMMAND ${CMAKE_CURRENT_LIST_DIR}/iked_dpd.sh ${CMAKE_BINARY_DIR})
set_tests_properties(iked_dpd PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)

# NAT keepalives (RFC 3948) when the gateway believes it is behind a NAT,
# counted on the wire by a packet capture.
add_test(NAME iked_natka COMMAND ${CMAKE_CURRENT_LIST_DIR}/iked_natka.sh ${CMAKE_BINARY_DIR})
set_tests_properties(iked_natka PROPERTIES LABELS netns TIMEOUT 120 SKIP_RETURN_CODE 77)
