# strongSwan interop kit (tests/interop, see README.md). Included from tests/CMakeLists.txt.
#
# interop_pki (host, ~1 s): makes the test PKI and an RSA/ECDSA/Ed25519 key cache in the
# build tree. The VM test reuses both (the guest sees the host's files): generating the
# same material under the VM's TCG emulation costs ~10-20 s (RSA key generation).
# The VM test still works without it (it then generates its own PKI).
set(mgate_interop_dir ${CMAKE_BINARY_DIR}/interop)
add_test(NAME interop_pki
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/pki.sh -k ${mgate_interop_dir}/keys ${mgate_interop_dir}/pki)
set_tests_properties(interop_pki PROPERTIES
  LABELS vm
  FIXTURES_SETUP interop_pki
  TIMEOUT 120)

# strongSwan client in device <-> strongSwan responder in gw, in the VM with a real
# ESP kernel: RSA/ECDSA/Ed25519 certificates x three proposals, ping through the
# tunnel, SA counters, teardown; refused: another CA, expired, no digitalSignature.
add_test(NAME vm_interop_strongswan_selftest
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 400 -- ${CMAKE_CURRENT_LIST_DIR}/sw_selftest.sh)
set_tests_properties(vm_interop_strongswan_selftest PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 500
  FIXTURES_REQUIRED interop_pki
  ENVIRONMENT "MGATE_INTEROP_PKI=${mgate_interop_dir}/pki;PKI_KEY_CACHE=${mgate_interop_dir}/keys")

# The acceptance test of the iked issue: the same strongSwan client, the same
# matrix and checks, against mgate-xfrmd + mgate-iked in gw.
add_test(NAME vm_interop_iked
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 400 -- ${CMAKE_CURRENT_LIST_DIR}/sw_selftest.sh)
set_tests_properties(vm_interop_iked PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 500
  FIXTURES_REQUIRED interop_pki
  ENVIRONMENT "SWT_RESPONDER=iked;MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_INTEROP_PKI=${mgate_interop_dir}/pki;PKI_KEY_CACHE=${mgate_interop_dir}/keys")
