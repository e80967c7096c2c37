# SPDX-License-Identifier: MIT
# The TCP and UDP line-protocol listeners (listen.h).  They run on libuv and
# write through the engine (ing_write, ing_pending_*).
target_sources(nj_ingest PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/listen_common.c
  ${CMAKE_CURRENT_LIST_DIR}/listen_tcp.c
  ${CMAKE_CURRENT_LIST_DIR}/listen_udp.c)
target_link_libraries(nj_ingest PUBLIC nj_net PkgConfig::UV)
