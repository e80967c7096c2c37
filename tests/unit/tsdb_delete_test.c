// SPDX-License-Identifier: MIT
/*
 * tsdb_delete (DELETE, DROP SERIES, DROP MEASUREMENT): rows in the range go
 * from every part of every partition, other rows stay bit for bit (and the
 * newest write of a duplicated row still wins after the rewrite), series
 * leave the index when dropped or emptied, and all of it survives a reopen
 * (WAL replay cannot resurrect anything).  Fault injection fails the Nth
 * write / fsync / rename / open of a delete: the error is reported, the
 * store is consistent in memory and after a reopen, and the delete can be
 * run again.  Snapshots taken while a delete runs see all of a deleted
 * series' rows or none of the deleted ones, and every undeleted row.  A
 * batch resolved before a DROP SERIES and committed after it commits into
 * nothing, and the store reopens.
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

#define MIN (60LL * 1000000000LL)
#define HOUR (60 * MIN)
#define BASE (1700000000LL * 1000000000LL / HOUR * HOUR)
#define NOW (BASE + 100 * HOUR)
#define NPTS 200 /* per series, one a minute: over 4 hourly partitions */

static char tmp_root[512];
static char store_dir[700];

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
    snprintf(tmp_root, sizeof tmp_root, "%s/nj-tsdb-del-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    snprintf(store_dir, sizeof store_dir, "%s/s", tmp_root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static struct tsdb *open_ok(void)
{
    struct tsdb_opts o;
    tsdb_opts_init(&o, store_dir);
    o.fsync_mode = TSDB_FSYNC_INTERVAL; /* the WAL's fsyncs are not under test here */
    struct tsdb *db = NULL;
    struct err e;
    if (tsdb_open(&o, &db, &e))
        fail_msg("open: %s", e.msg);
    return db;
}

/* Writes points [from, to) of cpu,host=<h> (v = i + bias, i integer) in one batch. */
static void put(struct tsdb *db, const char *meas, const char *h, int from, int to, double bias)
{
    struct tsdb_batch *b = NULL;
    struct err e;
    if (tsdb_batch_new(db, SV_LIT("d"), SV_NULL, NOW, &b, &e))
        fail_msg("batch: %s", e.msg);
    for (int i = from; i < to; i++) {
        struct tsdb_tag tag = { SV_LIT("host"), sv_cstr(h) };
        struct tsdb_field f[2] = { { .key = SV_LIT("v"), .type = TSDB_FLOAT, .v.f = i + bias },
                                   { .key = SV_LIT("s"), .type = TSDB_STRING,
                                     .v.s = SV_LIT("str") } };
        /* the string field on every third row only: sparse columns */
        struct tsdb_point p = { sv_cstr(meas), &tag, 1, f, i % 3 == 0 ? 2 : 1, BASE + i * MIN };
        if (tsdb_batch_add(b, NULL, &p, &e))
            fail_msg("add: %s", e.msg);
    }
    if (tsdb_batch_commit(b, &e))
        fail_msg("commit: %s", e.msg);
    tsdb_batch_free(&b);
}

static void flush_ok(struct tsdb *db)
{
    struct err e;
    if (tsdb_flush(db, &e))
        fail_msg("flush: %s", e.msg);
}

/* cpu a, b, c and mem a: in several parts per partition (duplicates in
 * later parts win: b's rows 50..99 are rewritten with bias 1000). */
static struct tsdb *load_shard(int64_t shard_ns)
{
    struct tsdb *db = open_ok();
    struct tsdb_rp_opts rp = { .duration_ns = TSDB_DURATION_INF, .shard_duration_ns = shard_ns };
    struct err e;
    if (tsdb_create_database(db, SV_LIT("d"), &rp, &e))
        fail_msg("create: %s", e.msg);
    put(db, "cpu", "a", 0, NPTS, 0);
    put(db, "cpu", "b", 0, NPTS, 0);
    flush_ok(db);
    put(db, "cpu", "c", 0, NPTS, 0);
    put(db, "cpu", "b", 50, 100, 1000);
    put(db, "mem", "a", 0, NPTS, 0);
    flush_ok(db);
    put(db, "cpu", "c", 150, 160, 500); /* head only */
    return db;
}

static struct tsdb *load(void)
{
    return load_shard(HOUR);
}

/* Expected value of cpu b / c at row i (see load). */
static double want_v(const char *h, int i)
{
    if (!strcmp(h, "b") && i >= 50 && i < 100)
        return i + 1000;
    if (!strcmp(h, "c") && i >= 150 && i < 160)
        return i + 500;
    return i;
}

struct seen {
    char meas[16], host[16];
    int n;            /* v values */
    int nstr;         /* s values */
    int bad;          /* values that differ from want_v */
    int64_t ts[NPTS];
};

struct scan {
    struct seen s[8];
    size_t n;
};

static int scan_cb(void *arg, const struct tsdb_series_info *s, size_t nf,
                   const struct tsdb_field_points *f)
{
    struct scan *sc = arg;
    if (sc->n == 8)
        return 0;
    struct seen *x = &sc->s[sc->n++];
    memset(x, 0, sizeof *x);
    snprintf(x->meas, sizeof x->meas, "%.*s", SV_FMT(s->measurement));
    snprintf(x->host, sizeof x->host, "%.*s", s->ntags ? (int)s->tags[0].value.n : 0,
             s->ntags ? s->tags[0].value.p : "");
    for (size_t k = 0; k < nf; k++) {
        if (sv_eq_cstr(f[k].key, "s")) {
            x->nstr = (int)f[k].n;
            continue;
        }
        for (size_t i = 0; i < f[k].n && x->n < NPTS; i++) {
            int row = (int)((f[k].ts_ns[i] - BASE) / MIN);
            if (f[k].values[i].f != want_v(x->host, row))
                x->bad++;
            x->ts[x->n++] = f[k].ts_ns[i];
        }
    }
    return 0;
}

static void scan_all(struct tsdb *db, struct scan *sc)
{
    memset(sc, 0, sizeof *sc);
    struct tsdb_snapshot *snap = tsdb_snapshot_new(db);
    struct err e;
    int rc = tsdb_snapshot_scan(snap, SV_LIT("d"), SV_NULL, SV_NULL, INT64_MIN, INT64_MAX, scan_cb,
                                sc, &e);
    tsdb_snapshot_free(&snap);
    if (rc)
        fail_msg("scan: %d %s", rc, e.msg);
}

static const struct seen *find(const struct scan *sc, const char *m, const char *h)
{
    for (size_t i = 0; i < sc->n; i++)
        if (!strcmp(sc->s[i].meas, m) && !strcmp(sc->s[i].host, h))
            return &sc->s[i];
    return NULL;
}

/* Match: measurement m (NULL = any) and host h (NULL = any). */
struct match {
    const char *m, *h;
};

static int match_cb(void *arg, uint64_t rp_id, const struct tsdb_series_info *s)
{
    (void)rp_id;
    const struct match *x = arg;
    if (x->m && !sv_eq_cstr(s->measurement, x->m))
        return 0;
    if (x->h && !(s->ntags && sv_eq_cstr(s->tags[0].value, x->h)))
        return 0;
    return 1;
}

static int del(struct tsdb *db, struct match *m, int64_t lo, int64_t hi, bool drop,
               struct tsdb_delete_stats *st, struct err *e)
{
    struct tsdb_delete_req req = { .dbname = SV_LIT("d"), .match = match_cb, .arg = m,
                                   .min_ts = lo, .max_ts = hi, .drop_series = drop };
    return tsdb_delete(db, &req, st, e);
}

static int names_cb(void *arg, struct sv name)
{
    char *out = arg;
    strncat(out, name.p, name.n);
    strcat(out, ",");
    return 0;
}

static void list(struct tsdb *db, const char *what, char *out)
{
    out[0] = '\0';
    if (!strcmp(what, "meas"))
        tsdb_list_measurements(db, SV_LIT("d"), SV_NULL, names_cb, out, NULL);
    else
        tsdb_list_tag_values(db, SV_LIT("d"), SV_NULL, sv_cstr(what), SV_LIT("host"), names_cb,
                             out, NULL);
}

/* The state after "DELETE FROM cpu WHERE host='b' AND time in rows
 * [40, 130]": checked live and after reopen. */
static void check_after_range(struct tsdb *db)
{
    struct scan sc;
    scan_all(db, &sc);
    const struct seen *a = find(&sc, "cpu", "a"), *b = find(&sc, "cpu", "b"),
                      *c = find(&sc, "cpu", "c"), *ma = find(&sc, "mem", "a");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(ma);
    assert_int_equal(a->n, NPTS);
    assert_int_equal(c->n, NPTS);
    assert_int_equal(ma->n, NPTS);
    assert_int_equal(b->n, NPTS - 91);
    for (int i = 0; i < b->n; i++) {
        int row = (int)((b->ts[i] - BASE) / MIN);
        assert_true(row < 40 || row > 130);
    }
    /* string column: rows divisible by 3 outside [40, 130] */
    int nstr = 0;
    for (int i = 0; i < NPTS; i++)
        nstr += i % 3 == 0 && (i < 40 || i > 130);
    assert_int_equal(b->nstr, nstr);
    assert_int_equal(a->bad + b->bad + c->bad + ma->bad, 0);
}

static void test_delete_range(void **state)
{
    (void)state;
    struct tsdb *db = load();
    struct match m = { "cpu", "b" };
    struct tsdb_delete_stats st;
    struct err e;
    assert_int_equal(del(db, &m, BASE + 40 * MIN, BASE + 130 * MIN, false, &st, &e), 0);
    assert_int_equal(st.series_matched, 1);
    assert_int_equal(st.series_removed, 0);
    /* 91 rows of the first write and the 50 rewritten ones in the range */
    assert_int_equal(st.rows_deleted, 91 + 50);
    check_after_range(db);
    /* Rows written after the delete into the range are kept. */
    tsdb_close(&db);
    db = open_ok();
    check_after_range(db);
    /* Deleting again changes nothing; a range with no rows neither. */
    assert_int_equal(del(db, &m, BASE + 40 * MIN, BASE + 130 * MIN, false, &st, &e), 0);
    assert_int_equal(st.rows_deleted, 0);
    assert_int_equal(st.parts_rewritten, 0);
    check_after_range(db);
    tsdb_close(&db);
}

static void test_drop_and_empty(void **state)
{
    (void)state;
    struct tsdb *db = load();
    struct match m = { "cpu", "a" };
    struct tsdb_delete_stats st;
    struct err e;
    char buf[256];
    assert_int_equal(del(db, &m, 0, 0, true, &st, &e), 0);
    assert_int_equal(st.series_removed, 1);
    list(db, "cpu", buf);
    assert_string_equal(buf, "b,c,");
    /* DELETE of all rows of c (head rows included) empties it: gone too. */
    struct match mc = { "cpu", "c" };
    assert_int_equal(del(db, &mc, INT64_MIN, INT64_MAX, false, &st, &e), 0);
    assert_int_equal(st.series_removed, 1);
    list(db, "cpu", buf);
    assert_string_equal(buf, "b,");
    /* mem: all series dropped, the measurement is listed no more. */
    struct match mm = { "mem", NULL };
    assert_int_equal(del(db, &mm, 0, 0, true, &st, &e), 0);
    list(db, "meas", buf);
    assert_string_equal(buf, "cpu,");
    for (int pass = 0; pass < 2; pass++) {
        struct scan sc;
        scan_all(db, &sc);
        assert_int_equal(sc.n, 1);
        assert_non_null(find(&sc, "cpu", "b"));
        list(db, "cpu", buf);
        assert_string_equal(buf, "b,");
        list(db, "meas", buf);
        assert_string_equal(buf, "cpu,");
        tsdb_close(&db);
        db = open_ok();
    }
    /* Writing again recreates the series (new ids), and replays. */
    put(db, "cpu", "a", 0, 5, 0);
    put(db, "mem", "a", 0, 5, 0);
    tsdb_close(&db);
    db = open_ok();
    struct scan sc;
    scan_all(db, &sc);
    assert_int_equal(find(&sc, "cpu", "a")->n, 5);
    assert_int_equal(find(&sc, "mem", "a")->n, 5);
    list(db, "meas", buf);
    assert_string_equal(buf, "cpu,mem,");
    tsdb_close(&db);
}

/* A batch resolved before DROP SERIES, committed after: into nothing. */
static void test_commit_race(void **state)
{
    (void)state;
    struct tsdb *db = load();
    struct tsdb_batch *b = NULL;
    struct err e;
    assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, NOW, &b, &e), 0);
    struct tsdb_tag tag = { SV_LIT("host"), SV_LIT("a") };
    struct tsdb_tag tag2 = { SV_LIT("host"), SV_LIT("new") };
    struct tsdb_field f = { .key = SV_LIT("v"), .type = TSDB_FLOAT, .v.f = 7 };
    struct tsdb_point p = { SV_LIT("cpu"), &tag, 1, &f, 1, BASE + 999 * MIN };
    struct tsdb_point p2 = { SV_LIT("cpu"), &tag2, 1, &f, 1, BASE + 999 * MIN };
    assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
    assert_int_equal(tsdb_batch_add(b, NULL, &p2, &e), 0); /* a new series */
    struct match m = { "cpu", NULL };
    struct tsdb_delete_stats st;
    assert_int_equal(del(db, &m, 0, 0, true, &st, &e), 0);
    assert_int_equal(st.series_removed, 4);
    assert_int_equal(tsdb_batch_commit(b, &e), 0);
    tsdb_batch_free(&b);
    char buf[256];
    for (int pass = 0; pass < 2; pass++) {
        struct scan sc;
        scan_all(db, &sc);
        assert_int_equal(sc.n, 1); /* mem a */
        list(db, "meas", buf);
        assert_string_equal(buf, "mem,");
        tsdb_close(&db);
        db = open_ok();
    }
    put(db, "cpu", "new", 0, 3, 0);
    struct scan sc;
    scan_all(db, &sc);
    assert_int_equal(find(&sc, "cpu", "new")->n, 3);
    tsdb_close(&db);
}

