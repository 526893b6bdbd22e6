# The daemon's side of RFC 7383 fragments (waiting fragments, timeouts).
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL target_sources mgate-iked PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/iked_frag.c
)
