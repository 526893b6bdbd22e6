# Devices that move (tests/mobility, see mobility.sh): strongSwan behind a NAT whose
# mapping changes, and a MOBIKE device changing links, against mgate-xfrmd + mgate-iked
# in the VM. Included from tests/CMakeLists.txt (glob).
add_test(NAME vm_interop_mobility
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 300 -- ${CMAKE_CURRENT_LIST_DIR}/mobility.sh)
set_tests_properties(vm_interop_mobility PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 420
  FIXTURES_REQUIRED interop_pki
  ENVIRONMENT "MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_INTEROP_PKI=${CMAKE_BINARY_DIR}/interop/pki;PKI_KEY_CACHE=${CMAKE_BINARY_DIR}/interop/keys")
