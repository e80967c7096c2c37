// SPDX-License-Identifier: MIT
/*
 * Fault injection at each publication step of tsdb_flush (write, fsync,
 * rename, open/mkdir fail at the nth call): the scenario lives in
 * tsdb_part_test.c and runs here as its own ctest so that each test stays
 * short under sanitizers.
 */
#define TSDB_PART_FAULTS_ONLY 1
#include "tsdb_part_test.c"
