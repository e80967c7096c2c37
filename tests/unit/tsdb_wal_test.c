// SPDX-License-Identifier: MIT
/*
 * tsdb WAL: CRC32C vectors, record round trips (plain and zstd), group
 * commit from 4 threads, crash consistency (torn tails at random offsets,
 * flipped bytes), corruption in the middle (ERR_CORRUPT naming file and
 * offset; repair), fault injection on write/fsync/rename/open (ERR_IO, the
 * failed state, nothing of the failed batch after reopen), interval mode,
 * and a replay-speed measurement.
 *
 * Batch i of a "numbered" store writes two points, m,s=a v=i and m,s=b v=i
 * at time i, so a partially applied batch shows as a time present in one
 * series and not the other.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/metrics.h"
#include "tsdb/tsdb.h"
#include "tsdb/tsdb_int.h"

uint32_t tsdb__crc32c_sw(uint32_t crc, const void *data, size_t n);

/* Measurement sizes: small under sanitizers (figures meaningless there). */
#ifdef NJ_SANITIZE
#define BENCH_DEFAULT_POINTS 4000
#define BENCH_DEFAULT_MB 1
#else
#define BENCH_DEFAULT_POINTS 100000
#define BENCH_DEFAULT_MB 16
#endif

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
    snprintf(tmp_root, sizeof tmp_root, "%s/nj-tsdb-wal-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void path_of(char *out, size_t cap, const char *sub)
{
    snprintf(out, cap, "%s/%s", tmp_root, sub);
}

static int open_opts(const char *sub, struct tsdb_opts *o, struct tsdb **db, struct err *e)
{
    static char dir[600];
    path_of(dir, sizeof dir, sub);
    o->dir = dir;
    return tsdb_open(o, db, e);
}

static struct tsdb *open_sub(const char *sub, uint64_t seg_bytes)
{
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    if (seg_bytes)
        o.wal_segment_bytes = seg_bytes;
    struct tsdb *db = NULL;
    struct err e;
    if (open_opts(sub, &o, &db, &e))
        fail_msg("open: %s", e.msg);
    return db;
}

static int add_num(struct tsdb_batch *b, const char *series, int64_t i, struct err *e)
{
    struct tsdb_tag t = { SV_LIT("s"), sv_cstr(series) };
    struct tsdb_field f = { SV_LIT("v"), TSDB_INT, { .i = i } };
    struct tsdb_point p = { SV_LIT("m"), &t, 1, &f, 1, i };
    return tsdb_batch_add(b, NULL, &p, e);
}

/* Commits numbered batch i; returns the commit's result. */
static int commit_num(struct tsdb *db, int64_t i, struct err *e)
{
    struct tsdb_batch *b = NULL;
    int rc = tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, e);
    if (rc)
        return rc;
    if (add_num(b, "a", i, e) || add_num(b, "b", i, e))
        fail_msg("add: %s", e->msg);
    rc = tsdb_batch_commit(b, e);
    tsdb_batch_free(&b);
    return rc;
}

struct seen {
    uint8_t a[4096], b[4096];
    int64_t max;
};

static int seen_cb(void *arg, const struct tsdb_series_info *s, size_t nf,
                   const struct tsdb_field_points *f)
{
    struct seen *sn = arg;
    uint8_t *col = s->tags[0].value.p[0] == 'a' ? sn->a : sn->b;
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < f[i].n && sv_eq(f[i].key, SV_LIT("v")); j++) {
            int64_t t = f[i].ts_ns[j];
            assert_true(t >= 0 && t < 4096);
            assert_int_equal(f[i].values[j].i, t);
            col[t]++;
            if (t > sn->max)
                sn->max = t;
        }
    return 0;
}

/* Returns how many numbered batches are visible, asserting they form a
 * prefix 0..n-1 and that no batch is half there. */
static int64_t visible_prefix(struct tsdb *db)
{
    struct seen sn;
    memset(&sn, 0, sizeof sn);
    sn.max = -1;
    struct tsdb_snapshot *s = tsdb_snapshot_new(db);
    struct err e;
    int rc = tsdb_snapshot_scan(s, SV_LIT("d"), SV_NULL, SV_NULL, INT64_MIN, INT64_MAX, seen_cb,
                                &sn, &e);
    tsdb_snapshot_free(&s);
    assert_int_equal(rc, 0);
    for (int64_t t = 0; t <= sn.max; t++) {
        if (sn.a[t] != 1 || sn.b[t] != 1)
            fail_msg("batch %" PRId64 ": a=%d b=%d (max %" PRId64 ")", t, sn.a[t], sn.b[t],
                     sn.max);
    }
    return sn.max + 1;
}

static void mkdb(struct tsdb *db)
{
    struct err e;
    if (tsdb_create_database(db, SV_LIT("d"), NULL, &e))
        fail_msg("create: %s", e.msg);
}

/* Builds a store with n numbered batches and closes it. */
static void make_numbered(const char *sub, int n, uint64_t seg_bytes)
{
    struct tsdb *db = open_sub(sub, seg_bytes);
    mkdb(db);
    struct err e;
    for (int i = 0; i < n; i++)
        if (commit_num(db, i, &e))
            fail_msg("commit %d: %s", i, e.msg);
    tsdb_close(&db);
}