/* Fault injection: each op, the Nth call, until the delete gets through. */
static void test_faults(void **state)
{
    (void)state;
    static const enum tsdb_fault_op ops[] = { TSDB_FAULT_WRITE, TSDB_FAULT_FSYNC,
                                              TSDB_FAULT_RENAME, TSDB_FAULT_OPEN };
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        bool is_done = false;
        for (uint64_t nth = 1; !is_done && nth < 200; nth++) {
            /* Two partitions (fsyncs are slow; every step is still there). */
            struct tsdb *db = load_shard(2 * HOUR);
            flush_ok(db); /* the delete's own flush then has nothing to do */
            struct match m = { "cpu", "b" };
            struct tsdb_delete_stats st;
            struct err e;
            err_clear(&e);
            tsdb_fault_arm(db, ops[o], nth, false);
            int rc = del(db, &m, BASE + 40 * MIN, BASE + 130 * MIN, false, &st, &e);
            tsdb_fault_arm(db, ops[o], 0, false);
            if (rc == 0) {
                is_done = true;
            } else {
                assert_int_equal(rc, ERR_IO);
                assert_true(e.msg[0] != '\0');
            }
            /* Consistent: undeleted rows all there, b's range all or partly
             * gone per partition, live and after reopen (a MANIFEST whose
             * rename landed before its directory fsync failed may show a
             * partition's delete after the reopen only). */
            struct scan sc;
            for (int pass = 0; pass < 2; pass++) {
                scan_all(db, &sc);
                assert_int_equal(sc.n, 4);
                for (size_t i = 0; i < sc.n; i++) {
                    const struct seen *x = &sc.s[i];
                    assert_int_equal(x->bad, 0);
                    if (strcmp(x->host, "b") || strcmp(x->meas, "cpu"))
                        assert_int_equal(x->n, NPTS);
                    else
                        assert_true(x->n >= NPTS - 91 && x->n <= NPTS);
                }
                tsdb_close(&db);
                db = open_ok();
            }
            if (!is_done) {
                /* Run again without faults: the full effect. */
                assert_int_equal(del(db, &m, BASE + 40 * MIN, BASE + 130 * MIN, false, &st, &e),
                                 0);
            }
            check_after_range(db);
            tsdb_close(&db);
            teardown(NULL);
            setup(NULL);
        }
        assert_true(is_done);
    }
}

