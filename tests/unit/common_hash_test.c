// SPDX-License-Identifier: MIT
/* Unit tests for common/hash: xxh3 wrapper and the htab, checked against a
 * brute-force model under random inserts and deletes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

static void test_hash_stable(void **state)
{
    (void)state;
    assert_int_equal(hash_bytes("abc", 3), hash_bytes("abc", 3));
    assert_true(hash_bytes("abc", 3) != hash_bytes("abd", 3));
    assert_true(hash_bytes_seed("abc", 3, 1) != hash_bytes_seed("abc", 3, 2));
    assert_true(hash_u64(1) != hash_u64(2));
}

#define N 5000

static void test_htab_model(void **state)
{
    (void)state;
    static char keys[N][16];
    static int present[N];
    static int vals[N];
    struct htab t;
    htab_init(&t);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        vals[i] = i;
    }
    srand(7);
    size_t count = 0;
    for (int step = 0; step < 40000; step++) {
        int i = rand() % N;
        struct sv k = sv_cstr(keys[i]);
        if (rand() % 3) {
            void *old = htab_put(&t, k, &vals[i]);
            assert_ptr_equal(old, present[i] ? &vals[i] : NULL);
            if (!present[i])
                count++;
            present[i] = 1;
        } else {
            void *old = htab_del(&t, k);
            assert_ptr_equal(old, present[i] ? &vals[i] : NULL);
            if (present[i])
                count--;
            present[i] = 0;
        }
        if (step % 997 == 0) {
            for (int j = 0; j < N; j++)
                assert_ptr_equal(htab_find(&t, sv_cstr(keys[j])), present[j] ? &vals[j] : NULL);
        }
    }
    assert_int_equal(t.count, count);
    size_t it = 0, seen = 0;
    const struct htab_entry *e;
    while (htab_next(&t, &it, &e)) {
        int *v = e->val;
        assert_true(present[*v]);
        seen++;
    }
    assert_int_equal(seen, count);
    htab_fini(&t);
    assert_null(htab_find(&t, SV_LIT("k1")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_stable),
        cmocka_unit_test(test_htab_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
