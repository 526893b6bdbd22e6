# The responder's exchanges (IKE_SA_INIT, IKE_AUTH, INFORMATIONAL) and the
# IKE SA record, built into mgate_iked_core. That target is defined by
# iked_lib.cmake, which the fragment loop includes after this file
# (alphabetical order), so the sources are attached once the directory is
# fully read.
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL target_sources mgate_iked_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ike_sa.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_util.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_init.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_cookie.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_auth.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_authz.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_child.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_info.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_mobike.c
)
