// SPDX-License-Identifier: MIT
/*
 * Unit tests for common/fmt_float: the Ryu shortest digits against the old
 * printf("%.*e") + strtod search (tests/support/fmt_float_ref.h) on ~2 M
 * random bit patterns, random decimals of 1-17 digits, every power of two
 * and of ten with their neighbours, subnormals, the extremes, and decimals
 * lying exactly half-way between two doubles; and the Go JSON / 'f' string
 * forms against the old string code built on that search.
 *
 * Where the two searches may legitimately differ -- exact powers of two,
 * whose lower half-interval is half as wide (see fmt_float.h) -- the digits
 * must equal Go's rule (ref_go_shortest) and be shorter than the old ones;
 * every such case met is counted, and at least one must be met.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fmt_float.h"
#include "tests/support/fmt_float_ref.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_u64(void)
{
    /* xorshift64* */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static int is_pow2(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return (b & ((UINT64_C(1) << 52) - 1)) == 0 && ((b >> 52) & 0x7ff) > 1;
}

static long n_checked, n_pow2_shorter;

/* Checks v (finite, any sign): the digits against the printf search, and
 * when is_full also both string forms against the old string code (each of
 * those runs the search again, so the bulk random runs do that for 1 in 8). */
static void check_v(double v, int is_full)
{
    n_checked++;
    char got[FMT_FIXED_MAX + 1], want[512];
    if (v != 0) {
        struct fmt_dec d = fmt_f64_shortest(v);
        struct ref_dec old = ref_printf_shortest(v);
        if (d.mant != old.mant || d.exp != old.exp) {
            struct ref_dec go = ref_go_shortest(v);
            if (!is_pow2(v) || d.mant != go.mant || d.exp != go.exp ||
                ref_ndigits(d.mant) >= old.nd)
                fail_msg("%a (%.17g): got %" PRIu64 "e%d, printf search %" PRIu64
                         "e%d, Go rule %" PRIu64 "e%d",
                         v, v, d.mant, d.exp, old.mant, old.exp, go.mant, go.exp);
            n_pow2_shorter++;
            /* the shorter string must still read back */
            snprintf(want, sizeof want, "%" PRIu64 "e%d", d.mant, d.exp);
            if (strtod(want, NULL) != fabs(v))
                fail_msg("%a: %s does not read back", v, want);
            size_t n = fmt_f64_json(v, got);
            got[n] = '\0';
            if (strtod(got, NULL) != v)
                fail_msg("%a: json %s does not read back", v, got);
            n = fmt_f64_fixed(v, got);
            got[n] = '\0';
            if (strtod(got, NULL) != v)
                fail_msg("%a: fixed %s does not read back", v, got);
            return;
        }
        if (ref_ndigits(d.mant) > 17 || d.mant % 10 == 0)
            fail_msg("%a: mant %" PRIu64 " not 1-17 digits without trailing zeros", v, d.mant);
    }
    if (!is_full && v != 0) {
        size_t n = fmt_f64_json(v, got);
        got[n] = '\0';
        if (strtod(got, NULL) != v)
            fail_msg("%a: json %s does not read back", v, got);
        return;
    }
    size_t n = fmt_f64_json(v, got);
    assert_true(n <= FMT_JSON_MAX);
    got[n] = '\0';
    ref_json(v, want);
    if (strcmp(got, want) != 0)
        fail_msg("%a: json got \"%s\" want \"%s\"", v, got, want);
    if (strtod(got, NULL) != v)
        fail_msg("%a: json %s does not read back", v, got);
    n = fmt_f64_fixed(v, got);
    assert_true(n <= FMT_FIXED_MAX);
    got[n] = '\0';
    ref_fixed(v, want, sizeof want);
    if (strcmp(got, want) != 0)
        fail_msg("%a: fixed got \"%s\" want \"%s\"", v, got, want);
}

static void check(double v)
{
    check_v(v, 1);
}

static void check_pm(double v)
{
    check(v);
    check(-v);
}

