# SPDX-License-Identifier: MIT
# tsdb fuzz targets; corpora in tests/fuzz/corpus/<name>/.
nj_fuzz_target(tsdb_wal_replay nj_tsdb)
nj_fuzz_target(tsdb_part_read nj_tsdb)
