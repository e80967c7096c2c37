// SPDX-License-Identifier: MIT
/*
 * Reference float formatting for tests/unit/common_fmt_float_test.c,
 * tests/fuzz/fmt_float.c and bench/fmt_float_bench.c: the printf + strtod
 * algorithm common/json.c and query/result.c used before common/fmt_float.c
 * (kept verbatim in spirit: the least precision P whose "%.{P-1}e" reads back
 * as v), plus the one refinement Go's rule adds (see ref_go_shortest).
 * Header-only, static functions; test code only.
 */
#ifndef NJ_TESTS_FMT_FLOAT_REF_H
#define NJ_TESTS_FMT_FLOAT_REF_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* value = mant * 10^exp, mant without trailing zeros */
struct ref_dec {
    uint64_t mant;
    int exp;
    int nd; /* digits in mant */
};

static inline int ref_ndigits(uint64_t m)
{
    int n = 1;
    while (m >= 10) {
        m /= 10;
        n++;
    }
    return n;
}

/* "[-]d[.ddd]e[+-]XX" -> mant, exp; trailing zeros dropped. */
static inline struct ref_dec ref_parse_e(const char *s)
{
    struct ref_dec r = {0, 0, 0};
    int frac = 0, seen_point = 0;
    if (*s == '-')
        s++;
    for (; *s && *s != 'e'; s++) {
        if (*s == '.') {
            seen_point = 1;
            continue;
        }
        r.mant = r.mant * 10 + (uint64_t)(*s - '0');
        frac += seen_point;
    }
    r.exp = (*s == 'e' ? atoi(s + 1) : 0) - frac;
    while (r.mant && r.mant % 10 == 0) {
        r.mant /= 10;
        r.exp++;
    }
    r.nd = ref_ndigits(r.mant);
    return r;
}

/* The old algorithm: shortest correctly rounded digits that read back. */
static inline struct ref_dec ref_printf_shortest(double v)
{
    char s[64];
    for (int p = 0; p < 17; p++) {
        snprintf(s, sizeof s, "%.*e", p, fabs(v));
        if (strtod(s, NULL) == fabs(v))
            break;
    }
    return ref_parse_e(s);
}

/* Go's rule (strconv shortest, Ryu): the fewest digits of any decimal that
 * reads back, closest to v among those.  Differs from the old algorithm only
 * when the correctly rounded P-digit decimal lies below v outside the narrow
 * lower half-interval of an exact power of two while the next P-digit decimal
 * up still reads back; then try that neighbour before adding a digit. */
static inline struct ref_dec ref_go_shortest(double v)
{
    char s[64];
    double a = fabs(v);
    for (int p = 0; p < 17; p++) {
        snprintf(s, sizeof s, "%.*e", p, a);
        if (strtod(s, NULL) == a)
            return ref_parse_e(s);
        /* mantissa digits as an integer, then one up in the last place */
        uint64_t m = 0;
        const char *q = s;
        for (; *q != 'e'; q++)
            if (*q != '.')
                m = m * 10 + (uint64_t)(*q - '0');
        int e = atoi(q + 1) - p;
        char up[64];
        snprintf(up, sizeof up, "%" PRIu64 "e%d", m + 1, e);
        if (strtod(up, NULL) == a) {
            struct ref_dec r = ref_parse_e(up);
            return r;
        }
    }
    snprintf(s, sizeof s, "%.16e", a);
    return ref_parse_e(s);
}

/* The old common/json.c json_append_f64 (on top of json_shortest_g) into out. */
static inline size_t ref_json(double v, char *out)
{
    if (v == 0) {
        strcpy(out, signbit(v) ? "-0" : "0");
        return strlen(out);
    }
    char g[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(g, sizeof g, "%.*g", prec, v);
        if (strtod(g, NULL) == v)
            break;
    }
    char digits[24];
    size_t nd = 0;
    int exp10 = 0, neg = 0;
    const char *q = g;
    if (*q == '-') {
        neg = 1;
        q++;
    }
    int seen_point = 0, int_digits = 0;
    for (; *q && *q != 'e'; q++) {
        if (*q == '.') {
            seen_point = 1;
            continue;
        }
        digits[nd++] = *q;
        if (!seen_point)
            int_digits++;
    }
    if (*q == 'e')
        exp10 = atoi(q + 1);
    size_t lead = 0;
    while (lead < nd - 1 && digits[lead] == '0') {
        lead++;
        int_digits--;
    }
    memmove(digits, digits + lead, nd - lead);
    nd -= lead;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int point = int_digits + exp10;
    double a = fabs(v);
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (a < 1e-6 || a >= 1e21) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        int e = point - 1;
        o += (size_t)snprintf(out + o, 16, e < 0 ? "e-%d" : "e+%02d", e < 0 ? -e : e);
    } else if (point <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int k = 0; k < -point; k++)
            out[o++] = '0';
        memcpy(out + o, digits, nd);
        o += nd;
    } else if ((size_t)point >= nd) {
        memcpy(out + o, digits, nd);
        o += nd;
        for (size_t k = nd; k < (size_t)point; k++)
            out[o++] = '0';
    } else {
        memcpy(out + o, digits, (size_t)point);
        o += (size_t)point;
        out[o++] = '.';
        memcpy(out + o, digits + point, nd - (size_t)point);
        o += nd - (size_t)point;
    }
    out[o] = '\0';
    return o;
}

/* The old query/result.c format_float_f (Go's 'f', -1) into out (cap >= 400). */
static inline size_t ref_fixed(double v, char *out, size_t cap)
{
    char e[40];
    int p;
    for (p = 0; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, v);
        if (strtod(e, NULL) == v)
            break;
    }
    const char *s = e;
    size_t o = 0;
    if (*s == '-') {
        out[o++] = '-';
        s++;
    }
    char digits[24];
    size_t nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.')
            digits[nd++] = *s;
    int exp = atoi(*s == 'e' ? s + 1 : "0");
    int point = exp + 1;
    if (point <= 0) {
        o += (size_t)snprintf(out + o, cap - o, "0.");
        for (int i = 0; i < -point && o + 1 < cap; i++)
            out[o++] = '0';
        for (size_t i = 0; i < nd && o + 1 < cap; i++)
            out[o++] = digits[i];
    } else {
        for (int i = 0; i < point && o + 1 < cap; i++)
            out[o++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)point < nd) {
            out[o++] = '.';
            for (size_t i = (size_t)point; i < nd && o + 1 < cap; i++)
                out[o++] = digits[i];
        }
    }
    out[o] = '\0';
    return o;
}

#endif