static void read_file(const char *path, struct buf *out)
{
    struct err e;
    assert_int_equal(tsdb__f_read_all(path, out, &e), 0);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

/* Offsets of the records in a segment image. */
static size_t record_offsets(const struct buf *seg, size_t *offs, size_t max)
{
    size_t n = 0, off = TSDB__WAL_SEG_HDR;
    const uint8_t *p = (const uint8_t *)seg->p;
    while (off + TSDB__WAL_REC_HDR <= seg->len && n < max) {
        offs[n++] = off;
        off += TSDB__WAL_REC_HDR + tsdb__le32(p + off + 4);
    }
    return n;
}

/* ---- tests ------------------------------------------------------------------ */

__attribute__((unused)) static void test_crc32c(void **state)
{
    (void)state;
    uint8_t zeros[32], ones[32], inc[32];
    memset(zeros, 0, sizeof zeros);
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++)
        inc[i] = (uint8_t)i;
    /* RFC 3720 B.4 and the classic check value. */
    assert_int_equal(tsdb__crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(tsdb__crc32c(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(tsdb__crc32c(0, ones, 32), 0x62A8AB43u);
    assert_int_equal(tsdb__crc32c(0, inc, 32), 0x46DD794Eu);
    assert_int_equal(tsdb__crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(tsdb__crc32c_sw(0, inc, 32), 0x46DD794Eu);
    assert_int_equal(tsdb__crc32c(0, "", 0), 0);
    /* Incremental, unaligned, both paths agree on every split. */
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 131 + 7);
    uint32_t whole = tsdb__crc32c_sw(0, big, sizeof big);
    for (size_t cut = 0; cut < 40; cut++) {
        assert_int_equal(tsdb__crc32c(tsdb__crc32c(0, big + 1, cut), big + 1 + cut,
                                      sizeof big - 1 - cut),
                         tsdb__crc32c_sw(0, big + 1, sizeof big - 1));
        assert_int_equal(tsdb__crc32c_sw(tsdb__crc32c_sw(0, big, cut), big + cut, sizeof big - cut),
                         whole);
    }
}

__attribute__((unused)) static void test_encoding_cursor(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    uint64_t vals[] = { 0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX };
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(tsdb__put_uvarint(&b, vals[i]), 0);
    assert_int_equal(tsdb__put_bytes(&b, "abc", 3), 0);
    assert_int_equal(tsdb__put_u64(&b, 0x0102030405060708ull), 0);
    struct tsdb__dec d;
    tsdb__dec_init(&d, b.p, b.len);
    for (size_t i = 0; i < 7; i++)
        assert_true(tsdb__get_uvarint(&d) == vals[i]);
    struct sv s = tsdb__get_bytes(&d);
    assert_true(sv_eq(s, SV_LIT("abc")));
    assert_true(tsdb__get_u64(&d) == 0x0102030405060708ull);
    assert_false(d.is_bad);
    assert_int_equal(tsdb__dec_left(&d), 0);
    /* Reading past the end is sticky and returns zeros. */
    assert_int_equal(tsdb__get_u32(&d), 0);
    assert_true(d.is_bad);
    /* An overlong varint and a length past the end are errors. */
    const uint8_t bad1[11] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0 };
    tsdb__dec_init(&d, bad1, sizeof bad1);
    tsdb__get_uvarint(&d);
    assert_true(d.is_bad);
    const uint8_t bad2[2] = { 5, 'x' };
    tsdb__dec_init(&d, bad2, sizeof bad2);
    tsdb__get_bytes(&d);
    assert_true(d.is_bad);
    for (int64_t v = -3; v <= 3; v++)
        assert_true(tsdb__unzigzag(tsdb__zigzag(v)) == v);
    assert_true(tsdb__unzigzag(tsdb__zigzag(INT64_MIN)) == INT64_MIN);
    buf_fini(&b);
}

/* Segments roll over at the size limit, and records never span them. */
__attribute__((unused)) static void test_segments_roundtrip(void **state)
{
    (void)state;
    make_numbered("seg", 300, 4096);
    struct tsdb_recovery_report r;
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.wal_segment_bytes = 4096;
    o.report = &r;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts("seg", &o, &db, &e), 0);
    assert_int_equal(visible_prefix(db), 300);
    assert_false(r.truncated);
    assert_int_equal(r.records, 300);
    assert_int_equal(r.points, 600);
    assert_true(r.segments > 5);
    /* Appending after reopen continues the log. */
    assert_int_equal(commit_num(db, 300, &e), 0);
    tsdb_close(&db);
    assert_int_equal(open_opts("seg", &o, &db, &e), 0);
    assert_int_equal(visible_prefix(db), 301);
    tsdb_close(&db);
}

struct gc_ctx {
    struct tsdb *db;
    pthread_barrier_t *bar;
    int id, n;
};

static void *gc_thread(void *arg)
{
    struct gc_ctx *c = arg;
    pthread_barrier_wait(c->bar);
    for (int k = 0; k < c->n; k++) {
        struct tsdb_batch *b = NULL;
        struct err e;
        if (tsdb_batch_new(c->db, SV_LIT("d"), SV_NULL, 0, &b, &e))
            abort();
        for (int j = 0; j < 20; j++) {
            char host[16];
            snprintf(host, sizeof host, "t%d-%d", c->id, j);
            struct tsdb_tag t = { SV_LIT("host"), sv_cstr(host) };
            struct tsdb_field f = { SV_LIT("v"), TSDB_FLOAT, { .f = k } };
            struct tsdb_point p = { SV_LIT("cpu"), &t, 1, &f, 1, k };
            if (tsdb_batch_add(b, NULL, &p, &e))
                abort();
        }
        if (tsdb_batch_commit(b, &e))
            abort();
        tsdb_batch_free(&b);
    }
    return NULL;
}

static int count_points(void *arg, const struct tsdb_series_info *s, size_t nf,
                        const struct tsdb_field_points *f)
{
    (void)s;
    for (size_t i = 0; i < nf; i++)
        *(size_t *)arg += f[i].n;
    return 0;
}

static size_t total_points(struct tsdb *db)
{
    size_t n = 0;
    struct tsdb_snapshot *s = tsdb_snapshot_new(db);
    struct err e;
    assert_int_equal(tsdb_snapshot_scan(s, SV_LIT("d"), SV_NULL, SV_NULL, INT64_MIN, INT64_MAX,
                                        count_points, &n, &e),
                     0);
    tsdb_snapshot_free(&s);
    return n;
}

__attribute__((unused)) static void test_group_commit(void **state)
{
    (void)state;
    enum { T = 4, N = 60 };
    struct metrics_registry *reg = metrics_registry_new();
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.metrics = reg;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts("gc", &o, &db, &e), 0);
    mkdb(db);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, T);
    pthread_t th[T];
    struct gc_ctx ctx[T];
    for (int i = 0; i < T; i++) {
        ctx[i] = (struct gc_ctx){ db, &bar, i, N };
        assert_int_equal(pthread_create(&th[i], NULL, gc_thread, &ctx[i]), 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    struct metric *fs = metrics_counter(reg, "nightjar_wal_fsyncs_total", "");
    struct metric *grp = metrics_histogram(reg, "nightjar_wal_group_commit_batches", "", NULL, 0);
    struct metric *pts = metrics_counter(reg, "nightjar_points_stored_total", "");
    double fsyncs = metric_value(fs);
    print_message("group commit: %d batches from %d threads, %.0f fsyncs (%.2f batches/fsync)\n",
                  T * N, T, fsyncs, (T * N) / fsyncs);
    assert_true(fsyncs >= 1);
    assert_true(fsyncs < T * N);
    assert_int_equal(metric_hist_count(grp), (uint64_t)fsyncs);
    assert_true(metric_value(grp) == T * N); /* histogram sum = batches */
    assert_true(metric_value(pts) == T * N * 20);
    assert_int_equal(total_points(db), T * N * 20);
    struct metric *hs = metrics_gauge(reg, "nightjar_head_series", "");
    struct metric *hb = metrics_gauge(reg, "nightjar_head_bytes", "");
    struct metric *wb = metrics_counter(reg, "nightjar_wal_bytes_written_total", "");
    assert_true(metric_value(hs) == T * 20);
    assert_true(metric_value(hb) > T * N * 20 * 8);
    assert_true(metric_value(wb) > T * N * 20 * 8);
    tsdb_close(&db);
    metrics_registry_free(reg);

    tsdb_opts_init(&o, NULL);
    assert_int_equal(open_opts("gc", &o, &db, &e), 0);
    assert_int_equal(total_points(db), T * N * 20);
    tsdb_close(&db);
}

/* Torn tails: cut the last segment anywhere, or flip a byte in its last
 * record: every complete batch comes back, no partial one, and the cut is
 * reported. */
__attribute__((unused)) static void test_torn_tail(void **state)
{
    (void)state;
    enum { N = 40 };
    make_numbered("torn", N, 0);
    char seg[700];
    path_of(seg, sizeof seg, "torn/wal/0000000000000001.wal");
    struct buf orig;
    buf_init(&orig, 0);
    read_file(seg, &orig);
    size_t offs[N + 1];
    assert_int_equal(record_offsets(&orig, offs, N + 1), N);
    offs[N] = orig.len;
    unsigned seed = 12345;
    for (int iter = 0; iter < 24; iter++) {
        size_t cut = TSDB__WAL_SEG_HDR + (size_t)rand_r(&seed) % (orig.len - TSDB__WAL_SEG_HDR);
        bool is_flip = iter % 3 == 2;
        struct buf img;
        buf_init(&img, 0);
        assert_int_equal(buf_append(&img, orig.p, orig.len), 0);
        int64_t want;
        if (is_flip) {
            /* Flip a byte inside the last record. */
            size_t at = offs[N - 1] + (size_t)rand_r(&seed) % (orig.len - offs[N - 1]);
            img.p[at] ^= (char)(1 + rand_r(&seed) % 255);
            want = N - 1;
        } else {
            img.len = cut;
            want = 0;
            while (want < N && offs[want + 1] <= cut)
                want++;
        }
        write_file(seg, img.p, img.len);
        struct tsdb_recovery_report r;
        struct tsdb_opts o;
        tsdb_opts_init(&o, NULL);
        o.report = &r;
        struct tsdb *db = NULL;
        struct err e;
        if (open_opts("torn", &o, &db, &e))
            fail_msg("iter %d: open: %s", iter, e.msg);
        assert_int_equal(visible_prefix(db), want);
        bool at_boundary = !is_flip && offs[want] == cut;
        assert_int_equal(r.truncated, !at_boundary);
        if (!at_boundary) {
            assert_string_equal(r.file, "wal/0000000000000001.wal");
            assert_int_equal(r.offset, offs[want]);
            assert_int_equal(r.bytes_dropped, img.len - offs[want]);
            assert_false(r.repaired);
        }
        /* The store is writable after the cut and the new batch survives. */
        assert_int_equal(commit_num(db, want, &e), 0);
        tsdb_close(&db);
        assert_int_equal(open_opts("torn", &o, &db, &e), 0);
        assert_int_equal(visible_prefix(db), want + 1);
        assert_false(r.truncated);
        tsdb_close(&db);
        buf_fini(&img);
    }
    buf_fini(&orig);
}

__attribute__((unused)) static void test_corrupt_middle(void **state)
{
    (void)state;
    enum { N = 10 };
    make_numbered("mid", N, 0);
    char seg[700];
    path_of(seg, sizeof seg, "mid/wal/0000000000000001.wal");
    struct buf img;
    buf_init(&img, 0);
    read_file(seg, &img);
    size_t offs[N];
    assert_int_equal(record_offsets(&img, offs, N), N);
    img.p[offs[3] + TSDB__WAL_REC_HDR + 2] ^= 0x40; /* payload of record 3 */
    write_file(seg, img.p, img.len);

    struct tsdb_recovery_report r;
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.report = &r;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts("mid", &o, &db, &e), ERR_CORRUPT);
    assert_null(db);
    char want[128];
    snprintf(want, sizeof want, "wal/0000000000000001.wal: offset %zu: bad checksum", offs[3]);
    assert_string_equal(e.msg, want);
    /* Refusing to open changed nothing on disk. */
    struct buf again;
    buf_init(&again, 0);
    read_file(seg, &again);
    assert_int_equal(again.len, img.len);

    o.repair = true;
    assert_int_equal(open_opts("mid", &o, &db, &e), 0);
    assert_true(r.truncated);
    assert_true(r.repaired);
    assert_int_equal(r.offset, offs[3]);
    assert_int_equal(r.bytes_dropped, img.len - offs[3]);
    assert_int_equal(visible_prefix(db), 3);
    tsdb_close(&db);
    o.repair = false;
    assert_int_equal(open_opts("mid", &o, &db, &e), 0);
    assert_int_equal(visible_prefix(db), 3);
    tsdb_close(&db);
    buf_fini(&img);
    buf_fini(&again);
}

