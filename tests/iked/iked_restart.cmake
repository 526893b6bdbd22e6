# iked restarts without dropping its IKE SAs: SIGKILL of iked (restored from
# the checkpoint, answering the device's retransmission and next request),
# SIGKILL of xfrmd, a corrupt or foreign checkpoint, SIGTERM.
add_test(NAME iked_restart COMMAND ${CMAKE_CURRENT_LIST_DIR}/iked_restart.sh ${CMAKE_BINARY_DIR})
set_tests_properties(iked_restart PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)
