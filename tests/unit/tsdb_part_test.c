// SPDX-License-Identifier: MIT
/*
 * tsdb storage at rest: part file round trips (every type, sparse fields,
 * more than one block per series, summaries), corruption in a part
 * (ERR_CORRUPT naming the file and offset; repair quarantines it), flush and
 * reopen with reads merged across the head and several overlapping parts
 * (last write wins per field), WAL segments deleted below the checkpoint,
 * snapshots that span a flush, fault injection at each publication step
 * (every acknowledged point is there exactly once after reopen), and
 * retention with a moved clock.
 *
 * The store model: series m,s=<k> for k < NS, times t * STEP from BASE,
 * fields v (float, always), n (int, some rows), u (uint), b (bool) and
 * s (string, some rows).  The test keeps the expected value of every
 * (series, field, time) and compares a full scan with it.
 */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
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

#define NS 3
#define NT 48
#define NF 5
#define HOUR (3600LL * 1000000000LL)
#define STEP (10LL * 60 * 1000000000LL) /* 10 minutes: 6 rows per 1 h partition */
#define BASE (1700000000LL * 1000000000LL / HOUR * HOUR)

static char tmp_root[512];
/* The writers' clock (retention check of tsdb_batch_new). */
static int64_t g_now = BASE + NT * STEP;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

__attribute__((unused)) static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
#ifdef TSDB_PART_FAULTS_ONLY
    /* Hundreds of flushes: on tmpfs their fsyncs cost nothing, and the
     * faults are injected above the file system anyway. */
    if (access("/dev/shm", W_OK) == 0)
        t = "/dev/shm";
#endif
    snprintf(tmp_root, sizeof tmp_root, "%s/nj-tsdb-part-XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    return 0;
}

__attribute__((unused)) static int teardown(void **state)
{
    (void)state;
    nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- the model ---------------------------------------------------------------- */

static const char *const fkeys[NF] = { "v", "n", "u", "b", "s" };

struct model {
    bool has[NS][NF][NT];
    uint32_t gen[NS][NF][NT]; /* the write that set it */
};

static void value_of(int s, int f, int t, uint32_t gen, union tsdb_value *v, char *sbuf)
{
    switch (f) {
    case 0:
        v->f = s * 1000.0 + t + gen * 0.25;
        break;
    case 1:
        v->i = -(int64_t)(s * 100000 + t * 10 + gen);
        break;
    case 2:
        v->u = (uint64_t)(s * 100000 + t * 10 + gen) << 20;
        break;
    case 3:
        v->b = ((s + t + gen) & 1) != 0;
        break;
    default:
        snprintf(sbuf, 32, "s%d-t%d-g%u", s, t, gen);
        v->s = sv_cstr(sbuf);
        break;
    }
}

static struct tsdb *open_store(const char *sub, bool repair, uint64_t seg_bytes, struct err *e,
                               int *rc)
{
    static char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, sub);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    o.repair = repair;
    if (seg_bytes)
        o.wal_segment_bytes = seg_bytes;
    struct tsdb *db = NULL;
    *rc = tsdb_open(&o, &db, e);
    return db;
}

static struct tsdb *open_ok(const char *sub, uint64_t seg_bytes)
{
    struct err e;
    int rc;
    struct tsdb *db = open_store(sub, false, seg_bytes, &e, &rc);
    if (rc)
        fail_msg("open %s: %s", sub, e.msg);
    return db;
}

static void mkdb(struct tsdb *db, int64_t dur_ns)
{
    struct tsdb_rp_opts rp = { .duration_ns = dur_ns, .shard_duration_ns = HOUR };
    struct err e;
    if (tsdb_create_database(db, SV_LIT("d"), &rp, &e))
        fail_msg("create: %s", e.msg);
}

/* Writes, for every series and t in [t0, t1), the fields in mask as
 * generation gen, as one batch.  Updates m only when the commit succeeds.
 * Returns the commit's result. */
static int put(struct tsdb *db, struct model *m, int t0, int t1, unsigned mask, uint32_t gen)
{
    struct tsdb_batch *b = NULL;
    struct err e;
    int rc = tsdb_batch_new(db, SV_LIT("d"), SV_NULL, g_now, &b, &e);
    if (rc)
        return rc;
    char key[8], sbuf[32];
    for (int s = 0; s < NS; s++)
        for (int t = t0; t < t1; t++) {
            snprintf(key, sizeof key, "k%d", s);
            struct tsdb_tag tag = { SV_LIT("s"), sv_cstr(key) };
            struct tsdb_field fs[NF];
            size_t nf = 0;
            for (int f = 0; f < NF; f++) {
                /* n on even rows, s on every third: sparse columns. */
                if (!(mask & (1u << f)) || (f == 1 && t % 2) || (f == 4 && t % 3))
                    continue;
                fs[nf].key = sv_cstr(fkeys[f]);
                fs[nf].type = f == 0 ? TSDB_FLOAT
                              : f == 1 ? TSDB_INT
                              : f == 2 ? TSDB_UINT
                              : f == 3 ? TSDB_BOOL
                                       : TSDB_STRING;
                value_of(s, f, t, gen, &fs[nf].v, sbuf);
                nf++;
                if (f == 4) {
                    /* the string view must outlive tsdb_batch_add only */
                }
            }
            if (!nf)
                continue;
            struct tsdb_point p = { SV_LIT("m"), &tag, 1, fs, nf, BASE + t * STEP };
            if (tsdb_batch_add(b, NULL, &p, &e))
                fail_msg("add: %s", e.msg);
        }
    rc = tsdb_batch_commit(b, &e);
    tsdb_batch_free(&b);
    if (rc)
        return rc;
    for (int s = 0; s < NS; s++)
        for (int t = t0; t < t1; t++)
            for (int f = 0; f < NF; f++) {
                if (!(mask & (1u << f)) || (f == 1 && t % 2) || (f == 4 && t % 3))
                    continue;
                m->has[s][f][t] = true;
                m->gen[s][f][t] = gen;
            }
    return 0;
}

struct check {
    const struct model *m;
    uint8_t seen[NS][NF][NT];
    int64_t lo, hi;
};

static int check_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                    const struct tsdb_field_points *fp)
{
    struct check *c = arg;
    int s = si->tags[0].value.p[1] - '0';
    assert_true(s >= 0 && s < NS);
    for (size_t i = 0; i < nf; i++) {
        int f = -1;
        for (int k = 0; k < NF; k++)
            if (sv_eq(fp[i].key, sv_cstr(fkeys[k])))
                f = k;
        assert_true(f >= 0);
        for (size_t j = 0; j < fp[i].n; j++) {
            int64_t ts = fp[i].ts_ns[j];
            assert_true(ts >= c->lo && ts <= c->hi);
            if (j)
                assert_true(ts > fp[i].ts_ns[j - 1]);
            assert_true((ts - BASE) % STEP == 0);
            int t = (int)((ts - BASE) / STEP);
            assert_true(t >= 0 && t < NT);
            if (!c->m->has[s][f][t])
                fail_msg("unexpected s=%d f=%s t=%d", s, fkeys[f], t);
            union tsdb_value want;
            char sbuf[32];
            value_of(s, f, t, c->m->gen[s][f][t], &want, sbuf);
            const union tsdb_value *got = &fp[i].values[j];
            switch (f) {
            case 0:
                if (memcmp(&got->f, &want.f, 8))
                    fail_msg("s=%d v t=%d: %g, want %g (gen %u)", s, t, got->f, want.f,
                             c->m->gen[s][f][t]);
                break;
            case 1:
                assert_int_equal(got->i, want.i);
                break;
            case 2:
                assert_int_equal(got->u, want.u);
                break;
            case 3:
                assert_int_equal(got->b, want.b);
                break;
            default:
                assert_true(sv_eq(got->s, want.s));
                break;
            }
            c->seen[s][f][t]++;
        }
    }
    return 0;
}

/* Scans [lo, hi] of snapshot sn (NULL = a new one) and checks every
 * expected value is there exactly once. */
static void check_snap(struct tsdb *db, struct tsdb_snapshot *sn, const struct model *m,
                       int64_t lo, int64_t hi)
{
    struct check *c = calloc(1, sizeof *c);
    c->m = m;
    c->lo = lo;
    c->hi = hi;
    struct tsdb_snapshot *own = sn ? NULL : tsdb_snapshot_new(db);
    struct err e;
    int rc = tsdb_snapshot_scan(sn ? sn : own, SV_LIT("d"), SV_NULL, SV_LIT("m"), lo, hi,
                                check_cb, c, &e);
    tsdb_snapshot_free(&own);
    if (rc)
        fail_msg("scan: %s", e.msg);
    for (int s = 0; s < NS; s++)
        for (int f = 0; f < NF; f++)
            for (int t = 0; t < NT; t++) {
                int64_t ts = BASE + t * STEP;
                int want = m->has[s][f][t] && ts >= lo && ts <= hi;
                if (c->seen[s][f][t] != want)
                    fail_msg("s=%d f=%s t=%d seen %d times, want %d", s, fkeys[f], t,
                             c->seen[s][f][t], want);
            }
    free(c);
}

