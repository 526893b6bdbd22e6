# Rekeying (RFC 7296 §2.8): the CREATE_CHILD_SA exchanges, responder and
# initiator, into mgate_iked_core; the daemon's side (soft expires,
# lifetimes, our requests and their retransmission, collisions) into
# mgate-iked. Both deferred: the targets are defined after the fragments.
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL target_sources mgate_iked_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_rekey_child.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_rekey_ike.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_exch_rekey_init.c
)
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL target_sources mgate-iked PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/iked_rekey.c
  ${CMAKE_CURRENT_LIST_DIR}/iked_rekey_init.c
)
