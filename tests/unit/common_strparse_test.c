// SPDX-License-Identifier: MIT
/* Unit tests for common/strparse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/strparse.h"

static void test_ints(void **state)
{
    (void)state;
    uint64_t u;
    int64_t i;
    assert_int_equal(strp_u64(SV_LIT("18446744073709551615"), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(strp_u64(SV_LIT("18446744073709551616"), &u), ERR_LIMIT);
    assert_int_equal(strp_u64(SV_LIT(""), &u), ERR_PARSE);
    assert_int_equal(strp_u64(SV_LIT("12a"), &u), ERR_PARSE);
    assert_int_equal(strp_i64(SV_LIT("-9223372036854775808"), &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(strp_i64(SV_LIT("9223372036854775808"), &i), ERR_LIMIT);
    assert_int_equal(strp_i64(SV_LIT("-"), &i), ERR_PARSE);
    double d;
    assert_int_equal(strp_f64(SV_LIT("1e9"), &d), 0);
    assert_true(d == 1e9);
    assert_int_equal(strp_f64(SV_LIT("1e999"), &d), ERR_PARSE);
    assert_int_equal(strp_f64(SV_LIT("nan"), &d), ERR_PARSE);
    bool b;
    assert_int_equal(strp_bool(SV_LIT("Yes"), &b), 0);
    assert_true(b);
    assert_int_equal(strp_bool(SV_LIT("off"), &b), 0);
    assert_false(b);
    assert_int_equal(strp_bool(SV_LIT("maybe"), &b), ERR_PARSE);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(strp_duration(SV_LIT("90s"), &ns), 0);
    assert_true(ns == 90LL * 1000000000LL);
    assert_int_equal(strp_duration(SV_LIT("1h30m"), &ns), 0);
    assert_true(ns == 5400LL * 1000000000LL);
    assert_int_equal(strp_duration(SV_LIT("250ms"), &ns), 0);
    assert_true(ns == 250000000LL);
    assert_int_equal(strp_duration(SV_LIT("2w1d"), &ns), 0);
    assert_true(ns == 15LL * 86400LL * 1000000000LL);
    assert_int_equal(strp_duration(SV_LIT("0"), &ns), 0);
    assert_true(ns == 0);
    assert_int_equal(strp_duration(SV_LIT("5"), &ns), ERR_PARSE);
    assert_int_equal(strp_duration(SV_LIT("5 parsecs"), &ns), ERR_PARSE);
    assert_int_equal(strp_duration(SV_LIT("h"), &ns), ERR_PARSE);
    assert_int_equal(strp_duration(SV_LIT(""), &ns), ERR_PARSE);
    assert_int_equal(strp_duration(SV_LIT("9999999999999w"), &ns), ERR_LIMIT);
    char out[64];
    strp_format_duration(5400LL * 1000000000LL, out, sizeof out);
    assert_string_equal(out, "1h30m");
    strp_format_duration(0, out, sizeof out);
    assert_string_equal(out, "0s");
    strp_format_duration(1500000LL, out, sizeof out);
    assert_string_equal(out, "1ms500us");
}

static void test_sizes(void **state)
{
    (void)state;
    uint64_t b;
    assert_int_equal(strp_size(SV_LIT("25MiB"), &b), 0);
    assert_true(b == 25ULL << 20);
    assert_int_equal(strp_size(SV_LIT("1024"), &b), 0);
    assert_true(b == 1024);
    assert_int_equal(strp_size(SV_LIT("1.5GiB"), &b), 0);
    assert_true(b == 3ULL << 29);
    assert_int_equal(strp_size(SV_LIT("2KB"), &b), 0);
    assert_true(b == 2000);
    assert_int_equal(strp_size(SV_LIT("3 MiB"), &b), 0);
    assert_true(b == 3ULL << 20);
    assert_int_equal(strp_size(SV_LIT("12 parsecs"), &b), ERR_PARSE);
    assert_int_equal(strp_size(SV_LIT("MiB"), &b), ERR_PARSE);
    assert_int_equal(strp_size(SV_LIT("1.5"), &b), ERR_PARSE);
    assert_int_equal(strp_size(SV_LIT("99999999999999TiB"), &b), ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
