// SPDX-License-Identifier: MIT
/* Real and fake clocks (see clock.h). */
#include "common/clock.h"

#include <time.h>

void clk_init_real(struct clk *c)
{
    c->is_fake = false;
    c->fake_wall_ns = 0;
    c->fake_mono_ns = 0;
}

void clk_init_fake(struct clk *c, int64_t wall_ns)
{
    c->is_fake = true;
    __atomic_store_n(&c->fake_wall_ns, wall_ns, __ATOMIC_SEQ_CST);
    __atomic_store_n(&c->fake_mono_ns, 0, __ATOMIC_SEQ_CST);
}

int64_t clk_wall_ns(const struct clk *c)
{
    if (c && c->is_fake)
        return __atomic_load_n(&c->fake_wall_ns, __ATOMIC_SEQ_CST);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

struct mono_ns clk_mono(const struct clk *c)
{
    if (c && c->is_fake)
        return (struct mono_ns){ __atomic_load_n(&c->fake_mono_ns, __ATOMIC_SEQ_CST) };
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (struct mono_ns){ (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec };
}

bool clk_advance(struct clk *c, int64_t delta_ns)
{
    if (!c->is_fake || delta_ns < 0)
        return false;
    __atomic_add_fetch(&c->fake_wall_ns, delta_ns, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&c->fake_mono_ns, delta_ns, __ATOMIC_SEQ_CST);
    return true;
}

bool clk_set_wall(struct clk *c, int64_t wall_ns)
{
    if (!c->is_fake)
        return false;
    int64_t old = __atomic_exchange_n(&c->fake_wall_ns, wall_ns, __ATOMIC_SEQ_CST);
    if (wall_ns > old)
        __atomic_add_fetch(&c->fake_mono_ns, wall_ns - old, __ATOMIC_SEQ_CST);
    return true;
}
