// SPDX-License-Identifier: MIT
/*
 * Transformations, fill() and arithmetic against influxd 1.6.  Data sets,
 * written with curl -XPOST '/write?db=t&precision=s' --data-binary:
 *   c iv=10i,fv=1.5 0   c iv=20i,fv=4.5 10   c iv=5i,fv=2 20
 *   c iv=15i,fv=3 40    c iv=15i,fv=7.25 50  c iv=40i,fv=0.5 130
 *   m iv=10i,fv=10.5,sv="b",bv=true 0 ... (as in qfn_agg_test.c)
 *   l iv=12i,fv=12.0 0  l iv=81i,fv=81.0 240  l iv=-12i,fv=-12.0 360
 *   l iv=-81i,fv=-81.0 600
 * Expected rows are influxd's answers (epoch=s) to the query in each comment.
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
#define CN 6
#define MAXB 16

static const int64_t c_ts[CN] = { S(0), S(10), S(20), S(40), S(50), S(130) };
static const int64_t c_iv[CN] = { 10, 20, 5, 15, 15, 40 };
static const double c_fv[CN] = { 1.5, 4.5, 2, 3, 7.25, 0.5 };

struct row {
    int64_t t_s;
    double v;
};

static void expect_rows(const char *what, const struct qfn_point *got,
                        size_t n, const struct row *want, size_t want_n)
{
    if (n != want_n)
        fail_msg("%s: %zu rows, influxd %zu", what, n, want_n);
    for (size_t i = 0; i < n; i++) {
        double g = got[i].type == QFN_T_INT ? (double)got[i].v.i : got[i].v.f;
        if (got[i].ts_ns != S(want[i].t_s) || g != want[i].v)
            fail_msg("%s row %zu: [%lld, %.17g], influxd [%lld, %.17g]", what, i,
                     (long long)(got[i].ts_ns / 1000000000), g,
                     (long long)want[i].t_s, want[i].v);
    }
}

/* Runs transformation kind over pts[0..n) and returns the output count. */
static size_t run_xform_dir(enum qfn_kind kind, struct qfn_args args, int64_t def_unit,
                            bool desc, const struct qfn_point *pts, size_t n,
                            struct qfn_point *out)
{
    struct qfn_xform x;
    struct err e;
    if (qfn_xform_init(&x, kind, &args, def_unit, desc, 1000, &e) != 0)
        fail_msg("%s", e.msg);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = qfn_xform_push(&x, &pts[i], &out[k], &e);
        if (rc < 0)
            fail_msg("%s", e.msg);
        k += (size_t)rc;
    }
    qfn_xform_fini(&x);
    return k;
}

static size_t run_xform(enum qfn_kind kind, struct qfn_args args, int64_t def_unit,
                        const struct qfn_point *pts, size_t n, struct qfn_point *out)
{
    return run_xform_dir(kind, args, def_unit, false, pts, n, out);
}

static size_t raw_points(enum qfn_type t, struct qfn_point *p)
{
    for (size_t i = 0; i < CN; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].ts_ns = c_ts[i];
        p[i].type = t;
        if (t == QFN_T_INT)
            p[i].v.i = c_iv[i];
        else
            p[i].v.f = c_fv[i];
    }
    return CN;
}

#define ROWS(...) (const struct row[]){ __VA_ARGS__ }, sizeof((const struct row[]){ __VA_ARGS__ }) / sizeof(struct row)