/* Corruption in an earlier segment is never a torn tail, even at the end
 * of that segment. */
__attribute__((unused)) static void test_corrupt_earlier_segment(void **state)
{
    (void)state;
    make_numbered("early", 200, 4096);
    char seg[700];
    path_of(seg, sizeof seg, "early/wal/0000000000000001.wal");
    struct buf img;
    buf_init(&img, 0);
    read_file(seg, &img);
    size_t offs[256];
    size_t n = record_offsets(&img, offs, 256);
    assert_true(n > 2);
    img.len -= 5; /* torn end of a segment that is not the last */
    write_file(seg, img.p, img.len);
    struct tsdb_recovery_report r;
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.wal_segment_bytes = 4096;
    o.report = &r;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts("early", &o, &db, &e), ERR_CORRUPT);
    char want[128];
    snprintf(want, sizeof want, "wal/0000000000000001.wal: offset %zu: short record",
             offs[n - 1]);
    assert_string_equal(e.msg, want);
    o.repair = true;
    assert_int_equal(open_opts("early", &o, &db, &e), 0);
    assert_true(r.repaired);
    assert_true(r.segments_removed > 0);
    assert_int_equal(visible_prefix(db), (int64_t)n - 1);
    tsdb_close(&db);
    buf_fini(&img);
}

