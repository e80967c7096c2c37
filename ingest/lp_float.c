// SPDX-License-Identifier: MIT
/*
 * Exact decimal <-> double conversions for line protocol.
 *
 * Parsing (lp_parse_f64): the digits are folded into a 64-bit mantissa of at
 * most 19 significant digits and a decimal exponent.  Then, in order:
 *   1. zero mantissa -> signed zero; exponents far out of range -> zero or
 *      overflow without arithmetic;
 *   2. Clinger's fast path: mantissa <= 2^53 and |exp| <= 22 means both
 *      operands are exact doubles, so one IEEE multiply or divide is
 *      correctly rounded;
 *   3. Eisel-Lemire (D. Lemire, "Number Parsing at a Gigabyte per Second",
 *      2021, after M. Eisel): multiply the normalised mantissa by a
 *      truncated 128-bit power of ten (lp_pow10.c) and keep the top 54 bits;
 *      the algorithm detects the few products whose rounding it cannot
 *      decide.  With more than 19 digits the answer must agree for the
 *      mantissa and the mantissa + 1 (the true value lies between);
 *   4. anything undecided (those cases, subnormal results, overflow) goes to
 *      strtod() on a NUL-terminated copy.  strtod reads the C locale's
 *      decimal point; the daemon never calls setlocale().
 * Invariant: every path returns the correctly rounded double, so a shortest
 * or %.17g printout reads back bit for bit.
 *
 * Formatting (lp_format_f64): the fewest significant digits (1..17) whose
 * correctly rounded %e printout reads back exactly, found by bisection and
 * checked once more (falling back to 17 digits, which always round-trips),
 * then laid out in plain or exponent notation like JavaScript does.
 */
#include "ingest/lp.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/lp_int.h"

static const double exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline double bits_to_f64(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline void mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    *hi = (uint64_t)(r >> 64);
    *lo = (uint64_t)r;
}

/* Eisel-Lemire proper; man != 0, exp10 within the table.  Returns false
 * when undecided or outside the normal range. */
static bool eisel_lemire(uint64_t man, int64_t exp10, bool neg, double *out)
{
    int clz = __builtin_clzll(man);
    man <<= clz;
    /* floor(exp10 * log2(10)) + 64 + bias - clz; 217706 / 2^16 ~ log2(10),
     * exact over the table's range. */
    uint64_t exp2 = (uint64_t)(((217706 * exp10) >> 16) + 64 + 1023) - (uint64_t)clz;
    const uint64_t *pw = lp__pow10_tab[exp10 - LP__POW10_MIN];
    uint64_t hi, lo;
    mul64(man, pw[0], &hi, &lo);
    if ((hi & 0x1FF) == 0x1FF && lo + man < man) {
        /* The low bits might carry into the kept ones: widen with the low
         * half of the power. */
        uint64_t hi2, lo2;
        mul64(man, pw[1], &hi2, &lo2);
        uint64_t mhi = hi, mlo = lo + hi2;
        if (mlo < lo)
            mhi++;
        if ((mhi & 0x1FF) == 0x1FF && mlo + 1 == 0 && lo2 + man < man)
            return false;
        hi = mhi;
        lo = mlo;
    }
    uint64_t msb = hi >> 63;
    uint64_t mant = hi >> (msb + 9);
    exp2 -= 1 ^ msb;
    /* Exactly halfway between two doubles: round-half-even needs the
     * digits we do not have. */
    if (lo == 0 && (hi & 0x1FF) == 0 && (mant & 3) == 1)
        return false;
    mant += mant & 1;
    mant >>= 1;
    if (mant >> 53) {
        mant >>= 1;
        exp2++;
    }
    if (exp2 - 1 >= 0x7FF - 1) /* subnormal, zero, inf: let strtod decide */
        return false;
    uint64_t b = exp2 << 52 | (mant & 0x000FFFFFFFFFFFFFull);
    if (neg)
        b |= 0x8000000000000000ull;
    *out = bits_to_f64(b);
    return true;
}

bool lp__f64_fast(uint64_t man, int64_t exp10, bool neg, bool trunc,
                  double *out)
{
    if (man == 0) {
        *out = neg ? -0.0 : 0.0;
        return true;
    }
    if (!trunc && man <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)man;
        d = exp10 < 0 ? d / exact_pow10[-exp10] : d * exact_pow10[exp10];
        *out = neg ? -d : d;
        return true;
    }
    if (exp10 < LP__POW10_MIN || exp10 > LP__POW10_MAX)
        return false;
    double a;
    if (!eisel_lemire(man, exp10, neg, &a))
        return false;
    if (trunc) {
        double b;
        if (!eisel_lemire(man + 1, exp10, neg, &b) || a != b)
            return false;
    }
    *out = a;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* strtod on a NUL-terminated copy of s (whose syntax is already checked). */
static int slow_f64(struct sv s, double *out)
{
    char stack[128];
    char *tmp = stack;
    if (s.n >= sizeof stack) {
        tmp = malloc(s.n + 1);
        if (!tmp)
            return ERR_NOMEM;
    }
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    errno = 0;
    double d = strtod(tmp, NULL);
    int rc = 0;
    if (isinf(d))
        rc = ERR_LIMIT; /* Go: ErrRange for overflow; underflow is fine */
    if (tmp != stack)
        free(tmp);
    *out = d;
    return rc;
}

