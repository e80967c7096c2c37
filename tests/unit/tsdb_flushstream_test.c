// SPDX-License-Identifier: MIT
/*
 * The streaming head flush (tsdb/flush.c "Streaming flush"): a series
 * longer than one piece (2,048 rows) crossing a partition boundary, string
 * and sparse fields, a flush published in many steps (tiny
 * flush_head_bytes), more partitions than the flush keeps writers open for
 * (several passes), and readers scanning in a loop while writers commit
 * and flushes run: every committed point is seen exactly once, with its
 * value, before, during and after each flush and after reopening.
 */
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tsdb/tsdb.h"
#include "tsdb/tsdb_int.h" /* head_bytes, for the threshold test */

#define HOUR (3600LL * 1000000000LL)
#define SEC 1000000000LL
#define BASE (1700000000LL * SEC / HOUR * HOUR)
#define NSER 12
#define LONG_ROWS 5000 /* series 0: 1 s apart, so two 1 h partitions */
#define SHORT_ROWS 100 /* the others: 60 s apart */

static char tmp_root[512];
static const int64_t g_now = BASE + 40 * HOUR;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/nj-tsdb-fstream-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* step_bytes: opts.flush_step_bytes (0 = the default). */
static struct tsdb *open_db(const char *sub, uint64_t step_bytes)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, sub);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    o.flush_step_bytes = step_bytes;
    struct tsdb *db = NULL;
    struct err e;
    if (tsdb_open(&o, &db, &e))
        fail_msg("open %s: %s", sub, e.msg);
    return db;
}

static void mkdb(struct tsdb *db)
{
    struct tsdb_rp_opts rp = { .duration_ns = TSDB_DURATION_INF, .shard_duration_ns = HOUR };
    struct err e;
    if (tsdb_create_database(db, SV_LIT("d"), &rp, &e))
        fail_msg("create: %s", e.msg);
}

/* The number of a tag value "k<dd>" (views are not NUL-terminated). */
static int key_num(struct sv v)
{
    assert_int_equal(v.n, 3);
    return (v.p[1] - '0') * 10 + (v.p[2] - '0');
}

static void flush_ok(struct tsdb *db)
{
    struct err e;
    if (tsdb_flush(db, &e))
        fail_msg("flush: %s", e.msg);
}

/* ---- the data set: series m,s=<k>; v always, n on even t, s every 3rd t ---- */

static int nrows(int k)
{
    return k == 0 ? LONG_ROWS : SHORT_ROWS;
}
static int64_t ts_of(int k, int t)
{
    return BASE + (int64_t)t * (k == 0 ? SEC : 60 * SEC);
}
static double v_of(int k, int t)
{
    return k * 1e6 + t + 0.5;
}

static void write_set(struct tsdb *db, int k0, int k1)
{
    for (int k = k0; k < k1; k++)
        for (int t0 = 0; t0 < nrows(k); t0 += 500) {
            struct tsdb_batch *b = NULL;
            struct err e;
            assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, g_now, &b, &e), 0);
            for (int t = t0; t < t0 + 500 && t < nrows(k); t++) {
                char key[16], sval[32];
                snprintf(key, sizeof key, "k%02d", k);
                snprintf(sval, sizeof sval, "x%d-%d", k, t);
                struct tsdb_tag tag = { SV_LIT("s"), sv_cstr(key) };
                struct tsdb_field f[3];
                size_t nf = 0;
                f[nf++] = (struct tsdb_field){ SV_LIT("v"), TSDB_FLOAT, { .f = v_of(k, t) } };
                if (t % 2 == 0)
                    f[nf++] = (struct tsdb_field){ SV_LIT("n"), TSDB_INT, { .i = 3 * t } };
                if (t % 3 == 0)
                    f[nf++] = (struct tsdb_field){ SV_LIT("s"), TSDB_STRING, { .s = sv_cstr(sval) } };
                struct tsdb_point p = { SV_LIT("m"), &tag, 1, f, nf, ts_of(k, t) };
                if (tsdb_batch_add(b, NULL, &p, &e))
                    fail_msg("add: %s", e.msg);
            }
            if (tsdb_batch_commit(b, &e))
                fail_msg("commit: %s", e.msg);
            tsdb_batch_free(&b);
        }
}

struct seen {
    int k1;
    uint16_t v[NSER][LONG_ROWS], n[NSER][LONG_ROWS], s[NSER][LONG_ROWS];
};

