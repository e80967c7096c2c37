// SPDX-License-Identifier: MIT
/*
 * Fault injection at every file operation of a merge (write, fsync,
 * rename, open fail at the nth call, once or from then on): the scenario
 * lives in tsdb_compact_test.c and runs here as its own ctest so that each
 * stays well inside its timeout under sanitizers.
 */
#define TSDB_COMPACT_FAULTS_ONLY 1
#include "tsdb_compact_test.c"