/* The Nth write / fsync fails: that commit returns ERR_IO, the WAL is failed
 * for every later commit, and after reopen nothing of the failed batch is
 * there while everything acknowledged is. */
__attribute__((unused)) static void test_fault_injection(void **state)
{
    (void)state;
    const enum tsdb_fault_op ops[] = { TSDB_FAULT_WRITE, TSDB_FAULT_FSYNC };
    for (size_t k = 0; k < 2; k++) {
        for (uint64_t nth = 1; nth <= 3; nth++) {
            char sub[32];
            snprintf(sub, sizeof sub, "fault%zu-%" PRIu64, k, nth);
            struct tsdb *db = open_sub(sub, 0);
            mkdb(db);
            struct err e;
            for (int i = 0; i < 3; i++)
                assert_int_equal(commit_num(db, i, &e), 0);
            tsdb_fault_arm(db, ops[k], nth, false);
            int acked = 3, rc = 0;
            for (int i = 3; i < 10 && rc == 0; i++) {
                rc = commit_num(db, i, &e);
                if (rc == 0)
                    acked++;
            }
            assert_int_equal(rc, ERR_IO);
            assert_int_equal(acked, 3 + (int)nth - 1);
            assert_true(tsdb_is_failed(db));
            /* Failed state: no retry, even though the fault was one-shot. */
            assert_int_equal(commit_num(db, 50, &e), ERR_IO);
            struct tsdb_batch *b = NULL;
            assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, &e), ERR_IO);
            assert_int_equal(visible_prefix(db), acked);
            tsdb_close(&db);

            db = open_sub(sub, 0);
            assert_false(tsdb_is_failed(db));
            assert_int_equal(visible_prefix(db), acked);
            assert_int_equal(commit_num(db, acked, &e), 0);
            assert_int_equal(visible_prefix(db), acked + 1);
            tsdb_close(&db);
        }
    }

    /* Segment rotation fails (open of the new segment). */
    struct tsdb *db = open_sub("fault-rot", 4096);
    mkdb(db);
    struct err e;
    tsdb_fault_arm(db, TSDB_FAULT_OPEN, 1, true);
    int acked = 0, rc = 0;
    for (int i = 0; i < 400 && rc == 0; i++) {
        rc = commit_num(db, i, &e);
        acked += rc == 0;
    }
    assert_int_equal(rc, ERR_IO);
    assert_true(acked > 0);
    tsdb_close(&db);
    db = open_sub("fault-rot", 4096);
    assert_int_equal(visible_prefix(db), acked);
    tsdb_close(&db);

    /* Catalog: a failed rename leaves the database absent, in memory and on
     * disk, and does not fail the WAL. */
    db = open_sub("fault-cat", 0);
    tsdb_fault_arm(db, TSDB_FAULT_RENAME, 1, false);
    assert_int_equal(tsdb_create_database(db, SV_LIT("x"), NULL, &e), ERR_IO);
    struct tsdb_rp_info info;
    assert_int_equal(tsdb_find_rp(db, SV_LIT("x"), SV_NULL, &info, &e), ERR_NOTFOUND);
    assert_false(tsdb_is_failed(db));
    tsdb_fault_arm(db, TSDB_FAULT_FSYNC, 1, false);
    assert_int_equal(tsdb_create_database(db, SV_LIT("y"), NULL, &e), ERR_IO);
    assert_int_equal(tsdb_find_rp(db, SV_LIT("y"), SV_NULL, &info, &e), ERR_NOTFOUND);
    assert_int_equal(tsdb_create_database(db, SV_LIT("x"), NULL, &e), 0);
    tsdb_close(&db);
    db = open_sub("fault-cat", 0);
    assert_int_equal(tsdb_find_rp(db, SV_LIT("x"), SV_NULL, &info, &e), 0);
    tsdb_close(&db);
}