/* SELECT <f> FROM c WHERE time>=0s AND time<200s (raw fields) */
static void test_raw_transforms(void **state)
{
    (void)state;
    struct qfn_point pi[CN], pf[CN], out[CN];
    raw_points(QFN_T_INT, pi);
    raw_points(QFN_T_FLOAT, pf);
    size_t n;
    const int64_t sec = S(1);
    n = run_xform(QFN_DERIVATIVE, (struct qfn_args){0}, sec, pi, CN, out);
    expect_rows("derivative(iv)", out, n,
                ROWS({ 10, 1 }, { 20, -1.5 }, { 40, 0.5 }, { 50, 0 }, { 130, 0.3125 }));
    n = run_xform(QFN_DERIVATIVE, (struct qfn_args){ .unit_ns = S(60) }, sec, pf, CN, out);
    expect_rows("derivative(fv,1m)", out, n,
                ROWS({ 10, 18 }, { 20, -15 }, { 40, 3 }, { 50, 25.5 }, { 130, -5.0625 }));
    /* counter reset at 20s (20 -> 5) is dropped */
    n = run_xform(QFN_NON_NEGATIVE_DERIVATIVE, (struct qfn_args){0}, sec, pi, CN, out);
    expect_rows("non_negative_derivative(iv)", out, n,
                ROWS({ 10, 1 }, { 40, 0.5 }, { 50, 0 }, { 130, 0.3125 }));
    n = run_xform(QFN_NON_NEGATIVE_DERIVATIVE, (struct qfn_args){0}, sec, pf, CN, out);
    expect_rows("non_negative_derivative(fv)", out, n,
                ROWS({ 10, 0.3 }, { 40, 0.05 }, { 50, 0.425 }));
    n = run_xform(QFN_DIFFERENCE, (struct qfn_args){0}, sec, pi, CN, out);
    expect_rows("difference(iv)", out, n,
                ROWS({ 10, 10 }, { 20, -15 }, { 40, 10 }, { 50, 0 }, { 130, 25 }));
    assert_int_equal(out[0].type, QFN_T_INT);
    n = run_xform(QFN_DIFFERENCE, (struct qfn_args){0}, sec, pf, CN, out);
    expect_rows("difference(fv)", out, n,
                ROWS({ 10, 3 }, { 20, -2.5 }, { 40, 1 }, { 50, 4.25 }, { 130, -6.75 }));
    n = run_xform(QFN_NON_NEGATIVE_DIFFERENCE, (struct qfn_args){0}, sec, pi, CN, out);
    expect_rows("non_negative_difference(iv)", out, n,
                ROWS({ 10, 10 }, { 40, 10 }, { 50, 0 }, { 130, 25 }));
    n = run_xform(QFN_MOVING_AVERAGE, (struct qfn_args){ .n = 2 }, sec, pi, CN, out);
    expect_rows("moving_average(iv,2)", out, n,
                ROWS({ 10, 15 }, { 20, 12.5 }, { 40, 10 }, { 50, 15 }, { 130, 27.5 }));
    assert_int_equal(out[0].type, QFN_T_FLOAT);
    n = run_xform(QFN_MOVING_AVERAGE, (struct qfn_args){ .n = 3 }, sec, pf, CN, out);
    expect_rows("moving_average(fv,3)", out, n,
                ROWS({ 20, 2.6666666666666665 }, { 40, 3.1666666666666665 },
                     { 50, 4.083333333333333 }, { 130, 3.5833333333333335 }));
    n = run_xform(QFN_CUMULATIVE_SUM, (struct qfn_args){0}, sec, pi, CN, out);
    expect_rows("cumulative_sum(iv)", out, n,
                ROWS({ 0, 10 }, { 10, 30 }, { 20, 35 }, { 40, 50 }, { 50, 65 }, { 130, 105 }));
    assert_int_equal(out[0].type, QFN_T_INT);
    n = run_xform(QFN_CUMULATIVE_SUM, (struct qfn_args){0}, sec, pf, CN, out);
    expect_rows("cumulative_sum(fv)", out, n,
                ROWS({ 0, 1.5 }, { 10, 6 }, { 20, 8 }, { 40, 11 }, { 50, 18.25 }, { 130, 18.75 }));
    n = run_xform(QFN_ELAPSED, (struct qfn_args){0}, sec, pi, CN, out);
    expect_rows("elapsed(iv)", out, n,
                ROWS({ 10, 1e10 }, { 20, 1e10 }, { 40, 2e10 }, { 50, 1e10 }, { 130, 8e10 }));
    n = run_xform(QFN_ELAPSED, (struct qfn_args){ .unit_ns = S(1) }, sec, pi, CN, out);
    expect_rows("elapsed(iv,1s)", out, n,
                ROWS({ 10, 10 }, { 20, 10 }, { 40, 20 }, { 50, 10 }, { 130, 80 }));
    n = run_xform(QFN_ELAPSED, (struct qfn_args){ .unit_ns = S(7) }, sec, pf, CN, out);
    expect_rows("elapsed(fv,7s)", out, n,
                ROWS({ 10, 1 }, { 20, 1 }, { 40, 2 }, { 50, 1 }, { 130, 11 }));
    assert_int_equal(out[0].type, QFN_T_INT);
}

/* The pipeline the executor runs for f(agg(iv)) GROUP BY time(30s) fill(x)
 * over WHERE time>=0s AND time<200s: plan with the extra intervals, aggregate
 * every bucket, fill the column, then transform. */
static size_t pipeline(enum qfn_kind xk, struct qfn_args xa, enum qfn_kind ak,
                       const struct qfn_fill *fill, struct qfn_point *out)
{
    struct qfn_buckets b;
    struct err e;
    size_t extra = qfn_xform_extra_intervals(xk, &xa);
    assert_int_equal(qfn_bucket_plan(0, S(200) - 1, S(30), 0, extra, MAXB, &b, &e), 0);
    struct qfn_values in = { .type = QFN_T_INT, .n = CN, .ts_ns = c_ts, .v.i = c_iv };
    struct qfn_point rows[MAXB];
    size_t lo = 0;
    for (size_t k = 0; k < b.n; k++) {
        int64_t bs = qfn_bucket_time(&b, k);
        size_t hi = lo;
        while (hi < CN && c_ts[hi] < bs + S(30))
            hi++;
        size_t n;
        assert_int_equal(qfn_aggregate(ak, NULL, &in, lo, hi, bs, &rows[k], 1, &n, &e), 0);
        rows[k].ts_ns = bs; /* the executor stamps aggregates with the bucket */
        lo = hi;
    }
    qfn_fill_column(fill, ak == QFN_COUNT, qfn_result_type(ak, QFN_T_INT), b.interval_ns,
                    rows, b.n);
    return run_xform(xk, xa, b.interval_ns, rows, b.n, out);
}

