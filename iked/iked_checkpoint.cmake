# The IKE SA checkpoint (record codec and SQLite file), built into
# mgate_iked_core so that its unit tests link it without the daemon. Deferred
# like ike_exch.cmake: iked_lib.cmake defines the target after this file.
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} CALL target_sources mgate_iked_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/iked_checkpoint.c
  ${CMAKE_CURRENT_LIST_DIR}/iked_checkpoint_rec.c
)
