# SPDX-License-Identifier: MIT
# query/exec_summary.c: the block-summary fast path answers exactly as the scan.
nj_unit_test(query_summary nj_query)
