// SPDX-License-Identifier: MIT
/* Unit tests for common/log: levels, line format, quoting, rate limiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

static char *capture(void (*fn)(void))
{
    static char out[4096];
    memset(out, 0, sizeof out);
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    log_set_sink(f);
    fn();
    log_set_sink(NULL);
    fclose(f);
    return out;
}

static void emit(void)
{
    log_set_level(LOG_INFO);
    log_info("http", "msg=\"listening\" addr=%s", "127.0.0.1:8086");
    log_debug("http", "msg=\"hidden\"");
    log_error("tsdb", "msg=\"boom\"");
}

static void test_levels_and_format(void **state)
{
    (void)state;
    char *out = capture(emit);
    assert_non_null(strstr(out, "level=info subsys=http msg=\"listening\" addr=127.0.0.1:8086\n"));
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "level=error subsys=tsdb msg=\"boom\""));
    assert_true(strncmp(out, "ts=", 3) == 0);
}

static void test_parse(void **state)
{
    (void)state;
    enum log_level l;
    assert_int_equal(log_level_parse("debug", 5, &l), 0);
    assert_int_equal(l, LOG_DEBUG);
    assert_int_equal(log_level_parse("warning", 7, &l), 0);
    assert_int_equal(l, LOG_WARN);
    assert_true(log_level_parse("loud", 4, &l) < 0);
    assert_string_equal(log_level_name(LOG_ERROR), "error");
}

static void test_quote(void **state)
{
    (void)state;
    char q[64];
    log_quote(q, sizeof q, "a b\"c", 5);
    assert_string_equal(q, "\"a b\\\"c\"");
}

static void test_ratelimit(void **state)
{
    (void)state;
    struct log_ratelimit rl = { 0 };
    uint32_t sup = 99;
    int allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += log_ratelimit_allow(&rl, 1000 + i, 3, 1000000, &sup);
    assert_int_equal(allowed, 3);
    assert_int_equal(rl.suppressed, 7);
    assert_true(log_ratelimit_allow(&rl, 1000 + 2000000, 3, 1000000, &sup));
    assert_int_equal(sup, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_and_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_ratelimit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
