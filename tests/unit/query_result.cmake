# SPDX-License-Identifier: MIT
# query/result.c: the /query output encoders, through their sink.
nj_unit_test(query_result nj_query)
