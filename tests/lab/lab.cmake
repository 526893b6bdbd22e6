# Host test of the network-namespace lab (tests/lab/lab.sh): lab up, cleartext pings
# device -> corp through gw, lab down. Needs root; skips (77) where namespaces can't
# be created. Included from tests/CMakeLists.txt.
add_test(NAME netns_lab_selftest COMMAND ${CMAKE_CURRENT_LIST_DIR}/lab_selftest.sh)
set_tests_properties(netns_lab_selftest PROPERTIES
  LABELS netns
  SKIP_RETURN_CODE 77
  TIMEOUT 60)
