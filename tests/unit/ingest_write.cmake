# SPDX-License-Identifier: MIT
# The write engine (ingest/write_*.c) over a temporary tsdb.
nj_unit_test(ingest_write nj_ingest nj_tsdb nj_common)
