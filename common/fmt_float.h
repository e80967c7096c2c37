// SPDX-License-Identifier: MIT
/*
 * Fast number formatting for the query output path: the shortest decimal
 * digits that read back as the same double (what Go's strconv.FormatFloat
 * with precision -1 prints), and plain integer printing.  No locale, no
 * allocation, no libc printf; every function writes into a caller buffer and
 * returns the number of bytes written (no NUL unless stated).
 *
 * Shortest means: of all decimals that round to v under round-half-even, the
 * one with the fewest significant digits, and of those the one closest to v
 * (ties to an even last digit) -- the rule of Go, Ryu, Grisu-exact and
 * JavaScript.  At an exact power of two the interval below v is half as wide
 * as above it; this rule sees that, a "%.*g until strtod(s) == v" loop does
 * not, and may print one digit more there (see tests/unit/common_fmt_float_test.c).
 *
 * Safe on any thread.
 */
#ifndef NJ_COMMON_FMT_FLOAT_H
#define NJ_COMMON_FMT_FLOAT_H

#include <stddef.h>
#include <stdint.h>

/* A decimal value mant * 10^exp with no trailing zeros in mant (mant has
 * 1..17 digits). */
struct fmt_dec {
    uint64_t mant;
    int exp;
};

/* Room any of the functions below may need. */
#define FMT_U64_MAX 20 /* 18446744073709551615 */
#define FMT_I64_MAX 20 /* -9223372036854775808 */
#define FMT_JSON_MAX 32 /* -1.2345678901234567e-308 */
#define FMT_FIXED_MAX 330 /* -0.<323 zeros>5, -1797..<309 digits> */

/* Shortest round-trip digits of |v|; v finite and non-zero. */
struct fmt_dec fmt_f64_shortest(double v);

/* Go encoding/json's float64: shortest digits, 'f' form (123.45, 0.000001)
 * for 1e-6 <= |v| < 1e21, else 'e' form with at least two exponent digits
 * for positive exponents and none padded for negative ones (1e+21, 1e-7).
 * 0 and -0 give "0" and "-0".  v must be finite.  out: FMT_JSON_MAX bytes. */
size_t fmt_f64_json(double v, char *out);

/* Go strconv.FormatFloat(v, 'f', -1, 64): shortest digits in plain decimal
 * form, any magnitude.  v must be finite.  out: FMT_FIXED_MAX bytes. */
size_t fmt_f64_fixed(double v, char *out);

/* Decimal integers.  out: FMT_U64_MAX / FMT_I64_MAX bytes. */
size_t fmt_u64(uint64_t v, char *out);
size_t fmt_i64(int64_t v, char *out);

#endif
