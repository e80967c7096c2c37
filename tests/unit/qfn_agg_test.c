// SPDX-License-Identifier: MIT
/*
 * Aggregates and selectors against influxd 1.6.  Data set "m", written with
 *   curl -XPOST '/write?db=t&precision=s' --data-binary
 *   m iv=10i,fv=10.5,sv="b",bv=true 0     m iv=5i,fv=5.5,sv="c",bv=false 70
 *   m iv=20i,fv=20.5,sv="a",bv=false 10   m iv=30i,fv=30.5,sv="a",bv=true 80
 *   m iv=15i,fv=15.5,sv="b",bv=true 20    m iv=30i,fv=30.5,sv="a",bv=true 90
 *                                         m iv=8i,fv=8.5,sv="c",bv=false 200
 *                                         m iv=12i,fv=12.5,sv="d",bv=true 210
 * Bucketed queries were "SELECT f(iv),f(fv) FROM m WHERE time>=0s AND
 * time<300s GROUP BY time(1m)" (buckets 0, 60, 120 (empty), 180, 240
 * (empty)); the expected values below are influxd's answers (epoch=s).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query/qfn.h"

#define S(x) ((int64_t)(x) * 1000000000LL)
#define NPTS 8

static const int64_t ts[NPTS] = { S(0), S(10), S(20), S(70), S(80), S(90), S(200), S(210) };
static const int64_t iv[NPTS] = { 10, 20, 15, 5, 30, 30, 8, 12 };
static const double fv[NPTS] = { 10.5, 20.5, 15.5, 5.5, 30.5, 30.5, 8.5, 12.5 };
static const bool bv[NPTS] = { true, false, true, false, true, true, false, true };
static struct sv sv_vals[NPTS];

/* bucket [lo, hi) index ranges of the three non-empty 1m buckets */
static const size_t blo[3] = { 0, 3, 6 }, bhi[3] = { 3, 6, 8 };
static const int64_t bstart[3] = { S(0), S(60), S(180) };

static struct qfn_values col(enum qfn_type t)
{
    struct qfn_values v = { .type = t, .n = NPTS, .ts_ns = ts };
    switch (t) {
    case QFN_T_INT: v.v.i = iv; break;
    case QFN_T_FLOAT: v.v.f = fv; break;
    case QFN_T_BOOL: v.v.b = bv; break;
    default: v.v.s = sv_vals; break;
    }
    return v;
}

static int setup(void **state)
{
    (void)state;
    static const char *const s[NPTS] = { "b", "a", "b", "c", "a", "a", "c", "d" };
    for (size_t i = 0; i < NPTS; i++)
        sv_vals[i] = sv_cstr(s[i]);
    return 0;
}

static struct qfn_point agg1(enum qfn_kind k, const struct qfn_args *a,
                             enum qfn_type t, size_t lo, size_t hi, int64_t b)
{
    struct qfn_values v = col(t);
    struct qfn_point out[NPTS];
    size_t n = 0;
    struct err e;
    int rc = qfn_aggregate(k, a, &v, lo, hi, b, out, NPTS, &n, &e);
    if (rc != 0)
        fail_msg("%s: %s", qfn_kind_name(k), e.msg);
    assert_int_equal(n, 1);
    return out[0];
}

struct ncase {
    enum qfn_kind kind;
    struct qfn_args args;
    enum qfn_type in, out;
    double want[3];
};

/* One row per query "SELECT f(iv),f(fv) ... GROUP BY time(1m)": int column
 * then float column.  Result types per spec §5.10. */
static const struct ncase ncases[] = {
    { QFN_COUNT, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 3, 3, 2 } },
    { QFN_COUNT, { .n = 0 }, QFN_T_FLOAT, QFN_T_INT, { 3, 3, 2 } },
    { QFN_SUM, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 45, 65, 20 } },
    { QFN_SUM, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 46.5, 66.5, 21 } },
    { QFN_MEAN, { .n = 0 }, QFN_T_INT, QFN_T_FLOAT, { 15, 21.666666666666668, 10 } },
    { QFN_MEAN, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 15.5, 22.166666666666668, 10.5 } },
    { QFN_MEDIAN, { .n = 0 }, QFN_T_INT, QFN_T_FLOAT, { 15, 30, 10 } },
    { QFN_MEDIAN, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 15.5, 30.5, 10.5 } },
    { QFN_MODE, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 10, 30, 8 } },
    { QFN_MODE, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 10.5, 30.5, 8.5 } },
    { QFN_SPREAD, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 10, 25, 4 } },
    { QFN_SPREAD, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 10, 25, 4 } },
    { QFN_STDDEV, { .n = 0 }, QFN_T_INT, QFN_T_FLOAT,
      { 5, 14.433756729740645, 2.8284271247461903 } },
    { QFN_STDDEV, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT,
      { 5, 14.433756729740645, 2.8284271247461903 } },
    { QFN_MIN, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 10, 5, 8 } },
    { QFN_MIN, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 10.5, 5.5, 8.5 } },
    { QFN_MAX, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 20, 30, 12 } },
    { QFN_MAX, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 20.5, 30.5, 12.5 } },
    { QFN_FIRST, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 10, 5, 8 } },
    { QFN_FIRST, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 10.5, 5.5, 8.5 } },
    { QFN_LAST, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 15, 30, 12 } },
    { QFN_LAST, { .n = 0 }, QFN_T_FLOAT, QFN_T_FLOAT, { 15.5, 30.5, 12.5 } },
    /* SELECT count(distinct(iv)) ... GROUP BY time(1m) -> 3, 2, 0, 2, 0 */
    { QFN_COUNT_DISTINCT, { .n = 0 }, QFN_T_INT, QFN_T_INT, { 3, 2, 2 } },
    /* SELECT percentile(iv,50),percentile(fv,95) ... GROUP BY time(1m) */
    { QFN_PERCENTILE, { .percentile = 50 }, QFN_T_INT, QFN_T_INT, { 15, 30, 8 } },
    { QFN_PERCENTILE, { .percentile = 95 }, QFN_T_FLOAT, QFN_T_FLOAT,
      { 20.5, 30.5, 12.5 } },
};

