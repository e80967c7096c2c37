// SPDX-License-Identifier: MIT
/*
 * decode_bench: single-core decode throughput of tsdb/codec per path
 * (issue #4 benchmark; storage-notes section 6 "Decode throughput":
 * >= 300 M values/s per core on the decimal, integer and time paths,
 * >= 100 M/s on the XOR fallback).  Not a test; built by bench/CMakeLists.txt.
 *
 *   decode_bench [--blocks N] [--reps R] [--zstd LEVEL] [--short 1]
 *
 * --short 1 encodes and decodes short blocks (codec format 5, the 1-byte
 * header part format 4 stores; codec_decode_*_short).
 *
 * Each column is N blocks of 1,024 values (default 2,000 blocks, 2 M
 * values) generated in-process with a fixed seed in the shapes of the
 * shared/bench reference sets: ops-like decimal gauges (2 and 1 decimals),
 * integer gauges and 0/1 counters, devops-like full-precision random walks
 * (adaptive: bits-int; and forced Gorilla XOR), 10 s timestamps on the grid
 * and with millisecond jitter.  Every block is encoded once with the normal
 * adaptive encoder (zstd level 1 unless --zstd), checked bit for bit, then
 * all blocks are decoded back to back R times; the table gives the median
 * and best pass in M values/s of thread CPU time (so a preempted pass on a
 * shared machine does not count its wait), bytes/value and the codecs
 * chosen.  The
 * working set (encoded blocks) stays in L2/L3 like a query over a hot part.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsdb/codec/codec.h"
#include "tsdb/codec/codec_int.h"

#define BLK CODEC_BLOCK_MAX

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static double urand(void) /* [0, 1) with 53 bits, like Python's random() */
{
    return (double)(rnd() >> 11) * 0x1p-53;
}

/* Thread CPU time: the machine is shared, and "per core" means time on a
 * core, not wall time spent preempted. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

enum shape {
    S_DEC2,    /* ops voice jitter_ms-like: OU around a base, 2 decimals */
    S_DEC1,    /* ops msgs_per_sec-like: noisy level, 1 decimal */
    S_DECMOS,  /* ops mos-like: 2 decimals, a small skewed domain (huff inside) */
    S_WALK,    /* devops usage_*: full-precision walk in [0, 100] */
    S_XOR,     /* the same walk, Gorilla XOR forced */
    S_IGAUGE,  /* ops connections-like integer gauge */
    S_ISKEW,   /* ops packet_loss-like small skewed domain: huff */
    S_ICOUNT,  /* ops errors-like counter of 0/1 increments */
    S_TGRID,   /* 10 s timestamps on the grid (ns) */
    S_TJIT,    /* 10 s timestamps with 0..999 ms jitter (ns) */
    S_N
};
static const char *const shape_name[S_N] = {
    "decimal, 2 dp gauge (ops voice)",  "decimal, 1 dp rate (ops gateway)",
    "decimal, 2 dp skewed (ops mos)",
    "float walk, adaptive (devops)",    "float walk, xor forced (devops)",
    "int gauge (ops connections)",      "int skewed 0..40 (ops loss)",
    "int counter 0/1 (ops errors)",
    "time, 10 s grid",                  "time, 10 s + ms jitter",
};

struct col {
    uint8_t *enc;  /* concatenated blocks */
    size_t *off;   /* block offsets, nblocks + 1 */
    size_t values;
    unsigned hist[32];
};

