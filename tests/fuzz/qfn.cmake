# SPDX-License-Identifier: MIT
# query/qfn: the function layer over arbitrary columns (corpus in corpus/qfn_funcs/).
nj_fuzz_target(qfn_funcs nj_query)