static void test_transforms_over_aggregates(void **state)
{
    (void)state;
    struct qfn_point out[MAXB];
    const struct qfn_fill fnull = { .mode = QFN_FILL_NULL };
    const struct qfn_fill f0 = { .mode = QFN_FILL_NUMBER, .is_int = true, .i = 0 };
    const struct qfn_fill fprev = { .mode = QFN_FILL_PREVIOUS };
    const struct qfn_fill flin = { .mode = QFN_FILL_LINEAR };
    const struct qfn_args none = { 0 }, unit1s = { .unit_ns = S(1) }, two = { .n = 2 };
    size_t n;

    /* SELECT derivative(mean(iv)) FROM c WHERE ... GROUP BY time(30s):
     * default unit is the interval */
    n = pipeline(QFN_DERIVATIVE, none, QFN_MEAN, &fnull, out);
    expect_rows("derivative(mean)", out, n,
                ROWS({ 30, 3.333333333333334 }, { 120, 8.333333333333334 }));
    n = pipeline(QFN_DERIVATIVE, unit1s, QFN_MEAN, &fnull, out);
    expect_rows("derivative(mean,1s)", out, n,
                ROWS({ 30, 0.11111111111111113 }, { 120, 0.2777777777777778 }));
    n = pipeline(QFN_NON_NEGATIVE_DERIVATIVE, none, QFN_MAX, &fnull, out);
    expect_rows("non_negative_derivative(max)", out, n, ROWS({ 120, 8.333333333333334 }));
    n = pipeline(QFN_DIFFERENCE, none, QFN_SUM, &fnull, out);
    expect_rows("difference(sum)", out, n, ROWS({ 30, -5 }, { 120, 10 }));
    n = pipeline(QFN_NON_NEGATIVE_DIFFERENCE, none, QFN_SUM, &fnull, out);
    expect_rows("non_negative_difference(sum)", out, n, ROWS({ 120, 10 }));
    n = pipeline(QFN_MOVING_AVERAGE, two, QFN_MEAN, &fnull, out);
    expect_rows("moving_average(mean,2)", out, n,
                ROWS({ 30, 13.333333333333332 }, { 120, 27.5 }));
    n = pipeline(QFN_CUMULATIVE_SUM, none, QFN_SUM, &fnull, out);
    expect_rows("cumulative_sum(sum)", out, n, ROWS({ 0, 35 }, { 30, 65 }, { 120, 105 }));
    n = pipeline(QFN_ELAPSED, none, QFN_SUM, &fnull, out);
    expect_rows("elapsed(sum)", out, n, ROWS({ 30, 3e10 }, { 120, 9e10 }));
    n = pipeline(QFN_ELAPSED, unit1s, QFN_SUM, &fnull, out);
    expect_rows("elapsed(sum,1s)", out, n, ROWS({ 30, 30 }, { 120, 90 }));

    /* ... fill(0): the extra bucket at -30s is filled too */
    n = pipeline(QFN_DERIVATIVE, none, QFN_MEAN, &f0, out);
    expect_rows("derivative(mean) fill(0)", out, n,
                ROWS({ 0, 11.666666666666666 }, { 30, 3.333333333333334 }, { 60, -15 },
                     { 90, 0 }, { 120, 40 }, { 150, -40 }, { 180, 0 }));
    n = pipeline(QFN_DERIVATIVE, none, QFN_MEAN, &fprev, out);
    expect_rows("derivative(mean) fill(previous)", out, n,
                ROWS({ 30, 3.333333333333334 }, { 60, 0 }, { 90, 0 }, { 120, 25 },
                     { 150, 0 }, { 180, 0 }));
    n = pipeline(QFN_DERIVATIVE, none, QFN_MEAN, &flin, out);
    expect_rows("derivative(mean) fill(linear)", out, n,
                ROWS({ 30, 3.333333333333334 }, { 60, 8.333333333333336 },
                     { 90, 8.333333333333332 }, { 120, 8.333333333333332 }));
    n = pipeline(QFN_DIFFERENCE, none, QFN_SUM, &f0, out);
    expect_rows("difference(sum) fill(0)", out, n,
                ROWS({ 0, 35 }, { 30, -5 }, { 60, -30 }, { 90, 0 }, { 120, 40 },
                     { 150, -40 }, { 180, 0 }));
    n = pipeline(QFN_DIFFERENCE, none, QFN_SUM, &fprev, out);
    expect_rows("difference(sum) fill(previous)", out, n,
                ROWS({ 30, -5 }, { 60, 0 }, { 90, 0 }, { 120, 10 }, { 150, 0 }, { 180, 0 }));
    n = pipeline(QFN_DIFFERENCE, none, QFN_SUM, &flin, out);
    expect_rows("difference(sum) fill(linear)", out, n,
                ROWS({ 30, -5 }, { 60, 3 }, { 90, 3 }, { 120, 4 }));
    n = pipeline(QFN_MOVING_AVERAGE, two, QFN_SUM, &f0, out);
    expect_rows("moving_average(sum,2) fill(0)", out, n,
                ROWS({ 0, 17.5 }, { 30, 32.5 }, { 60, 15 }, { 90, 0 }, { 120, 20 },
                     { 150, 20 }, { 180, 0 }));
    n = pipeline(QFN_MOVING_AVERAGE, two, QFN_SUM, &fprev, out);
    expect_rows("moving_average(sum,2) fill(previous)", out, n,
                ROWS({ 30, 32.5 }, { 60, 30 }, { 90, 30 }, { 120, 35 }, { 150, 40 },
                     { 180, 40 }));
    n = pipeline(QFN_MOVING_AVERAGE, two, QFN_SUM, &flin, out);
    expect_rows("moving_average(sum,2) fill(linear)", out, n,
                ROWS({ 30, 32.5 }, { 60, 31.5 }, { 90, 34.5 }, { 120, 38 }));
    n = pipeline(QFN_CUMULATIVE_SUM, none, QFN_SUM, &f0, out);
    expect_rows("cumulative_sum(sum) fill(0)", out, n,
                ROWS({ 0, 35 }, { 30, 65 }, { 60, 65 }, { 90, 65 }, { 120, 105 },
                     { 150, 105 }, { 180, 105 }));
    n = pipeline(QFN_CUMULATIVE_SUM, none, QFN_SUM, &fprev, out);
    expect_rows("cumulative_sum(sum) fill(previous)", out, n,
                ROWS({ 0, 35 }, { 30, 65 }, { 60, 95 }, { 90, 125 }, { 120, 165 },
                     { 150, 205 }, { 180, 245 }));
    n = pipeline(QFN_CUMULATIVE_SUM, none, QFN_SUM, &flin, out);
    expect_rows("cumulative_sum(sum) fill(linear)", out, n,
                ROWS({ 0, 35 }, { 30, 65 }, { 60, 98 }, { 90, 134 }, { 120, 174 }));
    n = pipeline(QFN_ELAPSED, unit1s, QFN_SUM, &f0, out);
    expect_rows("elapsed(sum,1s) fill(0)", out, n,
                ROWS({ 0, 30 }, { 30, 30 }, { 60, 30 }, { 90, 30 }, { 120, 30 },
                     { 150, 30 }, { 180, 30 }));
    n = pipeline(QFN_ELAPSED, unit1s, QFN_SUM, &fprev, out);
    expect_rows("elapsed(sum,1s) fill(previous)", out, n,
                ROWS({ 30, 30 }, { 60, 30 }, { 90, 30 }, { 120, 30 }, { 150, 30 },
                     { 180, 30 }));
    n = pipeline(QFN_ELAPSED, unit1s, QFN_SUM, &flin, out);
    expect_rows("elapsed(sum,1s) fill(linear)", out, n,
                ROWS({ 30, 30 }, { 60, 30 }, { 90, 30 }, { 120, 30 }));
}

