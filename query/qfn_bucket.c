// SPDX-License-Identifier: MIT
/*
 * GROUP BY time(interval[, offset]) bucketing.  Buckets are aligned to the
 * Unix epoch plus the offset (spec §5.5), so a bucket start is
 * floor((t - o) / d) * d + o with o in [0, d).  The arithmetic is done in
 * __int128 so timestamps near the int64 limits never overflow; results that
 * would leave int64 saturate (qfn_bucket_start) or are refused (plan).
 */
#include <limits.h>

#include "query/qfn.h"

static int64_t norm_offset(int64_t offset_ns, int64_t interval_ns)
{
    int64_t o = offset_ns % interval_ns;
    return o < 0 ? o + interval_ns : o;
}

static __int128 start128(int64_t t, int64_t d, int64_t o)
{
    __int128 x = (__int128)t - o;
    __int128 q = x / d;
    if (x % d != 0 && x < 0)
        q -= 1;
    return q * d + o;
}

int64_t qfn_bucket_start(int64_t t_ns, int64_t interval_ns, int64_t offset_ns)
{
    int64_t o = norm_offset(offset_ns, interval_ns);
    __int128 s = start128(t_ns, interval_ns, o);
    return s < INT64_MIN ? INT64_MIN : (int64_t)s;
}

int qfn_bucket_plan(int64_t start_ns, int64_t end_ns, int64_t interval_ns,
                    int64_t offset_ns, size_t extra_intervals,
                    size_t max_buckets, struct qfn_buckets *b, struct err *e)
{
    if (interval_ns <= 0)
        return err_set(e, ERR_INVAL, "GROUP BY time interval must be positive");
    if (end_ns < start_ns)
        return err_set(e, ERR_INVAL, "time range end before its start");
    int64_t o = norm_offset(offset_ns, interval_ns);
    __int128 first = start128(start_ns, interval_ns, o);
    __int128 last = start128(end_ns, interval_ns, o);
    first -= (__int128)extra_intervals * interval_ns;
    if (first < INT64_MIN)
        return err_set(e, ERR_LIMIT, "GROUP BY time buckets start before the "
                       "earliest representable time");
    __int128 n = (last - first) / interval_ns + 1;
    if (max_buckets != 0 && n > (__int128)max_buckets)
        return err_set(e, ERR_LIMIT, "max-select-buckets limit exceeded: "
                       "(%llu/%zu)", (unsigned long long)n, max_buckets);
    if (n > (__int128)SIZE_MAX / 2)
        return err_set(e, ERR_LIMIT, "GROUP BY time: too many buckets");
    b->interval_ns = interval_ns;
    b->offset_ns = o;
    b->first_ns = (int64_t)first;
    b->last_ns = (int64_t)last;
    b->n = (size_t)n;
    return 0;
}

size_t qfn_bucket_index(const struct qfn_buckets *b, int64_t t_ns)
{
    if (t_ns < b->first_ns)
        return (size_t)-1;
    __int128 k = ((__int128)t_ns - b->first_ns) / b->interval_ns;
    if (k >= (__int128)b->n)
        return (size_t)-1;
    return (size_t)k;
}

int64_t qfn_bucket_time(const struct qfn_buckets *b, size_t idx)
{
    return (int64_t)((__int128)b->first_ns + (__int128)idx * b->interval_ns);
}
