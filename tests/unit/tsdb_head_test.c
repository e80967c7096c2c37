// SPDX-License-Identifier: MIT
/*
 * tsdb semantics through the public header: catalog (persistence, id-named
 * directories), series index (escaped keys, listings, postings), head
 * (last write wins, out-of-order merge, sparse fields), field type conflicts
 * with InfluxDB's texts, retention drops, reserved "time" names, replay of
 * every value type, and batch atomicity seen by concurrent snapshots.
 */
#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "tsdb/tsdb.h"
#include "tsdb/tsdb_int.h"

/* ---- helpers ------------------------------------------------------------- */

static char tmp_root[512];

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
    snprintf(tmp_root, sizeof tmp_root, "%s/nj-tsdb-head-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static struct tsdb *open_at(const char *sub)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, sub);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    struct tsdb *db = NULL;
    struct err e;
    err_clear(&e);
    int rc = tsdb_open(&o, &db, &e);
    if (rc)
        fail_msg("tsdb_open: %s", e.msg);
    return db;
}

static void mkdb(struct tsdb *db, const char *name, int64_t dur)
{
    struct tsdb_rp_opts rp = { .duration_ns = dur };
    struct err e;
    int rc = tsdb_create_database(db, sv_cstr(name), &rp, &e);
    if (rc)
        fail_msg("create_database: %s", e.msg);
}

/* Adds m,<tk>=<tv> <fk>=<v> ts; tk may be NULL. */
static int add1(struct tsdb_batch *b, const char *m, const char *tk, const char *tv,
                const char *fk, enum tsdb_type t, union tsdb_value v, int64_t ts, struct err *e)
{
    struct tsdb_tag tag = { sv_cstr(tk), sv_cstr(tv) };
    struct tsdb_field f = { sv_cstr(fk), t, v };
    struct tsdb_point p = { .measurement = sv_cstr(m),
                            .tags = tk ? &tag : NULL,
                            .ntags = tk ? 1 : 0,
                            .fields = &f,
                            .nfields = 1,
                            .ts_ns = ts };
    return tsdb_batch_add(b, NULL, &p, e);
}

static union tsdb_value F(double d)
{
    return (union tsdb_value){ .f = d };
}
static union tsdb_value I(int64_t i)
{
    return (union tsdb_value){ .i = i };
}
static union tsdb_value S(const char *s)
{
    return (union tsdb_value){ .s = sv_cstr(s) };
}

static struct tsdb_batch *batch(struct tsdb *db, const char *dbname, int64_t now)
{
    struct tsdb_batch *b = NULL;
    struct err e;
    if (tsdb_batch_new(db, sv_cstr(dbname), SV_NULL, now, &b, &e))
        fail_msg("batch_new: %s", e.msg);
    return b;
}

static void commit(struct tsdb_batch **b)
{
    struct err e;
    err_clear(&e);
    int rc = tsdb_batch_commit(*b, &e);
    if (rc)
        fail_msg("commit: %s", e.msg);
    tsdb_batch_free(b);
}

static void fmt_value(struct buf *o, enum tsdb_type t, const union tsdb_value *v)
{
    switch (t) {
    case TSDB_FLOAT:
        buf_appendf(o, "%.17g", v->f);
        break;
    case TSDB_INT:
        buf_appendf(o, "%" PRId64 "i", v->i);
        break;
    case TSDB_UINT:
        buf_appendf(o, "%" PRIu64 "u", v->u);
        break;
    case TSDB_BOOL:
        buf_append_str(o, v->b ? "true" : "false");
        break;
    case TSDB_STRING:
        buf_appendf(o, "\"%.*s\"", SV_FMT(v->s));
        break;
    }
}

static int dump_cb(void *arg, const struct tsdb_series_info *s, size_t nf,
                   const struct tsdb_field_points *f)
{
    struct buf *o = arg;
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < f[i].n; j++) {
            buf_appendf(o, "%.*s %.*s %" PRId64 " ", SV_FMT(s->key), SV_FMT(f[i].key),
                        f[i].ts_ns[j]);
            fmt_value(o, f[i].type, &f[i].values[j]);
            buf_append_char(o, '\n');
        }
    return 0;
}

/* Text of every point of dbname (default rp): "key field ts value\n" lines,
 * series in id order, fields in column order.  Caller frees. */
static char *dump(struct tsdb *db, const char *dbname)
{
    struct buf o;
    buf_init(&o, 0);
    buf_append_str(&o, "");
    struct tsdb_snapshot *s = tsdb_snapshot_new(db);
    struct err e;
    int rc = tsdb_snapshot_scan(s, sv_cstr(dbname), SV_NULL, SV_NULL, INT64_MIN, INT64_MAX,
                                dump_cb, &o, &e);
    tsdb_snapshot_free(&s);
    assert_int_equal(rc, 0);
    return buf_detach(&o, NULL);
}

static int names_cb(void *arg, struct sv name)
{
    buf_appendf(arg, "%.*s;", SV_FMT(name));
    return 0;
}

