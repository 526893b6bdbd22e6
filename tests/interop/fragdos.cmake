# RFC 7383 and the IKE_SA_INIT guard against a real strongSwan client (label vm).
# interop_frag_pki makes the RSA-4096 chain on the host (seconds here, minutes under
# the VM's TCG); vm_interop_fragdos runs tests/interop/iked_fragdos.sh in the VM:
# a fragmented IKE_AUTH both ways, then a half-open flood turning cookies on while
# the client still connects.
add_test(NAME interop_frag_pki
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/frag_pki.sh ${CMAKE_BINARY_DIR}/interop/frag-pki)
set_tests_properties(interop_frag_pki PROPERTIES
  LABELS vm
  FIXTURES_SETUP interop_frag_pki
  TIMEOUT 120)
add_test(NAME vm_interop_fragdos
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 400 -- ${CMAKE_CURRENT_LIST_DIR}/iked_fragdos.sh)
set_tests_properties(vm_interop_fragdos PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 1500
  FIXTURES_REQUIRED interop_frag_pki
  ENVIRONMENT "MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_FRAG_PKI=${CMAKE_BINARY_DIR}/interop/frag-pki")