int lp_parse_f64(struct sv s, double *out)
{
    const char *p = s.p, *end = s.p + s.n;
    bool neg = false;
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    uint64_t man = 0;
    int nd = 0;           /* significant digits folded into man */
    int64_t exp10 = 0;    /* adjustment from dropped / fraction digits */
    bool trunc = false, saw_digit = false, saw_dot = false;
    for (; p < end; p++) {
        char c = *p;
        if (c == '.') {
            if (saw_dot)
                return ERR_PARSE;
            saw_dot = true;
            continue;
        }
        if (!is_digit(c))
            break;
        saw_digit = true;
        unsigned d = (unsigned)(c - '0');
        if (man == 0 && d == 0) { /* leading zero: only shifts */
            if (saw_dot)
                exp10--;
            continue;
        }
        if (nd < 19) {
            man = man * 10 + d;
            nd++;
            if (saw_dot)
                exp10--;
        } else {
            if (!saw_dot)
                exp10++;
            if (d)
                trunc = true;
        }
    }
    if (!saw_digit)
        return ERR_PARSE;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p >= end || !is_digit(*p))
            return ERR_PARSE;
        int64_t e = 0;
        for (; p < end && is_digit(*p); p++)
            if (e < 1000000)
                e = e * 10 + (*p - '0');
        exp10 += eneg ? -e : e;
    }
    if (p != end)
        return ERR_PARSE;
    if (man == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    /* man < 10^19: below 10^-325 rounds to zero, from 10^309 up overflows
     * (DBL_MAX ~ 1.8e308, smallest subnormal ~ 4.9e-324). */
    if (exp10 + 19 < -325) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (exp10 + nd > 310)
        return ERR_LIMIT;
    if (lp__f64_fast(man, exp10, neg, trunc, out))
        return 0;
    return slow_f64(s, out);
}

/* Prints f with nd significant digits (%.{nd-1}e) into tmp and says
 * whether that text reads back exactly. */
static bool exact_e(double f, int nd, char *tmp, size_t cap)
{
    int n = snprintf(tmp, cap, "%.*e", nd - 1, f);
    double back;
    return n > 0 && (size_t)n < cap && lp_parse_f64(sv_make(tmp, (size_t)n), &back) == 0 &&
           memcmp(&back, &f, sizeof f) == 0;
}

size_t lp_format_f64(double f, char *out, size_t cap)
{
    /* tmp always ends up holding the shortest exact printout found.
     * Random doubles need 16 or 17 digits, metrics mostly far fewer: try
     * 16, then 15, and bisect below that.  Round-tripping is monotone in
     * the digit count in practice; the checks keep the result exact
     * regardless, and 17 digits always round-trip. */
    char tmp[40], probe[40];
    if (!exact_e(f, 16, tmp, sizeof tmp)) {
        snprintf(tmp, sizeof tmp, "%.16e", f);
    } else if (exact_e(f, 15, probe, sizeof probe)) {
        memcpy(tmp, probe, sizeof tmp);
        int lo = 1, hi = 15; /* hi is known exact */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (exact_e(f, mid, probe, sizeof probe)) {
                hi = mid;
                memcpy(tmp, probe, sizeof tmp);
            } else {
                lo = mid + 1;
            }
        }
    }
    /* tmp is "-d.ddde+XX": pull out the digits and the exponent, then lay
     * them out like JavaScript's Number#toString (plain notation for
     * 1e-6 <= |f| < 1e21), which reads better than %g's choices. */
    const char *q = tmp;
    bool neg = *q == '-';
    if (neg)
        q++;
    char dig[20];
    int nd = 0;
    for (; *q && *q != 'e'; q++)
        if (*q != '.' && nd < (int)sizeof dig)
            dig[nd++] = *q;
    int x = *q == 'e' ? atoi(q + 1) : 0;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    char res[48];
    size_t k = 0;
    if (neg)
        res[k++] = '-';
    int point = x + 1; /* digits before the decimal point */
    if (dig[0] == '0') {
        res[k++] = '0';
    } else if (point >= nd && point <= 21) {
        for (int i = 0; i < point; i++)
            res[k++] = i < nd ? dig[i] : '0';
    } else if (point > 0 && point <= 21) {
        for (int i = 0; i < nd; i++) {
            if (i == point)
                res[k++] = '.';
            res[k++] = dig[i];
        }
    } else if (point <= 0 && point > -6) {
        res[k++] = '0';
        res[k++] = '.';
        for (int i = 0; i < -point; i++)
            res[k++] = '0';
        for (int i = 0; i < nd; i++)
            res[k++] = dig[i];
    } else {
        res[k++] = dig[0];
        if (nd > 1) {
            res[k++] = '.';
            for (int i = 1; i < nd; i++)
                res[k++] = dig[i];
        }
        k += (size_t)snprintf(res + k, sizeof res - k, "e%d", x);
    }
    res[k] = '\0';
    if (cap == 0)
        return 0;
    if (k >= cap)
        k = cap - 1;
    memcpy(out, res, k);
    out[k] = '\0';
    return k;
}
