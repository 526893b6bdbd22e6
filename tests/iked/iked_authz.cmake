# Authorization by policyd (iked/iked_authz.c) against fake_policyd, a
# stand-in that answers Authorize from a file and pushes AccessChanged on
# SIGUSR1. The allow/narrow checks need kernel ESP SAs for the CHILD SA:
# on this host kernel (no ESP) the script runs what needs none and says
# which part it skipped; iked_authz_vm runs all of it in the VM.
add_executable(fake_policyd ${CMAKE_CURRENT_LIST_DIR}/fake_policyd.c)
target_link_libraries(fake_policyd PRIVATE mgate_common)
set_target_properties(fake_policyd PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

add_test(NAME iked_authz COMMAND ${CMAKE_CURRENT_LIST_DIR}/iked_authz.sh ${CMAKE_BINARY_DIR})
set_tests_properties(iked_authz PROPERTIES LABELS netns TIMEOUT 180 SKIP_RETURN_CODE 77)

add_test(NAME vm_iked_authz
         COMMAND ${PROJECT_SOURCE_DIR}/tests/vm/vm-run --timeout 240 --
                 ${CMAKE_CURRENT_LIST_DIR}/iked_authz.sh ${CMAKE_BINARY_DIR})
set_tests_properties(vm_iked_authz PROPERTIES LABELS vm RESOURCE_LOCK vm TIMEOUT 900
                     SKIP_RETURN_CODE 77)