__attribute__((unused)) static void check_range(struct tsdb *db, const struct model *m, int64_t lo, int64_t hi)
{
    check_snap(db, NULL, m, lo, hi);
}

__attribute__((unused)) static void check_all(struct tsdb *db, const struct model *m)
{
    check_range(db, m, INT64_MIN, INT64_MAX);
}

__attribute__((unused)) static void flush_ok(struct tsdb *db)
{
    struct err e;
    if (tsdb_flush(db, &e))
        fail_msg("flush: %s", e.msg);
}

/* With TSDB_PART_SEEDS=<dir>, writes fuzz seeds for tests/fuzz/tsdb_part_read.c:
 * the mode byte, then the file. */
static void save_seed(const char *name, uint8_t mode, const void *p, size_t n)
{
    const char *dir = getenv("TSDB_PART_SEEDS");
    if (!dir || !*dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(&mode, 1, 1, f), 1);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void save_seed_file(const char *name, uint8_t mode, const char *path)
{
    struct buf b;
    buf_init(&b, 0);
    struct err e;
    if (tsdb__f_read_all(path, &b, &e) == 0)
        save_seed(name, mode, b.p, b.len);
    buf_fini(&b);
}

/* ---- part files ------------------------------------------------------------- */

struct rt {
    size_t cols;
    uint64_t sum_u;
    size_t strs;
    double fsum;
    const int64_t *ts0;
};

__attribute__((unused)) static int rt_cb(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    struct rt *r = arg;
    r->cols++;
    (void)nrows;
    r->ts0 = ts;
    size_t k = 0;
    for (size_t i = 0; i < nrows; i++) {
        if (col->present && !col->present[i])
            continue;
        if (col->type == TSDB_UINT)
            r->sum_u += col->vals[k].u;
        if (col->type == TSDB_FLOAT)
            r->fsum += col->vals[k].f;
        if (col->type == TSDB_STRING) {
            char want[32];
            snprintf(want, sizeof want, "str%" PRId64, ts[i]);
            assert_true(sv_eq(col->vals[k].s, sv_cstr(want)));
            r->strs++;
        }
        k++;
    }
    assert_int_equal(k, col->count);
    if (col->type == TSDB_FLOAT) {
        assert_true(col->has_stats);
        assert_int_equal(col->fs.count, col->count);
    }
    return 0;
}

__attribute__((unused)) static void test_part_roundtrip(void **state)
{
    (void)state;
    enum { N = 2500 };
    int64_t *ts = malloc(N * sizeof *ts);
    uint64_t *fv = malloc(N * 8), *uv = malloc(N * 8);
    uint8_t *pres = malloc(N);
    struct sv *sv = calloc(N, sizeof *sv);
    char (*sb)[32] = malloc(N * 32);
    double fsum = 0;
    uint64_t usum = 0;
    size_t nstr = 0;
    for (int i = 0; i < N; i++) {
        ts[i] = 1000 + i * 10 + (i % 7 == 0);
        double d = i * 0.5;
        memcpy(&fv[i], &d, 8);
        fsum += d;
        uv[i] = (uint64_t)i * 3;
        usum += uv[i];
        pres[i] = i % 5 == 0;
        snprintf(sb[i], 32, "str%" PRId64, ts[i]);
        sv[i] = sv_cstr(sb[i]);
        nstr += pres[i];
    }
    struct tsdb__pcol cols[3] = {
        { SV_LIT("f"), TSDB_FLOAT, NULL, fv, NULL },
        { SV_LIT("u"), TSDB_UINT, NULL, uv, NULL },
        { SV_LIT("s"), TSDB_STRING, pres, NULL, sv },
    };
    struct tsdb__pw w;
    struct err e;
    assert_int_equal(tsdb__pw_init(&w), 0);
    assert_int_equal(tsdb__pw_add(&w, 3, ts, N, cols, 3, &e), 0);
    assert_int_equal(tsdb__pw_add(&w, 9, ts, 10, cols, 2, &e), 0);
    assert_int_equal(tsdb__pw_finish(&w, 77, &e), 0);
    save_seed("part-3cols-4blocks", 0, w.out.p, w.out.len);
    save_seed("part-3cols-4blocks-fixcrc", 2, w.out.p, w.out.len);
    struct tsdb__pinfo pi;
    assert_int_equal(tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "x.tsp", &pi, &e), 0);
    assert_int_equal(pi.nents, 3); /* 2048 + 452 rows, then series 9 */
    assert_int_equal(pi.ents[0].nrows, CODEC_BLOCK_MAX);
    assert_int_equal(pi.max_lsn, 77);
    assert_int_equal(pi.rows, N + 10);
    assert_int_equal(pi.ents[0].sid, 3);
    assert_int_equal(pi.ents[2].sid, 9);
    assert_int_equal(pi.ents[0].min_ts, ts[0]);
    assert_int_equal(pi.ents[1].max_ts, ts[N - 1]);
    struct codec_ctx *cc = codec_ctx_new();
    struct tsdb__bscratch *sc = malloc(sizeof *sc);
    struct rt r;
    memset(&r, 0, sizeof r);
    for (size_t b = 0; b < 2; b++) {
        const struct tsdb__bent *be = &pi.ents[b];
        assert_int_equal(tsdb__block_read(cc, sc, (const uint8_t *)w.out.p + be->off, be->len,
                                          "x.tsp", be->off, rt_cb, &r, &e),
                         0);
    }
    assert_int_equal(r.cols, 6);
    assert_int_equal(r.sum_u, usum);
    assert_int_equal(r.strs, nstr);
    assert_true(r.fsum == fsum);
    /* A flipped byte in any block is caught by verify. */
    for (size_t at = TSDB__PART_HDR; at < w.out.len; at += w.out.len / 17) {
        w.out.p[at] ^= 0x40;
        struct tsdb__pinfo bad;
        struct err be;
        assert_int_equal(tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "x.tsp", &bad,
                                           &be),
                         ERR_CORRUPT);
        assert_non_null(strstr(be.msg, "x.tsp: offset "));
        w.out.p[at] ^= 0x40;
    }
    tsdb__pinfo_fini(&pi);
    tsdb__pw_fini(&w);
    codec_ctx_free(cc);
    free(sc);
    free(ts);
    free(fv);
    free(uv);
    free(pres);
    free(sv);
    free(sb);
}

/* Part format 4: per-part field table, columns by number with their body
 * length, implied grid time columns (1 row, 2 rows, 2,048 + more rows,
 * negative times, a step of 2^61 + 3 past the scaled form), coded time
 * columns, short codec blocks, many fields (the writer's hash grows) and
 * one key under two types.  Every value and time comes back exactly from
 * the whole-block reader, the one-column reader and the summary lookup; the
 * streamed writer (tsdb__pw_drain before finish) patches the header; bad
 * bytes are ERR_CORRUPT naming the file and offset. */
struct v4chk {
    const int64_t *ts;
    size_t n, cols;
    uint64_t vsum;
};

static int v4_cb(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    struct v4chk *k = arg;
    assert_int_equal(nrows, k->n);
    assert_memory_equal(ts, k->ts, nrows * sizeof *ts);
    for (size_t i = 0; i < col->count; i++)
        k->vsum += col->type == TSDB_STRING ? col->vals[i].s.n : col->vals[i].u;
    k->cols++;
    return 0;
}

static void fix_v4_crcs(uint8_t *p, size_t len)
{
    uint8_t *f = p + len - TSDB__PART_FOOTER;
    uint64_t ioff = tsdb__le64(f), ilen = tsdb__le64(f + 8);
    tsdb__put_le32(f + 24, tsdb__crc32c(0, p + ioff, ilen));
    tsdb__put_le32(f + 28, tsdb__crc32c(0, f, 28));
}

