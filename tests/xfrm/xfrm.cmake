# Tests of the xfrm library (xfrmd's kernel layer).
#   unit  : no kernel state touched
#   netns : a private network namespace on the host (policies, SPI allocation,
#           batching, ownership, validation, events, socket bypass)
#   vm    : ESP SAs need a kernel with esp4/esp6: run inside tests/vm/vm-run
set(xfrm_test_dir ${CMAKE_CURRENT_LIST_DIR})

add_library(mgate_xfrm_testutil STATIC ${xfrm_test_dir}/test_xfrm_common.c)
target_link_libraries(mgate_xfrm_testutil PUBLIC mgate_xfrm)

add_executable(test_xfrm_unit ${xfrm_test_dir}/test_xfrm_unit.c)
target_link_libraries(test_xfrm_unit PRIVATE mgate_xfrm_testutil PkgConfig::CMOCKA)
add_test(NAME xfrm_unit COMMAND test_xfrm_unit)
set_tests_properties(xfrm_unit PROPERTIES LABELS unit TIMEOUT 60)

add_executable(test_xfrm_netns ${xfrm_test_dir}/test_xfrm_netns.c)
target_link_libraries(test_xfrm_netns PRIVATE mgate_xfrm_testutil PkgConfig::CMOCKA)
add_test(NAME xfrm_netns COMMAND ${xfrm_test_dir}/netns-run.sh $<TARGET_FILE:test_xfrm_netns>)
set_tests_properties(xfrm_netns PROPERTIES LABELS netns SKIP_RETURN_CODE 77 TIMEOUT 180)

add_executable(test_xfrm_vm ${xfrm_test_dir}/test_xfrm_vm.c)
target_link_libraries(test_xfrm_vm PRIVATE mgate_xfrm_testutil PkgConfig::CMOCKA)
add_test(NAME vm_xfrm_sa
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 300 --
          ${xfrm_test_dir}/vm-sa.sh $<TARGET_FILE:test_xfrm_vm>)
set_tests_properties(vm_xfrm_sa PROPERTIES
  LABELS vm SKIP_RETURN_CODE 77 RESOURCE_LOCK vm TIMEOUT 420)

add_executable(xfrm_tunnel_tool ${xfrm_test_dir}/xfrm_tunnel_tool.c)
target_link_libraries(xfrm_tunnel_tool PRIVATE mgate_xfrm_testutil)
add_test(NAME vm_xfrm_tunnel
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 300 --
          ${xfrm_test_dir}/vm-tunnel.sh $<TARGET_FILE:xfrm_tunnel_tool>)
set_tests_properties(vm_xfrm_tunnel PROPERTIES
  LABELS vm SKIP_RETURN_CODE 77 RESOURCE_LOCK vm TIMEOUT 420)

# SA moves (xfrm_migrate.c): validation on the host, the kernel paths in the VM.
add_executable(test_xfrm_migrate ${xfrm_test_dir}/test_xfrm_migrate.c)
target_link_libraries(test_xfrm_migrate PRIVATE mgate_xfrm_testutil PkgConfig::CMOCKA)
add_test(NAME xfrm_migrate_netns
  COMMAND ${xfrm_test_dir}/netns-run.sh $<TARGET_FILE:test_xfrm_migrate>)
set_tests_properties(xfrm_migrate_netns PROPERTIES LABELS netns SKIP_RETURN_CODE 77 TIMEOUT 60)
add_test(NAME vm_xfrm_migrate
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 200 --
          ${xfrm_test_dir}/netns-run.sh $<TARGET_FILE:test_xfrm_migrate>)
set_tests_properties(vm_xfrm_migrate PROPERTIES
  LABELS vm SKIP_RETURN_CODE 77 RESOURCE_LOCK vm TIMEOUT 400)
