# xfrmd install-rate benchmark (an executable, not a test): SAs + policies per
# second through mgate-xfrmd's socket API; tests/bench/xfrm_install.sh runs it
# in the VM (tests/vm/vm-run) against `ip xfrm` and `ip -batch`.
add_executable(xfrm_install ${CMAKE_CURRENT_LIST_DIR}/xfrm_install.c)
target_link_libraries(xfrm_install PRIVATE mgate_common)
set_target_properties(xfrm_install PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/bench)
