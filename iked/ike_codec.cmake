# IKEv2 message codec: parsing and building of IKEv2 messages (no crypto,
# no state). Sources are listed with absolute paths so other directories
# (tests/fuzz) can rebuild them with their own instrumentation.
add_library(mgate_ikecodec STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ike_msg.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_msg_wr.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_names.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_payload.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_payload_sa.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_payload_tscp.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_payload_wr.c
)
target_include_directories(mgate_ikecodec PUBLIC ${CMAKE_CURRENT_LIST_DIR})
