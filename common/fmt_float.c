// SPDX-License-Identifier: MIT
/*
 * Shortest round-trip double -> decimal, and integer printing (fmt_float.h).
 *
 * The digits come from Ryu (Ulf Adams, "Ryu: fast float-to-string
 * conversion", PLDI 2018), written here from the paper's description: the
 * double v = m2 * 2^e2 has a rounding interval [mm, mp] (half an ulp each
 * side, only a quarter below when v is an exact power of two and not the
 * smallest normal); all three bounds are scaled by 4 so they are integers,
 * multiplied by a 128-bit approximation of 2^-e2 * 10^-q (or 5^-e2-q)
 * chosen so the products vr, vp, vm are exact decimal truncations, and then
 * digits are dropped from the right while vp/10 > vm/10, remembering the
 * last dropped digit of vr to round the result.  The exact-arithmetic side
 * cases (an interval end or v itself being a decimal with q trailing zeros,
 * which decides inclusive bounds and half-way ties) are tracked with
 * vm_is_trailing_zeros / vr_is_trailing_zeros as the paper describes.
 *
 * The 128-bit multipliers are in fmt_float_tables.h, generated with exact
 * integers by scripts/gen_fmt_float_tables.py.
 *
 * Proof of agreement with the old printf("%.*g") + strtod search, and of
 * round-trip on random bit patterns: tests/unit/common_fmt_float_test.c and
 * tests/fuzz/fmt_float.c.
 */
#include "common/fmt_float.h"

#include <math.h>
#include <string.h>

#include "common/fmt_float_tables.h"

#ifndef __SIZEOF_INT128__
#error "fmt_float.c needs a compiler with unsigned __int128"
#endif
typedef unsigned __int128 u128;

#define MANT_BITS 52
#define EXP_BIAS 1023

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

/* ceil(log2(5^e)) for e >= 1; 1 for e == 0 (valid for e <= 3528). */
static inline int pow5_bits(int e)
{
    return (int)(((uint32_t)e * 1217359u) >> 19) + 1;
}

/* floor(log10(2^e)), 0 <= e <= 1650 */
static inline int log10_pow2(int e)
{
    return (int)(((uint32_t)e * 78913u) >> 18);
}

/* floor(log10(5^e)), 0 <= e <= 2620 */
static inline int log10_pow5(int e)
{
    return (int)(((uint32_t)e * 732923u) >> 20);
}

static inline int pow5_factor(uint64_t v)
{
    int n = 0;
    while (v % 5 == 0) {
        v /= 5;
        n++;
    }
    return n;
}

static inline int is_multiple_of_pow5(uint64_t v, int p)
{
    return pow5_factor(v) >= p;
}

static inline int is_multiple_of_pow2(uint64_t v, int p)
{
    return (v & ((UINT64_C(1) << p) - 1)) == 0;
}

/* (m * mul) >> j with mul a 128-bit {lo, hi} and j >= 64; the low product's
 * bottom 64 bits never reach the result. */
static inline uint64_t mul_shift(uint64_t m, const uint64_t mul[2], int j)
{
    u128 lo = (u128)m * mul[0];
    u128 hi = (u128)m * mul[1];
    return (uint64_t)(((lo >> 64) + hi) >> (j - 64));
}