static void test_known(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *json, *fixed;
    } cases[] = {
        /* strings from Go 1.x json.Marshal / strconv.FormatFloat(v,'f',-1,64) */
        {0.0, "0", "0"},
        {-0.0, "-0", "-0"},
        {1, "1", "1"},
        {-2.5, "-2.5", "-2.5"},
        {0.1, "0.1", "0.1"},
        {0.3, "0.3", "0.3"},
        {1.0 / 3, "0.3333333333333333", "0.3333333333333333"},
        {123456789, "123456789", "123456789"},
        {1e20, "100000000000000000000", "100000000000000000000"},
        {1e21, "1e+21", "1000000000000000000000"},
        {1.5e300, "1.5e+300", NULL},
        {0.000001, "0.000001", "0.000001"},
        {0.0000001, "1e-7", "0.0000001"},
        {1.2345e-10, "1.2345e-10", "0.00000000012345"},
        {5e-324, "5e-324", NULL},
        {DBL_MAX, "1.7976931348623157e+308", NULL},
        {DBL_MIN, "2.2250738585072014e-308", NULL},
        {9007199254740993.0, "9007199254740992", "9007199254740992"},
        {1e23, "1e+23", "100000000000000000000000"},
        {2.5e-8, "2.5e-8", "0.000000025"},
        {123.456, "123.456", "123.456"},
        {-1e-300, "-1e-300", NULL},
        /* 2^63: shortest digits, then zeros (Go and JavaScript agree) */
        {9.223372036854775808e18, "9223372036854776000", "9223372036854776000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[FMT_FIXED_MAX + 1];
        size_t n = fmt_f64_json(cases[i].v, out);
        out[n] = '\0';
        assert_string_equal(out, cases[i].json);
        if (cases[i].fixed) {
            n = fmt_f64_fixed(cases[i].v, out);
            out[n] = '\0';
            assert_string_equal(out, cases[i].fixed);
        }
    }
    char out[FMT_FIXED_MAX + 1];
    size_t n = fmt_f64_fixed(5e-324, out);
    assert_int_equal(n, 2 + 323 + 1);
    n = fmt_f64_fixed(-DBL_MAX, out);
    assert_int_equal(n, 1 + 309);
    assert_true(n <= FMT_FIXED_MAX);
}

static void test_integers(void **state)
{
    (void)state;
    char out[32], want[32];
    static const int64_t iv[] = {0, 1, -1, 9, 10, 99, 100, -100, 12345, 999999999, 1000000000,
                                 INT64_MAX, INT64_MIN, INT64_MIN + 1};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        size_t n = fmt_i64(iv[i], out);
        out[n] = '\0';
        snprintf(want, sizeof want, "%" PRId64, iv[i]);
        assert_string_equal(out, want);
    }
    uint64_t p = 1;
    for (int k = 0; k < 20; k++, p *= 10) {
        uint64_t us[3] = {p, p - 1, p + 1};
        for (int j = 0; j < 3; j++) {
            size_t n = fmt_u64(us[j], out);
            out[n] = '\0';
            snprintf(want, sizeof want, "%" PRIu64, us[j]);
            assert_string_equal(out, want);
        }
    }
    for (int i = 0; i < 200000; i++) {
        uint64_t u = next_u64() >> (next_u64() % 64);
        size_t n = fmt_u64(u, out);
        out[n] = '\0';
        snprintf(want, sizeof want, "%" PRIu64, u);
        assert_string_equal(out, want);
        n = fmt_i64((int64_t)u, out);
        out[n] = '\0';
        snprintf(want, sizeof want, "%" PRId64, (int64_t)u);
        assert_string_equal(out, want);
    }
    size_t n = fmt_u64(UINT64_MAX, out);
    assert_int_equal(n, FMT_U64_MAX);
}

static void test_random_bits(void **state)
{
    (void)state;
    for (long i = 0; i < 2000000; i++) {
        double v = from_bits(next_u64());
        if (isfinite(v))
            check_v(v, (i & 7) == 0);
    }
}

static void test_random_decimals(void **state)
{
    (void)state;
    char s[64];
    for (long i = 0; i < 200000; i++) {
        int nd = 1 + (int)(next_u64() % 17);
        uint64_t m = 1 + next_u64() % 9; /* leading digit non-zero */
        for (int k = 1; k < nd; k++)
            m = m * 10 + next_u64() % 10;
        int e = (int)(next_u64() % 650) - 340;
        snprintf(s, sizeof s, "%" PRIu64 "e%d", m, e);
        double v = strtod(s, NULL);
        if (!isfinite(v) || v == 0)
            continue;
        check_v(v, (i & 7) == 0);
        /* a decimal of nd digits reads back as v: v's shortest has no more */
        struct fmt_dec d = fmt_f64_shortest(v);
        if (ref_ndigits(d.mant) > nd && fpclassify(v) == FP_NORMAL)
            fail_msg("%s: shortest %" PRIu64 "e%d longer than the input", s, d.mant, d.exp);
    }
}