__attribute__((unused)) static void test_part_v4_layout(void **state)
{
    (void)state;
    enum { NR = 2100, NFLD = 40 };
    static int64_t ts[6][NR];
    static size_t nts[6] = { 1, 2, NR, 3, 700, 5 };
    static uint64_t vals[NFLD][NR];
    static uint8_t pres[NR];
    for (size_t r = 0; r < NR; r++) {
        ts[0][r] = 42;
        ts[1][r] = -5000000000LL + (int64_t)r * 7; /* negative, odd step */
        ts[2][r] = 1700000000000000000LL + (int64_t)r * 10000000000LL;
        ts[3][r] = (int64_t)((uint64_t)(INT64_MIN + 5) + (uint64_t)r * ((1ull << 61) + 3));
        ts[4][r] = 1000 + (int64_t)r * 10 + (r % 7 == 0); /* jitter: coded */
        ts[5][r] = (int64_t)r * 1000000000LL;
        pres[r] = r % 3 != 1;
        for (int f = 0; f < NFLD; f++)
            vals[f][r] = (uint64_t)(r * 31 + (size_t)f * 7) % 1000;
    }
    /* 40 float fields f0..f39, plus "f" as float and as int in two series,
     * and a sparse string */
    static char names[NFLD][8];
    struct tsdb__pcol cols[NFLD + 1];
    for (int f = 0; f < NFLD; f++) {
        snprintf(names[f], sizeof names[f], "f%d", f);
        for (size_t r = 0; r < NR; r++) {
            double d = (double)vals[f][r] / 10;
            memcpy(&vals[f][r], &d, 8);
        }
        cols[f] = (struct tsdb__pcol){ sv_cstr(names[f]), TSDB_FLOAT, NULL, vals[f], NULL };
    }
    static struct sv strs[NR];
    for (size_t r = 0; r < NR; r++)
        strs[r] = pres[r] ? SV_LIT("abc") : SV_LIT("");
    struct tsdb__pcol fcol = { SV_LIT("f"), TSDB_FLOAT, NULL, vals[0], NULL };
    struct tsdb__pcol icol = { SV_LIT("f"), TSDB_INT, pres, vals[1], NULL };
    struct tsdb__pcol scol = { SV_LIT("s"), TSDB_STRING, pres, NULL, strs };

    char path[600];
    snprintf(path, sizeof path, "%s/v4-stream.tsp", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    for (int streamed = 0; streamed < 2; streamed++) {
        struct tsdb__pw w;
        struct err e;
        struct tsdb__fio fio;
        memset(&fio, 0, sizeof fio);
        int fd = -1;
        if (streamed) {
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
            assert_true(fd >= 0);
        }
        assert_int_equal(tsdb__pw_init(&w), 0);
        for (int sr = 0; sr < 6; sr++) {
            struct tsdb__pcol c[3] = { sr == 3 ? icol : fcol, scol, cols[sr] };
            size_t nc = 3;
            if (sr == 2) { /* every field */
                assert_int_equal(tsdb__pw_add(&w, 10 + (uint64_t)sr, ts[sr], nts[sr], cols,
                                              NFLD, &e),
                                 0);
            } else {
                assert_int_equal(tsdb__pw_add(&w, 10 + (uint64_t)sr, ts[sr], nts[sr], c, nc, &e),
                                 0);
            }
            if (streamed)
                assert_int_equal(tsdb__pw_drain(&w, &fio, fd, "v4", &e), 0);
        }
        assert_int_equal(tsdb__pw_finish(&w, 9, &e), 0);
        struct buf img;
        buf_init(&img, 0);
        if (streamed) {
            assert_true(w.hdr_pending);
            assert_int_equal(tsdb__pw_drain(&w, &fio, fd, "v4", &e), 0);
            close(fd);
            assert_int_equal(tsdb__f_read_all(path, &img, &e), 0);
            unlink(path);
        } else {
            assert_int_equal(buf_append(&img, w.out.p, w.out.len), 0);
            save_seed("part-v4-grid-fields", 0, img.p, img.len);
            save_seed("part-v4-grid-fields-fixcrc", 2, img.p, img.len);
        }
        uint8_t *p = (uint8_t *)img.p;
        size_t len = img.len;
        assert_int_equal(tsdb__le32(p + 4), 4);
        struct tsdb__pinfo pi;
        int vrc = tsdb__part_verify(p, len, "v4.tsp", &pi, &e);
        if (vrc)
            fprintf(stderr, "verify (streamed %d): %s\n", streamed, e.msg);
        assert_int_equal(vrc, 0);
        assert_int_equal(pi.nents, 7); /* 1, 1, 2 (2048 + 52), 1, 1, 1 */
        assert_int_equal(pi.max_lsn, 9);
        struct codec_ctx *cc = codec_ctx_new();
        struct tsdb__bscratch *sc = malloc(sizeof *sc);
        for (size_t b = 0; b < pi.nents; b++) {
            const struct tsdb__bent *be = &pi.ents[b];
            int sr = (int)(be->sid - 10);
            size_t r0 = b == 3 ? CODEC_BLOCK_MAX : 0;
            struct v4chk k = { ts[sr] + r0, be->nrows, 0, 0 };
            assert_int_equal(be->min_ts, ts[sr][r0]);
            assert_int_equal(be->max_ts, ts[sr][r0 + be->nrows - 1]);
            const uint8_t *blk = p + be->off;
            assert_int_equal(tsdb__block_read(cc, sc, blk, be->len, "v4.tsp", be->off, v4_cb, &k,
                                              &e),
                             0);
            size_t want_cols = sr == 2 ? NFLD : 3;
            assert_int_equal(k.cols, want_cols);
            /* each column alone: same values, summary by lookup */
            uint64_t sum1 = 0;
            for (size_t c = 0; c < want_cols; c++) {
                struct sv key = sr == 2 ? cols[c].key
                                        : (c == 0 ? SV_LIT("f") : c == 1 ? SV_LIT("s")
                                                                         : cols[sr].key);
                struct v4chk k1 = { ts[sr] + r0, be->nrows, 0, 0 };
                assert_int_equal(tsdb__block_read_only(cc, sc, blk, be->len, "v4.tsp", be->off,
                                                       key, v4_cb, &k1, &e),
                                 0);
                assert_int_equal(k1.cols, 1);
                sum1 += k1.vsum;
                struct tsdb__bcol col;
                assert_int_equal(
                    tsdb__block_col_summary(blk, be->len, key, &col, "v4.tsp", be->off, &e), 1);
                assert_true(sv_eq(col.key, key));
            }
            assert_int_equal(sum1, k.vsum);
            struct tsdb__bcol col;
            assert_int_equal(tsdb__block_col_summary(blk, be->len, SV_LIT("nope"), &col, "v4.tsp",
                                                     be->off, &e),
                             0);
        }
        /* bad bytes: the header's index offset, a field type, a field
         * offset, a block byte; each names the file and offset */
        uint8_t *f = p + len - TSDB__PART_FOOTER;
        uint64_t ioff = tsdb__le64(f);
        struct tsdb__pinfo bad;
        p[8] ^= 1;
        assert_int_equal(tsdb__part_verify(p, len, "v4.tsp", &bad, &e), ERR_CORRUPT);
        assert_non_null(strstr(e.msg, "v4.tsp: offset 8: part header disagrees"));
        p[8] ^= 1;
        uint64_t fe0 = ioff + tsdb__le32(p + ioff + 12);
        p[fe0] = 9;
        fix_v4_crcs(p, len);
        assert_int_equal(tsdb__part_verify(p, len, "v4.tsp", &bad, &e), ERR_CORRUPT);
        char want[96];
        snprintf(want, sizeof want, "v4.tsp: offset %" PRIu64 ": bad field type", fe0);
        assert_non_null(strstr(e.msg, want));
        p[fe0] = TSDB_FLOAT;
        p[ioff + 16] ^= 1; /* second field's offset */
        fix_v4_crcs(p, len);
        assert_int_equal(tsdb__part_verify(p, len, "v4.tsp", &bad, &e), ERR_CORRUPT);
        assert_non_null(strstr(e.msg, "bad field table offset"));
        p[ioff + 16] ^= 1;
        tsdb__put_le32(p + ioff, 0x7fffffff); /* field count */
        fix_v4_crcs(p, len);
        assert_int_equal(tsdb__part_verify(p, len, "v4.tsp", &bad, &e), ERR_CORRUPT);
        assert_non_null(strstr(e.msg, "bad field count"));
        tsdb__put_le32(p + ioff, (uint32_t)w.nfields);
        fix_v4_crcs(p, len);
        assert_int_equal(tsdb__part_verify(p, len, "v4.tsp", &bad, &e), 0);
        tsdb__pinfo_fini(&bad);
        /* a flipped block byte fails the block's (series-seeded) CRC */
        const struct tsdb__bent *b0 = &pi.ents[0];
        p[b0->off + 1] ^= 0x10;
        assert_int_equal(tsdb__part_verify(p, len, "v4.tsp", &bad, &e), ERR_CORRUPT);
        snprintf(want, sizeof want, "v4.tsp: offset %" PRIu64 ": block checksum mismatch",
                 b0->off);
        assert_non_null(strstr(e.msg, want));
        p[b0->off + 1] ^= 0x10;
        /* a column naming a field past the table, under a good CRC: the
         * block readers say which column */
        uint8_t sb[8];
        tsdb__put_le64(sb, b0->sid);
        uint8_t keep = p[b0->off + 3];
        assert_int_equal(keep >> 1, 0); /* series 10, one row: "f" is field 0 */
        p[b0->off + 3] = 0x7e;
        tsdb__put_le32(p + b0->off + b0->len - 4,
                       tsdb__crc32c(tsdb__crc32c(0, sb, 8), p + b0->off, b0->len - 4));
        assert_int_equal(tsdb__part_verify(p, len, "v4.tsp", &bad, &e), 0);
        tsdb__pinfo_fini(&bad);
        struct v4chk k0 = { ts[0], 1, 0, 0 };
        assert_int_equal(tsdb__block_read(cc, sc, p + b0->off, b0->len, "v4.tsp", b0->off, v4_cb,
                                          &k0, &e),
                         ERR_CORRUPT);
        snprintf(want, sizeof want, "v4.tsp: offset %" PRIu64 ": bad column header", b0->off + 3);
        assert_non_null(strstr(e.msg, want));
        struct tsdb__bcol c0;
        assert_int_equal(tsdb__block_col_summary(p + b0->off, b0->len, SV_LIT("f"), &c0, "v4.tsp",
                                                 b0->off, &e),
                         ERR_CORRUPT);
        assert_non_null(strstr(e.msg, "v4.tsp: offset "));
        p[b0->off + 3] = keep;
        assert_int_equal(w.nfields, NFLD + 3); /* f0..f39, f (float), s, f (int) */
        free(sc);
        codec_ctx_free(cc);
        tsdb__pinfo_fini(&pi);
        buf_fini(&img);
        tsdb__pw_fini(&w);
    }
}

/* A part rewritten by a delete keeps its layout: tsdb__pw_init_like gives
 * a writer of the part's version (3 and 4 here) and, in version 4, its
 * field table and time base, so blocks copied byte for byte (as delete.c's
 * pw_copy_block does) read back next to newly encoded ones. */
__attribute__((unused)) static void test_part_init_like(void **state)
{
    (void)state;
    enum { N = 300 };
    static int64_t ts[N];
    static uint64_t a[N], b[N];
    for (int i = 0; i < N; i++) {
        ts[i] = 2000000000000LL + i * 5000000000LL;
        a[i] = (uint64_t)i;
        b[i] = (uint64_t)(i * i);
    }
    struct tsdb__pcol ca[2] = { { SV_LIT("a"), TSDB_UINT, NULL, a, NULL },
                                { SV_LIT("b"), TSDB_INT, NULL, b, NULL } };
    struct tsdb__pcol cn = { SV_LIT("new"), TSDB_UINT, NULL, b, NULL };
    char path[600];
    snprintf(path, sizeof path, "%s/like.tsp", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    for (uint32_t ver = 3; ver <= 4; ver++) {
        struct tsdb__pw w;
        struct err e;
        assert_int_equal(tsdb__pw_init_version(&w, ver), 0);
        assert_int_equal(tsdb__pw_add(&w, 1, ts, N, ca, 2, &e), 0);
        assert_int_equal(tsdb__pw_add(&w, 2, ts + 7, 100, ca + 1, 1, &e), 0);
        assert_int_equal(tsdb__pw_finish(&w, 3, &e), 0);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(w.out.p, 1, w.out.len, f), w.out.len);
        fclose(f);
        tsdb__pw_fini(&w);
        struct tsdb__part *pt = NULL;
        assert_int_equal(tsdb__part_open(path, "like.tsp", &pt, &e), 0);
        unlink(path);
        /* the replacement: block 0 (series 1) copied byte for byte, series
         * 2 re-encoded with 50 of its rows and a field the part lacked */
        struct tsdb__pw r;
        assert_int_equal(tsdb__pw_init_like(&r, pt), 0);
        assert_int_equal(r.version, ver);
        if (ver == 4) {
            assert_int_equal(r.nfields, 2);
            assert_true(r.has_base);
            assert_int_equal(r.base_ts, ts[0]);
        }
        const struct tsdb__bent *be = &pt->info.ents[0];
        assert_int_equal(buf_append(&r.out, pt->map + be->off, be->len), 0);
        assert_int_equal(tsdb__put_uvarint(&r.idx, be->sid), 0);
        assert_int_equal(tsdb__put_u64(&r.idx, (uint64_t)be->min_ts), 0);
        assert_int_equal(tsdb__put_u64(&r.idx, (uint64_t)be->max_ts), 0);
        assert_int_equal(tsdb__put_uvarint(&r.idx, be->off), 0);
        assert_int_equal(tsdb__put_uvarint(&r.idx, be->len), 0);
        assert_int_equal(tsdb__put_uvarint(&r.idx, be->nrows), 0);
        r.nblocks++;
        r.rows += be->nrows;
        struct tsdb__pcol c2[2] = { ca[1], cn };
        assert_int_equal(tsdb__pw_add(&r, 2, ts + 7, 50, c2, 2, &e), 0);
        assert_int_equal(tsdb__pw_finish(&r, 3, &e), 0);
        struct tsdb__pinfo pi;
        assert_int_equal(tsdb__part_verify((const uint8_t *)r.out.p, r.out.len, "r.tsp", &pi, &e),
                         0);
        assert_int_equal(tsdb__le32((const uint8_t *)r.out.p + 4), ver);
        assert_int_equal(pi.nents, 2);
        struct codec_ctx *cc = codec_ctx_new();
        struct tsdb__bscratch *sc = malloc(sizeof *sc);
        struct v4chk k0 = { ts, N, 0, 0 }, k1 = { ts + 7, 50, 0, 0 };
        assert_int_equal(tsdb__block_read(cc, sc, (const uint8_t *)r.out.p + pi.ents[0].off,
                                          pi.ents[0].len, "r.tsp", pi.ents[0].off, v4_cb, &k0,
                                          &e),
                         0);
        assert_int_equal(tsdb__block_read(cc, sc, (const uint8_t *)r.out.p + pi.ents[1].off,
                                          pi.ents[1].len, "r.tsp", pi.ents[1].off, v4_cb, &k1,
                                          &e),
                         0);
        uint64_t want0 = 0, want1 = 0;
        for (int i = 0; i < N; i++)
            want0 += a[i] + b[i];
        for (int i = 0; i < 50; i++) /* the columns' arrays start at row 0 */
            want1 += 2 * b[i];
        assert_int_equal(k0.cols, 2);
        assert_int_equal(k0.vsum, want0);
        assert_int_equal(k1.cols, 2);
        assert_int_equal(k1.vsum, want1);
        if (ver == 4)
            assert_int_equal(r.nfields, 3); /* a, b, new */
        free(sc);
        codec_ctx_free(cc);
        tsdb__pinfo_fini(&pi);
        tsdb__pw_fini(&r);
        tsdb__part_unref(pt);
    }
}

/* Block summaries come back bit for bit, in the version-3 compact forms
 * (decimal mantissas, integers relative to first) and the raw ones, from
 * both the block reader and tsdb__block_col_summary: decimal columns,
 * columns with NaN payloads, -0.0, +-Inf, denormals, full-precision values,
 * INT64_MIN/MAX with an overflowing sum, UINT64_MAX; 1 and 2,048 rows; also
 * through the version-2 writer. */
struct sumchk {
    const double *f;
    const int64_t *i;
    const uint64_t *u;
    size_t n;
    unsigned seen;
};

static void fstats_equal(const struct codec_fstats *a, const struct codec_fstats *b)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->nan_count, b->nan_count);
    assert_memory_equal(&a->min, &b->min, 8);
    assert_memory_equal(&a->max, &b->max, 8);
    assert_memory_equal(&a->sum, &b->sum, 8);
    assert_memory_equal(&a->first, &b->first, 8);
    assert_memory_equal(&a->last, &b->last, 8);
}