static int fields_cb(void *arg, struct sv key, enum tsdb_type t)
{
    buf_appendf(arg, "%.*s:%s;", SV_FMT(key), tsdb_type_name(t));
    return 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_lww_ooo_sparse(void **state)
{
    (void)state;
    struct tsdb *db = open_at("lww");
    mkdb(db, "d", TSDB_DURATION_INF);
    struct err e;
    /* influx-compat 1.7: f1=1 then f2=2 then f1=3 at the same time -> f1=3, f2=2. */
    struct tsdb_batch *b = batch(db, "d", 0);
    assert_int_equal(add1(b, "m", "t", "a", "f1", TSDB_FLOAT, F(1), 100, &e), 0);
    commit(&b);
    b = batch(db, "d", 0);
    assert_int_equal(add1(b, "m", "t", "a", "f2", TSDB_FLOAT, F(2), 100, &e), 0);
    commit(&b);
    b = batch(db, "d", 0);
    assert_int_equal(add1(b, "m", "t", "a", "f1", TSDB_FLOAT, F(3), 100, &e), 0);
    /* Out of order, and a later line of the same batch wins. */
    assert_int_equal(add1(b, "m", "t", "a", "f1", TSDB_FLOAT, F(30), 300, &e), 0);
    assert_int_equal(add1(b, "m", "t", "a", "f1", TSDB_FLOAT, F(20), 200, &e), 0);
    assert_int_equal(add1(b, "m", "t", "a", "f1", TSDB_FLOAT, F(5), 50, &e), 0);
    assert_int_equal(add1(b, "m", "t", "a", "f1", TSDB_FLOAT, F(21), 200, &e), 0);
    commit(&b);
    char *d = dump(db, "d");
    assert_string_equal(d, "m,t=a f1 50 5\n"
                           "m,t=a f1 100 3\n"
                           "m,t=a f1 200 21\n"
                           "m,t=a f1 300 30\n"
                           "m,t=a f2 100 2\n");
    tsdb_close(&db);
    /* The same after replay. */
    db = open_at("lww");
    char *d2 = dump(db, "d");
    assert_string_equal(d2, d);
    free(d);
    free(d2);
    tsdb_close(&db);
}

/* Series references: reused for the same tags they skip the key work; one
 * from another store or from a dropped and recreated database is ignored;
 * the field and retention checks still run on a referenced series. */
static void test_series_refs(void **state)
{
    (void)state;
    struct tsdb *db = open_at("refs");
    mkdb(db, "a", TSDB_DURATION_INF);
    mkdb(db, "b", 3600 * 1000000000LL);
    struct err e;
    struct tsdb_tag tags[2] = { { SV_LIT("z"), SV_LIT("1") }, { SV_LIT("h"), SV_LIT("x") } };
    struct tsdb_field f = { SV_LIT("v"), TSDB_FLOAT, { .f = 1 } };
    struct tsdb_point p = { SV_LIT("m"), tags, 2, &f, 1, 10 };
    uint64_t ref = 0;
    struct tsdb_batch *ba = batch(db, "a", 0);
    assert_int_equal(tsdb_batch_add(ba, &ref, &p, &e), 0);
    uint64_t ra = ref;
    /* Store b: a's reference is ignored, b's own series is created. */
    struct tsdb_batch *bb = batch(db, "b", 0);
    assert_int_equal(tsdb_batch_add(bb, &ref, &p, &e), 0);
    assert_true(ref != ra);
    uint64_t rb = ref;
    commit(&bb);
    /* The referenced path still checks types and retention. */
    f.type = TSDB_INT;
    f.v.i = 3;
    ref = ra;
    assert_int_equal(tsdb_batch_add(ba, &ref, &p, &e), ERR_TYPE);
    assert_string_equal(e.msg, "field type conflict: input field \"v\" on measurement \"m\" is "
                               "type integer, already exists as type float");
    assert_true(ref == ra);
    f.type = TSDB_FLOAT;
    f.v.f = 2;
    p.ts_ns = 20;
    assert_int_equal(tsdb_batch_add(ba, &ref, &p, &e), 0);
    commit(&ba);
    bb = batch(db, "b", 7200 * 1000000000LL);
    ref = rb;
    assert_int_equal(tsdb_batch_add(bb, &ref, &p, &e), ERR_LIMIT);
    assert_string_equal(e.msg, "points beyond retention policy");
    tsdb_batch_free(&bb);
    char *d = dump(db, "a");
    assert_string_equal(d, "m,h=x,z=1 v 10 1\nm,h=x,z=1 v 20 2\n");
    free(d);
    /* Dropped and created again: the old reference does not reach the old
     * store, the point lands in the new one. */
    assert_int_equal(tsdb_drop_database(db, SV_LIT("a"), &e), 0);
    mkdb(db, "a", TSDB_DURATION_INF);
    struct tsdb_tag other[1] = { { SV_LIT("h"), SV_LIT("y") } };
    struct tsdb_point q = { SV_LIT("n"), other, 1, &f, 1, 30 };
    ba = batch(db, "a", 0);
    assert_int_equal(tsdb_batch_add(ba, NULL, &q, &e), 0);
    ref = ra;
    assert_int_equal(tsdb_batch_add(ba, &ref, &p, &e), 0);
    assert_true(ref != ra && ref != 0);
    commit(&ba);
    d = dump(db, "a");
    assert_string_equal(d, "n,h=y v 30 2\nm,h=x,z=1 v 20 2\n");
    free(d);
    tsdb_close(&db);
}

static void test_type_conflicts(void **state)
{
    (void)state;
    struct tsdb *db = open_at("types");
    mkdb(db, "d", TSDB_DURATION_INF);
    struct err e;
    struct tsdb_batch *b = batch(db, "d", 0);
    assert_int_equal(add1(b, "m", NULL, NULL, "f1", TSDB_FLOAT, F(1), 1, &e), 0);
    commit(&b);

    /* Against stored data: the point is dropped, the batch goes on. */
    b = batch(db, "d", 0);
    assert_int_equal(add1(b, "m", NULL, NULL, "f1", TSDB_INT, I(1), 2, &e), ERR_TYPE);
    assert_string_equal(e.msg, "field type conflict: input field \"f1\" on measurement \"m\" is "
                               "type integer, already exists as type float");
    assert_int_equal(add1(b, "m", NULL, NULL, "f1", TSDB_FLOAT, F(3), 3, &e), 0);
    /* Within the batch: the first occurrence of a new field wins. */
    assert_int_equal(add1(b, "n", NULL, NULL, "g", TSDB_STRING, S("x"), 1, &e), 0);
    assert_int_equal(add1(b, "n", NULL, NULL, "g", TSDB_BOOL, (union tsdb_value){ .b = true }, 2,
                          &e),
                     ERR_TYPE);
    assert_string_equal(e.msg, "field type conflict: input field \"g\" on measurement \"n\" is "
                               "type boolean, already exists as type string");
    /* A point is rejected as a whole: its new field h is not created. */
    struct tsdb_field two[2] = { { SV_LIT("h"), TSDB_FLOAT, F(1) },
                                 { SV_LIT("f1"), TSDB_UINT, { .u = 7 } } };
    struct tsdb_point p = { .measurement = SV_LIT("m"), .fields = two, .nfields = 2, .ts_ns = 9 };
    assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), ERR_TYPE);
    assert_string_equal(e.msg, "field type conflict: input field \"f1\" on measurement \"m\" is "
                               "type unsigned, already exists as type float");
    struct tsdb_batch_stats st;
    tsdb_batch_stats(b, &st);
    assert_int_equal(st.points, 2);
    assert_int_equal(st.dropped_type, 3);
    commit(&b);

    struct buf o;
    buf_init(&o, 0);
    assert_int_equal(tsdb_list_fields(db, SV_LIT("d"), SV_NULL, SV_LIT("m"), fields_cb, &o, &e),
                     0);
    assert_string_equal(o.p, "f1:float;");
    buf_reset(&o);
    char *d = dump(db, "d");
    assert_string_equal(d, "m f1 1 1\nm f1 3 3\nn g 1 \"x\"\n");
    free(d);
    tsdb_close(&db);

    /* Types survive replay: the conflict is still detected. */
    db = open_at("types");
    b = batch(db, "d", 0);
    assert_int_equal(add1(b, "n", NULL, NULL, "g", TSDB_FLOAT, F(1), 5, &e), ERR_TYPE);
    assert_string_equal(e.msg, "field type conflict: input field \"g\" on measurement \"n\" is "
                               "type float, already exists as type string");
    tsdb_batch_free(&b);
    buf_fini(&o);
    tsdb_close(&db);
}

