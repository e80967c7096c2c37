// SPDX-License-Identifier: MIT
/*
 * The write engine through ingest.h over a real tsdb in a temporary
 * directory: InfluxDB 1.6's statuses and texts (influx-compat §2.3/§2.4, the
 * cases observed on influxd 1.6.7 are marked [obs]), what is stored after a
 * partial write (read back with a snapshot), dropped counts, ING_ALL_OR_
 * NOTHING, server time and precision, the series cache, pending-bytes
 * accounting, metrics, a failed WAL fsync, and concurrent writers sharing
 * series.
 */
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/metrics.h"
#include "ingest/ingest.h"
#include "tsdb/tsdb.h"

#define NOW_NS INT64_C(1700000000123456789)

struct fx {
    char dir[512];
    struct tsdb *db;
    struct clk clock;
    struct metrics_registry *metrics;
    struct ing_engine *g;
    struct ing_result res;
};

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void create_db(struct fx *x, const char *name, int64_t dur)
{
    struct tsdb_rp_opts rp = { .name = sv_cstr("autogen"), .duration_ns = dur, .is_default = true };
    struct err e = { 0 };
    assert_int_equal(tsdb_create_database(x->db, sv_cstr(name), &rp, &e), 0);
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof *x);
    const char *t = getenv("TMPDIR");
    snprintf(x->dir, sizeof x->dir, "%s/nj-ingest-write-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(x->dir));
    struct tsdb_opts o;
    tsdb_opts_init(&o, x->dir);
    struct err e = { 0 };
    assert_int_equal(tsdb_open(&o, &x->db, &e), 0);
    clk_init_fake(&x->clock, NOW_NS);
    x->metrics = metrics_registry_new();
    create_db(x, "db", TSDB_DURATION_INF);
    create_db(x, "r1", INT64_C(3600000000000));
    struct ing_opts io = { .db = x->db, .clock = &x->clock, .metrics = x->metrics,
                           .max_pending_bytes = 1000 };
    assert_int_equal(ing_engine_new(&io, &x->g, &e), 0);
    buf_init(&x->res.error, 1 << 20);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    buf_fini(&x->res.error);
    ing_engine_free(x->g);
    tsdb_close(&x->db);
    metrics_registry_free(x->metrics);
    nftw(x->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(x);
    return 0;
}

/* Writes body to db (rp empty) at precision ns; returns the status. */
static int wr(struct fx *x, const char *db, const char *rp, const char *body)
{
    (void)ing_write(x->g, ING_PROTO_HTTP, sv_cstr(db), sv_cstr(rp), LP_PREC_NS, body,
                    strlen(body), 0, &x->res);
    return x->res.http_status;
}

static void expect(struct fx *x, const char *db, const char *rp, const char *body, int status,
                   const char *error)
{
    int got = wr(x, db, rp, body);
    if (got != status || x->res.error.len != strlen(error) ||
        memcmp(x->res.error.p ? x->res.error.p : "", error, x->res.error.len) != 0)
        fail_msg("body %s\n  got %d \"%.*s\"\n want %d \"%s\"", body, got,
                 (int)x->res.error.len, x->res.error.p ? x->res.error.p : "", status, error);
}

/* Stored points, one "meas|field=value@ts" string per value, joined by ';'
 * in scan order. */
struct dumpctx {
    char out[4096];
    size_t n;
};

static int dump_cb(void *arg, const struct tsdb_series_info *s, size_t nfields,
                   const struct tsdb_field_points *fields)
{
    struct dumpctx *d = arg;
    for (size_t f = 0; f < nfields; f++)
        for (size_t i = 0; i < fields[f].n; i++) {
            char v[64];
            switch (fields[f].type) {
            case TSDB_FLOAT:
                snprintf(v, sizeof v, "%g", fields[f].values[i].f);
                break;
            case TSDB_INT:
                snprintf(v, sizeof v, "%" PRId64 "i", fields[f].values[i].i);
                break;
            case TSDB_STRING:
                snprintf(v, sizeof v, "\"%.*s\"", (int)fields[f].values[i].s.n,
                         fields[f].values[i].s.p);
                break;
            default:
                snprintf(v, sizeof v, "?");
            }
            d->n += (size_t)snprintf(d->out + d->n, sizeof d->out - d->n, "%s%.*s|%.*s=%s@%" PRId64,
                                     d->n ? ";" : "", (int)s->key.n, s->key.p,
                                     (int)fields[f].key.n, fields[f].key.p, v,
                                     fields[f].ts_ns[i]);
        }
    return 0;
}

static void expect_stored(struct fx *x, const char *db, const char *meas, const char *want)
{
    struct dumpctx d = { .n = 0 };
    d.out[0] = '\0';
    struct tsdb_snapshot *s = tsdb_snapshot_new(x->db);
    struct err e = { 0 };
    assert_int_equal(tsdb_snapshot_scan(s, sv_cstr(db), sv_cstr(""), sv_cstr(meas), INT64_MIN,
                                        INT64_MAX, dump_cb, &d, &e),
                     0);
    tsdb_snapshot_free(&s);
    assert_string_equal(d.out, want);
}

static double metric(struct fx *x, const char *name, const char *l1, const char *l2)
{
    struct metric_family *f = metrics_family(x->metrics, METRIC_COUNTER, name, "", l2 ? "proto,result" : "",
                                             NULL, 0);
    assert_non_null(f);
    struct metric *m = l2 ? metrics_child2(f, l1, l2) : metrics_child(f, 0, NULL);
    return metric_value(m);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_success_and_empty(void **state)
{
    struct fx *x = *state;
    expect(x, "db", "", "", 204, "");
    expect(x, "db", "", "# hello\n  # indented\n\n   \n", 204, "");
    assert_int_equal(x->res.lines, 0);
    expect(x, "db", "", "m,t=a v=1 1000\nm,t=b w=2i 2000\n", 204, "");
    assert_int_equal(x->res.points_written, 2);
    assert_int_equal(x->res.lines, 2);
    expect_stored(x, "db", "m", "m,t=a|v=1@1000;m,t=b|w=2i@2000");
    expect(x, "db", "autogen", "m,t=a v=3 3000", 204, "");
}

static void test_parse_errors(void **state)
{
    struct fx *x = *state;
    /* [obs] #68: the good lines are stored, dropped=0. */
    expect(x, "db", "", "m v=1 1000000000\nm v= 2000000000\nm v=3 3000000000", 400,
           "partial write: unable to parse 'm v= 2000000000': missing field value dropped=0");
    assert_int_equal(x->res.parse_errors, 1);
    assert_int_equal(x->res.points_written, 2);
    expect_stored(x, "db", "m", "m|v=1@1000000000;m|v=3@3000000000");
    /* [obs] #69: all lines fail: no prefix, joined by \n. */
    expect(x, "db", "", "m value=\nm2", 400,
           "unable to parse 'm value=': missing field value\nunable to parse 'm2': missing fields");
    /* [obs] #59: CRLF lines both fail. */
    expect(x, "db", "", "m value=1 1000000000\r\nm value=2 2000000000\r\n", 400,
           "unable to parse 'm value=1 1000000000\r': bad timestamp\n"
           "unable to parse 'm value=2 2000000000\r': bad timestamp");
}

static void test_type_conflicts(void **state)
{
    struct fx *x = *state;
    expect(x, "db", "", "m v=1 100", 204, "");
    /* Against stored data. */
    expect(x, "db", "", "m v=1i 200", 400,
           "partial write: field type conflict: input field \"v\" on measurement \"m\" is type "
           "integer, already exists as type float dropped=1");
    /* [obs] the first conflict names the reason; every one is counted. */
    expect(x, "db", "", "m v=\"a\" 1\nm v=true 2", 400,
           "partial write: field type conflict: input field \"v\" on measurement \"m\" is type "
           "string, already exists as type float dropped=2");
    /* Within one request the first occurrence wins; a conflicting point is
     * dropped whole (its other fields too). */
    expect(x, "db", "", "n f=1 1\nn f=1i,g=5 2\nn f=\"x\" 3\nn f=2,g=6 4", 400,
           "partial write: field type conflict: input field \"f\" on measurement \"n\" is type "
           "integer, already exists as type float dropped=2");
    assert_int_equal(x->res.points_written, 2);
    expect_stored(x, "db", "n", "n|f=1@1;n|f=2@4;n|g=6@4");
    /* [obs] a storage reason hides the parse errors. */
    expect(x, "db", "", "m v=1i 300\nm v= 4\nm v=5 400", 400,
           "partial write: field type conflict: input field \"v\" on measurement \"m\" is type "
           "integer, already exists as type float dropped=1");
    /* [obs] a "time" field and a type conflict: the first in line order. */
    expect(x, "db", "", "m time=1 10\nm v=true 11", 400,
           "partial write: invalid field name: input field \"time\" on measurement \"m\" is "
           "invalid dropped=2");
    expect(x, "db", "", "m v=true 12\nm time=1 13", 400,
           "partial write: field type conflict: input field \"v\" on measurement \"m\" is type "
           "boolean, already exists as type float dropped=2");
    /* [obs] a "time" tag is named whatever the order. */
    expect(x, "db", "", "m v=true 14\nm,time=x v=1 15", 400,
           "partial write: invalid tag key: input tag \"time\" on measurement \"m\" is invalid "
           "dropped=2");
    /* Not copied (docs/COMPATIBILITY.md): 1.6 names the conflict over w,
     * a field this request created, before the earlier "time" tag. */
    expect(x, "db", "", "m,time=a v=1 5\nm w=\"s\" 6\nm w=1 7\nm time=1 8", 400,
           "partial write: invalid tag key: input tag \"time\" on measurement \"m\" is invalid "
           "dropped=3");
    assert_true(metric(x, "nightjar_ingest_points_total", "http", "dropped_type_conflict") >= 8);
}

static void test_time_keys(void **state)
{
    struct fx *x = *state;
    /* [obs] #64, #65, #66. */
    expect(x, "db", "", "m time=1 1000000000", 400,
           "partial write: invalid field name: input field \"time\" on measurement \"m\" is "
           "invalid dropped=1");
    expect(x, "db", "", "m,time=x value=1 1000000000", 400,
           "partial write: invalid tag key: input tag \"time\" on measurement \"m\" is invalid "
           "dropped=1");
    expect(x, "db", "", "t time=1,value=2 1000000000", 204, "");
    expect_stored(x, "db", "t", "t|value=2@1000000000");
    /* [obs] the tag reason wins over an earlier field one. */
    expect(x, "db", "", "m time=1 1\nm,time=a v=1 2", 400,
           "partial write: invalid tag key: input tag \"time\" on measurement \"m\" is invalid "
           "dropped=2");
}

static void test_retention(void **state)
{
    struct fx *x = *state;
    /* r1 keeps one hour: a point at 1 ns is beyond it. [obs] */
    expect(x, "r1", "", "m v=1 1", 400, "partial write: points beyond retention policy dropped=1");
    expect(x, "r1", "", "m v=1 1\nm v=1i 2", 400,
           "partial write: points beyond retention policy dropped=2");
    expect(x, "r1", "", "m v=1", 204, "");
    /* [obs] a shard rejection hides retention drops, and only it is counted. */
    expect(x, "r1", "", "m v=1 1\nm v=1i", 400,
           "partial write: field type conflict: input field \"v\" on measurement \"m\" is type "
           "integer, already exists as type float dropped=1");
    assert_int_equal(x->res.dropped, 2);
    expect(x, "r1", "", "m v=1 1\nm v= 2", 400,
           "partial write: points beyond retention policy dropped=1");
}

static void test_unknown_db_rp(void **state)
{
    struct fx *x = *state;
    expect(x, "", "", "m v=1", 400, "database is required");
    expect(x, "nope", "", "m v=1", 404, "database not found: \"nope\"");
    expect(x, "nope", "", "", 404, "database not found: \"nope\"");
    /* [obs] 500 even for an empty body; parse errors of a body that fails
     * whole come first. */
    expect(x, "db", "nope", "m v=1", 500, "retention policy not found: nope");
    expect(x, "db", "nope", "# c\n", 500, "retention policy not found: nope");
    expect(x, "db", "nope", "m v=", 400, "unable to parse 'm v=': missing field value");
    expect(x, "db", "nope", "m v=1\nm v=", 500, "retention policy not found: nope");
    struct ing_result r;
    memset(&r, 0, sizeof r);
    buf_init(&r.error, 256);
    assert_int_equal(ing_check_database(x->g, sv_cstr("nope"), &r), ERR_NOTFOUND);
    assert_int_equal(r.http_status, 404);
    assert_int_equal(ing_check_database(x->g, sv_cstr("db"), &r), 0);
    buf_fini(&r.error);
}

static void test_all_or_nothing(void **state)
{
    struct fx *x = *state;
    const char *body = "u v=1 1\nu v= 2\nu v=3 3";
    (void)ing_write(x->g, ING_PROTO_UDP, sv_cstr("db"), sv_cstr(""), LP_PREC_NS, body,
                    strlen(body), ING_ALL_OR_NOTHING, &x->res);
    assert_int_equal(x->res.http_status, 400);
    assert_int_equal(x->res.points_written, 0);
    expect_stored(x, "db", "u", "");
    body = "u v=1 1\nu v=3 3";
    (void)ing_write(x->g, ING_PROTO_UDP, sv_cstr("db"), sv_cstr(""), LP_PREC_NS, body,
                    strlen(body), ING_ALL_OR_NOTHING, &x->res);
    assert_int_equal(x->res.http_status, 204);
    expect_stored(x, "db", "u", "u|v=1@1;u|v=3@3");
    assert_int_equal(metric(x, "nightjar_ingest_lines_total", "udp", "parse_error"), 1);
    assert_int_equal(metric(x, "nightjar_ingest_lines_total", "udp", "accepted"), 4);
    assert_int_equal(metric(x, "nightjar_ingest_points_total", "udp", "written"), 2);
}

static void test_server_time_and_precision(void **state)
{
    struct fx *x = *state;
    const char *body = "p v=1\np v=2 1500000000";
    (void)ing_write(x->g, ING_PROTO_HTTP, sv_cstr("db"), sv_cstr(""), LP_PREC_S, body,
                    strlen(body), 0, &x->res);
    assert_int_equal(x->res.http_status, 204);
    /* One server time, truncated to the precision; explicit times scaled. */
    expect_stored(x, "db", "p", "p|v=2@1500000000000000000;p|v=1@1700000000000000000");
    body = "q v=1";
    (void)ing_write(x->g, ING_PROTO_HTTP, sv_cstr("db"), sv_cstr(""), LP_PREC_NS, body,
                    strlen(body), 0, &x->res);
    expect_stored(x, "db", "q", "q|v=1@1700000000123456789");
}

static void test_series_cache(void **state)
{
    struct fx *x = *state;
    double h0 = metric(x, "nightjar_ingest_series_cache_hits_total", NULL, NULL);
    double m0 = metric(x, "nightjar_ingest_series_cache_misses_total", NULL, NULL);
    expect(x, "db", "", "c,b=2,a=1 v=1 1\nc,b=2,a=1 v=2 2\nc,a=1,b=2 v=3 3", 204, "");
    /* The first line misses; the second hits; the third is the same series
     * written in another tag order: a miss that resolves to the same id. */
    assert_int_equal(metric(x, "nightjar_ingest_series_cache_hits_total", NULL, NULL) - h0, 1);
    assert_int_equal(metric(x, "nightjar_ingest_series_cache_misses_total", NULL, NULL) - m0, 2);
    expect(x, "db", "", "c,b=2,a=1 v=4 4\nc,a=1,b=2 v=5 5", 204, "");
    assert_int_equal(metric(x, "nightjar_ingest_series_cache_hits_total", NULL, NULL) - h0, 3);
    expect_stored(x, "db", "c", "c,a=1,b=2|v=1@1;c,a=1,b=2|v=2@2;c,a=1,b=2|v=3@3;"
                                "c,a=1,b=2|v=4@4;c,a=1,b=2|v=5@5");
    /* Same raw key in another database: its own series, not a cache hit. */
    expect(x, "r1", "", "c,b=2,a=1 v=1", 204, "");
    assert_int_equal(metric(x, "nightjar_ingest_series_cache_hits_total", NULL, NULL) - h0, 3);
}

/* The engine parses line i+1 before it adds line i (to prefetch the
 * series cache); a line whose unescaped names or strings live in the
 * parser's scratch must be added before the next line reuses it.  Escaped
 * lines next to each other and to plain ones, first and last. */
static void test_escaped_lines_in_flight(void **state)
{
    struct fx *x = *state;
    expect(x, "db", "",
           "esc\\ m,t=x\\ y v=1 1\n"
           "plain,t=a v=2 2\n"
           "esc\\ m,t=x\\ y v=3 3\n"
           "esc\\ m,t=x\\ y s=\"c\\\\d\" 4\n"
           "esc\\ m,t=p\\,q s=\"e\\\"f\" 5\n"
           "plain,t=a s=\"g\\\"h\" 6\n"
           "plain,t=a v=7 7\n"
           "esc\\ m,t=x\\ y v=8 8",
           204, "");
    assert_int_equal(x->res.points_written, 8);
    expect_stored(x, "db", "plain", "plain,t=a|v=2@2;plain,t=a|v=7@7;plain,t=a|s=\"g\"h\"@6");
    expect_stored(x, "db", "esc m",
                  "esc\\ m,t=x\\ y|v=1@1;esc\\ m,t=x\\ y|v=3@3;esc\\ m,t=x\\ y|v=8@8;"
                  "esc\\ m,t=x\\ y|s=\"c\\d\"@4;"
                  "esc\\ m,t=p\\,q|s=\"e\"f\"@5");
}

static void test_pending(void **state)
{
    struct fx *x = *state;
    assert_int_equal(ing_pending_bytes(x->g), 0);
    /* Larger than the whole budget (1000) but nothing pending: admitted. */
    assert_true(ing_pending_acquire(x->g, 5000));
    assert_false(ing_pending_acquire(x->g, 1));
    ing_pending_release(x->g, 5000);
    assert_true(ing_pending_acquire(x->g, 600));
    assert_true(ing_pending_acquire(x->g, 400));
    assert_false(ing_pending_acquire(x->g, 1));
    assert_int_equal(ing_pending_bytes(x->g), 1000);
    ing_pending_release(x->g, 400);
    assert_true(ing_pending_acquire(x->g, 300));
    ing_pending_release(x->g, 300);
    ing_pending_release(x->g, 600);
    assert_int_equal(ing_pending_bytes(x->g), 0);
    struct metric *g = metrics_gauge(x->metrics, "nightjar_ingest_pending_bytes", "");
    assert_int_equal(metric_value(g), 0);
}

static void test_wal_failure(void **state)
{
    struct fx *x = *state;
    expect(x, "db", "", "f v=1 1", 204, "");
    tsdb_fault_arm(x->db, TSDB_FAULT_FSYNC, 1, false);
    int rc = ing_write(x->g, ING_PROTO_HTTP, sv_cstr("db"), sv_cstr(""), LP_PREC_NS, "f v=2 2", 7,
                       0, &x->res);
    assert_true(rc < 0);
    assert_int_equal(x->res.http_status, 500);
    assert_int_equal(x->res.points_written, 0);
    /* The WAL stays failed: later writes are refused outright. */
    rc = ing_write(x->g, ING_PROTO_HTTP, sv_cstr("db"), sv_cstr(""), LP_PREC_NS, "f v=3 3", 7, 0,
                   &x->res);
    assert_true(rc < 0);
    assert_int_equal(x->res.http_status, 503);
    expect_stored(x, "db", "f", "f|v=1@1");
}

struct writer_arg {
    struct fx *x;
    int id;
    int failures;
};

/* Each thread writes 20 requests of 50 points over 10 shared series and 10
 * of its own; every point has a distinct time per thread. */
static void *writer(void *p)
{
    struct writer_arg *a = p;
    struct ing_result r;
    memset(&r, 0, sizeof r);
    buf_init(&r.error, 4096);
    char body[8192];
    for (int q = 0; q < 20; q++) {
        size_t n = 0;
        for (int i = 0; i < 50; i++)
            n += (size_t)snprintf(body + n, sizeof body - n, "cc,s=%d,w=%d v=%di %d\n", i % 10,
                                  i % 2 ? a->id : 99, a->id, (a->id * 20 + q) * 50 + i + 1);
        (void)ing_write(a->x->g, ING_PROTO_HTTP, sv_cstr("db"), sv_cstr(""), LP_PREC_NS, body, n,
                        0, &r);
        if (r.http_status != 204 || r.points_written != 50)
            a->failures++;
    }
    buf_fini(&r.error);
    return NULL;
}

struct count_ctx {
    size_t points, series;
};

static int count_cb(void *arg, const struct tsdb_series_info *s, size_t nfields,
                    const struct tsdb_field_points *fields)
{
    (void)s;
    struct count_ctx *c = arg;
    c->series++;
    for (size_t f = 0; f < nfields; f++)
        c->points += fields[f].n;
    return 0;
}

static void test_concurrent_writers(void **state)
{
    struct fx *x = *state;
    enum { NT = 4 };
    pthread_t t[NT];
    struct writer_arg a[NT];
    for (int i = 0; i < NT; i++) {
        a[i] = (struct writer_arg){ .x = x, .id = i };
        assert_int_equal(pthread_create(&t[i], NULL, writer, &a[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].failures, 0);
    }
    struct count_ctx c = { 0, 0 };
    struct tsdb_snapshot *s = tsdb_snapshot_new(x->db);
    struct err e = { 0 };
    assert_int_equal(tsdb_snapshot_scan(s, sv_cstr("db"), sv_cstr(""), sv_cstr("cc"), INT64_MIN,
                                        INT64_MAX, count_cb, &c, &e),
                     0);
    tsdb_snapshot_free(&s);
    assert_int_equal(c.points, NT * 20 * 50);
    /* 5 shared series (w=99) plus 5 per thread. */
    assert_int_equal(c.series, 5 + NT * 5);
    assert_int_equal(metric(x, "nightjar_ingest_series_cache_misses_total", NULL, NULL) +
                         metric(x, "nightjar_ingest_series_cache_hits_total", NULL, NULL),
                     NT * 20 * 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_success_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_db_rp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_time_and_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaped_lines_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
