# SPDX-License-Identifier: MIT
# ingest: line-protocol fuzz targets (corpora in fuzz/corpus/lp_*).
nj_fuzz_target(lp_parse nj_ingest)
nj_fuzz_target(lp_roundtrip nj_ingest)