static void test_retention_and_reserved_names(void **state)
{
    (void)state;
    struct tsdb *db = open_at("ret");
    const int64_t hour = 3600LL * 1000000000LL;
    mkdb(db, "d", hour);
    struct err e;
    int64_t now = 100 * hour;
    struct tsdb_batch *b = batch(db, "d", now);
    assert_int_equal(add1(b, "m", NULL, NULL, "v", TSDB_FLOAT, F(1), now - 2 * hour, &e),
                     ERR_LIMIT);
    assert_string_equal(e.msg, "points beyond retention policy");
    assert_int_equal(add1(b, "m", NULL, NULL, "v", TSDB_FLOAT, F(2), now - hour / 2, &e), 0);
    assert_int_equal(add1(b, "m", NULL, NULL, "v", TSDB_FLOAT, F(3), now + hour, &e), 0);
    /* A field named time is dropped; alone it rejects the point. */
    assert_int_equal(add1(b, "m", NULL, NULL, "time", TSDB_FLOAT, F(4), now, &e), ERR_INVAL);
    assert_string_equal(e.msg,
                        "invalid field name: input field \"time\" on measurement \"m\" is invalid");
    assert_int_equal(add1(b, "m", "time", "x", "v", TSDB_FLOAT, F(4), now, &e), ERR_INVAL);
    assert_string_equal(e.msg,
                        "invalid tag key: input tag \"time\" on measurement \"m\" is invalid");
    struct tsdb_field two[2] = { { SV_LIT("time"), TSDB_FLOAT, F(9) },
                                 { SV_LIT("v"), TSDB_FLOAT, F(5) } };
    struct tsdb_point p = { .measurement = SV_LIT("m"), .fields = two, .nfields = 2, .ts_ns = now };
    assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
    struct tsdb_batch_stats st;
    tsdb_batch_stats(b, &st);
    assert_int_equal(st.dropped_retention, 1);
    assert_int_equal(st.dropped_invalid, 2);
    assert_int_equal(st.points, 3);
    commit(&b);
    char *d = dump(db, "d");
    char want[256];
    snprintf(want, sizeof want, "m v %" PRId64 " 2\nm v %" PRId64 " 5\nm v %" PRId64 " 3\n",
             now - hour / 2, now, now + hour);
    assert_string_equal(d, want);
    free(d);
    /* Unknown database / policy texts. */
    struct tsdb_batch *nb = NULL;
    assert_int_equal(tsdb_batch_new(db, SV_LIT("nope"), SV_NULL, 0, &nb, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "database not found: \"nope\"");
    assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_LIT("nope"), 0, &nb, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "retention policy not found: nope");
    assert_null(nb);
    tsdb_close(&db);
}

struct cat_seen {
    struct buf text;
};

static int db_cb(void *arg, const struct tsdb_db_info *d)
{
    struct buf *o = arg;
    buf_appendf(o, "%.*s#%" PRIu64 ":", SV_FMT(d->name), d->id);
    for (size_t i = 0; i < d->nrps; i++)
        buf_appendf(o, "%.*s#%" PRIu64 "/%" PRId64 "/%" PRId64 "%s,", SV_FMT(d->rps[i].name),
                    d->rps[i].id, d->rps[i].duration_ns, d->rps[i].shard_duration_ns,
                    d->rps[i].is_default ? "*" : "");
    buf_append_char(o, ';');
    return 0;
}

static void list_dir(const char *path, struct buf *o)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    char names[32][64];
    int n = 0;
    while ((de = readdir(d)) != NULL && n < 32)
        if (de->d_name[0] != '.' && strlen(de->d_name) < 64)
            memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
    closedir(d);
    qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++)
        buf_appendf(o, "%s ", names[i]);
}

static void test_catalog(void **state)
{
    (void)state;
    const int64_t day = 86400LL * 1000000000LL;
    struct tsdb *db = open_at("cat/data");
    struct err e;
    mkdb(db, "telegraf", TSDB_DURATION_INF);
    mkdb(db, "../../etc", 30 * day);
    assert_int_equal(tsdb_create_database(db, SV_LIT("telegraf"), NULL, &e), ERR_EXISTS);
    struct tsdb_rp_opts rp = { .name = SV_LIT("short"), .duration_ns = day, .is_default = true };
    assert_int_equal(tsdb_create_retention_policy(db, SV_LIT("telegraf"), &rp, &e), 0);
    assert_int_equal(tsdb_create_retention_policy(db, SV_LIT("nope"), &rp, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "database not found: \"nope\"");
    /* INT64_MAX (the daemon's INF) is normalised to TSDB_DURATION_INF. */
    struct tsdb_rp_opts inf = { .name = SV_LIT("forever"), .duration_ns = INT64_MAX };
    assert_int_equal(tsdb_create_retention_policy(db, SV_LIT("../../etc"), &inf, &e), 0);
    tsdb_close(&db);

    db = open_at("cat/data");
    struct buf o;
    buf_init(&o, 0);
    assert_int_equal(tsdb_list_databases(db, db_cb, &o), 0);
    assert_string_equal(o.p, "telegraf#1:autogen#1/0/604800000000000,short#2/86400000000000/"
                             "3600000000000*,;"
                             "../../etc#2:autogen#1/2592000000000000/86400000000000*,"
                             "forever#2/0/604800000000000,;");
    struct tsdb_rp_info info;
    assert_int_equal(tsdb_find_rp(db, SV_LIT("telegraf"), SV_NULL, &info, &e), 0);
    assert_int_equal(info.id, 2);
    assert_int_equal(tsdb_find_rp(db, SV_LIT("telegraf"), SV_LIT("x"), &info, &e), ERR_NOTFOUND);
    assert_string_equal(e.msg, "retention policy not found: x");
    tsdb_close(&db);

    /* Only ids on disk; nothing escaped the data directory. */
    char path[700];
    buf_reset(&o);
    snprintf(path, sizeof path, "%s/cat", tmp_root);
    list_dir(path, &o);
    assert_string_equal(o.p, "data ");
    buf_reset(&o);
    snprintf(path, sizeof path, "%s/cat/data", tmp_root);
    list_dir(path, &o);
    assert_string_equal(o.p, "LOCK catalog db wal ");
    buf_reset(&o);
    snprintf(path, sizeof path, "%s/cat/data/db", tmp_root);
    list_dir(path, &o);
    assert_string_equal(o.p, "1 2 ");
    buf_reset(&o);
    snprintf(path, sizeof path, "%s/cat/data/db/2", tmp_root);
    list_dir(path, &o);
    assert_string_equal(o.p, "1 2 ");
    buf_fini(&o);

    /* A damaged catalog refuses to open, naming the file. */
    snprintf(path, sizeof path, "%s/cat/data/catalog", tmp_root);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 20, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, 20, SEEK_SET), 0);
    fputc(c ^ 1, f);
    fclose(f);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/cat/data", tmp_root);
    struct tsdb_opts opts;
    tsdb_opts_init(&opts, dir);
    assert_int_equal(tsdb_open(&opts, &db, &e), ERR_CORRUPT);
    assert_null(db);
    assert_non_null(strstr(e.msg, "/cat/data/catalog: offset 16: bad catalog checksum"));
}

