// SPDX-License-Identifier: MIT
/*
 * Float conversion tests for lp_parse_f64() / lp_format_f64():
 *   - 1,000,000 random doubles (random bit patterns, all exponents,
 *     subnormals included) printed with %.17g and in shortest form must
 *     read back bit for bit;
 *   - random decimal strings (1..40 digits, exponents -400..400) must give
 *     exactly what glibc's strtod gives (a correctly rounded oracle);
 *   - named hard cases: halfway points, 2^-1074, DBL_MAX, 1e23,
 *     9007199254740993, long digit strings, overflow and underflow;
 *   - syntax errors.
 * The PRNG is seeded, so failures reproduce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/lp.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void expect_same(const char *s, double want)
{
    double got = 12345.0;
    int rc = lp_parse_f64(sv_cstr(s), &got);
    if (rc != 0 || bits(got) != bits(want))
        print_error("input %s: rc %d got %a want %a\n", s, rc, got, want);
    assert_int_equal(rc, 0);
    assert_true(bits(got) == bits(want));
}

/* glibc strtod is correctly rounded: the oracle. */
static void expect_strtod(const char *s)
{
    double want = strtod(s, NULL);
    if (isinf(want)) {
        double got;
        assert_int_equal(lp_parse_f64(sv_cstr(s), &got), ERR_LIMIT);
        return;
    }
    expect_same(s, want);
}

static void test_random_doubles_roundtrip(void **state)
{
    (void)state;
    char tmp[64];
    size_t n = 0;
    while (n < 1000000) {
        double d;
        uint64_t b = rnd();
        memcpy(&d, &b, sizeof d);
        if (!isfinite(d))
            continue;
        n++;
        snprintf(tmp, sizeof tmp, "%.17g", d);
        double back;
        assert_int_equal(lp_parse_f64(sv_cstr(tmp), &back), 0);
        if (bits(back) != b)
            print_error("%%.17g %s: got %a want %a\n", tmp, back, d);
        assert_true(bits(back) == b);
        size_t len = lp_format_f64(d, tmp, sizeof tmp);
        assert_int_equal(len, strlen(tmp));
        assert_int_equal(lp_parse_f64(sv_make(tmp, len), &back), 0);
        if (bits(back) != b)
            print_error("shortest %s: got %a want %a\n", tmp, back, d);
        assert_true(bits(back) == b);
    }
}

/* Significant digits of a decimal text (mantissa without leading or
 * trailing zeros). */
static size_t sig_digits(const char *s)
{
    char d[64];
    size_t n = 0;
    for (; *s && *s != 'e' && *s != 'E'; s++)
        if (*s >= '0' && *s <= '9' && n < sizeof d && (n || *s != '0'))
            d[n++] = *s;
    while (n && d[n - 1] == '0')
        n--;
    return n;
}

/* Doubles a metrics agent prints: short decimals; shortest form must be
 * the short text back. */
static void test_short_decimals(void **state)
{
    (void)state;
    char in[64], out[64];
    for (int i = 0; i < 30000; i++) {
        uint64_t r = rnd();
        int digits = 1 + (int)(r % 15);
        uint64_t m = rnd() % 1000000000000000ull;
        int e = (int)((r >> 8) % 40) - 20;
        snprintf(in, sizeof in, "%.*g", digits, (double)m * pow(10, e));
        double d;
        assert_int_equal(lp_parse_f64(sv_cstr(in), &d), 0);
        assert_true(bits(d) == bits(strtod(in, NULL)));
        lp_format_f64(d, out, sizeof out);
        double back;
        assert_int_equal(lp_parse_f64(sv_cstr(out), &back), 0);
        assert_true(bits(back) == bits(d));
        if (sig_digits(out) > sig_digits(in))
            print_error("%s -> %s\n", in, out);
        assert_true(sig_digits(out) <= sig_digits(in));
    }
    lp_format_f64(0.1, out, sizeof out);
    assert_string_equal(out, "0.1");
    lp_format_f64(94.67527584771065, out, sizeof out);
    assert_string_equal(out, "94.67527584771065");
    lp_format_f64(-0.0, out, sizeof out);
    assert_string_equal(out, "-0");
    const struct {
        double d;
        const char *s;
    } lay[] = { { 7650, "7650" }, { 1e20, "100000000000000000000" }, { 1e21, "1e21" },
                { 1.5e-6, "0.0000015" }, { 1e-7, "1e-7" }, { -2.5e-300, "-2.5e-300" },
                { 123.456, "123.456" }, { 5e-324, "5e-324" },
                { 1.7976931348623157e308, "1.7976931348623157e308" }, { 0.0, "0" } };
    for (size_t i = 0; i < sizeof lay / sizeof lay[0]; i++) {
        lp_format_f64(lay[i].d, out, sizeof out);
        assert_string_equal(out, lay[i].s);
    }
}

