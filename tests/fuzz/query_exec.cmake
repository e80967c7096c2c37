# SPDX-License-Identifier: MIT
# query/exec: the /query `params` JSON parser (corpus in corpus/query_params/).
nj_fuzz_target(query_params nj_query)