/* Per-bucket results of SELECT count(iv),sum(iv),mean(iv),sum(fv) FROM m
 * WHERE time>=0s AND time<400s GROUP BY time(1m): buckets 0..360, data in
 * 0, 60 and 180 only. */
#define MB 7
static void m_rows(struct qfn_point c[MB], struct qfn_point si[MB],
                   struct qfn_point mi[MB], struct qfn_point sf[MB])
{
    static const bool has[MB] = { true, true, false, true, false, false, false };
    static const int64_t cnt[MB] = { 3, 3, 0, 2 }, sum[MB] = { 45, 65, 0, 20 };
    static const double mean[MB] = { 15, 21.666666666666668, 0, 10 };
    static const double sumf[MB] = { 46.5, 66.5, 0, 21 };
    for (size_t k = 0; k < MB; k++) {
        struct qfn_point p = { .ts_ns = S(60 * (int64_t)k), .is_null = !has[k] };
        c[k] = si[k] = mi[k] = sf[k] = p;
        c[k].type = si[k].type = QFN_T_INT;
        mi[k].type = sf[k].type = QFN_T_FLOAT;
        if (has[k]) {
            c[k].v.i = cnt[k];
            si[k].v.i = sum[k];
            mi[k].v.f = mean[k];
            sf[k].v.f = sumf[k];
        }
    }
}

static void fill4(const struct qfn_fill *f, struct qfn_point c[MB], struct qfn_point si[MB],
                  struct qfn_point mi[MB], struct qfn_point sf[MB])
{
    m_rows(c, si, mi, sf);
    qfn_fill_column(f, true, QFN_T_INT, S(60), c, MB);
    qfn_fill_column(f, false, QFN_T_INT, S(60), si, MB);
    qfn_fill_column(f, false, QFN_T_FLOAT, S(60), mi, MB);
    qfn_fill_column(f, false, QFN_T_FLOAT, S(60), sf, MB);
}

static void expect_col(const char *what, const struct qfn_point *p, const double *want)
{
    for (size_t k = 0; k < MB; k++) {
        bool wnull = isnan(want[k]);
        double g = p[k].type == QFN_T_INT ? (double)p[k].v.i : p[k].v.f;
        if (p[k].is_null != wnull || (!wnull && g != want[k]))
            fail_msg("%s bucket %zu: got %s%.17g, influxd %.17g", what, k,
                     p[k].is_null ? "null " : "", g, want[k]);
    }
}

static void test_fill_modes(void **state)
{
    (void)state;
    struct qfn_point c[MB], si[MB], mi[MB], sf[MB];
    const double N = NAN;
    /* fill(null) (default): count -> 0, others null */
    fill4(&(struct qfn_fill){ .mode = QFN_FILL_NULL }, c, si, mi, sf);
    expect_col("count fill(null)", c, (double[]){ 3, 3, 0, 2, 0, 0, 0 });
    expect_col("sum fill(null)", si, (double[]){ 45, 65, N, 20, N, N, N });
    /* fill(none) -> rows 0, 60, 180 only: the nulls stay for the caller to drop */
    fill4(&(struct qfn_fill){ .mode = QFN_FILL_NONE }, c, si, mi, sf);
    expect_col("count fill(none)", c, (double[]){ 3, 3, N, 2, N, N, N });
    /* fill(0) -> 0 everywhere */
    fill4(&(struct qfn_fill){ .mode = QFN_FILL_NUMBER, .is_int = true }, c, si, mi, sf);
    expect_col("count fill(0)", c, (double[]){ 3, 3, 0, 2, 0, 0, 0 });
    expect_col("mean fill(0)", mi, (double[]){ 15, 21.666666666666668, 0, 10, 0, 0, 0 });
    /* fill(-1) -> -1, count included */
    fill4(&(struct qfn_fill){ .mode = QFN_FILL_NUMBER, .is_int = true, .i = -1 }, c, si, mi, sf);
    expect_col("count fill(-1)", c, (double[]){ 3, 3, -1, 2, -1, -1, -1 });
    expect_col("sum(fv) fill(-1)", sf, (double[]){ 46.5, 66.5, -1, 21, -1, -1, -1 });
    /* fill(2.5) -> count 2, sum(iv) 2, mean 2.5, sum(fv) 2.5 */
    fill4(&(struct qfn_fill){ .mode = QFN_FILL_NUMBER, .f = 2.5 }, c, si, mi, sf);
    expect_col("count fill(2.5)", c, (double[]){ 3, 3, 2, 2, 2, 2, 2 });
    expect_col("sum fill(2.5)", si, (double[]){ 45, 65, 2, 20, 2, 2, 2 });
    expect_col("mean fill(2.5)", mi, (double[]){ 15, 21.666666666666668, 2.5, 10, 2.5, 2.5, 2.5 });
    /* fill(previous) */
    fill4(&(struct qfn_fill){ .mode = QFN_FILL_PREVIOUS }, c, si, mi, sf);
    expect_col("count fill(previous)", c, (double[]){ 3, 3, 3, 2, 2, 2, 2 });
    expect_col("mean fill(previous)", mi,
               (double[]){ 15, 21.666666666666668, 21.666666666666668, 10, 10, 10, 10 });
    assert_int_equal(mi[2].ts_ns, S(120));
    /* fill(linear): count 2 (2.5 truncated), sum 42, mean 15.833333333333334,
     * sum(fv) 43.75; trailing buckets stay null */
    fill4(&(struct qfn_fill){ .mode = QFN_FILL_LINEAR }, c, si, mi, sf);
    expect_col("count fill(linear)", c, (double[]){ 3, 3, 2, 2, N, N, N });
    expect_col("sum fill(linear)", si, (double[]){ 45, 65, 42, 20, N, N, N });
    expect_col("mean fill(linear)", mi,
               (double[]){ 15, 21.666666666666668, 15.833333333333334, 10, N, N, N });
    expect_col("sum(fv) fill(linear)", sf, (double[]){ 46.5, 66.5, 43.75, 21, N, N, N });
}