static void test_index(void **state)
{
    (void)state;
    struct tsdb *db = open_at("idx");
    mkdb(db, "d", TSDB_DURATION_INF);
    struct err e;
    struct tsdb_batch *b = batch(db, "d", 0);
    /* Tags given unsorted; names with characters that need escaping. */
    struct tsdb_tag tags[2] = { { SV_LIT("z"), SV_LIT("1") }, { SV_LIT("dev"), SV_LIT("sda,1") } };
    struct tsdb_field f = { SV_LIT("u"), TSDB_UINT, { .u = 18446744073709551615u } };
    struct tsdb_point p = { .measurement = SV_LIT("disk io"),
                            .tags = tags,
                            .ntags = 2,
                            .fields = &f,
                            .nfields = 1,
                            .ts_ns = 1 };
    uint64_t ref = 0;
    assert_int_equal(tsdb_batch_add(b, &ref, &p, &e), 0);
    assert_true(ref != 0);
    uint64_t first = ref;
    p.ts_ns = 2;
    assert_int_equal(tsdb_batch_add(b, &ref, &p, &e), 0);
    assert_true(ref == first);
    assert_int_equal(add1(b, "cpu", "host", "b", "v", TSDB_FLOAT, F(1), 1, &e), 0);
    assert_int_equal(add1(b, "cpu", "host", "a", "v", TSDB_FLOAT, F(1), 1, &e), 0);
    assert_int_equal(add1(b, "cpu", "host", "a", "w", TSDB_INT, I(-5), 1, &e), 0);
    struct tsdb_tag dup[2] = { { SV_LIT("a"), SV_LIT("1") }, { SV_LIT("a"), SV_LIT("2") } };
    p.tags = dup;
    assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), ERR_INVAL);
    commit(&b);

    struct buf o;
    buf_init(&o, 0);
    assert_int_equal(tsdb_list_measurements(db, SV_LIT("d"), SV_NULL, names_cb, &o, &e), 0);
    assert_string_equal(o.p, "cpu;disk io;");
    buf_reset(&o);
    assert_int_equal(
        tsdb_list_tag_keys(db, SV_LIT("d"), SV_NULL, SV_LIT("disk io"), names_cb, &o, &e), 0);
    assert_string_equal(o.p, "dev;z;");
    buf_reset(&o);
    assert_int_equal(tsdb_list_tag_values(db, SV_LIT("d"), SV_NULL, SV_LIT("cpu"), SV_LIT("host"),
                                          names_cb, &o, &e),
                     0);
    assert_string_equal(o.p, "a;b;");
    buf_reset(&o);
    assert_int_equal(tsdb_list_fields(db, SV_LIT("d"), SV_NULL, SV_LIT("cpu"), fields_cb, &o, &e),
                     0);
    assert_string_equal(o.p, "v:float;w:integer;");
    assert_int_equal(
        tsdb_list_tag_keys(db, SV_LIT("d"), SV_NULL, SV_LIT("nope"), names_cb, &o, &e),
        ERR_NOTFOUND);
    uint64_t *ids;
    size_t n;
    assert_int_equal(tsdb_postings(db, SV_LIT("d"), SV_NULL, SV_LIT("cpu"), SV_LIT("host"),
                                   SV_LIT("a"), &ids, &n, &e),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 3);
    free(ids);
    char *d = dump(db, "d");
    assert_string_equal(d, "disk\\ io,dev=sda\\,1,z=1 u 1 18446744073709551615u\n"
                           "disk\\ io,dev=sda\\,1,z=1 u 2 18446744073709551615u\n"
                           "cpu,host=b v 1 1\n"
                           "cpu,host=a v 1 1\n"
                           "cpu,host=a w 1 -5i\n");
    free(d);
    buf_fini(&o);
    tsdb_close(&db);
}

static void test_all_types_replay(void **state)
{
    (void)state;
    for (int compress = 0; compress < 2; compress++) {
        char sub[32];
        snprintf(sub, sizeof sub, "types%d", compress);
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%s", tmp_root, sub);
        struct tsdb_opts o;
        tsdb_opts_init(&o, dir);
        o.wal_compress_min_bytes = compress ? 64 : 0;
        struct tsdb *db = NULL;
        struct err e;
        assert_int_equal(tsdb_open(&o, &db, &e), 0);
        mkdb(db, "d", TSDB_DURATION_INF);
        struct tsdb_batch *b = batch(db, "d", 0);
        for (int i = 0; i < 50; i++) {
            struct tsdb_field f[5] = {
                { SV_LIT("f"), TSDB_FLOAT, { .f = i * 0.5 } },
                { SV_LIT("i"), TSDB_INT, { .i = -i * 1000000007LL } },
                { SV_LIT("u"), TSDB_UINT, { .u = (uint64_t)i << 60 } },
                { SV_LIT("b"), TSDB_BOOL, { .b = i & 1 } },
                { SV_LIT("s"), TSDB_STRING, { .s = i % 3 ? SV_LIT("hé \"q\"") : SV_LIT("") } },
            };
            struct tsdb_tag t = { SV_LIT("k"), i % 2 ? SV_LIT("odd") : SV_LIT("even") };
            struct tsdb_point p = { SV_LIT("m"), &t, 1, f, (size_t)(i % 5) + 1, 1000 - i };
            assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
        }
        commit(&b);
        char *before = dump(db, "d");
        assert_true(strlen(before) > 1000);
        tsdb_close(&db);
        assert_int_equal(tsdb_open(&o, &db, &e), 0);
        char *after = dump(db, "d");
        assert_string_equal(before, after);
        free(before);
        free(after);
        tsdb_close(&db);
    }
}

/* Writers commit batches that each put value k into series a and b; a
 * snapshot must always see both or neither. */
struct atom_ctx {
    struct tsdb *db;
    int id;
    int nbatches;
    _Atomic int done;
};

static void *atom_writer(void *arg)
{
    struct atom_ctx *c = arg;
    for (int k = 0; k < c->nbatches; k++) {
        struct tsdb_batch *b = NULL;
        struct err e;
        if (tsdb_batch_new(c->db, SV_LIT("d"), SV_NULL, 0, &b, &e))
            abort();
        char host[16];
        snprintf(host, sizeof host, "w%d", c->id);
        int64_t ts = (int64_t)k * 10 + c->id;
        if (add1(b, "a", "h", host, "v", TSDB_FLOAT, F(k), ts, &e) ||
            add1(b, "b", "h", host, "v", TSDB_FLOAT, F(k), ts, &e) || tsdb_batch_commit(b, &e))
            abort();
        tsdb_batch_free(&b);
    }
    atomic_fetch_add(&c->done, 1);
    return NULL;
}

static int count_cb(void *arg, const struct tsdb_series_info *s, size_t nf,
                    const struct tsdb_field_points *f)
{
    size_t *counts = arg;
    counts[s->measurement.p[0] == 'a'] += nf ? f[0].n : 0;
    return 0;
}

static void test_snapshot_atomicity(void **state)
{
    (void)state;
    struct tsdb *db = open_at("atom");
    mkdb(db, "d", TSDB_DURATION_INF);
    enum { W = 2, N = 150 };
    struct atom_ctx ctx[W];
    pthread_t th[W];
    for (int i = 0; i < W; i++) {
        ctx[i] = (struct atom_ctx){ .db = db, .id = i, .nbatches = N };
        assert_int_equal(pthread_create(&th[i], NULL, atom_writer, &ctx[i]), 0);
    }
    int scans = 0;
    for (int rounds = 0; rounds < 100000; rounds++) {
        int finished = 0;
        for (int i = 0; i < W; i++)
            finished += atomic_load(&ctx[i].done);
        struct tsdb_snapshot *s = tsdb_snapshot_new(db);
        size_t counts[2] = { 0, 0 };
        struct err e;
        assert_int_equal(tsdb_snapshot_scan(s, SV_LIT("d"), SV_NULL, SV_NULL, INT64_MIN,
                                            INT64_MAX, count_cb, counts, &e),
                         0);
        tsdb_snapshot_free(&s);
        assert_int_equal(counts[0], counts[1]);
        scans++;
        if (finished == W)
            break;
    }
    for (int i = 0; i < W; i++)
        pthread_join(th[i], NULL);
    char *d = dump(db, "d");
    size_t lines = 0;
    for (char *c = d; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 2 * W * N);
    free(d);
    print_message("snapshot atomicity: %d scans while writing\n", scans);
    tsdb_close(&db);
}

static int v_cb(void *arg, const struct tsdb_series_info *s, size_t nf,
                const struct tsdb_field_points *f)
{
    (void)s;
    struct buf *o = arg;
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < f[i].n; j++) {
            buf_appendf(o, "%.*s@%" PRId64 "=", SV_FMT(f[i].key), f[i].ts_ns[j]);
            fmt_value(o, f[i].type, &f[i].values[j]);
            buf_append_char(o, ';');
        }
    return 0;
}

