// SPDX-License-Identifier: MIT
/* Unit tests for common/clock: real clocks move forward, fake clocks move
 * only when told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"

static void test_real(void **state)
{
    (void)state;
    struct clk c;
    clk_init_real(&c);
    int64_t w = clk_wall_ns(&c);
    assert_true(w > 1600000000LL * NS_PER_SEC); /* after 2020 */
    struct mono_ns a = clk_mono(&c), b = clk_mono(&c);
    assert_true(mono_diff_ns(b, a) >= 0);
    assert_false(clk_advance(&c, 1));
    assert_false(clk_set_wall(&c, 0));
}

static void test_fake(void **state)
{
    (void)state;
    struct clk c;
    clk_init_fake(&c, 1000 * NS_PER_SEC);
    assert_int_equal(clk_wall_ns(&c), 1000 * NS_PER_SEC);
    assert_int_equal(clk_mono(&c).ns, 0);
    assert_int_equal(clk_wall_ns(&c), 1000 * NS_PER_SEC); /* does not move by itself */
    assert_true(clk_advance(&c, 5 * NS_PER_SEC));
    assert_int_equal(clk_wall_ns(&c), 1005 * NS_PER_SEC);
    assert_int_equal(clk_mono(&c).ns, 5 * NS_PER_SEC);
    assert_false(clk_advance(&c, -1));
    /* Setting wall time back does not move monotonic time back. */
    assert_true(clk_set_wall(&c, 10 * NS_PER_SEC));
    assert_int_equal(clk_wall_ns(&c), 10 * NS_PER_SEC);
    assert_int_equal(clk_mono(&c).ns, 5 * NS_PER_SEC);
    assert_true(clk_set_wall(&c, 20 * NS_PER_SEC));
    assert_int_equal(clk_mono(&c).ns, 15 * NS_PER_SEC);
    assert_int_equal(mono_add_ns(clk_mono(&c), 5).ns, 15 * NS_PER_SEC + 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real),
        cmocka_unit_test(test_fake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
