# libreswan 4.10 as a second IKEv2 client nobody here wrote (label vm).
# interop_libreswan_fetch (host): Debian's libreswan package Conflicts with
# strongswan-libcharon, so it is not installed but downloaded and unpacked into
# /var/cache/mgate-libreswan (tests/interop/libreswan-fetch, like tests/vm/vm-prepare's
# kernel); the VM has no network and uses that cache through the host's file system.
# vm_interop_libreswan runs tests/interop/libreswan_e2e.sh in the VM: pluto in the
# device namespace against mgate-xfrmd + mgate-iked (docs/config.md's [iked] example).
add_test(NAME interop_libreswan_fetch
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/libreswan-fetch)
set_tests_properties(interop_libreswan_fetch PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  FIXTURES_SETUP interop_libreswan
  TIMEOUT 300)
add_test(NAME vm_interop_libreswan
  COMMAND ${CMAKE_SOURCE_DIR}/tests/vm/vm-run --timeout 400 -- ${CMAKE_CURRENT_LIST_DIR}/libreswan_e2e.sh)
set_tests_properties(vm_interop_libreswan PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 900
  FIXTURES_REQUIRED "interop_pki;interop_libreswan"
  ENVIRONMENT "MGATE_BUILD=${CMAKE_BINARY_DIR};MGATE_INTEROP_PKI=${CMAKE_BINARY_DIR}/interop/pki;PKI_KEY_CACHE=${CMAKE_BINARY_DIR}/interop/keys")