__attribute__((unused)) static void test_interval_mode(void **state)
{
    (void)state;
    struct metrics_registry *reg = metrics_registry_new();
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.metrics = reg;
    o.fsync_mode = TSDB_FSYNC_INTERVAL;
    o.fsync_interval_ns = 5 * 1000000LL;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts("interval", &o, &db, &e), 0);
    mkdb(db);
    struct metric *fs = metrics_counter(reg, "nightjar_wal_fsyncs_total", "");
    for (int i = 0; i < 20; i++)
        assert_int_equal(commit_num(db, i, &e), 0);
    /* The timer thread syncs within a few intervals; poll until a deadline. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (metric_value(fs) >= 1)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 10)
            fail_msg("no fsync within 10 s in interval mode");
        struct timespec d = { 0, 1000000 };
        nanosleep(&d, NULL);
    }
    assert_int_equal(visible_prefix(db), 20);
    tsdb_close(&db);
    metrics_registry_free(reg);
    tsdb_opts_init(&o, NULL);
    assert_int_equal(open_opts("interval", &o, &db, &e), 0);
    assert_int_equal(visible_prefix(db), 20);
    tsdb_close(&db);
}

/* Append-path scaling: T threads (1, then 2) each commit batches of 1000
 * points x 10 float fields for their own 100 hosts, fsync=interval so the
 * figure is the CPU path (encode, index, WAL write, head apply).  Sizes from
 * BENCH_TSDB_POINTS (default 100000 per run, 4000 under sanitizers).  Prints
 * values/s; asserts only that every point arrived. */
struct app_ctx {
    struct tsdb *db;
    pthread_barrier_t *bar;
    int id;
    int nbatches;
};

static void *app_thread(void *arg)
{
    struct app_ctx *c = arg;
    static const char *fnames[10] = { "usage_user", "usage_system", "usage_idle", "usage_nice",
                                      "usage_iowait", "usage_irq", "usage_softirq",
                                      "usage_steal", "usage_guest", "usage_guest_nice" };
    struct tsdb_field f[10];
    for (int i = 0; i < 10; i++)
        f[i] = (struct tsdb_field){ sv_cstr(fnames[i]), TSDB_FLOAT, { .f = 0 } };
    char hosts[100][32];
    for (int h = 0; h < 100; h++)
        snprintf(hosts[h], sizeof hosts[h], "host_%d_%d", c->id, h);
    uint64_t refs[100] = { 0 };
    pthread_barrier_wait(c->bar);
    int64_t ts = 1700000000000000000LL;
    for (int k = 0; k < c->nbatches; k++) {
        struct tsdb_batch *b = NULL;
        struct err e;
        if (tsdb_batch_new(c->db, SV_LIT("d"), SV_NULL, 0, &b, &e))
            abort();
        for (int j = 0; j < 1000; j++) {
            struct tsdb_tag t[2] = { { SV_LIT("cpu"), SV_LIT("cpu-total") },
                                     { SV_LIT("host"), sv_cstr(hosts[j % 100]) } };
            for (int q = 0; q < 10; q++)
                f[q].v.f = (double)((k * 7 + j + q * 13) % 1000) / 10.0;
            struct tsdb_point p = { SV_LIT("cpu"), t, 2, f, 10, ts + (j / 100) * 10000000000LL };
            if (tsdb_batch_add(b, &refs[j % 100], &p, &e))
                abort();
        }
        ts += 100000000000LL;
        if (tsdb_batch_commit(b, &e))
            abort();
        tsdb_batch_free(&b);
    }
    return NULL;
}