/* SELECT sum(iv),mean(fv) FROM m WHERE time>=0s AND time<400s
 * GROUP BY time(1m) fill(previous) ORDER BY time DESC
 *   -> [360,null,null],[300,null,null],[240,null,null],[180,20,10.5],
 *      [120,20,10.5],[60,65,...],[0,45,15.5] */
static void test_fill_previous_desc(void **state)
{
    (void)state;
    struct qfn_point c[MB], si[MB], mi[MB], sf[MB], d[MB];
    m_rows(c, si, mi, sf);
    for (size_t k = 0; k < MB; k++)
        d[k] = si[MB - 1 - k];
    qfn_fill_column(&(struct qfn_fill){ .mode = QFN_FILL_PREVIOUS }, false, QFN_T_INT, S(60), d, MB);
    const double N = NAN;
    expect_col("sum fill(previous) DESC", d, (double[]){ N, N, N, 20, 20, 65, 45 });
}

/* SELECT sum(iv),sum(fv) FROM l WHERE time>=0s AND time<660s
 * GROUP BY time(1m) fill(linear) */
static void test_fill_linear_ints(void **state)
{
    (void)state;
    struct qfn_point pi[11], pf[11];
    static const double known[11] = { 12, NAN, NAN, NAN, 81, NAN, -12, NAN, NAN, NAN, -81 };
    for (size_t k = 0; k < 11; k++) {
        pi[k] = (struct qfn_point){ .ts_ns = S(60 * (int64_t)k), .type = QFN_T_INT,
                                    .is_null = isnan(known[k]) };
        pf[k] = pi[k];
        pf[k].type = QFN_T_FLOAT;
        if (!pi[k].is_null) {
            pi[k].v.i = (int64_t)known[k];
            pf[k].v.f = known[k];
        }
    }
    const struct qfn_fill lin = { .mode = QFN_FILL_LINEAR };
    /* ... ORDER BY time DESC -> the same values, newest first */
    struct qfn_point rd[11];
    for (size_t k = 0; k < 11; k++)
        rd[k] = pi[10 - k];
    qfn_fill_column(&lin, false, QFN_T_INT, S(60), rd, 11);
    qfn_fill_column(&lin, false, QFN_T_INT, S(60), pi, 11);
    qfn_fill_column(&lin, false, QFN_T_FLOAT, S(60), pf, 11);
    static const double wi[11] = { 12, 29, 46, 63, 81, 34, -12, -29, -46, -63, -81 };
    static const double wf[11] = { 12, 29.25, 46.5, 63.75, 81, 34.5, -12, -29.25, -46.5,
                                   -63.75, -81 };
    for (size_t k = 0; k < 11; k++) {
        assert_false(pi[k].is_null);
        assert_int_equal(pi[k].v.i, (int64_t)wi[k]);
        assert_int_equal(rd[10 - k].v.i, (int64_t)wi[k]);
        assert_true(pf[k].v.f == wf[k]);
    }
}

/* SELECT first(sv),last(bv) ... GROUP BY time(1m) fill(linear) -> nulls;
 * fill(previous) -> "c",true; fill(0) and fill(5) -> "",false */
static void test_fill_strings(void **state)
{
    (void)state;
    struct qfn_point s[3] = {
        { .ts_ns = 0, .type = QFN_T_STRING, .v.s = SV_LIT("c") },
        { .ts_ns = S(60), .type = QFN_T_STRING, .is_null = true },
        { .ts_ns = S(120), .type = QFN_T_STRING, .v.s = SV_LIT("d") },
    };
    struct qfn_point b[3] = {
        { .ts_ns = 0, .type = QFN_T_BOOL, .v.b = true },
        { .ts_ns = S(60), .type = QFN_T_BOOL, .is_null = true },
        { .ts_ns = S(120), .type = QFN_T_BOOL, .v.b = true },
    };
    struct qfn_point t[3];
    memcpy(t, s, sizeof t);
    qfn_fill_column(&(struct qfn_fill){ .mode = QFN_FILL_LINEAR }, false, QFN_T_STRING, S(60), t, 3);
    assert_true(t[1].is_null);
    memcpy(t, s, sizeof t);
    qfn_fill_column(&(struct qfn_fill){ .mode = QFN_FILL_PREVIOUS }, false, QFN_T_STRING, S(60), t, 3);
    assert_true(!t[1].is_null && sv_eq_cstr(t[1].v.s, "c") && t[1].ts_ns == S(60));
    memcpy(t, s, sizeof t);
    qfn_fill_column(&(struct qfn_fill){ .mode = QFN_FILL_NUMBER, .is_int = true, .i = 5 },
                    false, QFN_T_STRING, S(60), t, 3);
    assert_true(!t[1].is_null && t[1].v.s.n == 0);
    memcpy(t, b, sizeof t);
    qfn_fill_column(&(struct qfn_fill){ .mode = QFN_FILL_NUMBER, .is_int = true, .i = 5 },
                    false, QFN_T_BOOL, S(60), t, 3);
    assert_true(!t[1].is_null && !t[1].v.b);
}

static struct qfn_point I(int64_t v)
{
    return (struct qfn_point){ .type = QFN_T_INT, .v.i = v };
}

