# xfrmd daemon tests: its socket API against a real kernel (host netns for
# policies, SPIs, ownership, sockets; the VM for ESP SAs and traffic).
add_executable(xfrmd_req ${CMAKE_CURRENT_LIST_DIR}/xfrmd_req.c)
target_link_libraries(xfrmd_req PRIVATE mgate_common)
set_target_properties(xfrmd_req PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

add_test(NAME xfrmd_netns COMMAND ${CMAKE_CURRENT_LIST_DIR}/xfrmd_netns.sh ${CMAKE_BINARY_DIR})
set_tests_properties(xfrmd_netns PROPERTIES LABELS netns TIMEOUT 120 SKIP_RETURN_CODE 77)