static void test_numeric_buckets(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof ncases / sizeof ncases[0]; c++) {
        const struct ncase *k = &ncases[c];
        assert_int_equal(qfn_result_type(k->kind, k->in), k->out);
        for (size_t b = 0; b < 3; b++) {
            struct qfn_point p = agg1(k->kind, &k->args, k->in, blo[b], bhi[b],
                                      bstart[b]);
            assert_false(p.is_null);
            assert_int_equal(p.type, k->out);
            double got = k->out == QFN_T_INT ? (double)p.v.i : p.v.f;
            if (got != k->want[b])
                fail_msg("%s(%s) bucket %zu: got %.17g, influxd %.17g",
                         qfn_kind_name(k->kind),
                         k->in == QFN_T_INT ? "iv" : "fv", b, got, k->want[b]);
        }
        /* the empty buckets 120 and 240: null (count's 0 comes from fill) */
        struct qfn_point p = agg1(k->kind, &k->args, k->in, 6, 6, S(120));
        assert_true(p.is_null);
        assert_int_equal(p.ts_ns, S(120));
    }
}

/* SELECT first(sv),last(sv),first(bv),last(bv) ... GROUP BY time(1m)
 *   -> [0,"b","b",true,true],[60,"c","a",false,true],[180,"c","d",false,true]
 * SELECT mode(sv),mode(bv),count(sv),count(bv) ... GROUP BY time(1m)
 *   -> [0,"b",true,3,3],[60,"a",true,3,3],[180,"c",true,2,2]
 * (bucket 180 holds false,true: a tie goes to true). */
static void test_strings_and_bools(void **state)
{
    (void)state;
    static const char *const first_s[3] = { "b", "c", "c" };
    static const char *const last_s[3] = { "b", "a", "d" };
    static const char *const mode_s[3] = { "b", "a", "c" };
    static const bool first_b[3] = { true, false, false };
    for (size_t b = 0; b < 3; b++) {
        struct qfn_point p;
        p = agg1(QFN_FIRST, NULL, QFN_T_STRING, blo[b], bhi[b], bstart[b]);
        assert_true(sv_eq_cstr(p.v.s, first_s[b]));
        p = agg1(QFN_LAST, NULL, QFN_T_STRING, blo[b], bhi[b], bstart[b]);
        assert_true(sv_eq_cstr(p.v.s, last_s[b]));
        p = agg1(QFN_MODE, NULL, QFN_T_STRING, blo[b], bhi[b], bstart[b]);
        assert_true(sv_eq_cstr(p.v.s, mode_s[b]));
        p = agg1(QFN_FIRST, NULL, QFN_T_BOOL, blo[b], bhi[b], bstart[b]);
        assert_int_equal(p.v.b, first_b[b]);
        p = agg1(QFN_LAST, NULL, QFN_T_BOOL, blo[b], bhi[b], bstart[b]);
        assert_true(p.v.b);
        p = agg1(QFN_MODE, NULL, QFN_T_BOOL, blo[b], bhi[b], bstart[b]);
        assert_true(p.v.b);
        p = agg1(QFN_COUNT, NULL, QFN_T_STRING, blo[b], bhi[b], bstart[b]);
        assert_int_equal(p.v.i, (int64_t)(bhi[b] - blo[b]));
    }
    /* SELECT mode(sv) FROM m WHERE time>=0s AND time<300s -> [0,"a"] */
    struct qfn_point p = agg1(QFN_MODE, NULL, QFN_T_STRING, 0, NPTS, 0);
    assert_true(sv_eq_cstr(p.v.s, "a"));
}

