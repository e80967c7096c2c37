// SPDX-License-Identifier: MIT
/* Unit tests for common/buf, common/sv and common/err. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/sv.h"

static void test_append_and_terminator(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    assert_int_equal(buf_append_char(&b, ' '), 0);
    assert_int_equal(buf_appendf(&b, "%d-%s", 42, "x"), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.p, "hello 42-x");
    buf_consume(&b, 6);
    assert_string_equal(b.p, "42-x");
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    buf_fini(&b);
}

static void test_cap_enforced(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "12345678", 8), 0);
    assert_int_equal(buf_append_char(&b, '9'), ERR_LIMIT);
    assert_int_equal(b.len, 8); /* unchanged on failure */
    assert_memory_equal(b.p, "12345678", 8);
    buf_reset(&b);
    assert_int_equal(buf_appendf(&b, "%s", "0123456789"), ERR_LIMIT);
    assert_int_equal(b.len, 0);
    buf_fini(&b);
}

static void test_large_appendf(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(buf_appendf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 1001);
    assert_int_equal(b.p[0], '[');
    assert_int_equal(b.p[1000], ']');
    size_t n;
    char *p = buf_detach(&b, &n);
    assert_int_equal(n, 1001);
    assert_null(b.p);
    free(p);
    buf_fini(&b);
}

static void test_sv(void **state)
{
    (void)state;
    struct sv a = SV_LIT("  Key=Value \t");
    struct sv t = sv_trim(a);
    assert_true(sv_eq_cstr(t, "Key=Value"));
    struct sv head;
    struct sv tail = sv_cut(t, '=', &head);
    assert_true(sv_eq_cstr(head, "Key"));
    assert_true(sv_eq_cstr(tail, "Value"));
    assert_true(sv_case_eq(head, "kEY"));
    assert_false(sv_case_eq(head, "keys"));
    assert_null(sv_cut(head, '=', NULL).p);
    assert_true(sv_starts_with(t, SV_LIT("Key")));
    char *d = sv_dup(tail);
    assert_string_equal(d, "Value");
    free(d);
}

static void test_err(void **state)
{
    (void)state;
    struct err e;
    assert_int_equal(err_set(&e, ERR_PARSE, "line %d: bad", 3), ERR_PARSE);
    assert_string_equal(e.msg, "line 3: bad");
    err_prefix(&e, "%s:", "f.yaml");
    assert_string_equal(e.msg, "f.yaml:line 3: bad");
    assert_string_equal(err_name(ERR_CORRUPT), "ERR_CORRUPT");
    assert_string_equal(err_name(12345), "ERR_UNKNOWN");
    assert_int_equal(err_set(NULL, ERR_IO, "x"), ERR_IO);
    char q[32];
    err_quote(q, sizeof q, "a\"b\n", 4, 100);
    assert_string_equal(q, "a\\\"b\\x0a");
    err_quote(q, sizeof q, "abcdefgh", 8, 3);
    assert_string_equal(q, "abc...");
    /* Long prefix truncates without overflowing. */
    char longp[400];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    err_prefix(&e, "%s", longp);
    assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminator),
        cmocka_unit_test(test_cap_enforced),
        cmocka_unit_test(test_large_appendf),
        cmocka_unit_test(test_sv),
        cmocka_unit_test(test_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
