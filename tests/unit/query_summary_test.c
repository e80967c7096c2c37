// SPDX-License-Identifier: MIT
/*
 * The summary fast path (query/exec_summary.c) against the scan
 * (exec_select.c): every query runs twice on the same tsdb, once with
 * qx_ctx.is_summary_off, and the two answers must be byte-identical JSON
 * (floats printed with Go's shortest round-trip form, so any rounding
 * difference shows).  The store holds blocks in two flushed parts, a head
 * that rewrites rows inside a flushed block and appends after them, sparse
 * and typed fields (float, integer, unsigned, string, boolean), so blocks
 * lie inside buckets, straddle bucket edges, overlap the head and lie
 * outside the range.  The stats prove the fast path answered (or declined)
 * where the test expects it.
 */
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/clock.h"
#include "query/exec.h"

#define S INT64_C(1000000000)
#define T0 INT64_C(1600000000) /* seconds */
#define HOURS 7

static char tmp_root[512];
static struct tsdb *g_db;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static const char *hosts[] = { "a", "b", "c", "d" };

/* Rows k in [from, to) every 10 s, for every host; rewrite != 0 changes
 * the values (a later batch over the same timestamps). */
static void add_rows(int from, int to, int rewrite)
{
    struct err e;
    struct tsdb_batch *b = NULL;
    assert_int_equal(tsdb_batch_new(g_db, SV_LIT("db"), SV_NULL, 0, &b, &e), 0);
    for (int h = 0; h < 4; h++) {
        for (int k = from; k < to; k++) {
            if (h == 3 && (k / 100) % 5 == 2)
                continue; /* host d: gaps */
            struct tsdb_tag tags[2] = { { SV_LIT("host"), sv_cstr(hosts[h]) },
                                        { SV_LIT("region"), h < 2 ? SV_LIT("us") : SV_LIT("eu") } };
            struct tsdb_field f[6];
            size_t nf = 0;
            /* values that round differently when summed in another order */
            double v = (double)((k * 7919 + h * 104729) % 100003) / 7.0 + 0.1 * rewrite;
            f[nf++] = (struct tsdb_field){ SV_LIT("v"), TSDB_FLOAT, { .f = v } };
            if (h != 2 || k % 3 == 0) /* host c: n sparse */
                f[nf++] = (struct tsdb_field){ SV_LIT("n"), TSDB_INT,
                                               { .i = (int64_t)((k * 31 + h) % 2001) - 1000 + rewrite } };
            f[nf++] = (struct tsdb_field){ SV_LIT("u"), TSDB_UINT, { .u = (uint64_t)(k % 97) } };
            /* z: few distinct values (ties within and across series, -0
             * and 0) and a rare NaN, for min/max's tie rules */
            static const double zs[] = { -0.0, 0.0, -1.5, -2.25, -1.5, 0.0 };
            double z = k % 37 == 5 && h == 1 ? NAN : zs[(k * 3 + h + rewrite) % 6];
            f[nf++] = (struct tsdb_field){ SV_LIT("z"), TSDB_FLOAT, { .f = z } };
            if (k % 5 == 0)
                f[nf++] = (struct tsdb_field){ SV_LIT("s"), TSDB_STRING, { .s = SV_LIT("x") } };
            if (k % 2 == 0)
                f[nf++] = (struct tsdb_field){ SV_LIT("ok"), TSDB_BOOL, { .b = k % 4 == 0 } };
            struct tsdb_point p = { SV_LIT("cpu"), tags, 2, f, nf, (T0 + 10 * k) * S };
            if (tsdb_batch_add(b, NULL, &p, &e))
                fail_msg("batch_add: %s", e.msg);
        }
    }
    assert_int_equal(tsdb_batch_commit(b, &e), 0);
    tsdb_batch_free(&b);
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/nj-qsum-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    struct tsdb_opts o;
    tsdb_opts_init(&o, tmp_root);
    struct err e;
    if (tsdb_open(&o, &g_db, &e))
        fail_msg("tsdb_open: %s", e.msg);
    struct tsdb_rp_opts rp = { .duration_ns = TSDB_DURATION_INF, .is_default = true };
    assert_int_equal(tsdb_create_database(g_db, SV_LIT("db"), &rp, &e), 0);
    int per_hour = 360;
    add_rows(0, 4 * per_hour, 0);              /* part 1: hours 0-4 */
    assert_int_equal(tsdb_flush(g_db, &e), 0);
    add_rows(4 * per_hour, 6 * per_hour, 0);   /* part 2: hours 4-6 */
    add_rows(200, 210, 1);                     /* rewrites inside part 1's first block */
    assert_int_equal(tsdb_flush(g_db, &e), 0);
    add_rows(6 * per_hour, HOURS * per_hour, 0); /* head: hour 6-7 */
    add_rows(1500, 1503, 2);                   /* head rows over a flushed block */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tsdb_close(&g_db);
    nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* FAST reads with the query thread alone, FAST2 with a helper thread
 * whenever there are two groups (exec_summary.c's read-ahead). */
enum path { SLOW, FAST, FAST2, AUTO };

/* Limits for run(); 0 = none. */
static uint64_t g_max_points, g_max_series;

static int run(const char *q, enum path how, struct buf *out, struct qx_stats *st)
{
    struct qx_ctx c = { .db = g_db, .default_retention_ns = TSDB_DURATION_INF,
                        .is_summary_off = how == SLOW,
                        .is_summary_forced = how == FAST || how == FAST2,
                        .read_threads = how == FAST2 ? 2 : how == FAST ? 1 : 0,
                        .max_points_scanned = g_max_points, .max_series = g_max_series };
    struct qx_params p = { .db = SV_LIT("db"), .now_ns = (T0 + 86400) * S, .stats = st };
    struct qx_enc x;
    struct err e;
    err_clear(&e);
    qx_enc_init(&x, QX_FMT_JSON, out, qx_epoch_divisor("ns", 2), false, false, NULL, NULL);
    int rc = qx_run(&c, q, strlen(q), &p, &x.sink, &e, NULL);
    if (rc == 0)
        rc = qx_enc_finish(&x);
    qx_enc_fini(&x);
    if (rc)
        fail_msg("%s: rc %d %s", q, rc, e.msg);
    return rc;
}

static struct qx_stats g_last; /* the fast run of the last same() */

/* Runs q both ways; returns the fast run's summary block count. */
__attribute__((format(printf, 1, 2))) static uint64_t same(const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    struct buf slow, fast, fast2;
    buf_init(&slow, 0);
    buf_init(&fast, 0);
    buf_init(&fast2, 0);
    struct qx_stats ss = { 0 }, fs = { 0 }, fs2 = { 0 };
    run(q, SLOW, &slow, &ss);
    run(q, FAST, &fast, &fs);
    /* The helper reads only where there are two groups or more. */
    const char *second = strstr(fast.p, "\"name\"");
    if (second && strstr(second + 1, "\"name\""))
        run(q, FAST2, &fast2, &fs2);
    else if (buf_append(&fast2, fast.p, fast.len) == 0)
        fs2 = fs;
    assert_int_equal(ss.summary_blocks, 0);
    const struct buf *fb[2] = { &fast, &fast2 };
    for (int i = 0; i < 2; i++) {
        if (strcmp(slow.p, fb[i]->p) != 0) {
            size_t at = 0;
            while (slow.p[at] == fb[i]->p[at])
                at++;
            at = at > 200 ? at - 200 : 0;
            fail_msg("%s (%s)\nslow: ...%.600s\nfast: ...%.600s", q,
                     i ? "helper thread" : "one thread", slow.p + at, fb[i]->p + at);
        }
    }
    assert_int_equal(fs.summary_blocks, fs2.summary_blocks);
    assert_int_equal(fs.points_decoded, fs2.points_decoded);
    if (strstr(slow.p, "\"error\""))
        fail_msg("%s: %.500s", q, slow.p);
    buf_fini(&slow);
    buf_fini(&fast);
    buf_fini(&fast2);
    g_last = fs;
    return fs.summary_blocks;
}

static void test_bucketed(void **state)
{
    (void)state;
    static const char *intervals[] = { "7m", "3h", "1d" };
    static const char *calls[] = {
        "min(v), max(n), spread(v), spread(n)", "sum(n), mean(n), sum(u), mean(u), max(u)",
        "count(s), count(ok)", "count(v), max(n), sum(u), spread(v)",
    };
    uint64_t used = 0;
    for (size_t i = 0; i < sizeof intervals / sizeof *intervals; i++) {
        for (size_t c = 0; c < sizeof calls / sizeof *calls; c++) {
            used += same("SELECT %s FROM cpu WHERE time >= %llds AND time < %llds"
                         " GROUP BY time(%s) fill(null)", calls[c], (long long)T0,
                         (long long)(T0 + HOURS * 3600), intervals[i]);
            used += same("SELECT %s FROM cpu WHERE time >= %llds GROUP BY time(%s), host",
                         calls[c], (long long)(T0 + 777), intervals[i]);
        }
    }
    assert_true(used > 0);
    /* Blocks are 1024 rows (~2.8 h): 6 h buckets hold whole blocks. */
    assert_true(same("SELECT count(v) FROM cpu WHERE time >= %llds AND time < %llds "
                     "GROUP BY time(6h), host", (long long)T0, (long long)(T0 + 86400)) > 0);
    assert_true(same("SELECT count(v) FROM cpu WHERE time >= %llds AND time < %llds",
                     (long long)T0, (long long)(T0 + HOURS * 3600)) > 0);
}

/* Without is_summary_forced the path is taken only where blocks fit in
 * buckets (a straddling block is decoded twice). */
static void test_cost_probe(void **state)
{
    (void)state;
    char q[256];
    struct buf out;
    buf_init(&out, 0);
    struct qx_stats st = { 0 };
    snprintf(q, sizeof q, "SELECT count(v) FROM cpu WHERE time >= %llds GROUP BY time(1m), host",
             (long long)T0);
    run(q, AUTO, &out, &st);
    assert_int_equal(st.summary_blocks, 0);
    buf_reset(&out);
    snprintf(q, sizeof q, "SELECT count(v) FROM cpu WHERE time >= %llds GROUP BY time(1d), host",
             (long long)T0);
    run(q, AUTO, &out, &st);
    assert_true(st.summary_blocks > 0);
    /* One series of four chosen by WHERE: read alone, whatever the buckets. */
    buf_reset(&out);
    memset(&st, 0, sizeof st);
    snprintf(q, sizeof q, "SELECT mean(v) FROM cpu WHERE host = 'b' AND time >= %llds "
             "GROUP BY time(1m)", (long long)T0);
    run(q, AUTO, &out, &st);
    assert_int_equal(st.summary_statements, 1);
    buf_fini(&out);
}

static void test_shapes(void **state)
{
    (void)state;
    static const char *tails[] = {
        " GROUP BY time(3h) fill(none)",
        " GROUP BY time(3h) fill(previous)",
        " GROUP BY time(3h) fill(linear)",
        " GROUP BY time(3h) fill(-7)",
        " GROUP BY time(3h, 20m)",
        " GROUP BY time(2h, -15m), host",
        " GROUP BY time(3h), region, host",
        " GROUP BY time(3h), nosuch",
        " GROUP BY time(3h), host ORDER BY time DESC",
        " GROUP BY time(1h), host ORDER BY time DESC LIMIT 3 OFFSET 1",
        " GROUP BY time(3h), host SLIMIT 2 SOFFSET 1",
        " GROUP BY host",
        "",
    };
    static const char *calls[] = { "count(v), sum(n) AS total, mean(u)", "max(n), min(v), spread(u)",
                                   "first(v), last(n)" };
    for (size_t t = 0; t < sizeof tails / sizeof *tails; t++)
        for (size_t c = 0; c < sizeof calls / sizeof *calls; c++)
            same("SELECT %s FROM cpu WHERE time >= %llds AND time <= %llds%s", calls[c],
                 (long long)(T0 + 95), (long long)(T0 + 5 * 3600 + 17), tails[t]);
    /* WHERE on tags, no upper bound, empty results, fields that do not exist. */
    same("SELECT count(v) FROM cpu WHERE host = 'a' AND time >= %llds GROUP BY time(3h)",
         (long long)T0);
    same("SELECT max(v) FROM cpu WHERE (region =~ /e/ OR host = 'a') AND time >= %llds "
         "GROUP BY time(3h), host", (long long)T0);
    same("SELECT count(v) FROM cpu WHERE host = 'zz' AND time >= %llds GROUP BY time(3h)",
         (long long)T0);
    /* A tag = 'value' conjunct reads only its postings; the rest of the
     * condition still applies. */
    same("SELECT max(v), count(n) FROM cpu WHERE time >= %llds AND (region = 'us' AND "
         "host = 'b') GROUP BY time(3h), host", (long long)T0);
    same("SELECT max(v) FROM cpu WHERE region = 'eu' AND host = 'a' AND time >= %llds "
         "GROUP BY time(3h)", (long long)T0);
    same("SELECT max(v) FROM cpu WHERE region = 'eu' AND host != 'c' AND time >= %llds "
         "GROUP BY time(3h), host", (long long)T0);
    same("SELECT max(v) FROM cpu WHERE region = '' AND time >= %llds GROUP BY time(3h)",
         (long long)T0);
    same("SELECT count(v) FROM cpu WHERE time >= %llds GROUP BY time(3h)",
         (long long)(T0 + 86400 * 30));
    same("SELECT count(nosuch), max(v) FROM cpu WHERE time >= %llds GROUP BY time(3h)",
         (long long)T0);
    same("SELECT count(v) FROM nosuch WHERE time >= %llds GROUP BY time(3h)", (long long)T0);
    same("SELECT count(v), min(v), max(v), spread(n), sum(n), mean(n) FROM cpu WHERE "
         "time >= %llds", (long long)T0);
    /* Declined (answered by the scan either way): float sums, lone selectors
     * without GROUP BY time, first/last over several series, field conditions. */
    assert_int_equal(same("SELECT sum(v) FROM cpu WHERE time >= %llds GROUP BY time(6h)",
                          (long long)T0), 0);
    /* Float sums per series: points added in time order, never a block's sum. */
    static const char *fl[] = { "1m", "7m", "3h", "1d" };
    for (size_t i = 0; i < sizeof fl / sizeof *fl; i++) {
        assert_int_equal(same("SELECT mean(v), sum(v), max(v) FROM cpu WHERE time >= %llds "
                              "GROUP BY time(%s), host", (long long)(T0 + 95), fl[i]), 0);
        assert_int_equal(g_last.summary_statements, 1);
        same("SELECT mean(v) FROM cpu WHERE host = 'c' AND time >= %llds AND time < %llds "
             "GROUP BY time(%s) fill(linear)", (long long)T0, (long long)(T0 + 86400), fl[i]);
        assert_int_equal(g_last.summary_statements, 1);
    }
    same("SELECT sum(v) FROM cpu WHERE host = 'a' AND time >= %llds", (long long)T0);
    assert_int_equal(g_last.summary_statements, 1);
    assert_int_equal(same("SELECT max(v) FROM cpu WHERE time >= %llds", (long long)T0), 0);
    assert_int_equal(same("SELECT first(v) FROM cpu WHERE time >= %llds GROUP BY time(6h)",
                          (long long)T0), 0);
    assert_int_equal(same("SELECT count(v) FROM cpu WHERE v > 1000 AND time >= %llds "
                          "GROUP BY time(6h)", (long long)T0), 0);
    assert_true(same("SELECT first(v), last(v) FROM cpu WHERE time >= %llds GROUP BY time(6h), host",
                     (long long)T0) > 0);
}

/* min/max over ties (equal values at other times, in one series and
 * across the series of a group, -0 against 0) and NaN: the bucket runs'
 * two-pass min/max must pick what qfn_summary_add picks point by point.
 * NaN (host b only; line protocol cannot write it) is read in one-series
 * groups: where a group mixes series the scan and the summary path already
 * disagreed on NaN before the two-pass loops. */
static void test_ties(void **state)
{
    (void)state;
    static const char *groups[] = { "time(7m)", "time(1m)", "time(30m), region",
                                    "time(2h) fill(none) ORDER BY time DESC", "time(5m), host" };
    for (size_t i = 0; i < sizeof groups / sizeof *groups; i++) {
        same("SELECT min(z), max(z), spread(z), max(u), min(u), max(n) FROM cpu "
             "WHERE host != 'b' AND time >= %llds AND time < %llds GROUP BY %s",
             (long long)T0, (long long)(T0 + HOURS * 3600), groups[i]);
        same("SELECT max(z), min(v) FROM cpu WHERE host != 'b' AND time >= %llds GROUP BY %s",
             (long long)(T0 + 1234), groups[i]);
    }
    same("SELECT min(z), max(z), spread(z) FROM cpu WHERE time >= %llds GROUP BY time(9m), host",
         (long long)T0);
    same("SELECT min(z), max(z) FROM cpu WHERE host = 'b' AND time >= %llds GROUP BY time(1h)",
         (long long)T0);
}

/* The rows a reader thread renders ahead (qx_sink.render_rows) print as
 * the encoder would print them itself: every JSON form and CSV, with and
 * without a helper thread, against the scan. */
static void test_render_forms(void **state)
{
    (void)state;
    static const struct {
        enum qx_format fmt;
        const char *epoch;
        bool is_chunked, is_pretty;
        size_t chunk_rows;
    } forms[] = {
        { QX_FMT_JSON, "ms", false, false, 0 }, { QX_FMT_JSON, "", false, false, 0 },
        { QX_FMT_JSON, "s", true, false, 0 },   { QX_FMT_JSON, "ns", true, false, 5 },
        { QX_FMT_JSON, "ms", false, true, 0 },  { QX_FMT_CSV, "ms", false, false, 0 },
        { QX_FMT_JSON, "ms", false, false, 7 },
    };
    char q[256];
    snprintf(q, sizeof q, "SELECT max(v), count(n), min(z) FROM cpu WHERE time >= %llds AND "
             "time < %llds GROUP BY time(20m), host fill(none)", (long long)T0,
             (long long)(T0 + HOURS * 3600));
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        struct buf out[3];
        for (int how = 0; how < 3; how++) {
            buf_init(&out[how], 0);
            struct qx_ctx c = { .db = g_db, .default_retention_ns = TSDB_DURATION_INF,
                                .is_summary_off = how == 0, .is_summary_forced = how > 0,
                                .read_threads = how == 2 ? 2 : 1 };
            struct qx_params p = { .db = SV_LIT("db"), .now_ns = (T0 + 86400) * S,
                                   .chunk_rows = forms[i].chunk_rows };
            struct qx_enc x;
            struct err e;
            err_clear(&e);
            qx_enc_init(&x, forms[i].fmt, &out[how],
                        qx_epoch_divisor(forms[i].epoch, strlen(forms[i].epoch)),
                        forms[i].is_chunked, forms[i].is_pretty, NULL, NULL);
            int rc = qx_run(&c, q, strlen(q), &p, &x.sink, &e, NULL);
            if (rc == 0)
                rc = qx_enc_finish(&x);
            qx_enc_fini(&x);
            if (rc)
                fail_msg("%s: rc %d %s", q, rc, e.msg);
        }
        assert_true(out[0].len > 1000);
        for (int how = 1; how < 3; how++) {
            if (strcmp(out[0].p, out[how].p) != 0)
                fail_msg("form %zu, %s: differs from the scan\nscan: %.300s\nfast: %.300s", i,
                         how == 2 ? "helper thread" : "one thread", out[0].p, out[how].p);
        }
        for (int how = 0; how < 3; how++)
            buf_fini(&out[how]);
    }
}

/* Limits crossed while a helper reads ahead: the same series are emitted
 * before the same error as with the query thread alone (the helper's
 * groups are read again, counted, from the one that would cross). */
static void test_helper_limits(void **state)
{
    (void)state;
    static const char *qs[][2] = {
        { "max(v), count(n)", "time(1h), host" },
        { "mean(v)", "time(10m), host ORDER BY time DESC" },
        { "count(v)", "time(30m), region, host SLIMIT 3 SOFFSET 1" },
    };
    static const uint64_t points[] = { 1, 3000, 9000 };
    static const uint64_t series[] = { 2 };
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        char q[512];
        snprintf(q, sizeof q, "SELECT %s FROM cpu WHERE time >= %llds GROUP BY %s", qs[i][0],
                 (long long)T0, qs[i][1]);
        for (size_t l = 0; l < 3 + 1; l++) {
            g_max_points = l < 3 ? points[l] : 0;
            g_max_series = l < 3 ? 0 : series[l - 3];
            struct buf one, two;
            buf_init(&one, 0);
            buf_init(&two, 0);
            struct qx_stats s1 = { 0 }, s2 = { 0 };
            run(q, FAST, &one, &s1);
            run(q, FAST2, &two, &s2);
            assert_int_equal(s1.summary_statements, 1);
            if (strcmp(one.p, two.p) != 0)
                fail_msg("%s (points %llu, series %llu)\none: %.400s\ntwo: %.400s", q,
                         (unsigned long long)g_max_points, (unsigned long long)g_max_series,
                         one.p, two.p);
            if (l == 0 && !strstr(one.p, "max-select-point limit"))
                fail_msg("%s: no limit error: %.300s", q, one.p);
            buf_fini(&one);
            buf_fini(&two);
        }
    }
    g_max_points = g_max_series = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helper_limits),
        cmocka_unit_test(test_bucketed),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_cost_probe),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_render_forms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
