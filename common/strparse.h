// SPDX-License-Identifier: MIT
/*
 * The one toolkit for parsing numbers, durations and sizes from text, shared
 * by the config loader, the HTTP layer and the query language.  Every parser
 * consumes the whole view and fails with ERR_PARSE (never partial success).
 */
#ifndef NJ_COMMON_STRPARSE_H
#define NJ_COMMON_STRPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/sv.h"

/* Decimal unsigned / signed integers without sign prefixes beyond one '-'
 * (signed only).  ERR_PARSE on junk, ERR_LIMIT on overflow. */
int strp_u64(struct sv s, uint64_t *out);
int strp_i64(struct sv s, int64_t *out);
/* A finite double (strtod syntax); ERR_PARSE otherwise. */
int strp_f64(struct sv s, double *out);
/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
int strp_bool(struct sv s, bool *out);
/* Durations as `<int><unit>` sequences, units ns us µs ms s m h d w
 * ("90s", "1h30m").  "0" alone is accepted.  Result in nanoseconds. */
int strp_duration(struct sv s, int64_t *out_ns);
/* Sizes: plain bytes or <number><unit>, units B KB MB GB (powers of 1000)
 * and KiB MiB GiB TiB (powers of 1024), also K M G.  Fractions allowed with
 * a unit ("1.5GiB"). */
int strp_size(struct sv s, uint64_t *out_bytes);
/* Formats a duration in the same syntax ("1h30m", "0s") into out. */
void strp_format_duration(int64_t ns, char *out, size_t cap);

#endif
