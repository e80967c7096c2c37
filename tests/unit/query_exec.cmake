# SPDX-License-Identifier: MIT
# query/: the executor, meta statements, raw SELECT and the result encoders.
nj_unit_test(query_exec nj_query)
