// SPDX-License-Identifier: MIT
/*
 * tsdb drops and ALTER: tsdb_drop_database and tsdb_drop_retention_policy
 * remove the entry from the catalog (durable), queries and writes stop
 * finding it at once, flushed partitions and head rows go, the directory is
 * removed, and neither a reopen (WAL replay) nor recreating the same name
 * brings the data back.  Dropping what is missing is 0.  Leftovers of a
 * drop interrupted by a crash (.trash-* trees, directories the catalog does
 * not know) are removed at open.  A failed catalog write leaves everything
 * as it was.  A batch that found its store before the drop commits into
 * nothing.  tsdb_alter_retention_policy changes duration, shard duration
 * and default, checks shard <= duration, and persists.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tsdb/tsdb.h"

#define HOUR (3600LL * 1000000000LL)
#define BASE (1700000000LL * 1000000000LL / HOUR * HOUR)
#define NOW (BASE + 10 * HOUR)

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
    snprintf(tmp_root, sizeof tmp_root, "%s/nj-tsdb-drop-XXXXXX", t && *t ? t : "/tmp");
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

static struct tsdb *open_ok(struct tsdb_recovery_report *rep)
{
    struct tsdb_opts o;
    tsdb_opts_init(&o, store_dir);
    o.report = rep;
    struct tsdb *db = NULL;
    struct err e;
    if (tsdb_open(&o, &db, &e))
        fail_msg("open: %s", e.msg);
    return db;
}

static bool exists(const char *rel)
{
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", store_dir, rel);
    return stat(p, &sb) == 0;
}

static void mkdb(struct tsdb *db, const char *name)
{
    struct tsdb_rp_opts rp = { .duration_ns = TSDB_DURATION_INF, .shard_duration_ns = HOUR };
    struct err e;
    if (tsdb_create_database(db, sv_cstr(name), &rp, &e))
        fail_msg("create %s: %s", name, e.msg);
}

static void mkrp(struct tsdb *db, const char *dbname, const char *rpname, bool is_default)
{
    struct tsdb_rp_opts rp = { .name = sv_cstr(rpname),
                               .duration_ns = TSDB_DURATION_INF,
                               .shard_duration_ns = HOUR,
                               .is_default = is_default };
    struct err e;
    if (tsdb_create_retention_policy(db, sv_cstr(dbname), &rp, &e))
        fail_msg("create rp %s: %s", rpname, e.msg);
}

/* n points of m,h=x v=<i> at BASE + i minutes. */
static int put(struct tsdb *db, const char *dbname, const char *rpname, int n)
{
    struct tsdb_batch *b = NULL;
    struct err e;
    int rc = tsdb_batch_new(db, sv_cstr(dbname), sv_cstr(rpname), NOW, &b, &e);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++) {
        struct tsdb_tag tag = { SV_LIT("h"), SV_LIT("x") };
        struct tsdb_field f = { .key = SV_LIT("v"), .type = TSDB_FLOAT, .v.f = i };
        struct tsdb_point p = { SV_LIT("m"), &tag, 1, &f, 1, BASE + i * 60000000000LL };
        if (tsdb_batch_add(b, NULL, &p, &e))
            fail_msg("add: %s", e.msg);
    }
    rc = tsdb_batch_commit(b, &e);
    tsdb_batch_free(&b);
    return rc;
}

static int count_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                    const struct tsdb_field_points *fields)
{
    (void)si;
    for (size_t i = 0; i < nf; i++)
        (*(size_t *)arg) += fields[i].n;
    return 0;
}

/* Points in dbname/rpname within [lo, hi], or -1 when it is not found. */
static long points_in(struct tsdb *db, const char *dbname, const char *rpname, int64_t lo,
                      int64_t hi)
{
    struct tsdb_snapshot *s = tsdb_snapshot_new(db);
    size_t n = 0;
    struct err e;
    int rc = tsdb_snapshot_scan(s, sv_cstr(dbname), sv_cstr(rpname), SV_NULL, lo, hi, count_cb,
                                &n, &e);
    tsdb_snapshot_free(&s);
    if (rc == ERR_NOTFOUND)
        return -1;
    assert_int_equal(rc, 0);
    return (long)n;
}

/* Points in dbname/rpname, or -1 when it is not found. */
static long points(struct tsdb *db, const char *dbname, const char *rpname)
{
    struct tsdb_snapshot *s = tsdb_snapshot_new(db);
    size_t n = 0;
    struct err e;
    int rc = tsdb_snapshot_scan(s, sv_cstr(dbname), sv_cstr(rpname), SV_NULL, INT64_MIN,
                                INT64_MAX, count_cb, &n, &e);
    tsdb_snapshot_free(&s);
    if (rc == ERR_NOTFOUND)
        return -1;
    assert_int_equal(rc, 0);
    return (long)n;
}