struct fmt_dec fmt_f64_shortest(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t ieee_mant = bits & ((UINT64_C(1) << MANT_BITS) - 1);
    int ieee_exp = (int)((bits >> MANT_BITS) & 0x7ff);
    struct fmt_dec d;

    /* Integers below 2^53: the digits are the integer's. */
    if (ieee_exp != 0) {
        uint64_t m = (UINT64_C(1) << MANT_BITS) | ieee_mant;
        int e = ieee_exp - EXP_BIAS - MANT_BITS;
        if (e <= 0 && e >= -52 && (m & ((UINT64_C(1) << -e) - 1)) == 0) {
            d.mant = m >> -e;
            d.exp = 0;
            while (d.mant % 10 == 0) {
                d.mant /= 10;
                d.exp++;
            }
            return d;
        }
    }

    int e2;
    uint64_t m2;
    if (ieee_exp == 0) {
        e2 = 1 - EXP_BIAS - MANT_BITS - 2;
        m2 = ieee_mant;
    } else {
        e2 = ieee_exp - EXP_BIAS - MANT_BITS - 2;
        m2 = (UINT64_C(1) << MANT_BITS) | ieee_mant;
    }
    int accept_bounds = (m2 & 1) == 0; /* round-half-even keeps even ends */
    uint64_t mv = 4 * m2;
    /* The lower bound is a quarter ulp away at a power of two (not for the
     * smallest normal, whose neighbour below is a subnormal as far away). */
    uint32_t mm_shift = ieee_mant != 0 || ieee_exp <= 1;

    uint64_t vr, vp, vm;
    int e10;
    int vm_is_trailing_zeros = 0, vr_is_trailing_zeros = 0;
    if (e2 >= 0) {
        int q = log10_pow2(e2) - (e2 > 3);
        e10 = q;
        int k = FMT__POW5_INV_BITS + pow5_bits(q) - 1;
        int i = -e2 + q + k;
        vr = mul_shift(4 * m2, fmt__pow5_inv[q], i);
        vp = mul_shift(4 * m2 + 2, fmt__pow5_inv[q], i);
        vm = mul_shift(4 * m2 - 1 - mm_shift, fmt__pow5_inv[q], i);
        if (q <= 21) {
            /* Only one of mv, mp, mm can be a multiple of 5, if any. */
            if (mv % 5 == 0)
                vr_is_trailing_zeros = is_multiple_of_pow5(mv, q);
            else if (accept_bounds)
                vm_is_trailing_zeros = is_multiple_of_pow5(mv - 1 - mm_shift, q);
            else
                vp -= (uint64_t)is_multiple_of_pow5(mv + 2, q);
        }
    } else {
        int q = log10_pow5(-e2) - (-e2 > 1);
        e10 = q + e2;
        int i = -e2 - q;
        int k = pow5_bits(i) - FMT__POW5_BITS;
        int j = q - k;
        vr = mul_shift(4 * m2, fmt__pow5[i], j);
        vp = mul_shift(4 * m2 + 2, fmt__pow5[i], j);
        vm = mul_shift(4 * m2 - 1 - mm_shift, fmt__pow5[i], j);
        if (q <= 1) {
            /* mv = 4 * m2 has at least two trailing zero bits. */
            vr_is_trailing_zeros = 1;
            if (accept_bounds)
                vm_is_trailing_zeros = mm_shift == 1; /* mm = mv - 2: one zero bit */
            else
                vp--; /* mp = mv + 2 has one trailing zero bit: exclude it */
        } else if (q < 63) {
            vr_is_trailing_zeros = is_multiple_of_pow2(mv, q);
        }
    }

    int removed = 0;
    uint64_t out;
    if (vm_is_trailing_zeros || vr_is_trailing_zeros) {
        /* The rare exact case: keep track of ties and inclusive ends. */
        unsigned last = 0;
        while (vp / 10 > vm / 10) {
            vm_is_trailing_zeros &= vm % 10 == 0;
            vr_is_trailing_zeros &= last == 0;
            last = (unsigned)(vr % 10);
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        if (vm_is_trailing_zeros) {
            while (vm % 10 == 0) {
                vr_is_trailing_zeros &= last == 0;
                last = (unsigned)(vr % 10);
                vr /= 10;
                vp /= 10;
                vm /= 10;
                removed++;
            }
        }
        if (vr_is_trailing_zeros && last == 5 && vr % 2 == 0)
            last = 4; /* exactly half-way: round to even */
        out = vr + (uint64_t)((vr == vm && (!accept_bounds || !vm_is_trailing_zeros)) || last >= 5);
    } else {
        /* The common case: bounds exclusive, no exact tie possible. */
        int round_up = 0;
        if (vp / 100 > vm / 100) {
            round_up = vr % 100 >= 50;
            vr /= 100;
            vp /= 100;
            vm /= 100;
            removed += 2;
        }
        while (vp / 10 > vm / 10) {
            round_up = vr % 10 >= 5;
            vr /= 10;
            vp /= 10;
            vm /= 10;
            removed++;
        }
        out = vr + (uint64_t)(vr == vm || round_up);
    }
    d.mant = out;
    d.exp = e10 + removed;
    while (d.mant % 10 == 0) {
        d.mant /= 10;
        d.exp++;
    }
    return d;
}

static inline int count_digits(uint64_t v)
{
    int n = 1;
    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

/* Writes the nd digits of v ending at end[-1]. */
static inline void put_digits(uint64_t v, char *end)
{
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        end -= 2;
        memcpy(end, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        end -= 2;
        memcpy(end, digit_pairs + 2 * v, 2);
    } else {
        *--end = (char)('0' + v);
    }
}

size_t fmt_u64(uint64_t v, char *out)
{
    int n = count_digits(v);
    put_digits(v, out + n);
    return (size_t)n;
}

size_t fmt_i64(int64_t v, char *out)
{
    if (v >= 0)
        return fmt_u64((uint64_t)v, out);
    out[0] = '-';
    return 1 + fmt_u64((uint64_t)0 - (uint64_t)v, out + 1);
}

/* digits (nd of them) as a plain decimal with the point after `point`
 * digits (point may be <= 0 or > nd). */
static size_t put_fixed(char *o, const char *digits, int nd, int point)
{
    char *start = o;
    if (point <= 0) {
        *o++ = '0';
        *o++ = '.';
        memset(o, '0', (size_t)-point);
        o += -point;
        memcpy(o, digits, (size_t)nd);
        o += nd;
    } else if (point >= nd) {
        memcpy(o, digits, (size_t)nd);
        o += nd;
        memset(o, '0', (size_t)(point - nd));
        o += point - nd;
    } else {
        memcpy(o, digits, (size_t)point);
        o += point;
        *o++ = '.';
        memcpy(o, digits + point, (size_t)(nd - point));
        o += nd - point;
    }
    return (size_t)(o - start);
}

/* Zeros: writes "0" or "-0", sets *nd = 0 and returns the length.  Else
 * fills digits[0..*nd) with v's shortest digits and *point with the decimal
 * point's position, and writes the sign (returns 0 or 1). */
static size_t f64_start(double v, char *out, char digits[20], int *nd, int *point)
{
    if (v == 0) {
        *nd = 0;
        if (signbit(v)) {
            memcpy(out, "-0", 2);
            return 2;
        }
        out[0] = '0';
        return 1;
    }
    struct fmt_dec d = fmt_f64_shortest(v);
    *nd = count_digits(d.mant);
    put_digits(d.mant, digits + *nd);
    *point = *nd + d.exp;
    if (v < 0) {
        out[0] = '-';
        return 1;
    }
    return 0;
}

size_t fmt_f64_json(double v, char *out)
{
    char digits[20];
    int nd, point = 0;
    char *o = out + f64_start(v, out, digits, &nd, &point);
    if (nd == 0)
        return (size_t)(o - out);
    double a = fabs(v);
    if (a < 1e-6 || a >= 1e21) {
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(nd - 1));
            o += nd - 1;
        }
        int e = point - 1;
        *o++ = 'e';
        if (e < 0) {
            *o++ = '-';
            o += fmt_u64((uint64_t)-e, o);
        } else {
            *o++ = '+';
            if (e < 10)
                *o++ = '0';
            o += fmt_u64((uint64_t)e, o);
        }
        return (size_t)(o - out);
    }
    o += put_fixed(o, digits, nd, point);
    return (size_t)(o - out);
}

size_t fmt_f64_fixed(double v, char *out)
{
    char digits[20];
    int nd, point = 0;
    char *o = out + f64_start(v, out, digits, &nd, &point);
    if (nd > 0)
        o += put_fixed(o, digits, nd, point);
    return (size_t)(o - out);
}
