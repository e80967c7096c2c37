// SPDX-License-Identifier: MIT
/* Unit tests for common/arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/arena.h"

static int cleanup_order[4];
static int cleanup_n;

static void cleanup(void *arg)
{
    cleanup_order[cleanup_n++] = (int)(intptr_t)arg;
}

static void test_alloc_alignment_and_reset(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 256, 0);
    for (int i = 1; i < 200; i++) {
        void *p = arena_alloc(&a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)i);
    }
    /* A big allocation gets its own block and doesn't waste the current one. */
    char *big = arena_alloc(&a, 10000);
    memset(big, 1, 10000);
    char *s = arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    struct sv v = arena_sv_dup(&a, SV_LIT("view"));
    assert_true(sv_eq_cstr(v, "view"));
    arena_reset(&a);
    assert_int_equal(a.used_bytes, 0);
    assert_non_null(arena_calloc(&a, 64));
    arena_fini(&a);
}

static void test_max_bytes(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024, 100);
    assert_non_null(arena_try_alloc(&a, 64));
    assert_null(arena_try_alloc(&a, 64)); /* 64+64 rounded > 100 */
    assert_non_null(arena_try_alloc(&a, 16));
    assert_null(arena_try_alloc(&a, SIZE_MAX));
    arena_fini(&a);
}

static void test_cleanups_reverse_order(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    cleanup_n = 0;
    arena_on_cleanup(&a, cleanup, (void *)1);
    arena_on_cleanup(&a, cleanup, (void *)2);
    arena_on_cleanup(&a, cleanup, (void *)3);
    arena_reset(&a);
    assert_int_equal(cleanup_n, 3);
    assert_int_equal(cleanup_order[0], 3);
    assert_int_equal(cleanup_order[2], 1);
    arena_on_cleanup(&a, cleanup, (void *)4);
    arena_fini(&a);
    assert_int_equal(cleanup_n, 4);
    assert_int_equal(cleanup_order[3], 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_alignment_and_reset),
        cmocka_unit_test(test_max_bytes),
        cmocka_unit_test(test_cleanups_reverse_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
