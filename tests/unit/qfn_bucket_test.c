// SPDX-License-Identifier: MIT
/*
 * GROUP BY time bucketing against influxd 1.6.  Data set "m" (precision=s),
 * written with curl -XPOST '/write?db=t&precision=s':
 *   m iv=10i 0 | 20i 10 | 15i 20 | 5i 70 | 30i 80 | 30i 90 | 8i 200 | 12i 210
 * Each case names the query and the bucket times influxd answered (epoch=s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query/qfn.h"

#define S(x) ((int64_t)(x) * 1000000000LL)

static const int64_t m_ts[] = { S(0), S(10), S(20), S(70), S(80), S(90), S(200), S(210) };

struct bcase {
    const char *query;
    int64_t start, end, every, offset; /* end inclusive, in ns */
    size_t n;
    int64_t first_s;
    int64_t counts[12]; /* count(iv) per bucket as influxd answered */
};

static const struct bcase cases[] = {
    { "count(iv) WHERE time>=0s AND time<300s GROUP BY time(1m)",
      S(0), S(300) - 1, S(60), 0, 5, 0, { 3, 3, 0, 2, 0 } },
    { "count(iv) WHERE time>=0s AND time<300s GROUP BY time(7m)",
      S(0), S(300) - 1, S(420), 0, 1, 0, { 8 } },
    { "... GROUP BY time(1m,15s)", S(0), S(300) - 1, S(60), S(15), 6, -45,
      { 2, 2, 2, 0, 2, 0 } },
    { "... GROUP BY time(1m,75s)", S(0), S(300) - 1, S(60), S(75), 6, -45,
      { 2, 2, 2, 0, 2, 0 } },
    { "... GROUP BY time(1m,-15s)", S(0), S(300) - 1, S(60), -S(15), 6, -15,
      { 3, 3, 0, 2, 0, 0 } },
    { "... GROUP BY time(1m,-75s)", S(0), S(300) - 1, S(60), -S(75), 6, -15,
      { 3, 3, 0, 2, 0, 0 } },
    { "WHERE time>=5s AND time<=185s GROUP BY time(1m)", S(5), S(185), S(60),
      0, 4, 0, { 2, 3, 0, 0 } },
    { "WHERE time>5s AND time<180s GROUP BY time(1m)", S(5) + 1, S(180) - 1,
      S(60), 0, 3, 0, { 2, 3, 0 } },
    { "WHERE time>=25s AND time<205s GROUP BY time(1m)", S(25), S(205) - 1,
      S(60), 0, 4, 0, { 0, 3, 0, 1 } },
    { "WHERE time>=25s AND time<205s GROUP BY time(1m,10s)", S(25),
      S(205) - 1, S(60), S(10), 4, 10, { 0, 3, 0, 1 } },
    { "WHERE time>=25s AND time<205s GROUP BY time(20s,-35s)", S(25),
      S(205) - 1, S(20), -S(35), 9, 25, { 0, 0, 2, 1, 0, 0, 0, 0, 1 } },
    /* no lower bound: the range starts at the earliest point (0s) */
    { "WHERE time<205s GROUP BY time(1m)", S(0), S(205) - 1, S(60), 0, 4, 0,
      { 3, 3, 0, 1 } },
};

static void test_observed_buckets(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct bcase *k = &cases[c];
        struct qfn_buckets b;
        struct err e;
        assert_int_equal(qfn_bucket_plan(k->start, k->end, k->every, k->offset,
                                         0, 0, &b, &e), 0);
        assert_int_equal(b.n, k->n);
        assert_int_equal(b.first_ns, S(k->first_s));
        assert_int_equal(qfn_bucket_time(&b, b.n - 1),
                         S(k->first_s) + (int64_t)(k->n - 1) * k->every);
        int64_t got[12] = { 0 };
        for (size_t i = 0; i < sizeof m_ts / sizeof m_ts[0]; i++) {
            if (m_ts[i] < k->start || m_ts[i] > k->end)
                continue; /* only points inside the WHERE range count */
            size_t idx = qfn_bucket_index(&b, m_ts[i]);
            assert_true(idx < b.n);
            got[idx]++;
        }
        for (size_t i = 0; i < k->n; i++) {
            if (got[i] != k->counts[i])
                fail_msg("%s: bucket %zu has %lld points, influxd %lld",
                         k->query, i, (long long)got[i], (long long)k->counts[i]);
        }
    }
}

/* d v=1i 1672617600000000000 (2023-01-02T00:00:00Z), v=2i +300s, v=3i +359s.
 * SELECT count(v) FROM d WHERE time>='2023-01-02T00:00:00Z' AND
 * time<'2023-01-02T00:10:00Z' GROUP BY time(7m)
 *   -> [[1672617240,1],[1672617660,2],[1672618080,0]]: epoch-aligned, the
 *   first bucket starts 6 minutes before the range.
 * SELECT sum(v) ... WHERE time>='2023-01-01T23:59:30Z' AND
 * time<='2023-01-02T00:05:59.5Z' GROUP BY time(1m)
 *   -> buckets 1672617540 .. 1672617900 (7), not aligned to the range. */