static struct qfn_point F(double v)
{
    return (struct qfn_point){ .type = QFN_T_FLOAT, .v.f = v };
}

static void expect_math(enum qfn_op op, struct qfn_point a, struct qfn_point b,
                        enum qfn_type t, double want, int line)
{
    struct qfn_point r = qfn_math(op, &a, &b);
    bool wnull = isnan(want);
    double g = r.type == QFN_T_INT ? (double)r.v.i : r.v.f;
    if (r.is_null != wnull || (!wnull && (r.type != t || g != want)))
        fail_msg("line %d: got %s%.17g (type %d), influxd %.17g", line,
                 r.is_null ? "null " : "", g, r.type, want);
}
#define EXPECT_MATH(op, a, b, t, w) expect_math(op, a, b, t, w, __LINE__)

/* SELECT iv/0, iv%0, fv/0, fv%0, iv/4, iv%4, fv%4, iv*2.5, -iv, iv-fv, iv+1
 * FROM m WHERE time<=10s
 *   -> [0, 0,0,0,null,2.5,2,2.5,25,-10,-0.5,11]
 *      [10,0,0,0,null,5,0,0.5,50,-20,-0.5,21]
 * SELECT iv % 3.5, (0-iv) % 3, (0-iv)/3 FROM m WHERE time<=10s
 *   -> [0,3,-1,-3.3333333333333335], [10,2.5,-2,-6.666666666666667]
 * SELECT sum(iv)/count(iv), sum(iv)%7, max(iv)-min(iv), mean(iv)*2+1 FROM m
 * WHERE time>=0s AND time<300s GROUP BY time(1m)
 *   -> [0,15,3,10,31],[60,21.666666666666668,2,25,44.333333333333336],
 *      [120,null,null,null,null],[180,10,6,4,21],... */
static void test_math(void **state)
{
    (void)state;
    const double N = NAN;
    static const int64_t ivs[2] = { 10, 20 };
    static const double fvs[2] = { 10.5, 20.5 };
    static const double w[2][14] = {
        { 0, 0, 0, N, 2.5, 2, 2.5, 25, -10, -0.5, 11, 3, -1, -3.3333333333333335 },
        { 0, 0, 0, N, 5, 0, 0.5, 50, -20, -0.5, 21, 2.5, -2, -6.666666666666667 },
    };
    for (size_t r = 0; r < 2; r++) {
        struct qfn_point iv = I(ivs[r]), fv = F(fvs[r]);
        EXPECT_MATH(QFN_OP_DIV, iv, I(0), QFN_T_FLOAT, w[r][0]);
        EXPECT_MATH(QFN_OP_MOD, iv, I(0), QFN_T_INT, w[r][1]);
        EXPECT_MATH(QFN_OP_DIV, fv, I(0), QFN_T_FLOAT, w[r][2]);
        EXPECT_MATH(QFN_OP_MOD, fv, I(0), QFN_T_FLOAT, w[r][3]);
        EXPECT_MATH(QFN_OP_DIV, iv, I(4), QFN_T_FLOAT, w[r][4]);
        EXPECT_MATH(QFN_OP_MOD, iv, I(4), QFN_T_INT, w[r][5]);
        EXPECT_MATH(QFN_OP_MOD, fv, I(4), QFN_T_FLOAT, w[r][6]);
        EXPECT_MATH(QFN_OP_MUL, iv, F(2.5), QFN_T_FLOAT, w[r][7]);
        EXPECT_MATH(QFN_OP_SUB, I(0), iv, QFN_T_INT, w[r][8]);
        EXPECT_MATH(QFN_OP_SUB, iv, fv, QFN_T_FLOAT, w[r][9]);
        EXPECT_MATH(QFN_OP_ADD, iv, I(1), QFN_T_INT, w[r][10]);
        EXPECT_MATH(QFN_OP_MOD, iv, F(3.5), QFN_T_FLOAT, w[r][11]);
        struct qfn_point neg = qfn_math(QFN_OP_SUB, &(struct qfn_point){ .type = QFN_T_INT }, &iv);
        EXPECT_MATH(QFN_OP_MOD, neg, I(3), QFN_T_INT, w[r][12]);
        EXPECT_MATH(QFN_OP_DIV, neg, I(3), QFN_T_FLOAT, w[r][13]);
    }
    EXPECT_MATH(QFN_OP_DIV, I(45), I(3), QFN_T_FLOAT, 15);
    EXPECT_MATH(QFN_OP_DIV, I(65), I(3), QFN_T_FLOAT, 21.666666666666668);
    EXPECT_MATH(QFN_OP_MOD, I(65), I(7), QFN_T_INT, 2);
    struct qfn_point m2 = qfn_math(QFN_OP_MUL, &(struct qfn_point){ .type = QFN_T_FLOAT,
                                   .v.f = 21.666666666666668 }, &(struct qfn_point){
                                   .type = QFN_T_INT, .v.i = 2 });
    EXPECT_MATH(QFN_OP_ADD, m2, I(1), QFN_T_FLOAT, 44.333333333333336);
    /* empty bucket: sum is null, so sum/count is null */
    struct qfn_point nul = { .type = QFN_T_INT, .is_null = true };
    EXPECT_MATH(QFN_OP_DIV, nul, I(0), QFN_T_FLOAT, N);
    /* no trap on the one int64 division that overflows */
    EXPECT_MATH(QFN_OP_MOD, I(INT64_MIN), I(-1), QFN_T_INT, 0);
    EXPECT_MATH(QFN_OP_ADD, I(INT64_MAX), I(1), QFN_T_INT, (double)INT64_MIN);
    /* Unsigned (not in 1.6, so not observed): stays unsigned and wraps. */
    struct qfn_point u1 = { .type = QFN_T_UINT, .v.u = 1 };
    struct qfn_point u2 = { .type = QFN_T_UINT, .v.u = UINT64_MAX };
    struct qfn_point r = qfn_math(QFN_OP_ADD, &u1, &u2);
    assert_true(r.type == QFN_T_UINT && r.v.u == 0);
    r = qfn_math(QFN_OP_MOD, &u2, &(struct qfn_point){ .type = QFN_T_UINT });
    assert_true(r.type == QFN_T_UINT && r.v.u == 0);
    r = qfn_math(QFN_OP_DIV, &u1, &(struct qfn_point){ .type = QFN_T_UINT, .v.u = 4 });
    assert_true(r.type == QFN_T_FLOAT && r.v.f == 0.25);
}