static char *snap_text(struct tsdb_snapshot *s)
{
    struct buf o;
    buf_init(&o, 0);
    buf_append_str(&o, "");
    struct err e;
    assert_int_equal(tsdb_snapshot_scan(s, SV_LIT("d"), SV_NULL, SV_NULL, INT64_MIN, INT64_MAX,
                                        v_cb, &o, &e),
                     0);
    return buf_detach(&o, NULL);
}

/* Through the public API, on sealed head chunks: a snapshot taken before a
 * row of a sealed chunk is overwritten does not see the new value (the row
 * is hidden from it), a newer snapshot sees it, and a flush then copies the
 * new value while the head's sealed chunks are marked and purged. */
static void test_snapshot_sealed(void **state)
{
    (void)state;
    struct tsdb *db = open_at("sealsnap");
    mkdb(db, "d", TSDB_DURATION_INF);
    enum { N = 150 };
    int64_t t0 = 1700000000000000000;
    struct err e;
    struct tsdb_batch *b = batch(db, "d", 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(add1(b, "m", "h", "a", "v", TSDB_FLOAT, F(i + 0.5), t0 + i, &e), 0);
        if (i % 2)
            assert_int_equal(add1(b, "m", "h", "a", "s", TSDB_STRING, S(i % 3 ? "x" : "yy"),
                                  t0 + i, &e),
                             0);
    }
    commit(&b);
    struct tsdb_snapshot *s1 = tsdb_snapshot_new(db);
    char *before = snap_text(s1);
    b = batch(db, "d", 0);
    assert_int_equal(add1(b, "m", "h", "a", "v", TSDB_FLOAT, F(-1.25), t0 + 10, &e), 0);
    commit(&b);
    struct tsdb_snapshot *s2 = tsdb_snapshot_new(db);
    char *old = snap_text(s1), *now = snap_text(s2);
    /* The old snapshot: everything but row 10 as before. */
    char want_gone[64];
    snprintf(want_gone, sizeof want_gone, "v@%" PRId64 "=10.5;", t0 + 10);
    assert_non_null(strstr(before, want_gone));
    assert_null(strstr(old, want_gone));
    assert_int_equal(strlen(old), strlen(before) - strlen(want_gone));
    char want_new[64];
    snprintf(want_new, sizeof want_new, "v@%" PRId64 "=-1.25;", t0 + 10);
    assert_null(strstr(old, want_new));
    assert_non_null(strstr(now, want_new));
    assert_null(strstr(now, want_gone));
    char want_s[64];
    snprintf(want_s, sizeof want_s, "s@%" PRId64 "=\"yy\";", t0 + 147);
    assert_non_null(strstr(now, want_s));
    tsdb_snapshot_free(&s1);
    tsdb_snapshot_free(&s2);
    /* Flush: the parts hold the new value; reading from parts + head agrees. */
    assert_int_equal(tsdb_flush(db, &e), 0);
    struct tsdb_snapshot *s3 = tsdb_snapshot_new(db);
    char *after = snap_text(s3);
    tsdb_snapshot_free(&s3);
    /* Same points (fields may come in another order from parts). */
    assert_int_equal(strlen(after), strlen(now));
    for (char *t = now, *sc; (sc = strchr(t, ';')); t = sc + 1) {
        *sc = '\0';
        assert_non_null(strstr(after, t));
    }
    free(before);
    free(old);
    free(now);
    free(after);
    tsdb_close(&db);
}

static void test_limits_and_lock(void **state)
{
    (void)state;
    struct tsdb *db = open_at("lim");
    mkdb(db, "d", TSDB_DURATION_INF);
    struct err e;
    /* A second open of the same directory is refused while the first holds it. */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/lim", tmp_root);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    struct tsdb *db2 = NULL;
    assert_int_equal(tsdb_open(&o, &db2, &e), ERR_BUSY);
    assert_null(db2);
    /* InfluxDB's key length limit: series key, and series key + 4 + field key. */
    char *big = malloc(70000);
    memset(big, 'x', 70000);
    struct tsdb_batch *b = batch(db, "d", 0);
    struct tsdb_tag t = { SV_LIT("k"), { big, 65532 } };
    struct tsdb_field f = { SV_LIT("v"), TSDB_FLOAT, F(1) };
    struct tsdb_point p = { SV_LIT("m"), &t, 1, &f, 1, 1 };
    assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), ERR_LIMIT);
    assert_string_equal(e.msg, "max key length exceeded: 65536 > 65535");
    t.value.n = 65520;
    f.key = (struct sv){ big, 20 };
    assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), ERR_LIMIT);
    assert_string_equal(e.msg, "max key length exceeded: 65548 > 65535");
    tsdb_batch_free(&b);
    tsdb_close(&db);
    /* max_batch_bytes caps a batch; the point that does not fit is refused
     * and the batch still commits what it holds. */
    o.max_batch_bytes = 4096;
    assert_int_equal(tsdb_open(&o, &db, &e), 0);
    b = batch(db, "d", 0);
    int added = 0, rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++) {
        struct tsdb_field sf = { SV_LIT("s"), TSDB_STRING, { .s = { big, 100 } } };
        struct tsdb_point sp = { SV_LIT("m"), NULL, 0, &sf, 1, i };
        rc = tsdb_batch_add(b, NULL, &sp, &e);
        added += rc == 0;
    }
    assert_int_equal(rc, ERR_NOMEM);
    assert_true(added > 10 && added < 60);
    commit(&b);
    free(big);
    tsdb_close(&db);
    assert_int_equal(tsdb_open(&o, &db, &e), 0);
    struct buf names;
    buf_init(&names, 0);
    assert_int_equal(tsdb_list_fields(db, SV_LIT("d"), SV_NULL, SV_LIT("m"), fields_cb, &names, &e),
                     0);
    assert_string_equal(names.p, "s:string;");
    buf_fini(&names);
    char *d = dump(db, "d");
    size_t lines = 0;
    for (char *c = d; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, (size_t)added);
    free(d);
    tsdb_close(&db);
}

/* read_only (offline export): sees the data, creates and changes nothing. */
/* ---- the chunked head against a model (tsdb_int.h) ---------------------- */

enum { MTS = 700, MF = 3 };

struct hmodel {
    bool has_row[MTS];
    uint64_t lsn[MTS], fgen[MTS];
    bool has[MF][MTS];
    uint64_t u[MF][MTS];
    char str[MTS][16];
};

static const enum tsdb_type mtypes[MF] = { TSDB_FLOAT, TSDB_INT, TSDB_STRING };

