// SPDX-License-Identifier: MIT
/* Unit tests for common/json: Go encoding/json string escaping and float
 * formatting (expected strings produced by Go's json.Marshal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

static void check_str(const char *in, size_t n, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(json_append_str(&b, sv_make(in, n)), 0);
    assert_string_equal(b.p, want);
    buf_fini(&b);
}

static void test_strings(void **state)
{
    (void)state;
    check_str("plain", 5, "\"plain\"");
    check_str("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    check_str("<>&", 3, "\"\\u003c\\u003e\\u0026\"");
    check_str("\n\r\t\x01", 4, "\"\\n\\r\\t\\u0001\"");
    check_str("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");
    check_str("\xe2\x80\xa8", 3, "\"\\u2028\"");
    check_str("bad\xff", 4, "\"bad\\ufffd\"");
    check_str("\xc3", 1, "\"\\ufffd\"");            /* truncated sequence */
    check_str("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
    check_str("", 0, "\"\"");
}

static void check_f(double v, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(json_append_f64(&b, v), 0);
    assert_string_equal(b.p, want);
    if (isfinite(v))
        assert_true(strtod(b.p, NULL) == v);
    buf_fini(&b);
}

static void test_floats(void **state)
{
    (void)state;
    check_f(0, "0");
    check_f(1, "1");
    check_f(-2.5, "-2.5");
    check_f(0.1, "0.1");
    check_f(100, "100");
    check_f(123456789, "123456789");
    check_f(1e20, "100000000000000000000");
    check_f(1e21, "1e+21");
    check_f(1.5e300, "1.5e+300");
    check_f(0.000001, "0.000001");
    check_f(0.0000001, "1e-7");
    check_f(1.5e-10, "1.5e-10");
    check_f(-2e-300, "-2e-300");
    check_f(1.0 / 3.0, "0.3333333333333333");
    check_f(5e-324, "5e-324");
    check_f(1.7976931348623157e308, "1.7976931348623157e+308");
    check_f(12.34, "12.34");
    check_f(NAN, "null");
}

static void test_ints(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    json_append_i64(&b, INT64_MIN);
    buf_append_char(&b, ' ');
    json_append_u64(&b, UINT64_MAX);
    assert_string_equal(b.p, "-9223372036854775808 18446744073709551615");
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_ints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