/* Without GROUP BY time (WHERE time>=0s AND time<300s unless noted). */
static void test_whole_range_selectors(void **state)
{
    (void)state;
    struct qfn_point p;
    /* SELECT max(iv) FROM m -> [80,30]: tie 80/90 goes to the earliest */
    p = agg1(QFN_MAX, NULL, QFN_T_INT, 0, NPTS, 0);
    assert_int_equal(p.ts_ns, S(80));
    assert_int_equal(p.v.i, 30);
    /* SELECT min(iv) FROM m -> [70,5] */
    p = agg1(QFN_MIN, NULL, QFN_T_INT, 0, NPTS, 0);
    assert_int_equal(p.ts_ns, S(70));
    assert_int_equal(p.v.i, 5);
    /* SELECT first(iv) FROM m WHERE time>=90s AND time<300s -> [90,30] */
    p = agg1(QFN_FIRST, NULL, QFN_T_INT, 5, NPTS, S(90));
    assert_int_equal(p.ts_ns, S(90));
    assert_int_equal(p.v.i, 30);
    /* SELECT median(iv) FROM m ... -> [0,13.5] (even count) */
    p = agg1(QFN_MEDIAN, NULL, QFN_T_INT, 0, NPTS, 0);
    assert_true(p.v.f == 13.5);
    /* SELECT mode(iv) FROM m ... -> [0,30] */
    p = agg1(QFN_MODE, NULL, QFN_T_INT, 0, NPTS, 0);
    assert_int_equal(p.v.i, 30);
    /* SELECT percentile(iv,50) FROM m ... -> [210,12]: the point's own time */
    struct qfn_args a = { .percentile = 50 };
    p = agg1(QFN_PERCENTILE, &a, QFN_T_INT, 0, NPTS, 0);
    assert_int_equal(p.ts_ns, S(210));
    assert_int_equal(p.v.i, 12);
    /* SELECT percentile(iv,1) FROM m ... -> no series at all; GROUP BY
     * time(1m) -> no series either (every bucket out of rank) */
    a.percentile = 1;
    p = agg1(QFN_PERCENTILE, &a, QFN_T_INT, 0, NPTS, 0);
    assert_true(p.is_null);
    for (size_t b = 0; b < 3; b++)
        assert_true(agg1(QFN_PERCENTILE, &a, QFN_T_INT, blo[b], bhi[b],
                         bstart[b]).is_null);
    /* SELECT spread(iv) FROM m WHERE time=0s -> [0,0];
     * SELECT stddev(iv) FROM m WHERE time=0s -> [0,null] */
    p = agg1(QFN_SPREAD, NULL, QFN_T_INT, 0, 1, 0);
    assert_false(p.is_null);
    assert_int_equal(p.v.i, 0);
    p = agg1(QFN_STDDEV, NULL, QFN_T_INT, 0, 1, 0);
    assert_true(p.is_null);
}

static void check_rows(const struct qfn_point *out, size_t n,
                       const int64_t *want_ts, const double *want_v,
                       size_t want_n)
{
    assert_int_equal(n, want_n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].ts_ns, want_ts[i]);
        double got = out[i].type == QFN_T_INT ? (double)out[i].v.i : out[i].v.f;
        if (got != want_v[i])
            fail_msg("row %zu: got %.17g want %.17g", i, got, want_v[i]);
    }
}