static void test_epoch_alignment_real_dates(void **state)
{
    (void)state;
    struct qfn_buckets b;
    assert_int_equal(qfn_bucket_plan(S(1672617600), S(1672618200) - 1, S(420),
                                     0, 0, 0, &b, NULL), 0);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.first_ns, S(1672617240));
    assert_int_equal(b.last_ns, S(1672618080));
    assert_int_equal(qfn_bucket_index(&b, S(1672617600)), 0);
    assert_int_equal(qfn_bucket_index(&b, S(1672617900)), 1);
    assert_int_equal(qfn_bucket_index(&b, S(1672617959)), 1);

    assert_int_equal(qfn_bucket_plan(S(1672617570), S(1672617959) + 500000000,
                                     S(60), 0, 0, 0, &b, NULL), 0);
    assert_int_equal(b.n, 7);
    assert_int_equal(b.first_ns, S(1672617540));
    assert_int_equal(b.last_ns, S(1672617900));
}

/* influxd with [coordinator] max-select-buckets = 3:
 * SELECT count(iv) FROM m WHERE time>=0s AND time<300s GROUP BY time(1m)
 *   -> error "max-select-buckets limit exceeded: (5/3)"
 * ... time<180s -> 3 buckets, accepted; time>=1s AND time<180s -> accepted. */
static void test_max_buckets(void **state)
{
    (void)state;
    struct qfn_buckets b;
    struct err e;
    assert_int_equal(qfn_bucket_plan(S(0), S(300) - 1, S(60), 0, 0, 3, &b, &e),
                     ERR_LIMIT);
    assert_string_equal(e.msg, "max-select-buckets limit exceeded: (5/3)");
    assert_int_equal(qfn_bucket_plan(S(0), S(180) - 1, S(60), 0, 0, 3, &b, &e), 0);
    assert_int_equal(b.n, 3);
    assert_int_equal(qfn_bucket_plan(S(1), S(180) - 1, S(60), 0, 0, 3, &b, &e), 0);
    /* A huge range at 1ns is refused, not allocated (deliberate difference 4). */
    assert_int_equal(qfn_bucket_plan(INT64_MIN, INT64_MAX, 1, 0, 0, 1000000,
                                     &b, &e), ERR_LIMIT);
}

/* Extra intervals for transformations over aggregates: influxd computed the
 * bucket before the range (observed through derivative(mean(iv)) fill(0),
 * whose first row is stamped at the range start, see qfn_xform_test.c). */
static void test_extra_intervals(void **state)
{
    (void)state;
    struct qfn_buckets b;
    assert_int_equal(qfn_bucket_plan(S(0), S(200) - 1, S(30), 0, 1, 0, &b, NULL), 0);
    assert_int_equal(b.first_ns, -S(30));
    assert_int_equal(b.n, 8);
}

static void test_edges_and_errors(void **state)
{
    (void)state;
    struct qfn_buckets b;
    struct err e;
    assert_int_equal(qfn_bucket_start(-1, 10, 0), -10);
    assert_int_equal(qfn_bucket_start(-10, 10, 0), -10);
    assert_int_equal(qfn_bucket_start(9, 10, 0), 0);
    assert_int_equal(qfn_bucket_start(5, 10, -3), -3);
    assert_int_equal(qfn_bucket_start(7, 10, 23), 3);
    assert_int_equal(qfn_bucket_start(INT64_MIN, 7, 0), INT64_MIN);
    assert_int_equal(qfn_bucket_start(INT64_MAX, 1000000000, 0),
                     INT64_MAX - INT64_MAX % 1000000000);
    assert_int_equal(qfn_bucket_plan(0, 10, 0, 0, 0, 0, &b, &e), ERR_INVAL);
    assert_int_equal(qfn_bucket_plan(10, 0, 5, 0, 0, 0, &b, &e), ERR_INVAL);
    assert_int_equal(qfn_bucket_plan(INT64_MIN + 5, 100, 10, 0, 0, 0, &b, &e),
                     ERR_LIMIT);
    assert_int_equal(qfn_bucket_plan(0, 99, 10, 0, 0, 0, &b, &e), 0);
    assert_int_equal(qfn_bucket_index(&b, -1), (size_t)-1);
    assert_int_equal(qfn_bucket_index(&b, 100), (size_t)-1);
    assert_int_equal(qfn_bucket_index(&b, 99), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_observed_buckets),
        cmocka_unit_test(test_epoch_alignment_real_dates),
        cmocka_unit_test(test_max_buckets),
        cmocka_unit_test(test_extra_intervals),
        cmocka_unit_test(test_edges_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