/* ORDER BY time DESC: points arrive newest first.
 * SELECT derivative(iv) FROM c WHERE time>=0s AND time<200s ORDER BY time DESC
 *   -> [50,-0.3125],[40,0],[20,-0.5],[10,1.5],[0,-1]
 * difference(iv) ... DESC -> [50,-25],[40,0],[20,-10],[10,15],[0,-10]
 * non_negative_derivative(iv) ... DESC -> [40,0],[10,1.5]
 * elapsed(iv,1s) ... DESC -> [50,-80],[40,-10],[20,-20],[10,-10],[0,-10] */
static void test_descending(void **state)
{
    (void)state;
    struct qfn_point p[CN], d[CN], out[CN];
    raw_points(QFN_T_INT, p);
    for (size_t i = 0; i < CN; i++)
        d[i] = p[CN - 1 - i];
    size_t n;
    n = run_xform_dir(QFN_DERIVATIVE, (struct qfn_args){0}, S(1), true, d, CN, out);
    expect_rows("derivative DESC", out, n,
                ROWS({ 50, -0.3125 }, { 40, 0 }, { 20, -0.5 }, { 10, 1.5 }, { 0, -1 }));
    n = run_xform_dir(QFN_DIFFERENCE, (struct qfn_args){0}, S(1), true, d, CN, out);
    expect_rows("difference DESC", out, n,
                ROWS({ 50, -25 }, { 40, 0 }, { 20, -10 }, { 10, 15 }, { 0, -10 }));
    n = run_xform_dir(QFN_NON_NEGATIVE_DERIVATIVE, (struct qfn_args){0}, S(1), true, d, CN,
                      out);
    expect_rows("non_negative_derivative DESC", out, n, ROWS({ 40, 0 }, { 10, 1.5 }));
    n = run_xform_dir(QFN_ELAPSED, (struct qfn_args){ .unit_ns = S(1) }, S(1), true, d, CN,
                      out);
    expect_rows("elapsed DESC", out, n,
                ROWS({ 50, -80 }, { 40, -10 }, { 20, -20 }, { 10, -10 }, { 0, -10 }));
}

/* Two series merged, equal times (tie,h=a v=1i 100 | tie,h=b v=2i 100 |
 * tie,h=a v=2i 200 | tie,h=b v=1i 200), SELECT f(v) FROM tie:
 *   derivative -> [200,0.01]; difference -> [200,1] (a repeated time is
 *   ignored, the earlier point kept); elapsed -> [100,0],[200,1e11],[200,0];
 *   cumulative_sum -> [100,1],[100,3],[200,5],[200,6];
 *   moving_average(v,2) -> [100,1.5],[200,2],[200,1.5] */
static void test_equal_times(void **state)
{
    (void)state;
    struct qfn_point p[4], out[4];
    static const int64_t t[4] = { 100, 100, 200, 200 }, v[4] = { 1, 2, 2, 1 };
    for (size_t i = 0; i < 4; i++)
        p[i] = (struct qfn_point){ .ts_ns = S(t[i]), .type = QFN_T_INT, .v.i = v[i] };
    size_t n;
    n = run_xform(QFN_DERIVATIVE, (struct qfn_args){0}, S(1), p, 4, out);
    expect_rows("derivative ties", out, n, ROWS({ 200, 0.01 }));
    n = run_xform(QFN_DIFFERENCE, (struct qfn_args){0}, S(1), p, 4, out);
    expect_rows("difference ties", out, n, ROWS({ 200, 1 }));
    n = run_xform(QFN_ELAPSED, (struct qfn_args){0}, S(1), p, 4, out);
    expect_rows("elapsed ties", out, n, ROWS({ 100, 0 }, { 200, 1e11 }, { 200, 0 }));
    n = run_xform(QFN_CUMULATIVE_SUM, (struct qfn_args){0}, S(1), p, 4, out);
    expect_rows("cumulative_sum ties", out, n,
                ROWS({ 100, 1 }, { 100, 3 }, { 200, 5 }, { 200, 6 }));
    n = run_xform(QFN_MOVING_AVERAGE, (struct qfn_args){ .n = 2 }, S(1), p, 4, out);
    expect_rows("moving_average ties", out, n, ROWS({ 100, 1.5 }, { 200, 2 }, { 200, 1.5 }));
}

/* Error texts observed on influxd:
 * SELECT difference(sv) FROM m -> unsupported difference iterator type:
 *   *query.stringInterruptIterator
 * SELECT derivative(bv) FROM m -> unsupported derivative iterator type:
 *   *query.booleanInterruptIterator
 * SELECT moving_average(iv,0) FROM m -> moving_average window must be
 *   greater than 1, got 0
 * SELECT elapsed(sv,1s) FROM m WHERE time<100s -> [10,10],[20,10],[70,50],...
 *   (elapsed takes strings) */