static void check_col_stats(const struct sumchk *k, const struct tsdb__bcol *col)
{
    if (col->type == TSDB_FLOAT) {
        struct codec_fstats want;
        codec_fstats_compute(k->f, k->n, &want);
        fstats_equal(&col->fs, &want);
    } else if (col->type == TSDB_INT) {
        struct codec_istats want;
        codec_istats_compute(k->i, k->n, &want);
        assert_int_equal(col->is.count, want.count);
        assert_int_equal(col->is.is_sum_overflow, want.is_sum_overflow);
        assert_int_equal(col->is.min, want.min);
        assert_int_equal(col->is.max, want.max);
        assert_int_equal(col->is.sum, want.sum);
        assert_int_equal(col->is.first, want.first);
        assert_int_equal(col->is.last, want.last);
    } else {
        struct codec_ustats want;
        codec_ustats_compute(k->u, k->n, &want);
        assert_int_equal(col->us.count, want.count);
        assert_int_equal(col->us.is_sum_overflow, want.is_sum_overflow);
        assert_int_equal(col->us.min, want.min);
        assert_int_equal(col->us.max, want.max);
        assert_int_equal(col->us.sum, want.sum);
        assert_int_equal(col->us.first, want.first);
        assert_int_equal(col->us.last, want.last);
    }
}

static int sumchk_cb(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    (void)ts;
    (void)nrows;
    struct sumchk *k = arg;
    assert_true(col->has_stats);
    check_col_stats(k, col);
    k->seen++;
    return 0;
}

