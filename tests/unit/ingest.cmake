# SPDX-License-Identifier: MIT
# ingest: line-protocol parser tests.
nj_unit_test(lp nj_ingest)
nj_unit_test(lp_float nj_ingest)