static int db_count_cb(void *arg, const struct tsdb_db_info *d)
{
    (void)d;
    (*(size_t *)arg)++;
    return 0;
}

static size_t ndbs(struct tsdb *db)
{
    size_t n = 0;
    assert_int_equal(tsdb_list_databases(db, db_count_cb, &n), 0);
    return n;
}

static void test_drop_database(void **state)
{
    (void)state;
    struct tsdb *db = open_ok(NULL);
    struct err e;
    mkdb(db, "a"); /* id 1 */
    mkdb(db, "b"); /* id 2 */
    assert_int_equal(put(db, "a", "", 50), 0);
    assert_int_equal(put(db, "b", "", 20), 0);
    assert_int_equal(tsdb_flush(db, &e), 0);
    assert_int_equal(put(db, "a", "", 70), 0); /* head rows over the flushed ones */
    assert_int_equal(points(db, "a", ""), 70);
    assert_true(exists("db/1/1"));

    /* Missing: not an error. */
    assert_int_equal(tsdb_drop_database(db, SV_LIT("nope"), &e), 0);
    assert_int_equal(ndbs(db), 2);

    assert_int_equal(tsdb_drop_database(db, SV_LIT("a"), &e), 0);
    assert_int_equal(ndbs(db), 1);
    assert_int_equal(points(db, "a", ""), -1);
    assert_int_equal(points(db, "b", ""), 20);
    assert_false(exists("db/1"));
    assert_false(exists("db/.trash-1"));
    assert_int_equal(put(db, "a", "", 1), ERR_NOTFOUND);
    assert_int_equal(tsdb_drop_database(db, SV_LIT("a"), &e), 0);
    tsdb_close(&db); /* no flush: the WAL still holds a's records */

    /* Replay skips the dropped database's records; the name comes back
     * empty (new id). */
    struct tsdb_recovery_report rep;
    memset(&rep, 0, sizeof rep);
    db = open_ok(&rep);
    assert_true(rep.records_skipped >= 1);
    assert_int_equal(ndbs(db), 1);
    assert_int_equal(points(db, "a", ""), -1);
    assert_int_equal(points(db, "b", ""), 20);
    mkdb(db, "a");
    assert_int_equal(points(db, "a", ""), 0);
    assert_true(exists("db/3/1"));
    tsdb_close(&db);
    db = open_ok(NULL);
    assert_int_equal(points(db, "a", ""), 0);
    assert_int_equal(points(db, "b", ""), 20);
    tsdb_close(&db);
}

static void test_drop_retention_policy(void **state)
{
    (void)state;
    struct tsdb *db = open_ok(NULL);
    struct err e;
    mkdb(db, "d");
    mkrp(db, "d", "r2", false);
    assert_int_equal(put(db, "d", "autogen", 5), 0);
    assert_int_equal(put(db, "d", "r2", 7), 0);
    assert_int_equal(tsdb_flush(db, &e), 0);
    assert_int_equal(put(db, "d", "r2", 9), 0);
    assert_true(exists("db/1/2"));

    assert_int_equal(tsdb_drop_retention_policy(db, SV_LIT("d"), SV_LIT("nope"), &e), 0);
    assert_int_equal(tsdb_drop_retention_policy(db, SV_LIT("nodb"), SV_LIT("r2"), &e), 0);
    assert_int_equal(tsdb_drop_retention_policy(db, SV_LIT("d"), SV_LIT("r2"), &e), 0);
    assert_int_equal(points(db, "d", "r2"), -1);
    assert_int_equal(points(db, "d", "autogen"), 5);
    assert_false(exists("db/1/2"));
    assert_true(exists("db/1/1"));
    assert_int_equal(put(db, "d", "r2", 1), ERR_NOTFOUND);
    tsdb_close(&db);

    db = open_ok(NULL);
    assert_int_equal(points(db, "d", "r2"), -1);
    assert_int_equal(points(db, "d", "autogen"), 5);
    /* Recreated: a new id, empty. */
    mkrp(db, "d", "r2", false);
    assert_int_equal(points(db, "d", "r2"), 0);
    assert_true(exists("db/1/3"));

    /* Dropping the default leaves none (InfluxDB 1.6). */
    assert_int_equal(tsdb_drop_retention_policy(db, SV_LIT("d"), SV_LIT("autogen"), &e), 0);
    assert_int_equal(put(db, "d", "", 1), ERR_NOTFOUND);
    struct tsdb_rp_info info;
    assert_int_equal(tsdb_find_rp(db, SV_LIT("d"), SV_LIT("r2"), &info, &e), 0);
    assert_false(info.is_default);
    tsdb_close(&db);
    db = open_ok(NULL);
    assert_int_equal(points(db, "d", "autogen"), -1);
    assert_int_equal(points(db, "d", "r2"), 0);
    tsdb_close(&db);
}