__attribute__((unused)) static void test_append_threads(void **state)
{
    (void)state;
    const char *env = getenv("BENCH_TSDB_POINTS");
    int points = env ? atoi(env) : BENCH_DEFAULT_POINTS;
    for (int nthreads = 1; nthreads <= 2; nthreads++) {
        char sub[32];
        snprintf(sub, sizeof sub, "app%d", nthreads);
        struct tsdb_opts o;
        tsdb_opts_init(&o, NULL);
        o.fsync_mode = TSDB_FSYNC_INTERVAL;
        struct tsdb *db = NULL;
        struct err e;
        assert_int_equal(open_opts(sub, &o, &db, &e), 0);
        mkdb(db);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)nthreads + 1);
        pthread_t th[2];
        struct app_ctx ctx[2];
        for (int i = 0; i < nthreads; i++) {
            ctx[i] = (struct app_ctx){ db, &bar, i, points / 1000 / nthreads };
            assert_int_equal(pthread_create(&th[i], NULL, app_thread, &ctx[i]), 0);
        }
        struct timespec t0, t1;
        pthread_barrier_wait(&bar);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < nthreads; i++)
            pthread_join(th[i], NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        pthread_barrier_destroy(&bar);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        size_t want = (size_t)(points / 1000 / nthreads) * 1000 * (size_t)nthreads * 10;
        assert_int_equal(total_points(db), want);
        print_message("append: %d thread(s): %zu values in %.3f s = %.2f M values/s\n", nthreads,
                      want, secs, (double)want / 1e6 / secs);
        tsdb_close(&db);
    }
}

/* kill -9 while committing: every batch whose commit returned before the
 * kill is there after reopen, no batch is half there, and numbering goes on.
 * The child acknowledges each commit through a pipe after it returns. */
static void child_commit_forever(const char *sub, int fd, int64_t first)
{
    char dir[600];
    path_of(dir, sizeof dir, sub);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    struct tsdb *db = NULL;
    struct err e;
    if (tsdb_open(&o, &db, &e))
        _exit(2);
    for (int64_t i = first; i < 4000; i++) {
        struct tsdb_batch *b = NULL;
        if (tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, &e) || add_num(b, "a", i, &e) ||
            add_num(b, "b", i, &e) || tsdb_batch_commit(b, &e))
            _exit(3);
        tsdb_batch_free(&b);
        if (write(fd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(4);
    }
    _exit(0);
}

__attribute__((unused)) static void test_kill9(void **state)
{
    (void)state;
    struct tsdb *db = open_sub("kill", 8192);
    mkdb(db);
    tsdb_close(&db);
    int64_t next = 0;
    unsigned seed = 99;
    for (int round = 0; round < 5; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child_commit_forever("kill", pfd[1], next);
        }
        close(pfd[1]);
        int want_acks = 3 + rand_r(&seed) % 40;
        int64_t acked = next - 1, v;
        for (int n = 0; n < want_acks && read(pfd[0], &v, sizeof v) == (ssize_t)sizeof v; n++)
            acked = v;
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        while (read(pfd[0], &v, sizeof v) == (ssize_t)sizeof v)
            acked = v;
        close(pfd[0]);
        assert_true(WIFSIGNALED(status));
        db = open_sub("kill", 8192);
        int64_t have = visible_prefix(db); /* also checks no half batch */
        tsdb_close(&db);
        if (have < acked + 1)
            fail_msg("round %d: acked %" PRId64 " but only %" PRId64 " batches survived", round,
                     acked, have);
        next = have;
    }
    print_message("kill -9: %" PRId64 " batches survived 5 kills\n", next);
}

/* SQLite-style ioerr loop: for each operation kind and each n, run a
 * scenario (create database, 8 commits of ~700-byte records over 4 KiB
 * segments so they rotate, create a policy) with the nth call failing once.
 * Every step either succeeds or returns ERR_IO; after the first WAL failure
 * every commit fails; after reopen exactly the acknowledged batches are
 * there (no half batch), and the store accepts writes again.  The loop for
 * an operation ends when a whole scenario runs without hitting the fault. */
static int commit_padded(struct tsdb *db, int64_t i, struct err *e)
{
    static char pad[600];
    memset(pad, 'p', sizeof pad);
    struct tsdb_batch *b = NULL;
    int rc = tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, e);
    if (rc)
        return rc;
    struct tsdb_tag t = { SV_LIT("s"), SV_LIT("a") };
    struct tsdb_field f[2] = { { SV_LIT("v"), TSDB_INT, { .i = i } },
                               { SV_LIT("pad"), TSDB_STRING, { .s = { pad, sizeof pad } } } };
    struct tsdb_point p = { SV_LIT("m"), &t, 1, f, 2, i };
    if (tsdb_batch_add(b, NULL, &p, e) || add_num(b, "b", i, e))
        fail_msg("add: %s", e->msg);
    rc = tsdb_batch_commit(b, e);
    tsdb_batch_free(&b);
    return rc;
}

