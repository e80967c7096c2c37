# SPDX-License-Identifier: MIT
# query/: the InfluxQL parser, renderer and compile-time checks.
foreach(t iql_parse iql_render)
  nj_unit_test(${t} nj_query)
endforeach()
