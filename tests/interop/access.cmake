# The acceptance test of the policyd issue (tests/interop/access_e2e.sh): the
# real mgate-xfrmd, mgate-policyd, mgate-wiped and mgate-iked (authorization =
# policyd) in gw, a strongSwan device enrolled through mgatectl; narrowing to
# subnet A, quarantine live, block, policyd down. In the VM (ESP).
# (the same directory as interop.cmake's fixture; fragments are read in name order)
set(mgate_interop_dir ${CMAKE_BINARY_DIR}/interop)
add_test(NAME vm_interop_access
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 400 -- ${CMAKE_CURRENT_LIST_DIR}/access_e2e.sh)
set_tests_properties(vm_interop_access PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 900
  FIXTURES_REQUIRED interop_pki
  ENVIRONMENT "MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_INTEROP_PKI=${mgate_interop_dir}/pki;PKI_KEY_CACHE=${mgate_interop_dir}/keys")
