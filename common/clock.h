// SPDX-License-Identifier: MIT
/*
 * Injectable clocks.  Wall time (Unix nanoseconds) stamps samples; monotonic
 * time measures timeouts and durations.  The two have different types so they
 * cannot be mixed.  A fake clock moves only when a test (or the daemon's
 * --debug.fake-clock control endpoint) advances it.  Reading is thread-safe.
 */
#ifndef NJ_COMMON_CLOCK_H
#define NJ_COMMON_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Monotonic nanoseconds since an arbitrary origin. */
struct mono_ns {
    int64_t ns;
};

struct clk {
    bool is_fake;
    /* Fake state (atomic accesses only). */
    int64_t fake_wall_ns;
    int64_t fake_mono_ns;
};

/* Real clock. */
void clk_init_real(struct clk *c);
/* Fake clock starting at the given wall time; monotonic time starts at 0. */
void clk_init_fake(struct clk *c, int64_t wall_ns);
/* Unix time in nanoseconds. */
int64_t clk_wall_ns(const struct clk *c);
struct mono_ns clk_mono(const struct clk *c);
/* Fake clocks only: moves both wall and monotonic time forward by delta_ns
 * (>= 0).  Returns false on a real clock. */
bool clk_advance(struct clk *c, int64_t delta_ns);
/* Fake clocks only: sets wall time; monotonic time moves by the same amount
 * when the new time is later, and stays when it is earlier. */
bool clk_set_wall(struct clk *c, int64_t wall_ns);

static inline int64_t mono_diff_ns(struct mono_ns later, struct mono_ns earlier)
{
    return later.ns - earlier.ns;
}
static inline struct mono_ns mono_add_ns(struct mono_ns t, int64_t d)
{
    return (struct mono_ns){ t.ns + d };
}

#define NS_PER_US 1000LL
#define NS_PER_MS 1000000LL
#define NS_PER_SEC 1000000000LL

#endif