__attribute__((unused)) static void test_summary_exact(void **state)
{
    (void)state;
    enum { N = CODEC_BLOCK_MAX };
    static int64_t ts[N], iv[N];
    static uint64_t fb[N], uv[N];
    static double fv[N];
    static const uint64_t odd[] = { 0x7ff8000000000001ull, 0xfff0000000000000ull,
                                    0x7ff0000000000000ull, 0x8000000000000000ull,
                                    0x0000000000000001ull, 0x3fd5555555555555ull };
    uint64_t rs = 99;
    for (unsigned shape = 0; shape < 14; shape++) {
        size_t n = shape % 3 == 0 ? 1 : N;
        for (size_t r = 0; r < n; r++) {
            rs = rs * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t x = rs >> 11;
            ts[r] = 1000 + (int64_t)r * 10;
            switch (shape % 7) {
            case 0: /* 2-decimal gauge: compact decimal summary */
            case 1:
                fv[r] = (double)(400 + (int64_t)(x % 60)) / 100.0;
                break;
            case 2: /* decimals with negatives and 1e15-sized values */
                fv[r] = (double)((int64_t)(x % 2000000) - 1000000) * (shape > 7 ? 1e9 : 1) / 10.0;
                break;
            case 3: /* one odd bit pattern among decimals */
                fv[r] = (double)(x % 1000) / 1000.0;
                if (r == n / 2 || n == 1)
                    memcpy(&fv[r], &odd[shape / 7 + 2 * (r % 3)], 8);
                break;
            case 4: /* full precision */
                fv[r] = (double)x * 0x1p-53 * 100.0;
                break;
            case 5: /* denormals and -0.0 */
                memcpy(&fv[r], &(uint64_t){ x % 3 ? x % 1000 : 0x8000000000000000ull }, 8);
                break;
            default: /* NaN first and last */
                fv[r] = (double)(x % 100);
                if (r == 0 || r == n - 1)
                    memcpy(&fv[r], &odd[0], 8);
                break;
            }
            memcpy(&fb[r], &fv[r], 8);
            static const int64_t iext[] = { INT64_MIN, INT64_MAX, 0, -1 };
            iv[r] = shape & 1 ? iext[x % 4] : (int64_t)(x % 100000) - 50000;
            uv[r] = shape & 1 ? (x % 2 ? UINT64_MAX : 0) : x;
        }
        struct tsdb__pcol cols[3] = {
            { SV_LIT("f"), TSDB_FLOAT, NULL, fb, NULL },
            { SV_LIT("i"), TSDB_INT, NULL, (const uint64_t *)iv, NULL },
            { SV_LIT("u"), TSDB_UINT, NULL, uv, NULL },
        };
        for (uint32_t ver = 2; ver <= TSDB__PART_VERSION; ver++) {
            struct tsdb__pw w;
            struct err e;
            assert_int_equal(tsdb__pw_init_version(&w, ver), 0);
            assert_int_equal(tsdb__pw_add(&w, 5, ts, n, cols, 3, &e), 0);
            assert_int_equal(tsdb__pw_finish(&w, 1, &e), 0);
            struct tsdb__pinfo pi;
            assert_int_equal(
                tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "s.tsp", &pi, &e), 0);
            assert_int_equal(pi.nents, 1);
            const struct tsdb__bent *be = &pi.ents[0];
            const uint8_t *blk = (const uint8_t *)w.out.p + be->off;
            struct sumchk k = { fv, iv, uv, n, 0 };
            struct codec_ctx *cc = codec_ctx_new();
            struct tsdb__bscratch *sc = malloc(sizeof *sc);
            assert_int_equal(tsdb__block_read(cc, sc, blk, be->len, "s.tsp", be->off, sumchk_cb,
                                              &k, &e),
                             0);
            assert_int_equal(k.seen, 3);
            static const char *const keys[] = { "f", "i", "u" };
            for (int c = 0; c < 3; c++) {
                struct tsdb__bcol col;
                assert_int_equal(tsdb__block_col_summary(blk, be->len, sv_cstr(keys[c]), &col,
                                                         "s.tsp", be->off, &e),
                                 1);
                check_col_stats(&k, &col);
            }
            free(sc);
            codec_ctx_free(cc);
            tsdb__pinfo_fini(&pi);
            tsdb__pw_fini(&w);
        }
    }
}

/* Version-1 parts (blocks of at most 1,024 rows, as written before version 2)
 * still read; a version-1 part holding a longer block is corrupt. */
static void set_part_version(struct buf *b, uint32_t v)
{
    for (int k = 0; k < 4; k++) {
        b->p[4 + k] = (char)(v >> (8 * k));
        b->p[b->len - 4 + k] = (char)(v >> (8 * k));
    }
}

__attribute__((unused)) static void test_part_v1_blocks(void **state)
{
    (void)state;
    enum { N = 2100 };
    int64_t *ts = malloc(N * sizeof *ts);
    uint64_t *iv = malloc(N * 8);
    uint64_t isum = 0;
    for (int i = 0; i < N; i++) {
        ts[i] = 5000 + i * 10;
        iv[i] = (uint64_t)(i % 13);
        isum += iv[i];
    }
    struct tsdb__pcol col = { SV_LIT("i"), TSDB_UINT, NULL, iv, NULL };
    struct err e;
    /* A version-1 writer's layout (that of version 2): the series cut into
     * 1,024-row blocks. */
    struct tsdb__pw w;
    assert_int_equal(tsdb__pw_init_version(&w, 2), 0);
    for (size_t r0 = 0; r0 < N; r0 += 1024) {
        size_t m = N - r0 < 1024 ? N - r0 : 1024;
        struct tsdb__pcol c = col;
        c.u = iv + r0;
        assert_int_equal(tsdb__pw_add(&w, 4, ts + r0, m, &c, 1, &e), 0);
    }
    assert_int_equal(tsdb__pw_finish(&w, 5, &e), 0);
    assert_int_equal(tsdb__le32((const uint8_t *)w.out.p + 4), 2);
    set_part_version(&w.out, 1);
    struct tsdb__pinfo pi;
    assert_int_equal(tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "v1.tsp", &pi, &e), 0);
    assert_int_equal(pi.nents, 3); /* 1024 + 1024 + 52 */
    assert_int_equal(pi.rows, N);
    struct codec_ctx *cc = codec_ctx_new();
    struct tsdb__bscratch *sc = malloc(sizeof *sc);
    struct rt r;
    memset(&r, 0, sizeof r);
    for (size_t b = 0; b < pi.nents; b++) {
        const struct tsdb__bent *be = &pi.ents[b];
        assert_int_equal(be->nrows, b < 2 ? 1024 : N - 2048);
        assert_int_equal(tsdb__block_read(cc, sc, (const uint8_t *)w.out.p + be->off, be->len,
                                          "v1.tsp", be->off, rt_cb, &r, &e),
                         0);
    }
    assert_int_equal(r.cols, 3);
    assert_int_equal(r.sum_u, isum);
    tsdb__pinfo_fini(&pi);
    tsdb__pw_fini(&w);

    /* A version-2 writer: one 2,048-row block, fine as version 2, corrupt as 1. */
    assert_int_equal(tsdb__pw_init_version(&w, 2), 0);
    assert_int_equal(tsdb__pw_add(&w, 4, ts, N, &col, 1, &e), 0);
    assert_int_equal(tsdb__pw_finish(&w, 5, &e), 0);
    assert_int_equal(tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "v2.tsp", &pi, &e), 0);
    assert_int_equal(pi.nents, 2);
    assert_int_equal(pi.ents[0].nrows, 2048);
    tsdb__pinfo_fini(&pi);
    set_part_version(&w.out, 1);
    assert_int_equal(tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "v2.tsp", &pi, &e),
                     ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "bad block index entry"));
    set_part_version(&w.out, TSDB__PART_VERSION + 1); /* a future version is refused */
    assert_int_equal(tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "v2.tsp", &pi, &e),
                     ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "bad part header"));
    tsdb__pw_fini(&w);
    codec_ctx_free(cc);
    free(sc);
    free(ts);
    free(iv);
}

struct lscheck {
    size_t rows;
    const char *sb;
};

static int ls_cb(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    struct lscheck *lc = arg;
    assert_int_equal(col->type, TSDB_STRING);
    assert_int_equal(col->count, nrows);
    for (size_t i = 0; i < nrows; i++) {
        size_t row = (size_t)(ts[i] - 100);
        assert_int_equal(row, lc->rows);
        assert_int_equal(col->vals[i].s.n, 3000);
        assert_memory_equal(col->vals[i].s.p, lc->sb + row * 3000, 3000);
        lc->rows++;
    }
    return 0;
}

/* Long strings: 2,048 rows of 3,000-byte values (6 MiB, past the codec's
 * 4 MiB string block) are cut into smaller blocks instead of failing. */
