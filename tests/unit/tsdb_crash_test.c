// SPDX-License-Identifier: MIT
/*
 * tsdb crash consistency: torn WAL tails at random offsets and flipped
 * bytes, corruption in the middle and in earlier segments (ERR_CORRUPT with
 * file and offset; repair), single write/fsync/open/rename faults and the
 * failed state, and kill -9 of a committing process.  fsync-bound, so it is
 * its own ctest; the tests and helpers live in tsdb_wal_test.c.
 */
#define TSDB_WAL_TEST_CRASH_ONLY 1
#include "tsdb_wal_test.c"