static bool ioerr_scenario(const char *sub, enum tsdb_fault_op op, uint64_t nth)
{
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.wal_segment_bytes = 4096;
    o.wal_compress_min_bytes = 0;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts(sub, &o, &db, &e), 0);
    tsdb_fault_arm(db, op, nth, false);
    bool is_hit = false;
    int rc = tsdb_create_database(db, SV_LIT("d"), NULL, &e);
    bool has_db = rc == 0;
    if (rc) {
        assert_int_equal(rc, ERR_IO);
        is_hit = true;
    }
    int64_t acked = 0;
    for (int64_t i = 0; i < 8 && has_db; i++) {
        rc = commit_padded(db, i, &e);
        if (rc) {
            assert_int_equal(rc, ERR_IO);
            assert_true(tsdb_is_failed(db));
            is_hit = true;
            break;
        }
        acked++;
    }
    if (has_db && tsdb_is_failed(db))
        assert_int_equal(commit_padded(db, 99, &e), ERR_IO);
    struct tsdb_rp_opts rp = { .name = SV_LIT("r2"), .duration_ns = 3600LL * 1000000000LL };
    if (has_db) {
        rc = tsdb_create_retention_policy(db, SV_LIT("d"), &rp, &e);
        if (rc) {
            assert_int_equal(rc, ERR_IO);
            is_hit = true;
        }
    }
    tsdb_close(&db);

    /* Reopen without faults: exactly the acknowledged batches. */
    tsdb_opts_init(&o, NULL);
    o.wal_segment_bytes = 4096;
    if (open_opts(sub, &o, &db, &e))
        fail_msg("op %d nth %" PRIu64 ": reopen: %s", (int)op, nth, e.msg);
    struct tsdb_rp_info info;
    if (tsdb_find_rp(db, SV_LIT("d"), SV_NULL, &info, &e) != 0) {
        /* Only a failed create may leave no database. */
        assert_false(has_db);
        mkdb(db);
    }
    int64_t have = visible_prefix(db);
    if (have != acked)
        fail_msg("op %d nth %" PRIu64 ": %" PRId64 " batches acked, %" PRId64 " after reopen",
                 (int)op, nth, acked, have);
    assert_int_equal(commit_padded(db, have, &e), 0);
    tsdb_close(&db);
    assert_int_equal(open_opts(sub, &o, &db, &e), 0);
    assert_int_equal(visible_prefix(db), have + 1);
    tsdb_close(&db);
    return is_hit;
}

__attribute__((unused)) static void test_ioerr_loop(void **state)
{
    (void)state;
    const enum tsdb_fault_op ops[] = { TSDB_FAULT_WRITE, TSDB_FAULT_FSYNC, TSDB_FAULT_RENAME,
                                       TSDB_FAULT_OPEN };
    int runs = 0;
    for (size_t k = 0; k < 4; k++) {
        uint64_t nth = 1;
        for (; nth <= 100; nth++) {
            char sub[64];
            snprintf(sub, sizeof sub, "ioerr-%zu-%" PRIu64, k, nth);
            runs++;
            bool is_hit = ioerr_scenario(sub, ops[k], nth);
            char dir[700];
            path_of(dir, sizeof dir, sub);
            nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
            if (!is_hit)
                break;
        }
        assert_true(nth > 1 && nth <= 100); /* the fault fired, then ran out */
    }
    print_message("ioerr loop: %d scenarios\n", runs);
}

struct prog {
    uint64_t last, total;
    int calls;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
    struct prog *p = arg;
    assert_true(done >= p->last);
    assert_true(done <= total);
    p->last = done;
    p->total = total;
    p->calls++;
}

/* Replay throughput: BENCH_TSDB_MB (default 16, 1 under sanitizers) MB of
 * WAL made of batches of 1000 points x 10 float fields, uncompressed
 * (wal_compress_min_bytes 0) so the figure is raw WAL bytes per second. */
/* Bytes in every WAL segment under speed/wal (the WAL rotates at 64 MiB, so
 * one segment's size cannot reach larger targets). */
static double wal_dir_bytes(void)
{
    char dir[700];
    path_of(dir, sizeof dir, "speed/wal");
    DIR *d = opendir(dir);
    double total = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char p[1000];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".wal") && stat(p, &st) == 0)
            total += (double)st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

static double load_avg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

__attribute__((unused)) static void test_replay_speed(void **state)
{
    (void)state;
    const char *env = getenv("BENCH_TSDB_MB");
    double target_mb = env ? atof(env) : BENCH_DEFAULT_MB;
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.wal_compress_min_bytes = 0;
    o.fsync_mode = TSDB_FSYNC_INTERVAL;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts("speed", &o, &db, &e), 0);
    mkdb(db);
    static const char *fnames[10] = { "usage_user", "usage_system", "usage_idle", "usage_nice",
                                      "usage_iowait", "usage_irq", "usage_softirq",
                                      "usage_steal", "usage_guest", "usage_guest_nice" };
    struct tsdb_field f[10];
    for (int i = 0; i < 10; i++)
        f[i] = (struct tsdb_field){ sv_cstr(fnames[i]), TSDB_FLOAT, { .f = 0 } };
    uint64_t points = 0;
    int64_t ts = 1700000000000000000LL;
    for (int batchno = 0;; batchno++) {
        if ((batchno % 8) == 0 && wal_dir_bytes() >= target_mb * 1e6)
            break;
        struct tsdb_batch *b = NULL;
        assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, &e), 0);
        for (int j = 0; j < 1000; j++) {
            char host[32];
            snprintf(host, sizeof host, "host_%d", j % 100);
            struct tsdb_tag t[2] = { { SV_LIT("cpu"), SV_LIT("cpu-total") },
                                     { SV_LIT("host"), sv_cstr(host) } };
            for (int k = 0; k < 10; k++)
                f[k].v.f = (double)((points * 7 + (uint64_t)k * 13) % 1000) / 10.0;
            struct tsdb_point p = { SV_LIT("cpu"), t, 2, f, 10, ts + (j / 100) * 10000000000LL };
            assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
            points++;
        }
        ts += 100000000000LL;
        assert_int_equal(tsdb_batch_commit(b, &e), 0);
        tsdb_batch_free(&b);
    }
    tsdb_close(&db);

    struct tsdb_recovery_report r;
    struct prog pr = { 0, 0, 0 };
    tsdb_opts_init(&o, NULL);
    o.report = &r;
    o.progress = on_progress;
    o.progress_arg = &pr;
    /* CPU time of the whole process (both replay threads) beside the wall
     * time: on the shared machine the wall time mostly measures the load. */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    assert_int_equal(open_opts("speed", &o, &db, &e), 0);
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    assert_int_equal(r.points, points);
    assert_true(pr.calls >= 1);
    assert_int_equal(pr.last, pr.total);
    assert_int_equal(pr.total, r.bytes);
    double secs = (double)r.duration_ns / 1e9;
    print_message("replay: %.1f MB of WAL, %" PRIu64 " points (%" PRIu64
                  " values) in %.3f s = %.0f MB/s, %.1f M values/s; %.3f CPU-s (%.0f MB per "
                  "CPU-s), load %.1f\n",
                  (double)r.bytes / 1e6, points, points * 10, secs, (double)r.bytes / 1e6 / secs,
                  (double)points * 10 / 1e6 / secs, cpu, (double)r.bytes / 1e6 / cpu,
                  load_avg());
    assert_int_equal(total_points(db), points * 10);
    tsdb_close(&db);
}