static void test_multi_row(void **state)
{
    (void)state;
    struct qfn_values vi = col(QFN_T_INT), vf = col(QFN_T_FLOAT), vs = col(QFN_T_STRING);
    struct qfn_point out[NPTS];
    size_t n;
    struct err e;
    struct qfn_args a = { .n = 3 };
    /* SELECT top(iv,3) FROM m ... -> [10,20],[80,30],[90,30] */
    assert_int_equal(qfn_aggregate(QFN_TOP, &a, &vi, 0, NPTS, 0, out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ S(10), S(80), S(90) }, (double[]){ 20, 30, 30 }, 3);
    /* SELECT bottom(iv,3) FROM m ... -> [0,10],[70,5],[200,8] */
    assert_int_equal(qfn_aggregate(QFN_BOTTOM, &a, &vi, 0, NPTS, 0, out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ S(0), S(70), S(200) }, (double[]){ 10, 5, 8 }, 3);
    /* SELECT top(iv,2) ... GROUP BY time(1m) -> [10,20],[20,15] | [80,30],
     * [90,30] | [200,8],[210,12]; bottom(fv,2) -> [0,10.5],[20,15.5] |
     * [70,5.5],[80,30.5] | [200,8.5],[210,12.5] */
    a.n = 2;
    static const int64_t top_ts[3][2] = { { S(10), S(20) }, { S(80), S(90) }, { S(200), S(210) } };
    static const double top_v[3][2] = { { 20, 15 }, { 30, 30 }, { 8, 12 } };
    static const int64_t bot_ts[3][2] = { { S(0), S(20) }, { S(70), S(80) }, { S(200), S(210) } };
    static const double bot_v[3][2] = { { 10.5, 15.5 }, { 5.5, 30.5 }, { 8.5, 12.5 } };
    for (size_t b = 0; b < 3; b++) {
        assert_int_equal(qfn_aggregate(QFN_TOP, &a, &vi, blo[b], bhi[b], bstart[b],
                                       out, NPTS, &n, &e), 0);
        check_rows(out, n, top_ts[b], top_v[b], 2);
        assert_int_equal(qfn_aggregate(QFN_BOTTOM, &a, &vf, blo[b], bhi[b], bstart[b],
                                       out, NPTS, &n, &e), 0);
        check_rows(out, n, bot_ts[b], bot_v[b], 2);
    }
    /* SELECT distinct(iv) FROM m ... -> 10,20,15,5,30,8,12 all at time 0 */
    assert_int_equal(qfn_aggregate(QFN_DISTINCT, NULL, &vi, 0, NPTS, 0, out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ 0, 0, 0, 0, 0, 0, 0 },
               (double[]){ 10, 20, 15, 5, 30, 8, 12 }, 7);
    /* ... GROUP BY time(1m) -> [60,5],[60,30] for the second bucket */
    assert_int_equal(qfn_aggregate(QFN_DISTINCT, NULL, &vi, 3, 6, S(60), out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ S(60), S(60) }, (double[]){ 5, 30 }, 2);
    /* SELECT distinct(sv) FROM m ... -> "b","a","c","d" */
    assert_int_equal(qfn_aggregate(QFN_DISTINCT, NULL, &vs, 0, NPTS, 0, out, NPTS, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_true(sv_eq_cstr(out[0].v.s, "b") && sv_eq_cstr(out[1].v.s, "a") &&
                sv_eq_cstr(out[2].v.s, "c") && sv_eq_cstr(out[3].v.s, "d"));
    /* too little room is an error, not a short answer */
    assert_int_equal(qfn_aggregate(QFN_DISTINCT, NULL, &vi, 0, NPTS, 0, out, 3, &n, &e),
                     ERR_LIMIT);
}

/* SELECT sum(sv) FROM m ... -> error
 * "unsupported sum iterator type: *query.stringInterruptIterator" */
static void test_type_errors(void **state)
{
    (void)state;
    struct qfn_values vs = col(QFN_T_STRING), vb = col(QFN_T_BOOL);
    struct qfn_point out[NPTS];
    size_t n;
    struct err e;
    assert_int_equal(qfn_aggregate(QFN_SUM, NULL, &vs, 0, NPTS, 0, out, NPTS, &n, &e),
                     ERR_TYPE);
    assert_string_equal(e.msg, "unsupported sum iterator type: *query.stringInterruptIterator");
    assert_int_equal(qfn_aggregate(QFN_MAX, NULL, &vb, 0, NPTS, 0, out, NPTS, &n, &e),
                     ERR_TYPE);
    assert_int_equal(qfn_integral(&vs, 0, NULL, 0, out, NPTS, &n, &e), ERR_TYPE);
}

/* SELECT integral(iv) FROM m WHERE time>=0s AND time<300s -> [0,3490]
 * SELECT integral(iv) ... GROUP BY time(1m) -> [0,765],[60,1395],[180,2260]
 *   (no rows for the empty buckets; 1395 and 2260 show 1.6's integer quirk)
 * SELECT integral(fv,1m) ... GROUP BY time(1m)
 *   -> [0,13.25],[60,22.916666666666664],[180,23.75] */
static void test_integral(void **state)
{
    (void)state;
    struct qfn_values vi = col(QFN_T_INT), vf = col(QFN_T_FLOAT);
    struct qfn_point out[NPTS];
    size_t n;
    struct err e;
    assert_int_equal(qfn_integral(&vi, 0, NULL, 0, out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ 0 }, (double[]){ 3490 }, 1);
    assert_int_equal(qfn_integral(&vf, 0, NULL, 0, out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ 0 }, (double[]){ 3595 }, 1);
    struct qfn_buckets b;
    assert_int_equal(qfn_bucket_plan(0, S(300) - 1, S(60), 0, 0, 0, &b, &e), 0);
    assert_int_equal(qfn_integral(&vi, 0, &b, 0, out, NPTS, &n, &e), 0);
    check_rows(out, n, bstart, (double[]){ 765, 1395, 2260 }, 3);
    assert_int_equal(qfn_integral(&vf, S(60), &b, 0, out, NPTS, &n, &e), 0);
    check_rows(out, n, bstart, (double[]){ 13.25, 22.916666666666664, 23.75 }, 3);
    assert_int_equal(qfn_integral(&vf, S(60), &b, 0, out, 2, &n, &e), ERR_LIMIT);

    /* Points 70s..210s only (WHERE time>=60s AND time<300s):
     * SELECT integral(iv) FROM m WHERE ... -> [60,2665] (range start)
     * SELECT integral(fv) FROM m WHERE ... -> [0,2735] (always 0)
     * ... integral(fv) GROUP BY time(1m) -> [60,1310],[180,1425]
     * ... integral(iv) GROUP BY time(1m,30s) -> [30,475],[90,1440],[150,1300]
     *     (no row for the bucket at 210: its only point is its start)
     * ... integral(fv) WHERE time>=0s AND time<300s GROUP BY time(1m) fill(0)
     *     -> [0,795],[60,1375],[180,1425]: fill() does not apply */
    struct qfn_values wi = vi, wf = vf;
    wi.ts_ns += 3; wi.v.i += 3; wi.n = 5;
    wf.ts_ns += 3; wf.v.f += 3; wf.n = 5;
    assert_int_equal(qfn_integral(&wi, 0, NULL, S(60), out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ S(60) }, (double[]){ 2665 }, 1);
    assert_int_equal(qfn_integral(&wf, 0, NULL, S(60), out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ 0 }, (double[]){ 2735 }, 1);
    assert_int_equal(qfn_bucket_plan(S(60), S(300) - 1, S(60), 0, 0, 0, &b, &e), 0);
    assert_int_equal(qfn_integral(&wf, 0, &b, S(60), out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ S(60), S(180) }, (double[]){ 1310, 1425 }, 2);
    assert_int_equal(qfn_bucket_plan(S(60), S(300) - 1, S(60), S(30), 0, 0, &b, &e), 0);
    assert_int_equal(qfn_integral(&wi, 0, &b, S(60), out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ S(30), S(90), S(150) }, (double[]){ 475, 1440, 1300 }, 3);

    /* One point (10s, 20):
     * SELECT integral(iv) FROM m WHERE time=10s -> no series
     * SELECT integral(fv) FROM m WHERE time=10s -> [0,0]
     * SELECT integral(iv) FROM m WHERE time>=5s AND time<=15s -> [5,0]
     * SELECT integral(iv) FROM m WHERE time=0s -> no series */
    struct qfn_values one_i = vi, one_f = vf;
    one_i.ts_ns += 1; one_i.v.i += 1; one_i.n = 1;
    one_f.ts_ns += 1; one_f.v.f += 1; one_f.n = 1;
    assert_int_equal(qfn_integral(&one_i, 0, NULL, S(10), out, NPTS, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(qfn_integral(&one_f, 0, NULL, S(10), out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ 0 }, (double[]){ 0 }, 1);
    assert_int_equal(qfn_integral(&one_i, 0, NULL, S(5), out, NPTS, &n, &e), 0);
    check_rows(out, n, (int64_t[]){ S(5) }, (double[]){ 0 }, 1);
    one_i.ts_ns -= 1; one_i.v.i -= 1;
    assert_int_equal(qfn_integral(&one_i, 0, NULL, 0, out, NPTS, &n, &e), 0);
    assert_int_equal(n, 0);
}

/* Summaries merged block by block answer exactly like the raw points. */
static void test_summary_merge(void **state)
{
    (void)state;
    static const enum qfn_kind kinds[] = { QFN_COUNT, QFN_SUM, QFN_MEAN, QFN_MIN,
                                           QFN_MAX, QFN_FIRST, QFN_LAST, QFN_SPREAD };
    struct qfn_values vi = col(QFN_T_INT);
    for (size_t split = 0; split <= NPTS; split++) {
        struct qfn_summary a, b;
        qfn_summary_init(&a, QFN_T_INT);
        qfn_summary_init(&b, QFN_T_INT);
        qfn_summary_add(&a, &vi, split, NPTS); /* later block first */
        qfn_summary_add(&b, &vi, 0, split);
        qfn_summary_merge(&a, &b);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            struct qfn_point got, want = agg1(kinds[k], NULL, QFN_T_INT, 0, NPTS, 0);
            assert_int_equal(qfn_summary_result(kinds[k], &a, 0, &got, NULL), 0);
            assert_int_equal(got.ts_ns, want.ts_ns);
            assert_int_equal(got.type, want.type);
            assert_memory_equal(&got.v, &want.v, sizeof got.v);
        }
    }
    struct qfn_summary s;
    qfn_summary_init(&s, QFN_T_INT);
    struct qfn_point p;
    assert_int_equal(qfn_summary_result(QFN_MEDIAN, &s, 0, &p, NULL), ERR_INVAL);
}

/* sample() is random on influxd; ours is reproducible for a seed. */
static void test_sample(void **state)
{
    (void)state;
    struct qfn_values vi = col(QFN_T_INT);
    struct qfn_point a[NPTS], b[NPTS];
    size_t na, nb;
    struct qfn_args args = { .n = 3, .seed = 42 };
    assert_int_equal(qfn_aggregate(QFN_SAMPLE, &args, &vi, 0, NPTS, 0, a, NPTS, &na, NULL), 0);
    assert_int_equal(qfn_aggregate(QFN_SAMPLE, &args, &vi, 0, NPTS, 0, b, NPTS, &nb, NULL), 0);
    assert_int_equal(na, 3);
    assert_int_equal(nb, 3);
    assert_memory_equal(a, b, sizeof a[0] * 3);
    for (size_t i = 0; i < na; i++) {
        if (i > 0)
            assert_true(a[i].ts_ns > a[i - 1].ts_ns);
        size_t j = 0;
        while (j < NPTS && ts[j] != a[i].ts_ns)
            j++;
        assert_true(j < NPTS);
        assert_int_equal(a[i].v.i, iv[j]);
    }
    args.n = NPTS; /* as many as there are: all points in time order */
    assert_int_equal(qfn_aggregate(QFN_SAMPLE, &args, &vi, 0, NPTS, 0, a, NPTS, &na, NULL), 0);
    assert_int_equal(na, NPTS);
    for (size_t i = 0; i < na; i++)
        assert_int_equal(a[i].ts_ns, ts[i]);
    args.n = NPTS + 1; /* more than there are: all of them, as influxd answers */
    assert_int_equal(qfn_aggregate(QFN_SAMPLE, &args, &vi, 0, NPTS, 0, a, NPTS, &na, NULL), 0);
    assert_int_equal(na, NPTS);
    args.n = NPTS; /* room for fewer rows than it gives: refused */
    assert_int_equal(qfn_aggregate(QFN_SAMPLE, &args, &vi, 0, NPTS, 0, a, NPTS - 1, &na, NULL),
                     ERR_LIMIT);
}

/* Ties, from points of two series merged into one column:
 *   md v=5i 0 | v=3i 10 | v=5i 20 | v=3i 30
 *   tie,h=a v=1i,f=1.5,s="x",b=false 100   tie,h=b v=2i,f=0.5,s="y",b=true 100
 *   tie,h=a v=2i,f=2.5,s="z",b=true 200    tie,h=b v=1i,f=2.5,s="w",b=false 200
 * SELECT mode(v) FROM md -> 5 (equal counts: the group seen first in time)
 * SELECT top(v,1) FROM md -> [0,5]; bottom(v,1) -> [10,3]
 * SELECT percentile(v,50) FROM md -> [30,3]; percentile(v,100) -> [20,5]
 * SELECT median(v) FROM md -> 4
 * SELECT first(v)/first(f)/first(s)/first(b) FROM tie -> [100,2],[100,1.5],
 *   [100,"y"],[100,false]; last(v)/last(s)/last(b) -> [200,2],[200,"z"],
 *   [200,true]; min(v) -> [100,1]; distinct(f) -> 0.5, 1.5, 2.5 */
static void test_ties(void **state)
{
    (void)state;
    static const int64_t mts[4] = { S(0), S(10), S(20), S(30) };
    static const int64_t mv[4] = { 5, 3, 5, 3 };
    struct qfn_values md = { .type = QFN_T_INT, .n = 4, .ts_ns = mts, .v.i = mv };
    struct qfn_point out[4];
    size_t n;
    assert_int_equal(qfn_aggregate(QFN_MODE, NULL, &md, 0, 4, 0, out, 4, &n, NULL), 0);
    assert_int_equal(out[0].v.i, 5);
    struct qfn_args a = { .n = 1 };
    assert_int_equal(qfn_aggregate(QFN_TOP, &a, &md, 0, 4, 0, out, 4, &n, NULL), 0);
    assert_true(n == 1 && out[0].ts_ns == 0 && out[0].v.i == 5);
    assert_int_equal(qfn_aggregate(QFN_BOTTOM, &a, &md, 0, 4, 0, out, 4, &n, NULL), 0);
    assert_true(n == 1 && out[0].ts_ns == S(10) && out[0].v.i == 3);
    a.percentile = 50;
    assert_int_equal(qfn_aggregate(QFN_PERCENTILE, &a, &md, 0, 4, 0, out, 4, &n, NULL), 0);
    assert_true(out[0].ts_ns == S(30) && out[0].v.i == 3);
    a.percentile = 100;
    assert_int_equal(qfn_aggregate(QFN_PERCENTILE, &a, &md, 0, 4, 0, out, 4, &n, NULL), 0);
    assert_true(out[0].ts_ns == S(20) && out[0].v.i == 5);
    assert_int_equal(qfn_aggregate(QFN_MEDIAN, NULL, &md, 0, 4, 0, out, 4, &n, NULL), 0);
    assert_true(out[0].v.f == 4);

    static const int64_t tts[4] = { S(100), S(100), S(200), S(200) };
    static const int64_t tv[4] = { 1, 2, 2, 1 };
    static const double tf[4] = { 1.5, 0.5, 2.5, 2.5 };
    static const bool tb[4] = { false, true, true, false };
    static const struct sv ts_[4] = { SV_LIT("x"), SV_LIT("y"), SV_LIT("z"), SV_LIT("w") };
    struct qfn_values vi = { .type = QFN_T_INT, .n = 4, .ts_ns = tts, .v.i = tv };
    struct qfn_values vf = { .type = QFN_T_FLOAT, .n = 4, .ts_ns = tts, .v.f = tf };
    struct qfn_values vb = { .type = QFN_T_BOOL, .n = 4, .ts_ns = tts, .v.b = tb };
    struct qfn_values vs = { .type = QFN_T_STRING, .n = 4, .ts_ns = tts, .v.s = ts_ };
    /* Each input order of the tied pair must give the same answer. */
    for (int rev = 0; rev < 2; rev++) {
        struct qfn_summary si, sf, sb, ss;
        qfn_summary_init(&si, QFN_T_INT);
        qfn_summary_init(&sf, QFN_T_FLOAT);
        qfn_summary_init(&sb, QFN_T_BOOL);
        qfn_summary_init(&ss, QFN_T_STRING);
        for (size_t k = 0; k < 4; k++) {
            size_t i = rev ? (k ^ 1) : k;
            qfn_summary_add(&si, &vi, i, i + 1);
            qfn_summary_add(&sf, &vf, i, i + 1);
            qfn_summary_add(&sb, &vb, i, i + 1);
            qfn_summary_add(&ss, &vs, i, i + 1);
        }
        struct qfn_point p;
        assert_int_equal(qfn_summary_result(QFN_FIRST, &si, 0, &p, NULL), 0);
        assert_true(p.ts_ns == S(100) && p.v.i == 2);
        assert_int_equal(qfn_summary_result(QFN_FIRST, &sf, 0, &p, NULL), 0);
        assert_true(p.ts_ns == S(100) && p.v.f == 1.5);
        assert_int_equal(qfn_summary_result(QFN_FIRST, &ss, 0, &p, NULL), 0);
        assert_true(sv_eq_cstr(p.v.s, "y"));
        assert_int_equal(qfn_summary_result(QFN_FIRST, &sb, 0, &p, NULL), 0);
        assert_false(p.v.b);
        assert_int_equal(qfn_summary_result(QFN_LAST, &si, 0, &p, NULL), 0);
        assert_true(p.ts_ns == S(200) && p.v.i == 2);
        assert_int_equal(qfn_summary_result(QFN_LAST, &ss, 0, &p, NULL), 0);
        assert_true(sv_eq_cstr(p.v.s, "z"));
        assert_int_equal(qfn_summary_result(QFN_LAST, &sb, 0, &p, NULL), 0);
        assert_true(p.v.b);
        assert_int_equal(qfn_summary_result(QFN_MIN, &si, 0, &p, NULL), 0);
        assert_true(p.ts_ns == S(100) && p.v.i == 1);
    }
    assert_int_equal(qfn_aggregate(QFN_DISTINCT, NULL, &vf, 0, 4, 0, out, 4, &n, NULL), 0);
    assert_true(n == 3 && out[0].v.f == 0.5 && out[1].v.f == 1.5 && out[2].v.f == 2.5);
}

/* big v=9223372036854775807i 0 | v=1i 10 | v=-9223372036854775807i 20
 * SELECT sum(v) FROM big WHERE time<15s -> -9223372036854775808 (wraps)
 * SELECT mean(v) FROM big WHERE time<15s -> -4611686018427388000 (the
 *   wrapped sum divided by 2, not the float sum)
 * SELECT spread(v) FROM big -> -2 (wraps) */
static void test_int_overflow(void **state)
{
    (void)state;
    static const int64_t bts[3] = { S(0), S(10), S(20) };
    static const int64_t bvv[3] = { INT64_MAX, 1, -INT64_MAX };
    struct qfn_values big = { .type = QFN_T_INT, .n = 3, .ts_ns = bts, .v.i = bvv };
    struct qfn_point out[1];
    size_t n;
    assert_int_equal(qfn_aggregate(QFN_SUM, NULL, &big, 0, 2, 0, out, 1, &n, NULL), 0);
    assert_int_equal(out[0].v.i, INT64_MIN);
    assert_int_equal(qfn_aggregate(QFN_MEAN, NULL, &big, 0, 2, 0, out, 1, &n, NULL), 0);
    assert_true(out[0].v.f == -4611686018427387904.0);
    assert_int_equal(qfn_aggregate(QFN_SPREAD, NULL, &big, 0, 3, 0, out, 1, &n, NULL), 0);
    assert_int_equal(out[0].v.i, -2);
    /* SELECT stddev(v) FROM big -> 9223372036854776000;
     * SELECT median(v) FROM big WHERE time<15s -> 4611686018427388000;
     * SELECT median(v) FROM big WHERE time>5s -> -13835058055282164000
     *   (hi - lo wraps in int64 before the halving) */
    assert_int_equal(qfn_aggregate(QFN_STDDEV, NULL, &big, 0, 3, 0, out, 1, &n, NULL), 0);
    assert_true(out[0].v.f == 9223372036854775808.0);
    assert_int_equal(qfn_aggregate(QFN_MEDIAN, NULL, &big, 0, 2, 0, out, 1, &n, NULL), 0);
    assert_true(out[0].v.f == 4611686018427387904.0);
    assert_int_equal(qfn_aggregate(QFN_MEDIAN, NULL, &big, 1, 3, S(5), out, 1, &n, NULL), 0);
    assert_true(out[0].v.f == -13835058055282163712.0);
}

/* pc v=1i..10i,f=1.5..10.5 at 10s..100s;
 * SELECT percentile(v,P),percentile(f,P) FROM pc:
 *   P=0 and P=1 -> no series; 5 -> 1, 1.5; 10 -> 1, 1.5; 33.3 -> 3, 3.5;
 *   50 -> 5, 5.5; 95 -> 10, 10.5; 100 -> 10, 10.5; 101 -> 10, 10.5 */
static void test_percentile_ranks(void **state)
{
    (void)state;
    int64_t pts[10], pv[10];
    double pf[10];
    for (int i = 0; i < 10; i++) {
        pts[i] = S(10 * (i + 1));
        pv[i] = i + 1;
        pf[i] = i + 1.5;
    }
    struct qfn_values vi = { .type = QFN_T_INT, .n = 10, .ts_ns = pts, .v.i = pv };
    struct qfn_values vf = { .type = QFN_T_FLOAT, .n = 10, .ts_ns = pts, .v.f = pf };
    static const struct { double p; int64_t want; } k[] = {
        { 0, 0 }, { 1, 0 }, { 5, 1 }, { 10, 1 }, { 33.3, 3 }, { 50, 5 }, { 95, 10 },
        { 100, 10 }, { 101, 10 },
    };
    for (size_t c = 0; c < sizeof k / sizeof k[0]; c++) {
        struct qfn_args a = { .percentile = k[c].p };
        struct qfn_point out[1];
        size_t n;
        assert_int_equal(qfn_aggregate(QFN_PERCENTILE, &a, &vi, 0, 10, 0, out, 1, &n, NULL), 0);
        if (k[c].want == 0) {
            assert_true(out[0].is_null);
        } else {
            assert_false(out[0].is_null);
            assert_int_equal(out[0].v.i, k[c].want);
            assert_int_equal(out[0].ts_ns, S(10 * k[c].want));
        }
        assert_int_equal(qfn_aggregate(QFN_PERCENTILE, &a, &vf, 0, 10, 0, out, 1, &n, NULL), 0);
        if (k[c].want != 0)
            assert_true(out[0].v.f == (double)k[c].want + 0.5);
    }
}

/* tt,h=a v=5i 10 | tt,h=a v=9i 20 | tt,h=b v=7i 15 | tt,h=c v=9i 30 |
 * tt,h=c v=1i 40 | tt,h=b v=7i 50   (one column in time order)
 * SELECT top(v,h,2) FROM tt -> [20,9,"a"],[30,9,"c"]
 * SELECT bottom(v,h,2) FROM tt -> [10,5,"a"],[40,1,"c"]
 * SELECT top(v,h,5) FROM tt -> [15,7,"b"],[20,9,"a"],[30,9,"c"]
 * SELECT bottom(v,h,5) FROM tt -> [10,5,"a"],[15,7,"b"],[40,1,"c"]
 * SELECT top(v,2) FROM tt -> [20,9],[30,9] */
static void test_top_with_tags(void **state)
{
    (void)state;
    static const int64_t tts[6] = { S(10), S(15), S(20), S(30), S(40), S(50) };
    static const int64_t tv[6] = { 5, 7, 9, 9, 1, 7 };
    static const uint32_t tg[6] = { 0, 1, 0, 2, 2, 1 }; /* a=0 b=1 c=2 */
    struct qfn_values v = { .type = QFN_T_INT, .n = 6, .ts_ns = tts, .v.i = tv };
    struct qfn_point out[6];
    size_t n;
    uint32_t gout[6];
    struct qfn_args a = { .n = 2, .group = tg, .group_out = gout };
    assert_int_equal(qfn_aggregate(QFN_TOP, &a, &v, 0, 6, 0, out, 6, &n, NULL), 0);
    check_rows(out, n, (int64_t[]){ S(20), S(30) }, (double[]){ 9, 9 }, 2);
    assert_true(gout[0] == 0 && gout[1] == 2); /* "a", "c" */
    assert_int_equal(qfn_aggregate(QFN_BOTTOM, &a, &v, 0, 6, 0, out, 6, &n, NULL), 0);
    check_rows(out, n, (int64_t[]){ S(10), S(40) }, (double[]){ 5, 1 }, 2);
    a.n = 5;
    assert_int_equal(qfn_aggregate(QFN_TOP, &a, &v, 0, 6, 0, out, 6, &n, NULL), 0);
    check_rows(out, n, (int64_t[]){ S(15), S(20), S(30) }, (double[]){ 7, 9, 9 }, 3);
    assert_true(gout[0] == 1 && gout[1] == 0 && gout[2] == 2); /* "b","a","c" */
    assert_int_equal(qfn_aggregate(QFN_BOTTOM, &a, &v, 0, 6, 0, out, 6, &n, NULL), 0);
    check_rows(out, n, (int64_t[]){ S(10), S(15), S(40) }, (double[]){ 5, 7, 1 }, 3);
    a = (struct qfn_args){ .n = 2 };
    assert_int_equal(qfn_aggregate(QFN_TOP, &a, &v, 0, 6, 0, out, 6, &n, NULL), 0);
    check_rows(out, n, (int64_t[]){ S(20), S(30) }, (double[]){ 9, 9 }, 2);
}

static void test_kind_names(void **state)
{
    (void)state;
    enum qfn_kind k;
    assert_int_equal(qfn_kind_parse(sv_cstr("non_negative_derivative"), &k), 0);
    assert_int_equal(k, QFN_NON_NEGATIVE_DERIVATIVE);
    assert_int_equal(qfn_kind_parse(sv_cstr("holt_winters"), &k), ERR_NOTFOUND);
    assert_true(qfn_kind_is_selector(QFN_PERCENTILE));
    assert_false(qfn_kind_is_selector(QFN_MEAN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_buckets),
        cmocka_unit_test(test_strings_and_bools),
        cmocka_unit_test(test_whole_range_selectors),
        cmocka_unit_test(test_multi_row),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_integral),
        cmocka_unit_test(test_summary_merge),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_int_overflow),
        cmocka_unit_test(test_percentile_ranks),
        cmocka_unit_test(test_top_with_tags),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
