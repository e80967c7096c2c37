// SPDX-License-Identifier: MIT
/*
 * Declarations shared by the lp_*.c files of ingest/ and not public.
 */
#ifndef NJ_INGEST_LP_INT_H
#define NJ_INGEST_LP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ingest/lp.h"

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

/* Go's bytes.Compare on the escaped keys of two tags (never empty). */
static inline int lp__tag_cmp(const struct lp_tag *a, const struct lp_tag *b)
{
    unsigned char x = (unsigned char)a->raw.p[0], y = (unsigned char)b->raw.p[0];
    if (x != y)
        return x < y ? -1 : 1;
    size_t n = a->raw_key_len < b->raw_key_len ? a->raw_key_len : b->raw_key_len;
    int c = memcmp(a->raw.p, b->raw.p, n);
    if (c)
        return c;
    return a->raw_key_len < b->raw_key_len ? -1 : a->raw_key_len > b->raw_key_len;
}

#endif