/* With BENCH_TSDB_SEEDS=<dir>, writes the fuzz seed corpus for
 * tsdb_wal_replay (first byte: mode bits, see tests/fuzz/tsdb_wal_replay.c). */
__attribute__((unused)) static void test_write_fuzz_seeds(void **state)
{
    (void)state;
    const char *out = getenv("BENCH_TSDB_SEEDS");
    if (!out)
        skip();
    struct tsdb_opts o;
    tsdb_opts_init(&o, NULL);
    o.wal_compress_min_bytes = 128;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(open_opts("seeds", &o, &db, &e), 0);
    mkdb(db);
    for (int i = 0; i < 4; i++)
        assert_int_equal(commit_num(db, i, &e), 0);
    struct tsdb_batch *b = NULL;
    assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, &e), 0);
    for (int i = 0; i < 30; i++) {
        struct tsdb_field f[3] = { { SV_LIT("s"), TSDB_STRING, { .s = SV_LIT("hello world") } },
                                   { SV_LIT("u"), TSDB_UINT, { .u = (uint64_t)i } },
                                   { SV_LIT("b"), TSDB_BOOL, { .b = true } } };
        struct tsdb_tag t = { SV_LIT("k"), i % 2 ? SV_LIT("x") : SV_LIT("y") };
        struct tsdb_point p = { SV_LIT("z"), &t, 1, f, 3, 100 - i };
        assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
    }
    assert_int_equal(tsdb_batch_commit(b, &e), 0);
    tsdb_batch_free(&b);
    tsdb_close(&db);
    char seg[700];
    path_of(seg, sizeof seg, "seeds/wal/0000000000000001.wal");
    struct buf img;
    buf_init(&img, 0);
    read_file(seg, &img);
    size_t offs[16];
    size_t n = record_offsets(&img, offs, 16);
    assert_int_equal(n, 5);
    struct {
        const char *name;
        uint8_t mode;
        size_t len;
        int flip_at;
    } seeds[] = {
        { "full", 0, img.len, -1 },
        { "full-repair", 2, img.len, -1 },
        { "torn-tail", 0, offs[4] + 40, -1 },
        { "one-record", 0, offs[1], -1 },
        { "header-only", 0, TSDB__WAL_SEG_HDR, -1 },
        { "flip-middle", 0, img.len, (int)offs[2] + 30 },
        { "flip-middle-repair", 2, img.len, (int)offs[2] + 30 },
        { "raw-no-header", 1, img.len, -1 },
        { "full-append", 4, img.len, -1 },
        { "torn-append", 4, offs[3] + 7, -1 },
        { "flip-repair-append", 6, img.len, (int)offs[1] + 3 },
        { "fixcrc-full", 8, img.len, -1 },
        { "fixcrc-flip-payload", 8, img.len, (int)offs[2] + TSDB__WAL_REC_HDR + 4 },
        { "fixcrc-flip-repair", 10, img.len, (int)offs[4] + TSDB__WAL_REC_HDR + 9 },
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        struct buf s;
        buf_init(&s, 0);
        assert_int_equal(buf_append(&s, &seeds[i].mode, 1), 0);
        /* Mode bit 0 clear: the harness writes its own segment header. */
        size_t from = (seeds[i].mode & 1) ? 0 : TSDB__WAL_SEG_HDR;
        assert_int_equal(buf_append(&s, img.p + from, seeds[i].len - from), 0);
        if (seeds[i].flip_at >= 0)
            s.p[1 + seeds[i].flip_at - from] ^= 0x10;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", out, seeds[i].name);
        write_file(path, s.p, s.len);
        buf_fini(&s);
    }
    buf_fini(&img);
}

int main(void)
{
#if defined(TSDB_WAL_TEST_IOERR_ONLY)
    /* tsdb_fault_test.c: the fsync-bound ioerr loop as its own ctest. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ioerr_loop, setup, teardown),
    };
#elif defined(TSDB_WAL_TEST_CRASH_ONLY)
    /* tsdb_crash_test.c: torn tails, corruption, single faults. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_earlier_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9, setup, teardown),
    };
#else
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_encoding_cursor),
        cmocka_unit_test_setup_teardown(test_segments_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_speed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_fuzz_seeds, setup, teardown),
    };
#endif
    /* TSDB_TEST_FILTER=test_torn* runs a subset (cmocka glob). */
    if (getenv("TSDB_TEST_FILTER"))
        cmocka_set_test_filter(getenv("TSDB_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