__attribute__((unused)) static void test_part_long_strings(void **state)
{
    (void)state;
    enum { N = CODEC_BLOCK_MAX, L = 3000 };
    int64_t *ts = malloc(N * sizeof *ts);
    struct sv *sv = calloc(N, sizeof *sv);
    char *sb = malloc((size_t)N * L);
    for (int i = 0; i < N; i++) {
        ts[i] = 100 + i;
        memset(sb + (size_t)i * L, 'a' + i % 26, L);
        sv[i] = (struct sv){ sb + (size_t)i * L, L };
    }
    struct tsdb__pcol col = { SV_LIT("s"), TSDB_STRING, NULL, NULL, sv };
    struct tsdb__pw w;
    struct err e;
    assert_int_equal(tsdb__pw_init(&w), 0);
    if (tsdb__pw_add(&w, 2, ts, N, &col, 1, &e) != 0)
        fail_msg("pw_add: %s", e.msg);
    assert_int_equal(tsdb__pw_finish(&w, 1, &e), 0);
    struct tsdb__pinfo pi;
    assert_int_equal(tsdb__part_verify((const uint8_t *)w.out.p, w.out.len, "s.tsp", &pi, &e), 0);
    assert_int_equal(pi.rows, N);
    assert_true(pi.nents >= 3);
    struct codec_ctx *cc = codec_ctx_new();
    struct tsdb__bscratch *sc = malloc(sizeof *sc);
    struct lscheck lc = { 0, sb };
    size_t rows = 0;
    for (size_t b = 0; b < pi.nents; b++) {
        const struct tsdb__bent *be = &pi.ents[b];
        assert_true(be->nrows * (size_t)L <= CODEC_STR_BLOCK_MAX_BYTES / 2);
        assert_int_equal(be->min_ts, ts[rows]);
        rows += be->nrows;
        assert_int_equal(tsdb__block_read(cc, sc, (const uint8_t *)w.out.p + be->off, be->len,
                                          "s.tsp", be->off, ls_cb, &lc, &e),
                         0);
    }
    assert_int_equal(rows, N);
    assert_int_equal(lc.rows, N);
    tsdb__pinfo_fini(&pi);
    tsdb__pw_fini(&w);
    codec_ctx_free(cc);
    free(sc);
    free(ts);
    free(sv);
    free(sb);
}

/* ---- flush, merge, reopen ------------------------------------------------------ */

__attribute__((unused)) static size_t count_files(const char *sub, const char *suffix)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "find '%s/%s' -name '*%s' | wc -l", tmp_root, sub, suffix);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    assert_non_null(p);
    if (fscanf(p, "%zu", &n) != 1)
        n = 0;
    pclose(p);
    return n;
}

__attribute__((unused)) static void test_flush_merge_reopen(void **state)
{
    (void)state;
    struct model *m = calloc(1, sizeof *m);
    struct tsdb *db = open_ok("merge", 4096);
    mkdb(db, TSDB_DURATION_INF);
    /* gen 1: everything; flush.  gen 2: v and s over an overlapping range,
     * in several batches; flush.  gen 3: n over the middle, head only. */
    for (int t = 0; t < 32; t += 8)
        assert_int_equal(put(db, m, t, t + 8, 0x1f, 1), 0);
    check_all(db, m);
    flush_ok(db);
    check_all(db, m);
    size_t parts1 = count_files("merge", ".tsp");
    assert_true(parts1 >= 5); /* 32 rows of 10 min: 6 one-hour partitions */
    struct tsdb_snapshot *old = tsdb_snapshot_new(db);
    struct model *m1 = malloc(sizeof *m1);
    *m1 = *m;
    for (int t = 16; t < 48; t += 4)
        assert_int_equal(put(db, m, t, t + 4, 0x11, 2), 0);
    check_snap(db, old, m1, INT64_MIN, INT64_MAX);
    flush_ok(db);
    check_all(db, m);
    /* A snapshot from before the second flush still sees exactly gen 1. */
    check_snap(db, old, m1, INT64_MIN, INT64_MAX);
    tsdb_snapshot_free(&old);
    free(m1);
    assert_int_equal(put(db, m, 10, 30, 0x02, 3), 0);
    check_all(db, m);
    check_range(db, m, BASE + 12 * STEP, BASE + 20 * STEP - 1);
    /* Small WAL segments: flushing removed the segments below the checkpoint. */
    size_t wal_before = count_files("merge/wal", ".wal");
    flush_ok(db);
    size_t wal_after = count_files("merge/wal", ".wal");
    assert_true(wal_after < wal_before || wal_before <= 2);
    check_all(db, m);
    tsdb_close(&db);
    db = open_ok("merge", 4096);
    check_all(db, m);
    /* More head data on top of parts, then a crash-like reopen (no flush). */
    assert_int_equal(put(db, m, 0, 48, 0x08, 4), 0);
    tsdb_close(&db);
    db = open_ok("merge", 4096);
    check_all(db, m);
    tsdb_close(&db);
    free(m);
}

/* ---- corruption ------------------------------------------------------------------ */

/* Path of the first part file under sub (relative to tmp_root/sub). */
__attribute__((unused)) static void first_part(const char *sub, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s/%s' && find db -name '*.tsp' | sort | head -1", tmp_root,
             sub);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)cap, p));
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
}

__attribute__((unused)) static void test_corrupt_part(void **state)
{
    (void)state;
    struct model *m = calloc(1, sizeof *m);
    struct tsdb *db = open_ok("corrupt", 0);
    mkdb(db, TSDB_DURATION_INF);
    assert_int_equal(put(db, m, 0, 12, 0x1f, 1), 0);
    flush_ok(db);
    tsdb_close(&db);
    char rel[512], path[1200];
    first_part("corrupt", rel, sizeof rel);
    snprintf(path, sizeof path, "%s/corrupt/%s", tmp_root, rel);
    save_seed_file("part-all-types", 0, path);
    save_seed_file("part-all-types-fixcrc", 2, path);
    {
        char man[1300];
        snprintf(man, sizeof man, "%s", path);
        *strrchr(man, '/') = '\0';
        strcat(man, "/MANIFEST");
        save_seed_file("manifest", 1, man);
        save_seed_file("manifest-fixcrc", 3, man);
    }
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, 40), 1);
    byte ^= 0xff;
    assert_int_equal(pwrite(fd, &byte, 1, 40), 1);
    close(fd);
    struct err e;
    int rc;
    db = open_store("corrupt", false, 0, &e, &rc);
    assert_null(db);
    assert_int_equal(rc, ERR_CORRUPT);
    /* The message names the file and the offset. */
    if (!strstr(e.msg, rel) || !strstr(e.msg, "offset "))
        fail_msg("message does not name %s and an offset: %s", rel, e.msg);
    /* repair quarantines the part and opens; the other parts' rows stay. */
    db = open_store("corrupt", true, 0, &e, &rc);
    if (rc)
        fail_msg("repair open: %s", e.msg);
    char q[1300];
    snprintf(q, sizeof q, "%s.corrupt", path);
    assert_int_equal(access(q, F_OK), 0);
    tsdb_close(&db);
    db = open_ok("corrupt", 0);
    tsdb_close(&db);
    free(m);
}

/* ---- fault injection ---------------------------------------------------------- */

/* For each operation and each n until a flush succeeds without hitting the
 * fault: write, fail the nth call of op inside tsdb_flush, write more,
 * close, reopen and check every acknowledged point exactly once; then flush
 * again and check again. */
__attribute__((unused)) static void test_flush_faults(void **state)
{
    (void)state;
    static const enum tsdb_fault_op ops[] = { TSDB_FAULT_WRITE, TSDB_FAULT_FSYNC,
                                              TSDB_FAULT_RENAME, TSDB_FAULT_OPEN };
    int scenarios = 0;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        for (uint64_t nth = 1; nth < 200; nth++) {
            char sub[64];
            snprintf(sub, sizeof sub, "fault-%zu-%" PRIu64, o, nth);
            struct model *m = calloc(1, sizeof *m);
            struct tsdb *db = open_ok(sub, 0);
            mkdb(db, TSDB_DURATION_INF);
            /* Two partitions: t 0..5 and 6..11. */
            assert_int_equal(put(db, m, 0, 8, 0x1f, 1), 0);
            flush_ok(db); /* an earlier generation on disk */
            assert_int_equal(put(db, m, 4, 12, 0x15, 2), 0);
            tsdb_fault_arm(db, ops[o], nth, false);
            struct err e;
            int rc = tsdb_flush(db, &e);
            tsdb_fault_arm(db, ops[o], 0, false);
            check_all(db, m);
            if (rc != 0)
                assert_int_equal(rc, ERR_IO);
            /* Acknowledged writes after a failed flush are kept too. */
            if (!tsdb_is_failed(db))
                assert_int_equal(put(db, m, 10, 14, 0x03, 3), 0);
            tsdb_close(&db);
            db = open_ok(sub, 0);
            check_all(db, m);
            flush_ok(db);
            check_all(db, m);
            tsdb_close(&db);
            db = open_ok(sub, 0);
            check_all(db, m);
            tsdb_close(&db);
            free(m);
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", tmp_root, sub);
            assert_int_equal(system(cmd), 0);
            scenarios++;
            if (rc == 0)
                break; /* the nth call was past the flush: every step covered */
        }
    }
    assert_true(scenarios > 8);
}

/* ---- retention ------------------------------------------------------------------ */

