# Real-kernel tests: each runs inside a throw-away VM (tests/vm/vm-run) with Debian's
# ESP-capable kernel. One VM at a time (RESOURCE_LOCK vm); the machine has 2 cores.
# Included from tests/CMakeLists.txt.
add_test(NAME vm_esp_manual
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/vm-run --timeout 240 -- ${CMAKE_CURRENT_LIST_DIR}/esp_manual.sh)
set_tests_properties(vm_esp_manual PROPERTIES
  LABELS vm
  SKIP_RETURN_CODE 77
  RESOURCE_LOCK vm
  TIMEOUT 400)

# The harness itself: exit status, skip (77) pass-through, timeout, streaming output.
add_test(NAME vm_harness_selftest COMMAND ${CMAKE_CURRENT_LIST_DIR}/vm_selftest.sh)
set_tests_properties(vm_harness_selftest PROPERTIES
  LABELS vm
  RESOURCE_LOCK vm
  TIMEOUT 400)
