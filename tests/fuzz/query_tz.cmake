# SPDX-License-Identifier: MIT
# query/exec_tz.c: TZif decoding and tz() buckets (corpus in corpus/query_tz/).
nj_fuzz_target(query_tz nj_query)
