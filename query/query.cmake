# SPDX-License-Identifier: MIT
# query/: the executor (exec*.c), the result encoders (result.c) and the
# /query HTTP handler (http_query.c).  Included from query/CMakeLists.txt.
target_sources(nj_query PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/exec.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_where.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_into.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_subquery.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_meta.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_delete.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_select.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_agg.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_summary.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_tz.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_params.c
  ${CMAKE_CURRENT_LIST_DIR}/result.c
  ${CMAKE_CURRENT_LIST_DIR}/http_query.c)
target_link_libraries(nj_query PUBLIC nj_tsdb nj_net)