static void test_powers_and_edges(void **state)
{
    (void)state;
    for (int e = -1074; e <= 1023; e++) {
        double v = ldexp(1.0, e);
        check_pm(v);
        check_pm(nextafter(v, 0));
        check_pm(nextafter(v, INFINITY));
    }
    char s[32];
    for (int e = -323; e <= 308; e++) {
        snprintf(s, sizeof s, "1e%d", e);
        double v = strtod(s, NULL);
        check_pm(v);
        check_pm(nextafter(v, 0));
        if (e < 308)
            check_pm(nextafter(v, INFINITY));
    }
    for (int k = 0; k <= 22; k++) /* 10^k exact; neighbours of the ulp scale */
        check_pm(pow(10, k));
    check_pm(0.0);
    check_pm(DBL_MAX);
    check_pm(nextafter(DBL_MAX, 0));
    check_pm(DBL_MIN);
    check_pm(nextafter(DBL_MIN, 0)); /* largest subnormal */
    check_pm(nextafter(DBL_MIN, 1));
    check_pm(from_bits(1));           /* 5e-324 */
    check_pm(from_bits(2));
    check_pm(DBL_EPSILON);
    check_pm(9007199254740992.0); /* 2^53 */
    check_pm(9007199254740991.0);
    check_pm(9007199254740994.0);
    for (uint64_t i = 1; i < 100000; i++) /* small integers take the fast path */
        check_v((double)i, (i & 7) == 0);
    for (long i = 0; i < 100000; i++) { /* subnormals */
        uint64_t b = next_u64() & ((UINT64_C(1) << 52) - 1);
        b >>= next_u64() % 52;
        check_v(from_bits(b ? b : 1), (i & 7) == 0);
    }
    for (long i = 0; i < 100000; i++) { /* short mantissas: many trailing zero bits */
        uint64_t b = next_u64();
        b &= ~((UINT64_C(1) << (next_u64() % 53)) - 1);
        double v = from_bits(b);
        if (isfinite(v))
            check_v(v, (i & 7) == 0);
    }
    assert_true(n_pow2_shorter > 0);
    print_message("checked %ld values; %ld powers of two shorter than the printf search\n",
                  n_checked, n_pow2_shorter);
}

/* Decimals exactly half-way between two doubles: b = c * 10^k with c * 5^k
 * odd in [2^53, 2^54) lies half-way between (B-1) * 2^k and (B+1) * 2^k
 * (B = c * 5^k): one owns b (even mantissa, round-half-even), the other does
 * not.  b's digits are c's, so the short answer hinges on the bound rule. */
static void test_halfway(void **state)
{
    (void)state;
    long owners = 0;
    for (int k = 1; k <= 22; k++) {
        uint64_t p5 = 1;
        for (int i = 0; i < k; i++)
            p5 *= 5;
        uint64_t lo = ((UINT64_C(1) << 53) + p5 - 1) / p5, hi = ((UINT64_C(1) << 54) - 1) / p5;
        for (int t = 0; t < 4000 && lo <= hi; t++) {
            uint64_t c = lo + next_u64() % (hi - lo + 1);
            if ((c & 1) == 0)
                c = c < hi ? c + 1 : c - 1;
            if ((c & 1) == 0 || c < lo)
                continue;
            uint64_t big = c * p5; /* odd, in [2^53, 2^54) */
            double below = ldexp((double)(big - 1), k), above = ldexp((double)(big + 1), k);
            check_v(below, t % 8 == 0);
            check_v(above, t % 8 == 0);
            char s[48];
            snprintf(s, sizeof s, "%" PRIu64 "e%d", c, k);
            double owner = strtod(s, NULL);
            assert_true(owner == below || owner == above);
            struct fmt_dec d = fmt_f64_shortest(owner);
            uint64_t cm = c;
            int ce = k;
            while (cm % 10 == 0) {
                cm /= 10;
                ce++;
            }
            /* c itself may not be the shortest, but nothing longer is */
            assert_true(ref_ndigits(d.mant) <= ref_ndigits(cm));
            owners++;
        }
    }
    assert_true(owners > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),          cmocka_unit_test(test_integers),
        cmocka_unit_test(test_random_decimals), cmocka_unit_test(test_halfway),
        cmocka_unit_test(test_random_bits),    cmocka_unit_test(test_powers_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