static void touch(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", store_dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
}

static void mkd(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", store_dir, rel);
    assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

/* What a crash in the middle of a drop leaves, removed at open. */
static void test_drop_leftovers(void **state)
{
    (void)state;
    struct tsdb *db = open_ok(NULL);
    mkdb(db, "d");
    assert_int_equal(put(db, "d", "", 3), 0);
    struct err e;
    assert_int_equal(tsdb_flush(db, &e), 0);
    tsdb_close(&db);
    /* Renamed but not unlinked: a database and a policy. */
    mkd("db/.trash-7");
    mkd("db/.trash-7/1");
    mkd("db/.trash-7/1/0");
    touch("db/.trash-7/1/0/MANIFEST");
    touch("db/.trash-7/1/series");
    mkd("db/1/.trash-4");
    mkd("db/1/.trash-4/0");
    touch("db/1/.trash-4/0/MANIFEST");
    /* Catalog written, rename not reached: ids the catalog lacks. */
    mkd("db/9");
    mkd("db/9/1");
    mkd("db/9/1/0");
    touch("db/9/1/0/MANIFEST");
    mkd("db/1/5");
    touch("db/1/5/series");
    db = open_ok(NULL);
    assert_false(exists("db/.trash-7"));
    assert_false(exists("db/1/.trash-4"));
    assert_false(exists("db/9"));
    assert_false(exists("db/1/5"));
    assert_true(exists("db/1/1/series"));
    assert_int_equal(points(db, "d", ""), 3);
    tsdb_close(&db);
}

/* A failed catalog write: nothing changes, in memory or on disk. */
static void test_drop_fault(void **state)
{
    (void)state;
    struct tsdb *db = open_ok(NULL);
    struct err e;
    mkdb(db, "d");
    mkrp(db, "d", "r2", false);
    assert_int_equal(put(db, "d", "", 4), 0);
    assert_int_equal(put(db, "d", "r2", 2), 0);
    tsdb_fault_arm(db, TSDB_FAULT_RENAME, 1, false);
    assert_int_equal(tsdb_drop_database(db, SV_LIT("d"), &e), ERR_IO);
    tsdb_fault_arm(db, TSDB_FAULT_RENAME, 0, false);
    assert_int_equal(points(db, "d", ""), 4);
    tsdb_fault_arm(db, TSDB_FAULT_FSYNC, 1, false);
    assert_int_equal(tsdb_drop_retention_policy(db, SV_LIT("d"), SV_LIT("r2"), &e), ERR_IO);
    tsdb_fault_arm(db, TSDB_FAULT_FSYNC, 0, false);
    assert_int_equal(points(db, "d", "r2"), 2);
    assert_int_equal(put(db, "d", "r2", 3), 0);
    assert_int_equal(points(db, "d", "r2"), 3);
    tsdb_close(&db);
    db = open_ok(NULL);
    assert_int_equal(points(db, "d", ""), 4);
    assert_int_equal(points(db, "d", "r2"), 3);
    /* And the drop still works afterwards. */
    assert_int_equal(tsdb_drop_retention_policy(db, SV_LIT("d"), SV_LIT("r2"), &e), 0);
    assert_int_equal(points(db, "d", "r2"), -1);
    tsdb_close(&db);
}

/* A batch that found its store before the drop commits into nothing, and
 * its WAL record does not bring the data back. */
static void test_drop_inflight_batch(void **state)
{
    (void)state;
    struct tsdb *db = open_ok(NULL);
    struct err e;
    mkdb(db, "d");
    struct tsdb_batch *b = NULL;
    assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, NOW, &b, &e), 0);
    struct tsdb_field f = { .key = SV_LIT("v"), .type = TSDB_FLOAT, .v.f = 1 };
    struct tsdb_point p = { SV_LIT("m"), NULL, 0, &f, 1, BASE };
    assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
    assert_int_equal(tsdb_drop_database(db, SV_LIT("d"), &e), 0);
    assert_int_equal(tsdb_batch_commit(b, &e), 0);
    tsdb_batch_free(&b);
    assert_int_equal(points(db, "d", ""), -1);
    assert_int_equal(tsdb_flush(db, &e), 0);
    assert_false(exists("db/1"));
    tsdb_close(&db);
    db = open_ok(NULL);
    assert_int_equal(ndbs(db), 0);
    mkdb(db, "d");
    assert_int_equal(points(db, "d", ""), 0);
    tsdb_close(&db);
}

