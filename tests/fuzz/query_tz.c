// SPDX-License-Identifier: MIT
/*
 * Fuzz target for exec_tz.c: TZif decoding (qx__tz_parse) and the tz()
 * bucket arithmetic over what it decoded.  Input: 24 bytes of parameters
 * (an instant, an interval, an offset), then the TZif bytes.  Checks: no
 * crash or sanitizer report on any bytes; bucket starts come out strictly
 * ascending and never more than the cap the walk is given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/exec_agg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 24)
        return 0;
    /* realistic ranges: instants within +-1e18 ns, intervals 1ns..1e15 */
    int64_t t = rd64(data) % 1000000000000000000LL;
    int64_t d = (int64_t)((uint64_t)rd64(data + 8) % 1000000000000000ULL) + 1;
    int64_t off = (int64_t)((uint64_t)rd64(data + 16) % (uint64_t)d);
    struct arena a;
    arena_init(&a, 0, 0);
    struct qx__tz *z = NULL;
    if (qx__tz_parse(&a, data + 24, size - 24, &z) == 0 && z) {
        (void)qx__tz_offset_ns(z, t);
        (void)qx__tz_offset_ns(z, INT64_MIN);
        (void)qx__tz_offset_ns(z, INT64_MAX);
        int64_t s, e;
        qx__tz_window(z, t, d, off, &s, &e);
        enum { CAP = 64 };
        int64_t bs[CAP];
        int64_t span = d > INT64_MAX / 16 ? d : 16 * d;
        size_t n = qx__tz_buckets(z, t, t + span, d, off, bs, CAP);
        if (n > CAP + 1)
            abort();
        for (size_t i = 1; i < n && i < CAP; i++)
            if (bs[i] <= bs[i - 1])
                abort();
    }
    arena_fini(&a);
    return 0;
}