static void test_random_decimal_strings(void **state)
{
    (void)state;
    char s[128];
    for (int i = 0; i < 60000; i++) {
        uint64_t r = rnd();
        size_t k = 0;
        if (r & 1)
            s[k++] = '-';
        int nd = 1 + (int)((r >> 1) % 40);
        int dot = (int)((r >> 7) % (uint64_t)(nd + 1));
        for (int j = 0; j < nd; j++) {
            if (j == dot && (r >> 13) & 1)
                s[k++] = '.';
            s[k++] = (char)('0' + rnd() % 10);
        }
        int exp;
        switch ((r >> 14) % 4) {
        case 0: exp = (int)(rnd() % 801) - 400; break;
        case 1: exp = (int)(rnd() % 45) - 22; break;
        case 2: exp = (int)(rnd() % 61) - 360; break; /* subnormal zone */
        default: exp = (int)(rnd() % 21) + 290; break; /* near DBL_MAX */
        }
        k += (size_t)snprintf(s + k, sizeof s - k, "e%d", exp);
        expect_strtod(s);
    }
}

static void test_hard_cases(void **state)
{
    (void)state;
    expect_same("9007199254740993", 9007199254740992.0);
    expect_same("9007199254740995", 9007199254740996.0);
    expect_same("9007199254740993.0000000000000000001", 9007199254740994.0);
    expect_same("1e23", 1e23);
    expect_same("8.988465674311580536566680e307", strtod("8.988465674311580536566680e307", NULL));
    expect_same("4.9406564584124654e-324", 0x1p-1074);
    expect_same("5e-324", 0x1p-1074);
    expect_same("2.4703282292062328e-324", 0x1p-1074); /* just above half */
    expect_same("2.4703282292062327e-324", 0.0);        /* just below half */
    expect_same("2.2250738585072011e-308", strtod("2.2250738585072011e-308", NULL));
    expect_same("2.2250738585072014e-308", DBL_MIN);
    expect_same("1.7976931348623157e308", DBL_MAX);
    expect_same("1.7976931348623158e308", DBL_MAX);
    expect_same("0.1", 0.1);
    expect_same("0.30000000000000004", 0.1 + 0.2);
    expect_same("123456789012345678901234567890", 123456789012345678901234567890.0);
    expect_same("1.00000000000000011102230246251565404236316680908203125", 1.0);
    expect_same("1.00000000000000011102230246251565404236316680908203126",
                nextafter(1.0, 2.0));
    expect_same("1e-400", 0.0);
    expect_same("-1e-400", -0.0);
    expect_same("0e999999999", 0.0);
    expect_same("-0", -0.0);
    expect_same("-.0e5", -0.0);
    expect_same("000000000000000000000000000000000000012.5", 12.5);
    expect_same("0.000000000000000000000000000000000000000000001e45", 1.0);
    expect_same("1e-99999999999", 0.0);
    expect_same(".5", 0.5);
    expect_same("5.", 5.0);
    expect_same("1E+2", 100.0);
    expect_strtod("7.0420557077594588669468784357561207962098443483187940792729600000e59");
    expect_strtod("3.518437208883201171875e13");
    expect_strtod("62.5364939768271845828");
    expect_strtod("8.10109172351e-10");
    expect_strtod("1.7976931348623158079e308");
    expect_strtod("1.7976931348623158080e308");
    /* a very long string goes through the heap copy */
    char big[2000];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[1] = '.';
    expect_strtod(big);
    double d;
    assert_int_equal(lp_parse_f64(sv_cstr("1e400"), &d), ERR_LIMIT);
    assert_int_equal(lp_parse_f64(sv_cstr("-1e309"), &d), ERR_LIMIT);
    assert_int_equal(lp_parse_f64(sv_cstr("1.8e308"), &d), ERR_LIMIT);
    assert_int_equal(lp_parse_f64(sv_cstr("1e99999999999"), &d), ERR_LIMIT);
}

static void test_syntax(void **state)
{
    (void)state;
    const char *bad[] = { "", "-", ".", "-.", "1e", "1e+", "1e-", "e5", ".e5", "1.2.3",
                          "1x", "+1", "1e5.5", "--1", "nan", "inf", "0x10", "1 ", " 1" };
    double d;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (lp_parse_f64(sv_cstr(bad[i]), &d) != ERR_PARSE)
            print_error("accepted bad[%zu]\n", i);
        assert_int_equal(lp_parse_f64(sv_cstr(bad[i]), &d), ERR_PARSE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hard_cases),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_short_decimals),
        cmocka_unit_test(test_random_decimal_strings),
        cmocka_unit_test(test_random_doubles_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
