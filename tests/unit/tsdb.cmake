# SPDX-License-Identifier: MIT
# tsdb unit tests (ctest -R tsdb).
nj_unit_test(tsdb_head nj_tsdb)
nj_unit_test(tsdb_wal nj_tsdb nj_common)
nj_unit_test(tsdb_fault nj_tsdb nj_common)
nj_unit_test(tsdb_crash nj_tsdb nj_common)
nj_unit_test(tsdb_part nj_tsdb nj_common)
nj_unit_test(tsdb_flushfault nj_tsdb nj_common)
nj_unit_test(tsdb_drop nj_tsdb nj_common)
nj_unit_test(tsdb_compact nj_tsdb nj_common)
nj_unit_test(tsdb_compactfault nj_tsdb nj_common)
nj_unit_test(tsdb_delete nj_tsdb nj_common)
nj_unit_test(tsdb_flushstream nj_tsdb nj_common)