static void gen_block(enum shape s, unsigned blk, double *f, int64_t *i)
{
    double base = 2.0 + 6.0 * urand(), ou = 0, level = 200 + 2000 * urand();
    static double walk[2] = { 50, 50 };
    int64_t acc = (int64_t)(rnd() % 100000);
    int64_t t0 = 1704067200000000000ll + (int64_t)blk * BLK * 10000000000ll;
    for (size_t k = 0; k < BLK; k++) {
        ou = ou * 0.9 + (urand() - 0.5) * 0.05;
        switch (s) {
        case S_DEC2:
            f[k] = (double)(int64_t)llround(base * (1 + ou) * (0.9 + urand() * 0.2) * 100) / 100.0;
            break;
        case S_DEC1:
            f[k] = (double)(int64_t)llround(level * (1 + ou) * (0.95 + urand() * 0.1) * 10) / 10.0;
            break;
        case S_DECMOS:
            f[k] = (double)(int64_t)llround((4.3 + ou * 0.5 - urand() * 0.05) * 100) / 100.0;
            break;
        case S_WALK:
        case S_XOR: {
            double v = walk[s == S_XOR] + (urand() * 2.0 - 1.0);
            v = v < 0 ? 0 : v > 100 ? 100 : v;
            walk[s == S_XOR] = v;
            f[k] = v;
            break;
        }
        case S_IGAUGE:
            i[k] = (int64_t)(level * 5 * (1 + ou));
            break;
        case S_ISKEW:
            i[k] = (int64_t)(urand() * urand() * 40);
            break;
        case S_ICOUNT:
            acc += (int64_t)(urand() * 1.6) + (k % 500 == 7 ? (int64_t)(rnd() % 400) : 0);
            i[k] = acc;
            break;
        case S_TGRID:
            i[k] = t0 + (int64_t)k * 10000000000ll;
            break;
        case S_TJIT:
            i[k] = t0 + (int64_t)k * 10000000000ll + (int64_t)(rnd() % 1000) * 1000000;
            break;
        case S_N:
            break;
        }
    }
}