/* Readers during deletes: all of the undeleted rows, always. */
struct reader {
    struct tsdb *db;
    atomic_bool stop;
    atomic_int scans, bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(&r->stop)) {
        struct scan sc;
        memset(&sc, 0, sizeof sc);
        struct tsdb_snapshot *snap = tsdb_snapshot_new(r->db);
        struct err e;
        int rc = tsdb_snapshot_scan(snap, SV_LIT("d"), SV_NULL, SV_NULL, INT64_MIN, INT64_MAX,
                                    scan_cb, &sc, &e);
        tsdb_snapshot_free(&snap);
        const struct seen *a = find(&sc, "cpu", "a"), *c = find(&sc, "cpu", "c"),
                          *b = find(&sc, "cpu", "b");
        if (rc || !a || !c || a->n != NPTS || c->n != NPTS || a->bad || c->bad ||
            (b && b->n != NPTS && b->n != NPTS - 91) || (b && b->bad))
            atomic_fetch_add(&r->bad, 1);
        atomic_fetch_add(&r->scans, 1);
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        struct tsdb *db = load();
        struct reader r = { .db = db };
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
        while (atomic_load(&r.scans) < 2)
            sched_yield();
        struct match m = { "cpu", "b" };
        struct tsdb_delete_stats st;
        struct err e;
        assert_int_equal(del(db, &m, BASE + 40 * MIN, BASE + 130 * MIN, false, &st, &e), 0);
        int at = atomic_load(&r.scans);
        while (atomic_load(&r.scans) < at + 2)
            sched_yield();
        /* and a whole series dropped under the readers */
        assert_int_equal(del(db, &m, 0, 0, true, &st, &e), 0);
        at = atomic_load(&r.scans);
        while (atomic_load(&r.scans) < at + 2)
            sched_yield();
        atomic_store(&r.stop, true);
        pthread_join(t, NULL);
        assert_int_equal(atomic_load(&r.bad), 0);
        tsdb_close(&db);
        teardown(NULL);
        setup(NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
