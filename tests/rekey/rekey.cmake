# Rekeying under a steady ping, in the VM with a strongSwan device (tests/rekey,
# README.md): device and gateway CHILD SA rekeys with and without PFS, the device's
# IKE SA rekey; zero pings lost, new SPIs in gw's kernel. Reuses the interop PKI.
add_test(NAME vm_interop_rekey
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 420 -- ${CMAKE_CURRENT_LIST_DIR}/rekey_vm.sh)
set_tests_properties(vm_interop_rekey PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 540
  FIXTURES_REQUIRED interop_pki
  ENVIRONMENT "MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_INTEROP_PKI=${CMAKE_BINARY_DIR}/interop/pki;PKI_KEY_CACHE=${CMAKE_BINARY_DIR}/interop/keys")
