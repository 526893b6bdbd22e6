# mgate-xfrmd on a real ESP kernel (tests/vm/vm-run): two daemons in the lab's
# device and gw namespaces program tunnels through their sockets (xfrmd_req);
# pings, counters vs `ip -s xfrm state`, every algorithm, NAT-T, expire
# events, bad input, SIGKILL + restart + reconcile.
add_test(NAME vm_xfrmd
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 480 --
          ${CMAKE_CURRENT_LIST_DIR}/xfrmd_vm.sh ${CMAKE_BINARY_DIR})
set_tests_properties(vm_xfrmd PROPERTIES
  LABELS vm SKIP_RETURN_CODE 77 RESOURCE_LOCK vm TIMEOUT 600)
