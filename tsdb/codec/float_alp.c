// SPDX-License-Identifier: MIT
/*
 * Decimal floats (ALP-style, Afroozeh et al., SIGMOD 2024): values that were
 * short decimals in the line protocol ("12.34") become the integers
 * round(v * 10^e), stored as an integer sequence, plus an exception list for
 * the values that do not come back bit for bit.
 *
 * Exactness: the decoder computes v = (double)d / 10^e, a single correctly
 * rounded IEEE division by an exactly representable power of ten (e <= 18),
 * so it gives the same bits on every conforming platform; the encoder runs
 * that very expression on every value and sends any mismatch (NaN, +-Inf,
 * -0.0, full-precision values, |v * 10^e| >= 2^51) to the exception list
 * with its raw 8 bytes.  Division rather than ALP's multiply-by-10^-e costs a
 * few cycles per value but makes every short decimal exact: strtod returns
 * the double nearest to 1234/100, and so does 1234.0 / 100.0.
 *
 * Exponent search: on a sample of about 32 values, the e with the smallest
 * estimated size (exceptions at 10 bytes, exact values at the FOR width).  Integers left in exception slots take the
 * previous exact value so that delta coding stays narrow.
 *
 * Payload (FORMAT.md "Float: decimal"): u8 e, uvarint nexc, nexc x u16
 * position, nexc x 8-byte raw value, then a nested integer sequence of n
 * values.
 */
#include "tsdb/codec/codec_int.h"

#define DEC_MAX_E 18

static const double P10[DEC_MAX_E + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

/* d = round(v * 10^e) if (double)d / 10^e reproduces v bit for bit. */
static inline bool dec_try(double v, unsigned e, int64_t *d)
{
    double x = v * P10[e];
    if (!(x > -0x1p51 && x < 0x1p51)) /* also rejects NaN */
        return false;
    /* Adding and removing 1.5 * 2^52 rounds to the nearest integer for
     * |x| < 2^51 (round-half-even in the default rounding mode). */
    volatile double magic = 0x1.8p52;
    double r = (x + magic) - magic;
    int64_t di = (int64_t)r;
    double back = (double)di / P10[e];
    uint64_t a, b;
    memcpy(&a, &v, 8);
    memcpy(&b, &back, 8);
    *d = di;
    return a == b;
}

bool codec__decimal_encode(struct codec_ctx *c, struct wr *w, const double *v,
                           size_t n)
{
    if (n == 0)
        return false;
    size_t step = n >= 32 ? n / 32 : 1, nsample = 0;
    for (size_t i = 0; i < n; i += step)
        nsample++;
    /* Estimated bits on the sample: 80 per exception plus the FOR width of
     * the exact integers for each of them.  A larger e only widens the
     * integers, so the search stops at the first e where all are exact. */
    unsigned best_e = 0;
    size_t best_ok = 0, best_bits = SIZE_MAX;
    for (unsigned e = 0; e <= DEC_MAX_E; e++) {
        size_t ok = 0;
        int64_t d, lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < n; i += step) {
            if (dec_try(v[i], e, &d)) {
                ok++;
                lo = d < lo ? d : lo;
                hi = d > hi ? d : hi;
            }
        }
        if (ok == 0)
            continue;
        size_t bits = (nsample - ok) * 80 +
                      nsample * codec__bit_width((uint64_t)hi - (uint64_t)lo);
        if (bits < best_bits) {
            best_bits = bits;
            best_ok = ok;
            best_e = e;
        }
        if (ok == nsample)
            break;
    }
    /* Not even the sample estimate beats raw storage: skip the full pass. */
    if (best_ok == 0 || best_bits >= 64 * nsample)
        return false;

    uint64_t *ints = c->aux;
    uint16_t pos[CODEC_BLOCK_MAX];
    size_t nexc = 0, first_ok = n;
    int64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t d;
        if (dec_try(v[i], best_e, &d)) {
            last = d;
            if (first_ok == n)
                first_ok = i;
        } else {
            pos[nexc++] = (uint16_t)i;
        }
        ints[i] = (uint64_t)last;
    }
    /* Raw storage is 8 bytes a value; an exception costs 10. */
    if (first_ok == n || nexc * 10 >= n * 8)
        return false;
    for (size_t i = 0; i < first_ok; i++)
        ints[i] = ints[first_ok];

    wr_u8(w, best_e);
    wr_uvarint(w, nexc);
    for (size_t k = 0; k < nexc; k++)
        wr_u16(w, pos[k]);
    for (size_t k = 0; k < nexc; k++)
        wr_bytes(w, &v[pos[k]], 8);
    codec__intseq_put(w, ints, n, false, c->is, c->fast);
    return true;
}

void codec__decimal_decode(struct codec_ctx *c, struct cur *cu, size_t n,
                           double *out)
{
    unsigned e = cur_u8(cu, "truncated decimal exponent");
    if (!cu->is_bad && e > DEC_MAX_E) {
        cur_fail(cu, "decimal exponent above 18");
        return;
    }
    uint64_t nexc = cur_uvarint(cu, "truncated exception count");
    if (!cu->is_bad && nexc > n) {
        cur_fail(cu, "more exceptions than values");
        return;
    }
    const uint8_t *pos = cur_take(cu, 2 * nexc, "exception positions truncated");
    const uint8_t *raw = cur_take(cu, 8 * nexc, "exception values truncated");
    uint64_t *ints = c->vals;
    codec__intseq_get(cu, n, ints);
    if (cu->is_bad)
        return;
    /* (double)d for |d| <= 2^51 (every integer the encoder writes) without
     * a scalar int64 conversion: add d to the bits of 1.5 * 2^52 and
     * subtract that constant as a double.  The loop vectorises; bogus
     * integers from corrupt input give bogus values, never UB. */
    const double p = P10[e], magic = 0x1.8p52;
    const uint64_t magic_bits = 0x4338000000000000ull;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = ints[i] + magic_bits;
        double x;
        memcpy(&x, &b, 8);
        out[i] = (x - magic) / p;
    }
    for (size_t k = 0; k < nexc; k++) {
        unsigned at = (unsigned)pos[2 * k] | (unsigned)pos[2 * k + 1] << 8;
        if (at >= n) {
            cur_fail(cu, "exception position beyond the block");
            return;
        }
        memcpy(&out[at], raw + 8 * k, 8);
    }
}
