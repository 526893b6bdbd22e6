# Restart without dropping tunnels (issue 5 item 8): a strongSwan client with
# a 5/s ping through the tunnel while mgate-iked, then mgate-xfrmd, are killed
# with SIGKILL and restarted; zero lost pings, DPD answered, the tunnel still
# managed (mgatectl ike list, terminate with a DELETE strongSwan accepts); then
# rekeys both ways under the ping (CHILD and IKE SA, device and gateway), iked
# killed right after an IKE SA rekey restoring the new IKE SA.
add_test(NAME vm_interop_restart
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 560 -- ${CMAKE_CURRENT_LIST_DIR}/sw_restart.sh)
set_tests_properties(vm_interop_restart PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 660
  FIXTURES_REQUIRED interop_pki
  ENVIRONMENT "MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_INTEROP_PKI=${mgate_interop_dir}/pki;PKI_KEY_CACHE=${mgate_interop_dir}/keys")
