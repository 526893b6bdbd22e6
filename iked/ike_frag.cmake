# RFC 7383 fragmentation (reassembly, our fragments) and the IKE_SA_INIT
# guard (per-source rate limit, half-open bound): part of the core library
# the daemon and the unit tests link.
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL target_sources mgate_iked_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ike_frag.c
  ${CMAKE_CURRENT_LIST_DIR}/iked_ratelimit.c
)
