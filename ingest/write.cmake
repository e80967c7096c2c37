# SPDX-License-Identifier: MIT
# The write engine (ing_engine, ing_write), its series cache and the HTTP
# write endpoints (/write, /api/v2/write).
target_sources(nj_ingest PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/write_cache.c
  ${CMAKE_CURRENT_LIST_DIR}/write_engine.c
  ${CMAKE_CURRENT_LIST_DIR}/write_http.c)
target_link_libraries(nj_ingest PUBLIC nj_tsdb nj_net)
