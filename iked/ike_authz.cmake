# Authorization by policyd, the pure part: grants, selector narrowing, the
# grant cache (iked/ike_grant.h), built into mgate_iked_core like the
# exchanges (see ike_exch.cmake for why the call is deferred). The daemon's
# side (iked_authz.c) is in mgate-iked itself.
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL target_sources mgate_iked_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ike_grant.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_ts_narrow.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_grant_cache.c
)
