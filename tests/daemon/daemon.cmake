# Daemon tests: the real binaries as processes in a private network namespace.
add_executable(daemon_ipc_probe ${CMAKE_CURRENT_LIST_DIR}/ipc_probe.c)
target_link_libraries(daemon_ipc_probe PRIVATE mgate_common)
set_target_properties(daemon_ipc_probe PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_executable(daemon_notify_listen ${CMAKE_CURRENT_LIST_DIR}/notify_listen.c)
set_target_properties(daemon_notify_listen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

add_test(NAME daemons COMMAND ${CMAKE_CURRENT_LIST_DIR}/daemons.sh ${CMAKE_BINARY_DIR})
set_tests_properties(daemons PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)

# The units as systemd sees them (paths pointed at the build tree).
add_test(NAME systemd_units COMMAND ${CMAKE_CURRENT_LIST_DIR}/verify_units.sh
         ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(systemd_units PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77)
