# The device's side going away (tests/interop/sw_peer.sh): the same strongSwan device
# connecting twice (charon killed -9 and started again, INITIAL_CONTACT: the old IKE SA
# replaced, same virtual IP, only the new kernel SAs); then its link cut: iked's DPD
# tears the tunnel down (kernel state gone, lease released).
add_test(NAME vm_interop_peer
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 300 -- ${CMAKE_CURRENT_LIST_DIR}/sw_peer.sh)
set_tests_properties(vm_interop_peer PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 400
  FIXTURES_REQUIRED interop_pki
  ENVIRONMENT "MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_INTEROP_PKI=${mgate_interop_dir}/pki;PKI_KEY_CACHE=${mgate_interop_dir}/keys")
