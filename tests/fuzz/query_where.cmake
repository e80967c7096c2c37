# SPDX-License-Identifier: MIT
# query/exec_where.c: WHERE analysis and evaluation (corpus in corpus/query_where/).
nj_fuzz_target(query_where nj_query)
