// SPDX-License-Identifier: MIT
/*
 * Declarations shared by the lp_*.c files of ingest/ and not public.
 */
#ifndef NJ_INGEST_LP_INT_H
#define NJ_INGEST_LP_INT_H

#include <stdbool.h>
#include <stdint.h>

#define LP__POW10_MIN (-348)
#define LP__POW10_MAX 347

/* lp_pow10.c: truncated 128-bit mantissas of 10^e, { high, low }. */
extern const uint64_t lp__pow10_tab[LP__POW10_MAX - LP__POW10_MIN + 1][2];

/* Converts man * 10^exp10 (negated when neg) to the nearest double when
 * that can be decided cheaply: Clinger's exact fast path or Eisel-Lemire.
 * man holds the first significant digits (at most 19); trunc says nonzero
 * digits were dropped after them.  Returns false when the caller must fall
 * back to a full conversion (strtod), including overflow and results in
 * the subnormal range. */
bool lp__f64_fast(uint64_t man, int64_t exp10, bool neg, bool trunc,
                  double *out);

#endif