static int seen_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                   const struct tsdb_field_points *fp)
{
    struct seen *c = arg;
    int k = key_num(si->tags[0].value);
    assert_true(k >= 0 && k < c->k1);
    for (size_t f = 0; f < nf; f++)
        for (size_t i = 0; i < fp[f].n; i++) {
            int64_t d = fp[f].ts_ns[i] - BASE;
            int t = (int)(d / (k == 0 ? SEC : 60 * SEC));
            assert_true(t >= 0 && t < nrows(k) && ts_of(k, t) == fp[f].ts_ns[i]);
            if (sv_eq(fp[f].key, SV_LIT("v"))) {
                assert_true(fp[f].values[i].f == v_of(k, t));
                c->v[k][t]++;
            } else if (sv_eq(fp[f].key, SV_LIT("n"))) {
                assert_int_equal(fp[f].values[i].i, 3 * t);
                c->n[k][t]++;
            } else {
                char want[32];
                snprintf(want, sizeof want, "x%d-%d", k, t);
                assert_true(sv_eq(fp[f].values[i].s, sv_cstr(want)));
                c->s[k][t]++;
            }
        }
    return 0;
}

/* Every point of series [0, k1) exactly once in snapshot sn. */
static void check_snapshot(struct tsdb_snapshot *sn, int k1)
{
    struct seen *c = calloc(1, sizeof *c);
    c->k1 = k1;
    struct err e;
    if (tsdb_snapshot_scan(sn, SV_LIT("d"), SV_NULL, SV_LIT("m"), INT64_MIN, INT64_MAX, seen_cb, c,
                           &e))
        fail_msg("scan: %s", e.msg);
    for (int k = 0; k < k1; k++)
        for (int t = 0; t < nrows(k); t++)
            if (c->v[k][t] != 1 || c->n[k][t] != (t % 2 == 0) || c->s[k][t] != (t % 3 == 0))
                fail_msg("series %d t=%d seen v%d n%d s%d", k, t, c->v[k][t], c->n[k][t],
                         c->s[k][t]);
    free(c);
}

static void check_db(struct tsdb *db, int k1)
{
    struct tsdb_snapshot *sn = tsdb_snapshot_new(db);
    check_snapshot(sn, k1);
    tsdb_snapshot_free(&sn);
}

/* A 5,000-row series across two partitions (three pieces) and eleven short
 * ones, flushed in steps of 4 KiB of head (a step every few series): a
 * snapshot from before the flush and one after both see every point once; the flush made more parts than partitions (one per step and
 * partition); a second flush of rows that arrived later, and reopening,
 * change nothing. */
static void test_stream_steps(void **state)
{
    (void)state;
    struct tsdb *db = open_db("steps", 4096);
    mkdb(db);
    write_set(db, 0, NSER / 2);
    struct tsdb_snapshot *before = tsdb_snapshot_new(db);
    flush_ok(db);
    struct tsdb_storage_stats st;
    tsdb_storage_stats(db, &st);
    assert_int_equal(st.flushes, 1);
    assert_int_equal(st.flush_rows, LONG_ROWS + (NSER / 2 - 1) * SHORT_ROWS);
    assert_true(st.flush_parts > 3);
    check_snapshot(before, NSER / 2);
    tsdb_snapshot_free(&before);
    check_db(db, NSER / 2);
    write_set(db, NSER / 2, NSER);
    before = tsdb_snapshot_new(db);
    flush_ok(db);
    check_snapshot(before, NSER);
    tsdb_snapshot_free(&before);
    check_db(db, NSER);
    tsdb_close(&db);
    db = open_db("steps", 4096);
    check_db(db, NSER);
    tsdb_close(&db);
}

static int hours_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                    const struct tsdb_field_points *fp)
{
    uint8_t(*seen)[20] = arg;
    int k = key_num(si->tags[0].value);
    assert_true(k >= 0 && k < 3 && nf == 1);
    for (size_t i = 0; i < fp[0].n; i++) {
        int64_t h = (fp[0].ts_ns[i] - BASE - k * SEC) / HOUR;
        assert_true(h >= 0 && h < 20);
        assert_true(fp[0].values[i].f == k * 100.0 + (double)h);
        seen[k][h]++;
    }
    return 0;
}

/* Rows in 20 hourly partitions, more than the flush keeps writers open
 * for: one part per partition (several passes over the series), every
 * point once, after reopening too. */
