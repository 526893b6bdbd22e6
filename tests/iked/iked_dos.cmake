# The IKE_SA_INIT guard through the daemons (label netns): a flood from one
# source rate limited while another source connects; the half-open bound.
add_test(NAME iked_dos COMMAND ${CMAKE_CURRENT_LIST_DIR}/iked_dos.sh ${CMAKE_BINARY_DIR})
set_tests_properties(iked_dos PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)

# RFC 7383 through the daemons (label netns): ike_initiator --frag against
# fragment_size 576, reassembly both ways, the retransmission rules.
add_test(NAME iked_frag COMMAND ${CMAKE_CURRENT_LIST_DIR}/iked_frag.sh ${CMAKE_BINARY_DIR})
set_tests_properties(iked_frag PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)