/* The memory the head should account for, recomputed from its structure. */
static size_t head_bytes_of(const struct tsdb__head *h)
{
    size_t n = h->ncols * sizeof(struct tsdb__col) + h->cap_chunks * sizeof(void *);
    assert_true(h->nchunks == 0 || h->tail == h->chunks[h->nchunks - 1]);
    for (size_t k = 0; k < h->nchunks; k++) {
        const struct tsdb__hchunk *c = h->chunks[k];
        assert_true(c->ncols <= h->ncols && c->ncols <= c->cap_cols);
        /* Every chunk but the tail is sealed after each head call. */
        assert_int_equal(c->is_sealed, k + 1 < h->nchunks);
        if (c->is_sealed) {
            n += tsdb__hs_bytes(c);
            for (uint32_t f = 0; f < c->ncols; f++) {
                if (h->cols[f].type != TSDB_STRING)
                    continue;
                const struct tsdb__hcol *col = tsdb__hc_col(tsdb__hs_view(c, h->cols, f), f);
                for (uint64_t m = col->present; m; m &= m - 1)
                    n += sizeof(struct tsdb__hstr) +
                         ((const struct tsdb__hstr *)(uintptr_t)col->v[__builtin_ctzll(m)])->n;
            }
            continue;
        }
        /* Only a lone first chunk may be smaller than full. */
        assert_true(c->cap_rows == TSDB__CHUNK_ROWS || (h->nchunks == 1 && c->cap_rows >= h->n));
        n += sizeof(struct tsdb__hchunk) + 20 * (size_t)c->cap_rows +
             c->cap_cols * (sizeof(struct tsdb__hcol) + 8 * (size_t)c->cap_rows);
        for (uint32_t f = 0; f < c->ncols; f++) {
            const struct tsdb__hcol *col = tsdb__hc_col(c, f);
            assert_int_equal(col->field_id, h->cols[f].field_id);
            for (size_t i = 0; i < TSDB__CHUNK_ROWS; i++) {
                bool is_set = col->present >> i & 1;
                /* Invariant 3: nothing present past the last row. */
                assert_true(!is_set || (k << TSDB__CHUNK_SHIFT) + i < h->n);
                assert_true(!is_set || i < c->cap_rows);
                if (is_set && h->cols[f].type == TSDB_STRING)
                    n += sizeof(struct tsdb__hstr) +
                         ((const struct tsdb__hstr *)(uintptr_t)col->v[i])->n;
            }
        }
    }
    return n;
}

static void head_check(const struct tsdb__head *h, const struct hmodel *m)
{
    size_t rows = 0;
    for (size_t t = 0; t < MTS; t++)
        rows += m->has_row[t];
    assert_int_equal(h->n, rows);
    assert_int_equal(h->nchunks, (h->n + TSDB__CHUNK_MASK) >> TSDB__CHUNK_SHIFT);
    for (size_t r = 0; r < h->n; r++) {
        int64_t ts = tsdb__head_ts(h, r);
        assert_true(ts >= 0 && ts < MTS && m->has_row[ts]);
        if (r)
            assert_true(tsdb__head_ts(h, r - 1) < ts);
        assert_int_equal(tsdb__head_lsn(h, r), m->lsn[ts]);
        assert_int_equal(tsdb__head_fgen(h, r), m->fgen[ts]);
        for (uint32_t c = 0; c < h->ncols; c++) {
            uint32_t f = h->cols[c].field_id;
            assert_int_equal(tsdb__col_has(h, c, r), m->has[f][ts]);
            if (!m->has[f][ts])
                continue;
            if (h->cols[c].type == TSDB_STRING) {
                struct sv hs = tsdb__col_s(h, c, r);
                assert_int_equal(hs.n, strlen(m->str[ts]));
                assert_memory_equal(hs.p, m->str[ts], hs.n);
            } else {
                assert_int_equal(tsdb__col_u(h, c, r), m->u[f][ts]);
            }
        }
    }
    for (uint32_t f = 0; f < MF; f++) {
        bool any = false;
        for (size_t t = 0; t < MTS; t++)
            any |= m->has[f][t];
        bool found = false;
        for (uint32_t c = 0; c < h->ncols; c++)
            found |= h->cols[c].field_id == f;
        assert_true(found || !any);
    }
    assert_int_equal(h->bytes, head_bytes_of(h));
}

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Upserts ts with a random subset of fields (field order varies too). */
static int64_t model_upsert(struct tsdb__head *h, struct hmodel *m, int64_t ts, uint64_t lsn)
{
    struct tsdb__hval hv[MF];
    char sbuf[16];
    size_t nv = 0;
    uint32_t first = (uint32_t)(rnd() % MF);
    for (uint32_t k = 0; k < MF; k++) {
        uint32_t f = (first + k) % MF;
        if (nv && rnd() % 3 == 0)
            continue;
        hv[nv] = (struct tsdb__hval){ .field_id = f, .type = mtypes[f] };
        uint64_t x = rnd();
        if (mtypes[f] == TSDB_STRING) {
            snprintf(sbuf, sizeof sbuf, "s%u", (unsigned)(x % 100000));
            snprintf(m->str[ts], sizeof m->str[ts], "%s", sbuf);
            hv[nv].v.s = sv_cstr(sbuf);
        } else if (mtypes[f] == TSDB_FLOAT) {
            double d = (double)(x % 1000) / 8;
            memcpy(&m->u[f][ts], &d, 8);
            hv[nv].v.f = d;
        } else {
            m->u[f][ts] = x;
            hv[nv].v.i = (int64_t)x;
        }
        m->has[f][ts] = true;
        nv++;
    }
    m->has_row[ts] = true;
    m->lsn[ts] = lsn;
    m->fgen[ts] = 0;
    return tsdb__head_upsert(h, ts, lsn, hv, nv);
}

static void model_purge(struct tsdb__head *h, struct hmodel *m, uint64_t max_gen, int64_t *total)
{
    *total -= tsdb__head_purge(h, max_gen);
    for (size_t t = 0; t < MTS; t++)
        if (m->has_row[t] && m->fgen[t] && m->fgen[t] <= max_gen) {
            m->has_row[t] = false;
            for (uint32_t f = 0; f < MF; f++)
                m->has[f][t] = false;
        }
}

/* A new series starts with a small chunk that doubles as it fills (4, 8,
 * 16, 32, then 64 rows) before a second chunk appears; out-of-order points
 * and overwrites land in the small chunk too, and the accounting follows
 * every copy. */
static void test_head_small_chunks(void **state)
{
    (void)state;
    struct tsdb__head h;
    memset(&h, 0, sizeof h);
    struct hmodel *m = calloc(1, sizeof *m);
    assert_non_null(m);
    int64_t total = 0;
    uint64_t lsn = 1;
    total += model_upsert(&h, m, 300, lsn++);
    head_check(&h, m);
    assert_int_equal(h.nchunks, 1);
    assert_int_equal(h.chunks[0]->cap_rows, TSDB__CHUNK_MIN_ROWS);
    size_t small = h.bytes;
    /* A 3-point series with 3 fields holds far less than one full chunk. */
    total += model_upsert(&h, m, 310, lsn++);
    total += model_upsert(&h, m, 305, lsn++); /* out of order inside it */
    total += model_upsert(&h, m, 310, lsn++); /* overwrite */
    head_check(&h, m);
    assert_int_equal(h.chunks[0]->cap_rows, TSDB__CHUNK_MIN_ROWS);
    assert_true(h.bytes < small + 200);
    assert_true(h.bytes * 4 < sizeof(struct tsdb__hchunk) +
                                  h.ncols * (sizeof(struct tsdb__hcol) + 8 * TSDB__CHUNK_ROWS));
    size_t want = TSDB__CHUNK_MIN_ROWS;
    for (int64_t t = 0; h.n < TSDB__CHUNK_ROWS + 1; t++) {
        /* Alternate ends so growth happens on both paths. */
        int64_t ts = t % 2 ? 311 + t : 299 - t;
        total += model_upsert(&h, m, ts, lsn++);
        if (h.n > want)
            want *= 2;
        if (h.n <= TSDB__CHUNK_ROWS) {
            assert_int_equal(h.nchunks, 1);
            assert_int_equal(h.chunks[0]->cap_rows, want);
        }
        head_check(&h, m);
        assert_int_equal(total, (int64_t)h.bytes);
    }
    assert_int_equal(h.nchunks, 2);
    assert_int_equal(h.chunks[1]->cap_rows, TSDB__CHUNK_ROWS);
    /* Purge to a few rows keeps the full first chunk (no shrink). */
    for (size_t r = 3; r < h.n; r++) {
        total += tsdb__head_set_fgen(&h, r, 1);
        m->fgen[tsdb__head_ts(&h, r)] = 1;
    }
    model_purge(&h, m, 1, &total);
    head_check(&h, m);
    assert_int_equal(h.n, 3);
    assert_int_equal(total, (int64_t)h.bytes);
    assert_int_equal(tsdb__head_clear(&h), total);
    tsdb__head_fini(&h);
    free(m);
}