static void test_stream_partitions(void **state)
{
    (void)state;
    struct tsdb *db = open_db("parts", 0);
    mkdb(db);
    for (int h = 0; h < 20; h++) {
        struct tsdb_batch *b = NULL;
        struct err e;
        assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, g_now, &b, &e), 0);
        for (int k = 0; k < 3; k++) {
            char key[16];
            snprintf(key, sizeof key, "k%02d", k);
            struct tsdb_tag tag = { SV_LIT("s"), sv_cstr(key) };
            struct tsdb_field f = { SV_LIT("v"), TSDB_FLOAT, { .f = k * 100.0 + h } };
            struct tsdb_point p = { SV_LIT("h"), &tag, 1, &f, 1, BASE + h * HOUR + k * SEC };
            assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
        }
        assert_int_equal(tsdb_batch_commit(b, &e), 0);
        tsdb_batch_free(&b);
    }
    flush_ok(db);
    struct tsdb_storage_stats st;
    tsdb_storage_stats(db, &st);
    assert_int_equal(st.flush_parts, 20);
    assert_int_equal(st.flush_rows, 60);
    for (int pass = 0; pass < 2; pass++) {
        struct tsdb_snapshot *sn = tsdb_snapshot_new(db);
        struct err e;
        uint8_t seen[3][20];
        memset(seen, 0, sizeof seen);
        assert_int_equal(tsdb_snapshot_scan(sn, SV_LIT("d"), SV_NULL, SV_LIT("h"), INT64_MIN,
                                            INT64_MAX, hours_cb, seen, &e),
                         0);
        tsdb_snapshot_free(&sn);
        for (int k = 0; k < 3; k++)
            for (int h = 0; h < 20; h++)
                assert_int_equal(seen[k][h], 1);
        tsdb_close(&db);
        db = open_db("parts", 0);
    }
    tsdb_close(&db);
}

/* ---- readers while writers commit and flushes run ------------------------- */

#define RW_SERIES 4
#define RW_ROWS 1500

struct rw {
    struct tsdb *db;
    _Atomic int committed; /* rows 0 .. committed-1 of every series are acknowledged */
    _Atomic bool is_done;
    _Atomic int scans;
    char fail[512];
};

static void *rw_writer(void *arg)
{
    struct rw *w = arg;
    for (int t = 0; t < RW_ROWS; t++) {
        struct tsdb_batch *b = NULL;
        struct err e;
        if (tsdb_batch_new(w->db, SV_LIT("d"), SV_NULL, g_now, &b, &e))
            abort();
        for (int k = 0; k < RW_SERIES; k++) {
            char key[8];
            snprintf(key, sizeof key, "w%d", k);
            struct tsdb_tag tag = { SV_LIT("s"), sv_cstr(key) };
            struct tsdb_field f = { SV_LIT("v"), TSDB_INT, { .i = t * 10 + k } };
            struct tsdb_point p = { SV_LIT("c"), &tag, 1, &f, 1, BASE + (int64_t)t * SEC };
            if (tsdb_batch_add(b, NULL, &p, &e))
                abort();
        }
        if (tsdb_batch_commit(b, &e))
            abort();
        tsdb_batch_free(&b);
        atomic_store(&w->committed, t + 1);
    }
    return NULL;
}

struct rwseen {
    uint8_t n[RW_SERIES][RW_ROWS];
    bool is_bad;
};

static int rw_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                 const struct tsdb_field_points *fp)
{
    struct rwseen *c = arg;
    int k = si->tags[0].value.p[1] - '0';
    if (k < 0 || k >= RW_SERIES || nf != 1) {
        c->is_bad = true;
        return 0;
    }
    for (size_t i = 0; i < fp[0].n; i++) {
        int64_t t = (fp[0].ts_ns[i] - BASE) / SEC;
        if (t < 0 || t >= RW_ROWS || fp[0].values[i].i != t * 10 + k) {
            c->is_bad = true;
            continue;
        }
        c->n[k][t]++;
    }
    return 0;
}

/* One scan: rows acknowledged before the snapshot exactly once, later ones
 * at most once.  Returns false with w->fail set otherwise. */
