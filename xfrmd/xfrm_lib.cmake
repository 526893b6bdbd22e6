# mgate_xfrm: the kernel layer of xfrmd (XFRM SAs, policies, batches, events
# over NETLINK_XFRM with libmnl). Included by xfrmd/CMakeLists.txt.
add_library(mgate_xfrm STATIC
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_addr.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_alg.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_batch.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_err.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_event.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_event_parse.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_migrate.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_msg.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_msg_policy.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_msg_sa.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_nl.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_owner.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_policy.c
  ${CMAKE_CURRENT_LIST_DIR}/xfrm_sa.c)
target_include_directories(mgate_xfrm PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(mgate_xfrm PUBLIC PkgConfig::LIBMNL)