static void test_alter_retention_policy(void **state)
{
    (void)state;
    struct tsdb *db = open_ok(NULL);
    struct err e;
    mkdb(db, "d");
    mkrp(db, "d", "r2", false);
    struct tsdb_rp_alter a = { .has_duration = true, .duration_ns = 3 * HOUR };
    /* Shard 1 h <= 3 h: fine. */
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("d"), SV_LIT("autogen"), &a, &e), 0);
    a = (struct tsdb_rp_alter){ .has_shard = true, .shard_duration_ns = 4 * HOUR };
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("d"), SV_LIT("autogen"), &a, &e),
                     ERR_INVAL);
    assert_string_equal(e.msg, "retention policy duration must be greater than the shard duration");
    a = (struct tsdb_rp_alter){ .has_duration = true, .duration_ns = TSDB_DURATION_INF,
                                .has_shard = true, .shard_duration_ns = 2 * HOUR };
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("d"), SV_LIT("r2"), &a, &e), 0);
    a = (struct tsdb_rp_alter){ .is_default = true, .has_replication = true, .replication = 3 };
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("d"), SV_LIT("r2"), &a, &e), 0);
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("d"), SV_LIT("nope"), &a, &e),
                     ERR_NOTFOUND);
    assert_string_equal(e.msg, "retention policy not found: nope");
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("x"), SV_LIT("r2"), &a, &e),
                     ERR_NOTFOUND);
    assert_string_equal(e.msg, "database not found: \"x\"");
    /* A failed catalog write changes nothing. */
    tsdb_fault_arm(db, TSDB_FAULT_RENAME, 1, false);
    a = (struct tsdb_rp_alter){ .has_duration = true, .duration_ns = 5 * HOUR };
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("d"), SV_LIT("autogen"), &a, &e),
                     ERR_IO);
    tsdb_fault_arm(db, TSDB_FAULT_RENAME, 0, false);
    tsdb_close(&db);

    db = open_ok(NULL);
    struct tsdb_rp_info info;
    assert_int_equal(tsdb_find_rp(db, SV_LIT("d"), SV_LIT("autogen"), &info, &e), 0);
    assert_int_equal(info.duration_ns, 3 * HOUR);
    assert_int_equal(info.shard_duration_ns, HOUR);
    assert_false(info.is_default);
    assert_int_equal(tsdb_find_rp(db, SV_LIT("d"), SV_NULL, &info, &e), 0);
    assert_int_equal(info.duration_ns, TSDB_DURATION_INF);
    assert_int_equal(info.shard_duration_ns, 2 * HOUR);
    assert_int_equal(info.replication, 3);
    assert_true(info.is_default);
    /* Writes without a policy now go to r2. */
    assert_int_equal(put(db, "d", "", 2), 0);
    assert_int_equal(points(db, "d", "r2"), 2);
    assert_int_equal(points(db, "d", "autogen"), 0);
    tsdb_close(&db);
}

/* A new shard duration: rows in the range of an existing partition still
 * go there (no two partitions overlap), new ranges use the new duration. */
static void test_alter_shard_then_flush(void **state)
{
    (void)state;
    struct tsdb *db = open_ok(NULL);
    struct err e;
    mkdb(db, "d");
    /* BASE .. BASE + 89 min: partitions [BASE, +1h) and [+1h, +2h).  BASE is
     * a multiple of 2 h, so the new duration's first range starts at BASE
     * too: it must not be confused with the 1 h partition there. */
    assert_int_equal(BASE % (2 * HOUR), 0);
    assert_int_equal(put(db, "d", "", 90), 0);
    assert_int_equal(tsdb_flush(db, &e), 0);
    struct tsdb_rp_alter a = { .has_shard = true, .shard_duration_ns = 2 * HOUR };
    assert_int_equal(tsdb_alter_retention_policy(db, SV_LIT("d"), SV_LIT("autogen"), &a, &e), 0);
    assert_int_equal(put(db, "d", "", 200), 0); /* rewrites 0..89, adds 90..199 */
    assert_int_equal(tsdb_flush(db, &e), 0);
    assert_int_equal(points(db, "d", ""), 200);
    int64_t m = 60000000000LL;
    assert_int_equal(points_in(db, "d", "", BASE + 70 * m, BASE + 80 * m), 11);
    assert_int_equal(points_in(db, "d", "", BASE + 100 * m, BASE + 130 * m), 31);
    tsdb_close(&db);
    db = open_ok(NULL);
    assert_int_equal(points(db, "d", ""), 200);
    assert_int_equal(points_in(db, "d", "", BASE + 70 * m, BASE + 80 * m), 11);
    assert_int_equal(points_in(db, "d", "", BASE + 100 * m, BASE + 130 * m), 31);
    tsdb_close(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_drop_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_retention_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_inflight_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alter_retention_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alter_shard_then_flush, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