/* Sealed chunks round-trip every type bit for bit: NaN payloads (quiet,
 * signalling, negative), -0.0, infinities, int and uint extremes, bools,
 * strings (owned through seal and unseal), sparse fields; an overwrite and
 * an out-of-order point in a sealed chunk unseal it, and it is sealed again;
 * flush generations of sealed rows go from one value to an array and back. */
static void test_head_sealed(void **state)
{
    (void)state;
    enum { N = 3 * TSDB__CHUNK_ROWS + 9, NF = 5 };
    static const enum tsdb_type ty[NF] = { TSDB_FLOAT, TSDB_INT, TSDB_UINT, TSDB_BOOL,
                                           TSDB_STRING };
    static const uint64_t fbits[] = { 0x7ff8000000000123ull, 0x7ff0000000000001ull,
                                      0xfff8dead0000beefull, 0x8000000000000000ull,
                                      0x7ff0000000000000ull, 0x0000000000000001ull,
                                      0x3ff0000000000000ull };
    struct tsdb__head h;
    memset(&h, 0, sizeof h);
    uint64_t want[NF][N + 1];
    bool has[NF][N + 1];
    char str[N + 1][24];
    int64_t total = 0;
    uint64_t lsn = 10;
    /* Rows at ts 2, 4, ...: odd timestamps are free for out-of-order points. */
    for (size_t r = 0; r < N; r++) {
        struct tsdb__hval hv[NF];
        size_t nv = 0;
        for (uint32_t f = 0; f < NF; f++) {
            has[f][r] = f == 0 || (r * 7 + f) % 3 != 0; /* sparse */
            if (!has[f][r])
                continue;
            hv[nv] = (struct tsdb__hval){ .field_id = f, .type = ty[f] };
            switch (ty[f]) {
            case TSDB_FLOAT:
                want[f][r] = r % 5 ? fbits[r % 7] : rnd();
                memcpy(&hv[nv].v.f, &want[f][r], 8);
                break;
            case TSDB_INT:
                want[f][r] = r % 4 ? (uint64_t)INT64_MIN + r : rnd();
                hv[nv].v.i = (int64_t)want[f][r];
                break;
            case TSDB_UINT:
                want[f][r] = UINT64_MAX - r * r;
                hv[nv].v.u = want[f][r];
                break;
            case TSDB_BOOL:
                want[f][r] = r % 3 == 1;
                hv[nv].v.b = r % 3 == 1;
                break;
            default:
                snprintf(str[r], sizeof str[r], "s%zu%s", r, r % 9 ? "" : "\n,= x");
                hv[nv].v.s = sv_cstr(str[r]);
                break;
            }
            nv++;
        }
        total += tsdb__head_upsert(&h, 2 * (int64_t)(r + 1), lsn + r, hv, nv);
    }
    assert_int_equal(h.nchunks, 4);
    for (size_t k = 0; k < 3; k++)
        assert_true(h.chunks[k]->is_sealed);
    assert_false(h.tail->is_sealed);
    assert_int_equal(total, (int64_t)h.bytes);
    size_t open_bytes = 4 * (sizeof(struct tsdb__hchunk) + 20 * TSDB__CHUNK_ROWS +
                             NF * (sizeof(struct tsdb__hcol) + 8 * TSDB__CHUNK_ROWS));
    assert_true(h.bytes < open_bytes);
    size_t extra = 0; /* the out-of-order row, once added */
    for (int pass = 0; pass < 3; pass++) {
        /* Check every row, columns in both orders (views decode on demand). */
        for (int dir = 0; dir < 2; dir++)
            for (uint32_t cc = 0; cc < NF; cc++) {
                uint32_t c = dir ? NF - 1 - cc : cc;
                uint32_t f = h.cols[c].field_id;
                for (size_t r = 0; r < h.n; r++) {
                    int64_t ts = tsdb__head_ts(&h, r);
                    if (ts % 2) { /* the out-of-order row: float only */
                        assert_int_equal(tsdb__col_has(&h, c, r), f == 0);
                        if (f == 0)
                            assert_int_equal(tsdb__col_u(&h, c, r), 0xfff0000000000abcull);
                        continue;
                    }
                    size_t m = (size_t)ts / 2 - 1;
                    assert_int_equal(tsdb__head_lsn(&h, r), lsn + m);
                    assert_int_equal(tsdb__col_has(&h, c, r), has[f][m]);
                    if (!has[f][m])
                        continue;
                    if (ty[f] == TSDB_STRING) {
                        struct sv v = tsdb__col_s(&h, c, r);
                        assert_int_equal(v.n, strlen(str[m]));
                        assert_memory_equal(v.p, str[m], v.n);
                    } else {
                        assert_int_equal(tsdb__col_u(&h, c, r), want[f][m]);
                    }
                }
            }
        assert_int_equal(h.n, N + extra);
        if (pass == 0) {
            /* Overwrite row 5 (sealed chunk 0): new float, new string. */
            struct tsdb__hval hv[2] = {
                { .field_id = 0, .type = TSDB_FLOAT },
                { .field_id = 4, .type = TSDB_STRING, .v.s = SV_LIT("over") },
            };
            want[0][5] = 0x7ffc000000000005ull;
            memcpy(&hv[0].v.f, &want[0][5], 8);
            snprintf(str[5], sizeof str[5], "over");
            has[4][5] = true;
            total += tsdb__head_upsert(&h, 12, 999, hv, 2);
            assert_true(h.chunks[0]->is_sealed);
            assert_int_equal(tsdb__head_lsn(&h, 5), 999);
            /* Restore the LSN the checks expect by writing it again. */
            total += tsdb__head_upsert(&h, 12, lsn + 5, hv, 2);
        } else if (pass == 1) {
            /* Out of order into sealed chunk 0: every later row moves. */
            struct tsdb__hval hv = { .field_id = 0, .type = TSDB_FLOAT };
            uint64_t b = 0xfff0000000000abcull;
            memcpy(&hv.v.f, &b, 8);
            total += tsdb__head_upsert(&h, 7, 5000, &hv, 1);
            extra = 1;
            assert_int_equal(h.nchunks, 4);
            for (size_t k = 0; k < 3; k++)
                assert_true(h.chunks[k]->is_sealed);
            assert_int_equal(tsdb__head_lsn(&h, 3), 5000);
        }
        assert_int_equal(total, (int64_t)h.bytes);
    }
    /* Generations: marking part of a sealed chunk needs an array, marking
     * the rest makes it one value again; bytes follow. */
    size_t b0 = h.bytes;
    for (size_t r = 0; r < 10; r++)
        total += tsdb__head_set_fgen(&h, r, 3);
    assert_true(h.bytes > b0);
    assert_int_equal(tsdb__head_fgen(&h, 9), 3);
    assert_int_equal(tsdb__head_fgen(&h, 10), 0);
    for (size_t r = 10; r < h.n; r++)
        total += tsdb__head_set_fgen(&h, r, 3);
    assert_int_equal(h.bytes, b0);
    assert_int_equal(total, (int64_t)h.bytes);
    /* Rewrite one row of sealed chunk 1 after the flush mark, purge the rest. */
    struct tsdb__hval hv = { .field_id = 1, .type = TSDB_INT, .v.i = -7 };
    total += tsdb__head_upsert(&h, 2 * 70, 77, &hv, 1);
    assert_int_equal(tsdb__head_fgen(&h, 70), 0);
    assert_int_equal(tsdb__head_fgen(&h, 71), 3);
    total -= tsdb__head_purge(&h, 3);
    assert_int_equal(h.n, 1);
    assert_int_equal(tsdb__head_ts(&h, 0), 140);
    assert_int_equal(tsdb__head_lsn(&h, 0), 77);
    assert_int_equal(total, (int64_t)h.bytes);
    assert_int_equal(tsdb__head_clear(&h), total);
    tsdb__head_fini(&h);
}

