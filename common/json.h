// SPDX-License-Identifier: MIT
/*
 * JSON output the way Go's encoding/json writes it, since InfluxDB clients
 * and the differential tests compare bytes: strings escape <, > and & as
 * \u003c \u003e \u0026, U+2028/U+2029 as \u2028/\u2029, other control bytes
 * as \n \r \t or \u00XX, and invalid UTF-8 becomes \ufffd.  Floats use the
 * shortest representation that round-trips, in Go's 'f' or 'e' form
 * (common/fmt_float.h).
 */
#ifndef NJ_COMMON_JSON_H
#define NJ_COMMON_JSON_H

#include <stdint.h>

#include "common/buf.h"
#include "common/sv.h"

/* Appends s as a quoted JSON string. */
int json_append_str(struct buf *b, struct sv s);
static inline int json_append_cstr(struct buf *b, const char *s)
{
    return json_append_str(b, sv_cstr(s));
}
/* Appends a float as Go's encoding/json does (1e21 and up, and below 1e-6,
 * in exponent form: 1e+21, 1e-07).  NaN and Inf are not valid JSON; they
 * are written as null. */
int json_append_f64(struct buf *b, double v);
int json_append_i64(struct buf *b, int64_t v);
int json_append_u64(struct buf *b, uint64_t v);
/* Decimal digits that round-trip v, as "%.{p}g" with the least precision p;
 * writes into out (cap >= 32).  The old printf + strtod search, kept for the
 * metrics text format; json_append_f64 uses common/fmt_float instead, which
 * is ~30x faster and at exact powers of two sometimes one digit shorter
 * (Go's rule; see fmt_float.h). */
void json_shortest_g(double v, char *out, size_t cap);

#endif
