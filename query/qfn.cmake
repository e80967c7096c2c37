# SPDX-License-Identifier: MIT
# query/qfn: the InfluxQL function layer (bucketing, aggregates, selectors,
# transformations, fill, arithmetic).  Included from query/CMakeLists.txt.
target_sources(nj_query PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/qfn_bucket.c
  ${CMAKE_CURRENT_LIST_DIR}/qfn_agg.c
  ${CMAKE_CURRENT_LIST_DIR}/qfn_summary.c
  ${CMAKE_CURRENT_LIST_DIR}/qfn_integral.c
  ${CMAKE_CURRENT_LIST_DIR}/qfn_fill.c
  ${CMAKE_CURRENT_LIST_DIR}/qfn_xform.c
  ${CMAKE_CURRENT_LIST_DIR}/qfn_math.c)