static bool rw_scan(struct rw *w, struct rwseen *c)
{
    int committed = atomic_load(&w->committed);
    struct tsdb_snapshot *sn = tsdb_snapshot_new(w->db);
    memset(c, 0, sizeof *c);
    struct err e;
    int rc = tsdb_snapshot_scan(sn, SV_LIT("d"), SV_NULL, SV_LIT("c"), INT64_MIN, INT64_MAX, rw_cb,
                                c, &e);
    tsdb_snapshot_free(&sn);
    if (rc || c->is_bad) {
        snprintf(w->fail, sizeof w->fail, "scan rc %d bad %d: %s", rc, c->is_bad, e.msg);
        return false;
    }
    for (int k = 0; k < RW_SERIES; k++)
        for (int t = 0; t < RW_ROWS; t++)
            if (c->n[k][t] > 1 || (t < committed && c->n[k][t] != 1)) {
                snprintf(w->fail, sizeof w->fail, "series %d t=%d seen %d times (committed %d)", k,
                         t, c->n[k][t], committed);
                return false;
            }
    atomic_fetch_add(&w->scans, 1);
    return true;
}

static void *rw_reader(void *arg)
{
    struct rw *w = arg;
    struct rwseen *c = malloc(sizeof *c);
    while (!atomic_load(&w->is_done))
        if (!rw_scan(w, c))
            break;
    free(c);
    return NULL;
}

static void test_stream_readers(void **state)
{
    (void)state;
    struct rw *w = calloc(1, sizeof *w);
    w->db = open_db("rw", 2048); /* a step every 2 KiB of head */
    mkdb(w->db);
    pthread_t wt, rt;
    assert_int_equal(pthread_create(&wt, NULL, rw_writer, w), 0);
    assert_int_equal(pthread_create(&rt, NULL, rw_reader, w), 0);
    int flushes = 0;
    while (atomic_load(&w->committed) < RW_ROWS && !w->fail[0]) {
        flush_ok(w->db);
        flushes++;
    }
    pthread_join(wt, NULL);
    flush_ok(w->db);
    atomic_store(&w->is_done, true);
    pthread_join(rt, NULL);
    if (w->fail[0])
        fail_msg("%s", w->fail);
    assert_true(flushes > 0);
    struct rwseen *c = malloc(sizeof *c);
    assert_true(rw_scan(w, c));
    tsdb_close(&w->db);
    w->db = open_db("rw", 2048);
    if (!rw_scan(w, c))
        fail_msg("after reopen: %s", w->fail);
    free(c);
    tsdb_close(&w->db);
    free(w);
}

/* ---- the flush threshold grows with the series count --------------------------- */

/* Writes n float points (noisy values: ~8 B each in the head) to series
 * "t,s=k<k>" from second *t on, in one commit. */
static void put_run(struct tsdb *db, int k, int *t, int n)
{
    struct tsdb_batch *b = NULL;
    struct err e;
    char key[16];
    snprintf(key, sizeof key, "k%02d", k);
    assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, g_now, &b, &e), 0);
    for (int i = 0; i < n; i++, (*t)++) {
        uint64_t x = (uint64_t)(*t + 1) * 0x9E3779B97F4A7C15ull;
        struct tsdb_tag tag = { SV_LIT("s"), sv_cstr(key) };
        struct tsdb_field f = { SV_LIT("v"), TSDB_FLOAT, { .f = (double)(x >> 11) * 0x1p-53 } };
        struct tsdb_point p = { SV_LIT("t"), &tag, 1, &f, 1, BASE + (int64_t)*t * SEC };
        assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
    }
    assert_int_equal(tsdb_batch_commit(b, &e), 0);
    tsdb_batch_free(&b);
}

/* head_bytes 16 KiB: with one series the head is full past 16 KiB; with 40
 * series (8 KiB each would be 320 KiB) it is full past 8 x 16 KiB only. */
static void test_threshold(void **state)
{
    (void)state;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/thr", tmp_root);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    o.flush_head_bytes = 16384;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(tsdb_open(&o, &db, &e), 0);
    mkdb(db);
    int t = 0;
    while ((uint64_t)atomic_load(&db->head_bytes) < 16384)
        put_run(db, 0, &t, 64);
    assert_true(tsdb_head_is_full(db));
    for (int k = 1; k < 40; k++) {
        int t1 = 0;
        put_run(db, k, &t1, 1);
    }
    assert_int_equal(tsdb__flush_threshold(db), 8 * 16384);
    assert_false(tsdb_head_is_full(db));
    while ((uint64_t)atomic_load(&db->head_bytes) < 8 * 16384)
        put_run(db, 0, &t, 64);
    assert_true(tsdb_head_is_full(db));
    assert_int_equal(tsdb_maybe_flush(db, 0, &e), 0);
    assert_false(tsdb_head_is_full(db));
    tsdb_close(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_partitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threshold, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