static void die(const char *what, const struct err *e)
{
    fprintf(stderr, "decode_bench: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

/* Gorilla XOR block through the internal encoder (the adaptive one would
 * pick bits-int for this data). */
static void encode_xor(struct codec_ctx *c, const double *f, struct buf *out)
{
    static uint8_t pay[CODEC__NUM_PAYLOAD_MAX];
    uint64_t bits[BLK];
    memcpy(bits, f, sizeof bits);
    struct wr w;
    wr_init(&w, pay, sizeof pay);
    codec__xor_encode(&w, bits, BLK);
    struct err e;
    if (codec__finish(c, CODEC_KIND_FLOAT, 5, BLK, pay, w.len, out, &e) != 0)
        die("xor finish", &e);
}

static bool g_short; /* --short 1 */

static int dec_float(struct codec_ctx *c, const uint8_t *p, size_t len, double *out, size_t *m,
                     struct err *e)
{
    *m = BLK;
    return g_short ? codec_decode_float_short(c, p, len, BLK, out, e)
                   : codec_decode_float(c, p, len, out, m, e);
}

static int dec_int(struct codec_ctx *c, const uint8_t *p, size_t len, int64_t *out, size_t *m,
                   struct err *e)
{
    *m = BLK;
    return g_short ? codec_decode_int_short(c, p, len, BLK, out, e)
                   : codec_decode_int(c, p, len, out, m, e);
}

static int dec_time(struct codec_ctx *c, const uint8_t *p, size_t len, int64_t *out, size_t *m,
                    struct err *e)
{
    *m = BLK;
    return g_short ? codec_decode_time_short(c, p, len, BLK, out, e)
                   : codec_decode_time(c, p, len, out, m, e);
}

static void build(struct codec_ctx *c, enum shape s, size_t nblocks, struct col *col)
{
    struct buf b;
    buf_init(&b, 0);
    col->off = malloc((nblocks + 1) * sizeof *col->off);
    static double f[BLK], fgot[BLK];
    static int64_t i[BLK], igot[BLK];
    struct err e;
    for (size_t k = 0; k < nblocks; k++) {
        col->off[k] = b.len;
        gen_block(s, (unsigned)k, f, i);
        size_t at = b.len, m;
        int rc;
        switch (s) {
        case S_DEC2:
        case S_DEC1:
        case S_DECMOS:
        case S_WALK:
            rc = codec_encode_float(c, f, BLK, &b, NULL, &e);
            break;
        case S_XOR:
            encode_xor(c, f, &b);
            rc = 0;
            break;
        case S_IGAUGE:
        case S_ISKEW:
        case S_ICOUNT:
            rc = codec_encode_int(c, i, BLK, &b, NULL, &e);
            break;
        default:
            rc = codec_encode_time(c, i, BLK, &b, NULL, &e);
            break;
        }
        if (rc)
            die("encode", &e);
        const uint8_t *p = (const uint8_t *)b.p + at;
        size_t len = b.len - at;
        col->hist[((g_short ? p[0] : p[1]) & 15) + (p[0] & 0x10 ? 16 : 0)]++;
        if (s <= S_XOR) {
            if (dec_float(c, p, len, fgot, &m, &e) || m != BLK || memcmp(fgot, f, sizeof f))
                die("float round trip", &e);
        } else if (s <= S_ICOUNT) {
            if (dec_int(c, p, len, igot, &m, &e) || m != BLK || memcmp(igot, i, sizeof i))
                die("int round trip", &e);
        } else {
            if (dec_time(c, p, len, igot, &m, &e) || m != BLK ||
                memcmp(igot, i, sizeof i))
                die("time round trip", &e);
        }
    }
    col->off[nblocks] = b.len;
    col->enc = malloc(b.len ? b.len : 1);
    memcpy(col->enc, b.p, b.len);
    col->values = nblocks * BLK;
    buf_fini(&b);
}

static double pass(struct codec_ctx *c, enum shape s, size_t nblocks, const struct col *col)
{
    static double f[BLK];
    static int64_t i[BLK];
    struct err e;
    size_t m;
    double sink = 0;
    double t0 = now_s();
    for (size_t k = 0; k < nblocks; k++) {
        const uint8_t *p = col->enc + col->off[k];
        size_t len = col->off[k + 1] - col->off[k];
        int rc;
        if (s <= S_XOR) {
            rc = dec_float(c, p, len, f, &m, &e);
            sink += f[k & (BLK - 1)];
        } else if (s <= S_ICOUNT) {
            rc = dec_int(c, p, len, i, &m, &e);
            sink += (double)i[k & (BLK - 1)];
        } else {
            rc = dec_time(c, p, len, i, &m, &e);
            sink += (double)i[k & (BLK - 1)];
        }
        if (rc)
            die("decode", &e);
    }
    double t = now_s() - t0;
    if (sink == 12345.678) /* keeps the decoded values live */
        puts("");
    return t;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t nblocks = 2000;
    int reps = 9, level = 1;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--blocks"))
            nblocks = (size_t)strtoul(argv[a + 1], NULL, 10);
        else if (!strcmp(argv[a], "--reps"))
            reps = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--zstd"))
            level = atoi(argv[a + 1]);
        else if (!strcmp(argv[a], "--short"))
            g_short = atoi(argv[a + 1]) != 0;
        else {
            fprintf(stderr,
                    "usage: decode_bench [--blocks N] [--reps R] [--zstd LEVEL] [--short 1]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 100 || nblocks < 1)
        return 2;
    struct codec_ctx *c = codec_ctx_new();
    if (!c)
        die("codec_ctx_new", NULL);
    codec_ctx_set_zstd_level(c, level);
    codec_ctx_set_short(c, g_short);
    printf("decode_bench: %zu blocks x %d values per column, %d passes, zstd level %d, %s blocks, "
           "one thread, thread CPU time\n",
           nblocks, BLK, reps, level, g_short ? "short (1-byte header)" : "4-byte header");
    printf("%-34s %9s %9s %8s  %s\n", "column", "median", "best", "B/value", "codecs (blocks)");
    printf("%-34s %9s %9s %8s\n", "", "M val/s", "M val/s", "");
    for (int s = 0; s < S_N; s++) {
        struct col col;
        memset(&col, 0, sizeof col);
        build(c, (enum shape)s, nblocks, &col);
        double t[100];
        pass(c, (enum shape)s, nblocks, &col); /* warm-up */
        for (int r = 0; r < reps; r++)
            t[r] = pass(c, (enum shape)s, nblocks, &col);
        qsort(t, (size_t)reps, sizeof t[0], cmp_d);
        double med = t[reps / 2], best = t[0];
        char codecs[256] = "";
        size_t k = 0;
        enum codec_kind kind = s <= S_XOR ? CODEC_KIND_FLOAT
                             : s <= S_ICOUNT ? CODEC_KIND_INT : CODEC_KIND_TIME;
        for (unsigned h = 0; h < 32; h++)
            if (col.hist[h] && k < sizeof codecs - 40)
                k += (size_t)snprintf(codecs + k, sizeof codecs - k, "%s%s:%u ",
                                      codec_name(kind, h & 15), h & 16 ? "+zstd" : "",
                                      col.hist[h]);
        printf("%-34s %9.1f %9.1f %8.3f  %s\n", shape_name[s], (double)col.values / med / 1e6,
               (double)col.values / best / 1e6, (double)col.off[nblocks] / (double)col.values,
               codecs);
        free(col.enc);
        free(col.off);
    }
    codec_ctx_free(c);
    return 0;
}