static void test_xform_messages(void **state)
{
    (void)state;
    struct qfn_xform x;
    struct err e;
    struct qfn_point s1 = { .ts_ns = S(10), .type = QFN_T_STRING, .v.s = SV_LIT("a") };
    struct qfn_point s2 = { .ts_ns = S(20), .type = QFN_T_STRING, .v.s = SV_LIT("b") };
    struct qfn_point bo = { .ts_ns = S(10), .type = QFN_T_BOOL, .v.b = true }, out;
    assert_int_equal(qfn_xform_init(&x, QFN_DIFFERENCE, NULL, S(1), false, 10, &e), 0);
    assert_int_equal(qfn_xform_push(&x, &s1, &out, &e), ERR_TYPE);
    assert_string_equal(e.msg, "unsupported difference iterator type: "
                               "*query.stringInterruptIterator");
    qfn_xform_fini(&x);
    assert_int_equal(qfn_xform_init(&x, QFN_DERIVATIVE, NULL, S(1), false, 10, &e), 0);
    assert_int_equal(qfn_xform_push(&x, &bo, &out, &e), ERR_TYPE);
    assert_string_equal(e.msg, "unsupported derivative iterator type: "
                               "*query.booleanInterruptIterator");
    qfn_xform_fini(&x);
    assert_int_equal(qfn_xform_init(&x, QFN_MOVING_AVERAGE, &(struct qfn_args){ .n = 0 },
                                    S(1), false, 10, &e), ERR_INVAL);
    assert_string_equal(e.msg, "moving_average window must be greater than 1, got 0");
    assert_int_equal(qfn_xform_init(&x, QFN_ELAPSED, &(struct qfn_args){ .unit_ns = S(1) },
                                    S(1), false, 10, &e), 0);
    assert_int_equal(qfn_xform_push(&x, &s1, &out, &e), 0);
    assert_int_equal(qfn_xform_push(&x, &s2, &out, &e), 1);
    assert_int_equal(out.v.i, 10);
    qfn_xform_fini(&x);
}

/* Integer differences wrap in int64 before anything else:
 *   big2 v=-9223372036854775807i 0 | v=9223372036854775807i 10
 *   SELECT derivative(v) FROM big2 -> [10,-0.2]
 *   SELECT non_negative_derivative(v) FROM big2 -> no series
 *   SELECT difference(v) FROM big2 -> [10,-2]
 *   big v=9223372036854775807i 0 | v=1i 10 | v=-9223372036854775807i 20
 *   SELECT moving_average(v,2) FROM big -> [10,-4611686018427388000],
 *     [20,-4611686018427388000]
 *   SELECT cumulative_sum(v) FROM big -> [0,9223372036854775807],
 *     [10,-9223372036854775808],[20,1] */
static void test_int_wrap(void **state)
{
    (void)state;
    struct qfn_point p[3], out[3];
    p[0] = (struct qfn_point){ .ts_ns = 0, .type = QFN_T_INT, .v.i = -INT64_MAX };
    p[1] = (struct qfn_point){ .ts_ns = S(10), .type = QFN_T_INT, .v.i = INT64_MAX };
    size_t n;
    n = run_xform(QFN_DERIVATIVE, (struct qfn_args){0}, S(1), p, 2, out);
    expect_rows("derivative wrap", out, n, ROWS({ 10, -0.2 }));
    n = run_xform(QFN_NON_NEGATIVE_DERIVATIVE, (struct qfn_args){0}, S(1), p, 2, out);
    assert_int_equal(n, 0);
    n = run_xform(QFN_DIFFERENCE, (struct qfn_args){0}, S(1), p, 2, out);
    expect_rows("difference wrap", out, n, ROWS({ 10, -2 }));
    p[0].v.i = INT64_MAX;
    p[1].v.i = 1;
    p[2] = (struct qfn_point){ .ts_ns = S(20), .type = QFN_T_INT, .v.i = -INT64_MAX };
    n = run_xform(QFN_MOVING_AVERAGE, (struct qfn_args){ .n = 2 }, S(1), p, 3, out);
    expect_rows("moving_average wrap", out, n,
                ROWS({ 10, -4611686018427387904.0 }, { 20, -4611686018427387904.0 }));
    n = run_xform(QFN_CUMULATIVE_SUM, (struct qfn_args){0}, S(1), p, 3, out);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].v.i, INT64_MAX);
    assert_int_equal(out[1].v.i, INT64_MIN);
    assert_int_equal(out[2].v.i, 1);
}

static void test_xform_errors(void **state)
{
    (void)state;
    struct qfn_xform x;
    struct err e;
    assert_int_equal(qfn_xform_init(&x, QFN_MOVING_AVERAGE, &(struct qfn_args){ .n = 0 },
                                    0, false, 10, &e), ERR_INVAL);
    assert_int_equal(qfn_xform_init(&x, QFN_MOVING_AVERAGE, &(struct qfn_args){ .n = 11 },
                                    0, false, 10, &e), ERR_LIMIT);
    assert_int_equal(qfn_xform_init(&x, QFN_MEAN, NULL, 0, false, 10, &e), ERR_INVAL);
    assert_int_equal(qfn_xform_init(&x, QFN_DERIVATIVE, NULL, 0, false, 10, &e), 0);
    struct qfn_point s = { .type = QFN_T_STRING, .v.s = SV_LIT("x") }, out;
    assert_int_equal(qfn_xform_push(&x, &s, &out, &e), ERR_TYPE);
    qfn_xform_fini(&x);
    assert_int_equal(qfn_xform_extra_intervals(QFN_MOVING_AVERAGE, &(struct qfn_args){ .n = 4 }), 1);
    assert_int_equal(qfn_xform_extra_intervals(QFN_CUMULATIVE_SUM, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_transforms),
        cmocka_unit_test(test_transforms_over_aggregates),
        cmocka_unit_test(test_fill_modes),
        cmocka_unit_test(test_fill_previous_desc),
        cmocka_unit_test(test_fill_linear_ints),
        cmocka_unit_test(test_fill_strings),
        cmocka_unit_test(test_math),
        cmocka_unit_test(test_descending),
        cmocka_unit_test(test_equal_times),
        cmocka_unit_test(test_xform_messages),
        cmocka_unit_test(test_int_wrap),
        cmocka_unit_test(test_xform_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