__attribute__((unused)) static void test_retention(void **state)
{
    (void)state;
    struct model *m = calloc(1, sizeof *m);
    struct tsdb *db = open_ok("ret", 0);
    mkdb(db, 2 * HOUR); /* NT * STEP = 8 h of data in 1 h partitions */
    g_now = BASE;
    assert_int_equal(put(db, m, 0, NT, 0x1f, 1), 0);
    g_now = BASE + NT * STEP;
    flush_ok(db);
    size_t parts = count_files("ret", ".tsp");
    assert_int_equal(parts, 8);
    struct err e;
    /* New head rows, a flush that fails, then retention publishes a newer
     * generation: the rows the failed flush marked must still be read. */
    assert_int_equal(put(db, m, 44, 48, 0x01, 2), 0);
    tsdb_fault_arm(db, TSDB_FAULT_WRITE, 1, false);
    assert_int_equal(tsdb_flush(db, &e), ERR_IO);
    tsdb_fault_arm(db, TSDB_FAULT_WRITE, 0, false);
    /* Clock at 8 h + 30 min: partitions ending at or before 6 h 30 are gone,
     * i.e. hours 0..5; hours 6 and 7 stay. */
    struct tsdb_snapshot *old = tsdb_snapshot_new(db);
    assert_int_equal(tsdb_enforce_retention(db, BASE + 8 * HOUR + 30 * 60 * 1000000000LL, &e), 0);
    /* A snapshot taken before keeps reading its (pinned) parts. */
    check_snap(db, old, m, INT64_MIN, INT64_MAX);
    tsdb_snapshot_free(&old);
    for (int s = 0; s < NS; s++)
        for (int f = 0; f < NF; f++)
            for (int t = 0; t < 36; t++)
                m->has[s][f][t] = false;
    check_all(db, m);
    assert_int_equal(count_files("ret", ".tsp"), 2);
    assert_int_equal(count_files("ret", ".trash-*"), 0);
    tsdb_close(&db);
    /* An interrupted delete (.trash-*) is finished at open. */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/ret/db/1/1/.trash-5' && touch '%s/ret/db/1/1/.trash-5/x'",
             tmp_root, tmp_root);
    assert_int_equal(system(cmd), 0);
    db = open_ok("ret", 0);
    check_all(db, m);
    char tp[1024];
    snprintf(tp, sizeof tp, "%s/ret/db/1/1/.trash-5", tmp_root);
    assert_int_equal(access(tp, F_OK), -1);
    /* Moving the clock further drops the rest (head rows once flushed). */
    flush_ok(db);
    check_all(db, m);
    assert_int_equal(tsdb_enforce_retention(db, BASE + 20 * HOUR, &e), 0);
    memset(m, 0, sizeof *m);
    check_all(db, m);
    tsdb_close(&db);
    free(m);
}

/* ---- flushes while writers commit ------------------------------------------------ */

struct writer {
    struct tsdb *db;
    int id; /* series k<id> */
    int n;  /* points written: t = 0..n-1 */
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char key[8];
    snprintf(key, sizeof key, "w%d", w->id);
    for (int t = 0; t < w->n; t++) {
        struct tsdb_batch *b = NULL;
        struct err e;
        if (tsdb_batch_new(w->db, SV_LIT("d"), SV_NULL, g_now, &b, &e))
            abort();
        struct tsdb_tag tag = { SV_LIT("s"), sv_cstr(key) };
        struct tsdb_field f = { SV_LIT("v"), TSDB_INT, { .i = t } };
        /* Every 4th point rewrites an older time with the same value. */
        int64_t at = t % 4 == 3 ? t - 2 : t;
        f.v.i = at;
        struct tsdb_point p = { SV_LIT("c"), &tag, 1, &f, 1, BASE + at * STEP };
        if (tsdb_batch_add(b, NULL, &p, &e) || tsdb_batch_commit(b, &e))
            abort();
        tsdb_batch_free(&b);
    }
    return NULL;
}

struct wcheck {
    uint8_t seen[2][400];
};

static int wcheck_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                     const struct tsdb_field_points *fp)
{
    struct wcheck *c = arg;
    int w = si->tags[0].value.p[1] - '0';
    assert_true(w >= 0 && w < 2 && nf == 1);
    for (size_t j = 0; j < fp[0].n; j++) {
        int64_t t = (fp[0].ts_ns[j] - BASE) / STEP;
        assert_true(t >= 0 && t < 400);
        assert_int_equal(fp[0].values[j].i, t);
        c->seen[w][t]++;
    }
    return 0;
}

/* Snapshots taken at any moment see each committed point at most once, and
 * after the writers finish exactly once (head + parts across 8 flushes). */