/* Chunk boundaries (appends across 64-row chunks), out-of-order points into
 * full chunks (every later row moves up across chunk borders), last write
 * wins on existing rows, sparse fields, strings, flush marks and partial and
 * whole purges, with the byte accounting checked after each step. */
static void test_head_chunks(void **state)
{
    (void)state;
    struct tsdb__head h;
    memset(&h, 0, sizeof h);
    struct hmodel *m = calloc(1, sizeof *m);
    assert_non_null(m);
    int64_t total = 0;
    uint64_t lsn = 1;
    /* In order: exactly two full chunks, then one row into the third. */
    for (int64_t t = 100; t < 100 + 2 * TSDB__CHUNK_ROWS; t++)
        total += model_upsert(&h, m, t, lsn++);
    head_check(&h, m);
    assert_int_equal(h.nchunks, 2);
    /* Out of order into the full first chunk: rows carry over into a new
     * third chunk. */
    total += model_upsert(&h, m, 50, lsn++);
    head_check(&h, m);
    assert_int_equal(h.nchunks, 3);
    assert_int_equal(tsdb__head_ts(&h, 0), 50);
    assert_int_equal(tsdb__head_ts(&h, TSDB__CHUNK_ROWS), 100 + TSDB__CHUNK_ROWS - 1);
    /* At the last row of a chunk and the first of the next. */
    total += model_upsert(&h, m, 100 + TSDB__CHUNK_ROWS - 2, lsn++);
    total += model_upsert(&h, m, 100 + TSDB__CHUNK_ROWS - 1, lsn++);
    head_check(&h, m);
    /* Random mix of appends, out-of-order points and overwrites, with
     * flush marks and purges in between. */
    uint64_t gen = 0;
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 60; k++) {
            int64_t t = (int64_t)(rnd() % MTS);
            total += model_upsert(&h, m, t, lsn++);
        }
        head_check(&h, m);
        if (round % 3 == 0) {
            /* A flush marks every row with a new generation. */
            gen++;
            for (size_t r = 0; r < h.n; r++) {
                total += tsdb__head_set_fgen(&h, r, gen);
                m->fgen[tsdb__head_ts(&h, r)] = gen;
            }
        }
        if (round % 5 == 4) {
            /* Rows rewritten since the flush stay; the others go. */
            model_purge(&h, m, gen, &total);
            head_check(&h, m);
        }
        assert_int_equal(total, (int64_t)h.bytes);
    }
    /* Purging what nobody flushed removes nothing. */
    model_purge(&h, m, 0, &total);
    head_check(&h, m);
    /* Everything flushed: the head gives all its memory back. */
    gen++;
    for (size_t r = 0; r < h.n; r++) {
        total += tsdb__head_set_fgen(&h, r, gen);
        m->fgen[tsdb__head_ts(&h, r)] = gen;
    }
    model_purge(&h, m, gen, &total);
    head_check(&h, m);
    assert_int_equal(h.n, 0);
    assert_int_equal(h.bytes, 0);
    assert_int_equal(total, 0);
    assert_null(h.chunks);
    /* Used again after a whole purge, then cleared (a dropped store). */
    for (int64_t t = 0; t < 3 * TSDB__CHUNK_ROWS + 5; t++)
        total += model_upsert(&h, m, MTS - 1 - t, lsn++);
    head_check(&h, m);
    assert_int_equal(tsdb__head_clear(&h), total);
    assert_int_equal(h.bytes, 0);
    tsdb__head_fini(&h);
    free(m);
}

static void test_read_only(void **state)
{
    (void)state;
    struct tsdb *db = open_at("ro");
    mkdb(db, "d", TSDB_DURATION_INF);
    struct err e;
    struct tsdb_batch *b = batch(db, "d", 0);
    assert_int_equal(add1(b, "m", NULL, NULL, "v", TSDB_FLOAT, F(1), 1, &e), 0);
    commit(&b);
    tsdb_close(&db);
    char dir[600], seg[700];
    snprintf(dir, sizeof dir, "%s/ro", tmp_root);
    snprintf(seg, sizeof seg, "%s/wal/0000000000000001.wal", dir);
    /* A torn tail: reported, left on disk. */
    FILE *f = fopen(seg, "ab");
    assert_non_null(f);
    fputs("NJWRtorn", f);
    fclose(f);
    struct stat st0, st1;
    assert_int_equal(stat(seg, &st0), 0);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    o.read_only = true;
    struct tsdb_recovery_report r;
    o.report = &r;
    assert_int_equal(tsdb_open(&o, &db, &e), 0);
    assert_true(r.truncated);
    char *d = dump(db, "d");
    assert_string_equal(d, "m v 1 1\n");
    free(d);
    assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, &e), ERR_IO);
    assert_int_equal(tsdb_create_database(db, SV_LIT("x"), NULL, &e), ERR_IO);
    struct tsdb_rp_opts rp = { .name = SV_LIT("r"), .duration_ns = 0 };
    assert_int_equal(tsdb_create_retention_policy(db, SV_LIT("d"), &rp, &e), ERR_IO);
    tsdb_close(&db);
    assert_int_equal(stat(seg, &st1), 0);
    assert_int_equal(st0.st_size, st1.st_size);
    o.repair = true;
    assert_int_equal(tsdb_open(&o, &db, &e), ERR_INVAL);
    /* A missing directory is not created. */
    snprintf(dir, sizeof dir, "%s/ro-missing", tmp_root);
    tsdb_opts_init(&o, dir);
    o.read_only = true;
    assert_int_not_equal(tsdb_open(&o, &db, &e), 0);
    assert_int_not_equal(stat(dir, &st1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lww_ooo_sparse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_and_reserved_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_types_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_atomicity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_sealed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test(test_head_chunks),
        cmocka_unit_test(test_head_small_chunks),
        cmocka_unit_test(test_head_sealed),
    };
    /* TSDB_TEST_FILTER=test_torn* runs a subset (cmocka glob). */
    if (getenv("TSDB_TEST_FILTER"))
        cmocka_set_test_filter(getenv("TSDB_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
