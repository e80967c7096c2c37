// SPDX-License-Identifier: MIT
/*
 * tsdb ioerr loop (SQLite's *fault.test style): every write, fsync, rename
 * and open in a create/commit/rotate/create-policy scenario fails once in
 * turn, and the store must stay consistent.  It is fsync-bound, so it runs
 * as its own ctest; the scenario and helpers live in tsdb_wal_test.c.
 */
#define TSDB_WAL_TEST_IOERR_ONLY 1
#include "tsdb_wal_test.c"
