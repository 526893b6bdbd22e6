# iked's core library: configuration ([iked] section and settings),
# proposal selection and the virtual-IP lease pool. The exchanges add their
# sources to this same target from their own fragment (target_sources).
add_library(mgate_iked_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/iked_conf.c
  ${CMAKE_CURRENT_LIST_DIR}/ike_proposal.c
  ${CMAKE_CURRENT_LIST_DIR}/lease_pool.c
)
target_include_directories(mgate_iked_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(mgate_iked_core PUBLIC mgate_common mgate_ikecodec mgate_ikecrypto)