__attribute__((unused)) static void test_flush_concurrent(void **state)
{
    (void)state;
    struct tsdb *db = open_ok("conc", 8192);
    mkdb(db, TSDB_DURATION_INF);
    struct writer w[2] = { { db, 0, 300 }, { db, 1, 300 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    struct wcheck *c = calloc(1, sizeof *c);
    for (int round = 0; round < 8; round++) {
        struct tsdb_snapshot *sn = tsdb_snapshot_new(db);
        flush_ok(db);
        memset(c, 0, sizeof *c);
        struct err e;
        assert_int_equal(tsdb_snapshot_scan(sn, SV_LIT("d"), SV_NULL, SV_LIT("c"), INT64_MIN,
                                            INT64_MAX, wcheck_cb, c, &e),
                         0);
        tsdb_snapshot_free(&sn);
        for (int k = 0; k < 2; k++)
            for (int t = 0; t < 400; t++)
                assert_true(c->seen[k][t] <= 1);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int pass = 0; pass < 2; pass++) {
        memset(c, 0, sizeof *c);
        struct tsdb_snapshot *sn = tsdb_snapshot_new(db);
        struct err e;
        assert_int_equal(tsdb_snapshot_scan(sn, SV_LIT("d"), SV_NULL, SV_LIT("c"), INT64_MIN,
                                            INT64_MAX, wcheck_cb, c, &e),
                         0);
        tsdb_snapshot_free(&sn);
        for (int k = 0; k < 2; k++)
            for (int t = 0; t < 400; t++)
                if (c->seen[k][t] != (t < 300 && t % 4 != 3))
                    fail_msg("writer %d t=%d seen %d", k, t, c->seen[k][t]);
        tsdb_close(&db);
        db = open_ok("conc", 8192); /* and again after recovery */
    }
    tsdb_close(&db);
    free(c);
}

/* ---- summary read path ------------------------------------------------------ */

struct sumacc {
    size_t summaries, points;
    double sum;
    int64_t last_max;
};

__attribute__((unused)) static int sum_cb(void *arg, const struct tsdb_summary *s)
{
    struct sumacc *a = arg;
    assert_int_equal(s->type, TSDB_FLOAT);
    assert_true(s->has_stats);
    a->summaries++;
    a->points += s->count;
    a->sum += s->sum.f;
    return 0;
}

__attribute__((unused)) static int pts_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                  const struct tsdb_field_points *fp)
{
    struct sumacc *a = arg;
    (void)si;
    assert_int_equal(nf, 1);
    assert_true(sv_eq(fp[0].key, SV_LIT("v")));
    for (size_t j = 0; j < fp[0].n; j++) {
        a->points++;
        a->sum += fp[0].values[j].f;
    }
    return 0;
}

__attribute__((unused)) static void put_v(struct tsdb *db, int64_t t0, int64_t t1, double add)
{
    struct tsdb_batch *b = NULL;
    struct err e;
    assert_int_equal(tsdb_batch_new(db, SV_LIT("d"), SV_NULL, g_now, &b, &e), 0);
    for (int64_t t = t0; t < t1; t++) {
        struct tsdb_tag tag = { SV_LIT("s"), SV_LIT("k0") };
        struct tsdb_field f = { SV_LIT("v"), TSDB_FLOAT, { .f = (double)t + add } };
        struct tsdb_field g = { SV_LIT("w"), TSDB_INT, { .i = t } };
        struct tsdb_field fs[2] = { f, g };
        struct tsdb_point p = { SV_LIT("q"), &tag, 1, fs, 2, BASE + t * 1000000000LL };
        assert_int_equal(tsdb_batch_add(b, NULL, &p, &e), 0);
    }
    assert_int_equal(tsdb_batch_commit(b, &e), 0);
    tsdb_batch_free(&b);
}

__attribute__((unused)) static void sum_range(struct tsdb *db, int64_t t0, int64_t t1, struct sumacc *a)
{
    memset(a, 0, sizeof *a);
    struct tsdb_snapshot *sn = tsdb_snapshot_new(db);
    struct err e;
    uint64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(tsdb_postings(db, SV_LIT("d"), SV_NULL, SV_LIT("q"), SV_LIT("s"),
                                   SV_LIT("k0"), &ids, &n, &e),
                     0);
    assert_int_equal(n, 1);
    int rc = tsdb_snapshot_summaries(sn, SV_LIT("d"), SV_NULL, ids[0], SV_LIT("v"),
                                     BASE + t0 * 1000000000LL, BASE + t1 * 1000000000LL - 1,
                                     sum_cb, pts_cb, a, &e);
    if (rc)
        fail_msg("summaries: %s", e.msg);
    free(ids);
    tsdb_snapshot_free(&sn);
}

/* 2.5 blocks of points (3 blocks); the middle block overlapped by newer head
 * values: blocks 1 and 3 answer from summaries, block 2 is decoded and
 * merged, and the totals equal the expected ones exactly. */
__attribute__((unused)) static void test_summaries(void **state)
{
    (void)state;
    struct tsdb *db = open_ok("sum", 0);
    mkdb(db, TSDB_DURATION_INF);
    enum { NP = CODEC_BLOCK_MAX * 5 / 2, MID = CODEC_BLOCK_MAX * 3 / 2 };
    put_v(db, 0, NP, 0.0);
    flush_ok(db);
    put_v(db, MID, MID + 10, 0.5); /* rewrites 10 points of block 2 */
    double want = 0;
    for (int t = 0; t < NP; t++)
        want += t + (t >= MID && t < MID + 10 ? 0.5 : 0.0);
    struct sumacc a;
    sum_range(db, 0, NP, &a);
    assert_int_equal(a.summaries, 2);
    assert_int_equal(a.points, NP);
    assert_true(fabs(a.sum - want) < 1e-6);
    /* A bucket that cuts blocks: everything decoded, only the bucket's points. */
    sum_range(db, 100, 200, &a);
    assert_int_equal(a.summaries, 0);
    assert_int_equal(a.points, 100);
    assert_true(fabs(a.sum - (100 + 199) * 50.0) < 1e-9);
    /* After another flush the rewritten values sit in a newer part. */
    flush_ok(db);
    sum_range(db, 0, NP, &a);
    assert_int_equal(a.summaries, 2);
    assert_int_equal(a.points, NP);
    assert_true(fabs(a.sum - want) < 1e-6);
    tsdb_close(&db);
}

/* ---- merge of overlapping and disjoint pieces ------------------------------- */

/* One field's points through tsdb_snapshot_summaries (every block decoded,
 * only that field read), compared with the model. */
struct fcheck {
    const struct model *m;
    int f;
    uint8_t seen[NS][NT];
    int64_t last; /* pieces come in time order: every call after the last */
};

__attribute__((unused)) static int fdecode_cb(void *arg, const struct tsdb_summary *s)
{
    (void)arg;
    (void)s;
    return TSDB_SUMMARY_DECODE;
}

__attribute__((unused)) static int fpts_cb(void *arg, const struct tsdb_series_info *si, size_t nf,
                   const struct tsdb_field_points *fp)
{
    struct fcheck *c = arg;
    int s = si->tags[0].value.p[1] - '0';
    assert_int_equal(nf, 1);
    assert_true(sv_eq(fp[0].key, sv_cstr(fkeys[c->f])));
    for (size_t j = 0; j < fp[0].n; j++) {
        int64_t ts = fp[0].ts_ns[j];
        assert_true(ts > c->last);
        c->last = ts;
        int t = (int)((ts - BASE) / STEP);
        assert_true(t >= 0 && t < NT && c->m->has[s][c->f][t]);
        union tsdb_value want;
        char sbuf[32];
        value_of(s, c->f, t, c->m->gen[s][c->f][t], &want, sbuf);
        const union tsdb_value *got = &fp[0].values[j];
        switch (c->f) {
        case 0:
            assert_memory_equal(&got->f, &want.f, 8);
            break;
        case 1:
            assert_int_equal(got->i, want.i);
            break;
        case 2:
            assert_int_equal(got->u, want.u);
            break;
        case 3:
            assert_int_equal(got->b, want.b);
            break;
        default:
            assert_true(sv_eq(got->s, want.s));
            break;
        }
        c->seen[s][t]++;
    }
    return 0;
}

__attribute__((unused)) static void check_fields(struct tsdb *db, const struct model *m, int lo_t, int hi_t)
{
    struct tsdb_snapshot *sn = tsdb_snapshot_new(db);
    /* One reader for every series and field: its buffers are reused. */
    struct tsdb_reader *rd = tsdb_reader_new(sn);
    struct err e;
    for (int s = 0; s < NS; s++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", s);
        uint64_t *ids = NULL;
        size_t n = 0;
        assert_int_equal(tsdb_postings(db, SV_LIT("d"), SV_NULL, SV_LIT("m"), SV_LIT("s"),
                                       sv_cstr(key), &ids, &n, &e),
                         0);
        assert_int_equal(n, 1);
        for (int f = 0; f < NF; f++) {
            struct fcheck *c = calloc(1, sizeof *c);
            c->m = m;
            c->f = f;
            c->last = INT64_MIN;
            int rc = tsdb_reader_summaries(rd, SV_LIT("d"), SV_NULL, ids[0], sv_cstr(fkeys[f]),
                                           BASE + lo_t * STEP, BASE + hi_t * STEP, fdecode_cb,
                                           fpts_cb, c, &e);
            if (rc)
                fail_msg("summaries: %s", e.msg);
            for (int t = 0; t < NT; t++) {
                int want = m->has[s][f][t] && t >= lo_t && t <= hi_t;
                if (c->seen[s][t] != want)
                    fail_msg("field %s s=%d t=%d seen %d, want %d", fkeys[f], s, t, c->seen[s][t],
                             want);
            }
            free(c);
        }
        free(ids);
    }
    tsdb_reader_free(&rd);
    tsdb_snapshot_free(&sn);
}

/* Parts whose ranges are disjoint (read by concatenation) and parts that
 * overlap each other and the head (merged, the newest write winning),
 * compared with the model: whole scans, cut ranges, and one field at a
 * time (the field filter of the per-series read). */
__attribute__((unused)) static void test_merge_pieces(void **state)
{
    (void)state;
    struct tsdb *db = open_ok("mrg", 0);
    mkdb(db, TSDB_DURATION_INF);
    struct model *m = calloc(1, sizeof *m);
    uint32_t gen = 1;
    /* Disjoint: three parts side by side in one partition and the next. */
    assert_int_equal(put(db, m, 0, 2, 0x1f, gen++), 0);
    flush_ok(db);
    assert_int_equal(put(db, m, 2, 4, 0x1f, gen++), 0);
    flush_ok(db);
    assert_int_equal(put(db, m, 4, 9, 0x0f, gen++), 0);
    flush_ok(db);
    assert_int_equal(put(db, m, 9, 12, 0x1f, gen++), 0); /* head, disjoint too */
    check_all(db, m);
    check_range(db, m, BASE + 1 * STEP, BASE + 10 * STEP);
    check_fields(db, m, 0, NT - 1);
    /* Overlap: random rewrites with random field sets, some flushed. */
    unsigned seed = 12345;
    for (int round = 0; round < 24; round++) {
        seed = seed * 1103515245u + 12345u;
        int t0 = (int)((seed >> 8) % NT);
        int len = 1 + (int)((seed >> 16) % 14);
        int t1 = t0 + len > NT ? NT : t0 + len;
        unsigned mask = 1u + ((seed >> 4) % 31u);
        assert_int_equal(put(db, m, t0, t1, mask, gen++), 0);
        if ((seed >> 24) % 3 != 0)
            flush_ok(db);
        if (round % 6 == 5) {
            check_all(db, m);
            int lo = (int)((seed >> 3) % NT), hi = lo + (int)((seed >> 11) % 20);
            check_range(db, m, BASE + lo * STEP, BASE + hi * STEP);
            check_fields(db, m, lo, hi >= NT ? NT - 1 : hi);
        }
    }
    /* The head rewriting what every part holds. */
    assert_int_equal(put(db, m, 0, NT, 0x1f, gen++), 0);
    check_all(db, m);
    check_fields(db, m, 0, NT - 1);
    tsdb_close(&db);
    db = open_ok("mrg", 0);
    check_all(db, m);
    check_fields(db, m, 3, 40);
    tsdb_close(&db);
    free(m);
}

/* tsdb_maybe_flush: nothing before the age threshold, a flush after it. */
__attribute__((unused)) static void test_maybe_flush(void **state)
{
    (void)state;
    static char dir[700];
    snprintf(dir, sizeof dir, "%s/maybe", tmp_root);
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    o.flush_age_ns = 1000;
    struct tsdb *db = NULL;
    struct err e;
    assert_int_equal(tsdb_open(&o, &db, &e), 0);
    mkdb(db, TSDB_DURATION_INF);
    struct model *m = calloc(1, sizeof *m);
    assert_int_equal(put(db, m, 0, 6, 0x1f, 1), 0);
    assert_int_equal(tsdb_maybe_flush(db, 5000, &e), 0); /* starts the clock */
    assert_int_equal(tsdb_maybe_flush(db, 5999, &e), 0);
    assert_int_equal(count_files("maybe", ".tsp"), 0);
    assert_int_equal(tsdb_maybe_flush(db, 6000, &e), 0);
    assert_int_equal(count_files("maybe", ".tsp"), 1);
    check_all(db, m);
    tsdb_close(&db);
    free(m);
}

int main(void)
{
#ifndef TSDB_PART_FAULTS_ONLY
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_part_roundtrip),
        cmocka_unit_test(test_part_v1_blocks),
        cmocka_unit_test(test_part_v4_layout),
        cmocka_unit_test(test_part_init_like),
        cmocka_unit_test(test_part_long_strings),
        cmocka_unit_test_setup_teardown(test_flush_merge_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_part, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maybe_flush, setup, teardown),
    };
#else
    /* Its own ctest (unit_tsdb_flushfault) so each stays well under 30 s. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flush_faults, setup, teardown),
    };
#endif
    return cmocka_run_group_tests(tests, NULL, NULL);
}
