// SPDX-License-Identifier: MIT
/*
 * Round-trip property tests for tsdb/codec: random and adversarial blocks of
 * every column kind are encoded and decoded, and must come back bit for bit
 * (floats compared as bit patterns, so NaN payloads and -0.0 count).  Also
 * checks that the adaptive choice picks the expected codec on the shapes it
 * exists for (10 s timestamps, jittered timestamps, short decimals, random
 * walks), that no float block is larger than Gorilla XOR plus the header,
 * and the block summaries.  Randomness is a fixed-seed splitmix64, and every
 * loop is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec/codec.h"
#include "tsdb/codec/codec_int.h" /* codec__xor_encode, for the XOR bound */

#define N CODEC_BLOCK_MAX

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double rnd01(void)
{
    return (double)(rnd() >> 11) * 0x1p-53;
}
static size_t rnd_n(void)
{
    switch (rnd() % 6) {
    case 0:
        return 1;
    case 1:
        return N;
    case 2:
        return rnd() % 4;
    default:
        return rnd() % (N + 1);
    }
}
static double bits2d(uint64_t b)
{
    double d;
    memcpy(&d, &b, 8);
    return d;
}
static uint64_t d2bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

struct fixture {
    struct codec_ctx *c;
    struct buf out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->c = codec_ctx_new();
    buf_init(&f->out, 0);
    *state = f;
    return f->c ? 0 : -1;
}
static int teardown(void **state)
{
    struct fixture *f = *state;
    codec_ctx_free(f->c);
    buf_fini(&f->out);
    free(f);
    return 0;
}

/* ------------------------------------------------------------ generators */

static void gen_ints(int64_t *v, size_t n, unsigned mode)
{
    int64_t acc = (int64_t)(rnd() >> 2) - (INT64_MAX >> 2);
    static const int64_t extremes[] = { INT64_MIN, INT64_MAX, 0, -1, 1,
                                        INT64_MIN + 1, INT64_MAX - 1 };
    uint64_t g = 1 + rnd() % 5000;
    for (size_t i = 0; i < n; i++) {
        switch (mode % 9) {
        case 0: /* uniform bits */
            v[i] = (int64_t)rnd();
            break;
        case 1: /* small range */
            v[i] = (int64_t)(rnd() % 100) - 50;
            break;
        case 2: /* extremes */
            v[i] = extremes[rnd() % 7];
            break;
        case 3: /* counter with a reset */
            acc = (i == n / 2) ? 0 : acc + (int64_t)(rnd() % 7);
            v[i] = acc;
            break;
        case 4: /* constant with outliers */
            v[i] = rnd() % 50 ? 42 : (int64_t)rnd();
            break;
        case 5: /* gauge in 4 KiB units */
            v[i] = (int64_t)((rnd() % 100000) * 4096);
            break;
        case 6: /* long runs */
            if (i == 0 || rnd() % 64 == 0)
                acc = (int64_t)(rnd() % 1000);
            v[i] = acc;
            break;
        case 7: /* multiples of a random GCD around a base */
            v[i] = 1000000 + (int64_t)((rnd() % 300) * g);
            break;
        default: /* random walk that crosses zero */
            acc = (i == 0) ? 0 : acc + (int64_t)(rnd() % 2001) - 1000;
            v[i] = acc;
            break;
        }
    }
}

static void gen_times(int64_t *v, size_t n, unsigned mode)
{
    int64_t t = 1704067200000000000ll + (int64_t)(rnd() % 1000) * 10000000000ll;
    for (size_t i = 0; i < n; i++) {
        switch (mode % 7) {
        case 0: /* exact 10 s grid */
            v[i] = t + (int64_t)i * 10000000000ll;
            break;
        case 1: /* 0-3 ms jitter */
            v[i] = t + (int64_t)i * 10000000000ll + (int64_t)(rnd() % 3000000);
            break;
        case 2: /* equal timestamps */
            v[i] = t + (int64_t)(i / 100) * 1000000000ll;
            break;
        case 3: /* huge gaps, still sorted */
            v[i] = i == 0 ? INT64_MIN : (i == n - 1 ? INT64_MAX : t + (int64_t)i);
            break;
        case 4: /* irregular, whole seconds (GCD 1 s) */
            t += (int64_t)(1 + rnd() % 30) * 1000000000ll;
            v[i] = t;
            break;
        case 5: /* unsorted */
            v[i] = (int64_t)rnd();
            break;
        default: /* a missed scrape now and then */
            t += rnd() % 20 ? 10000000000ll : 20000000000ll;
            v[i] = t;
            break;
        }
    }
}

static void gen_floats(double *v, size_t n, unsigned mode)
{
    double walk = rnd01() * 100.0;
    static const uint64_t specials[] = {
        0x7ff8000000000000ull, /* quiet NaN */
        0x7ff0000000000001ull, /* signalling NaN payload */
        0xfff8deadbeef0001ull, /* negative NaN with payload */
        0x7ff0000000000000ull, /* +Inf */
        0xfff0000000000000ull, /* -Inf */
        0x8000000000000000ull, /* -0.0 */
        0x0000000000000000ull, /* +0.0 */
        0x0000000000000001ull, /* smallest denormal */
        0x800fffffffffffffull, /* largest negative denormal */
        0x7fefffffffffffffull, /* DBL_MAX */
        0x7ff0000000000bb8ull, /* Prometheus stale-marker-like NaN */
    };
    const size_t nspec = sizeof specials / sizeof specials[0];
    for (size_t i = 0; i < n; i++) {
        switch (mode % 9) {
        case 0: /* random bits */
            v[i] = bits2d(rnd());
            break;
        case 1: /* specials only */
            v[i] = bits2d(specials[rnd() % nspec]);
            break;
        case 2: /* 2-decimal values with a few exceptions */
            v[i] = rnd() % 40 ? (double)(int64_t)(rnd() % 100000) / 100.0
                              : bits2d(specials[rnd() % nspec]);
            break;
        case 3: /* devops random walk, full precision, clamped */
            walk += rnd01() * 2.0 - 1.0;
            walk = walk < 0 ? 0 : (walk > 100 ? 100 : walk);
            v[i] = walk;
            break;
        case 4: /* ops-like 1-2 decimals, slowly moving */
            walk += (double)((int64_t)(rnd() % 21) - 10) / 100.0;
            v[i] = (double)(int64_t)llround(walk * 100.0) / 100.0;
            break;
        case 5: /* constant */
            v[i] = 3.25;
            break;
        case 6: /* runs */
            if (i == 0 || rnd() % 100 == 0)
                walk = rnd01();
            v[i] = walk;
            break;
        case 7: /* integers as floats, negative too */
            v[i] = (double)((int64_t)(rnd() % 2000001) - 1000000);
            break;
        default: /* mixture of everything */
            v[i] = rnd() % 3 ? (double)(int64_t)(rnd() % 1000) / 10.0
                             : bits2d(rnd() % 2 ? rnd() : specials[rnd() % nspec]);
            break;
        }
    }
}

/* ------------------------------------------------------------ helpers */

static void check_info(const struct fixture *f, enum codec_kind kind, size_t n)
{
    struct codec_block_info bi;
    struct err e;
    assert_int_equal(codec_block_info((const uint8_t *)f->out.p, f->out.len, &bi, &e), 0);
    assert_int_equal(bi.kind, kind);
    assert_int_equal(bi.n, n);
}

static unsigned roundtrip_time(struct fixture *f, const int64_t *v, size_t n)
{
    static int64_t got[N];
    size_t m = 99999;
    struct err e;
    struct codec_istats st;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_time(f->c, v, n, &f->out, &st, &e), 0);
    check_info(f, CODEC_KIND_TIME, n);
    int rc = codec_decode_time(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e);
    if (rc != 0)
        fail_msg("decode: %s", e.msg);
    assert_int_equal(m, n);
    if (n)
        assert_memory_equal(got, v, n * sizeof *v);
    assert_int_equal(st.count, n);
    return (unsigned)(uint8_t)f->out.p[1];
}

static unsigned roundtrip_int(struct fixture *f, const int64_t *v, size_t n)
{
    static int64_t got[N];
    size_t m = 99999;
    struct err e;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_int(f->c, v, n, &f->out, NULL, &e), 0);
    check_info(f, CODEC_KIND_INT, n);
    int rc = codec_decode_int(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e);
    if (rc != 0)
        fail_msg("decode: %s", e.msg);
    assert_int_equal(m, n);
    if (n)
        assert_memory_equal(got, v, n * sizeof *v);
    return (unsigned)(uint8_t)f->out.p[1];
}

static void roundtrip_uint(struct fixture *f, const uint64_t *v, size_t n)
{
    static uint64_t got[N];
    size_t m = 99999;
    struct err e;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_uint(f->c, v, n, &f->out, NULL, &e), 0);
    check_info(f, CODEC_KIND_UINT, n);
    int rc = codec_decode_uint(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e);
    if (rc != 0)
        fail_msg("decode: %s", e.msg);
    assert_int_equal(m, n);
    if (n)
        assert_memory_equal(got, v, n * sizeof *v);
}

/* Returns the codec id; checks the XOR bound. */
static unsigned roundtrip_float(struct fixture *f, const double *v, size_t n)
{
    static double got[N];
    static uint64_t bits[N];
    static uint8_t xbuf[CODEC__NUM_PAYLOAD_MAX];
    size_t m = 99999;
    struct err e;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_float(f->c, v, n, &f->out, NULL, &e), 0);
    check_info(f, CODEC_KIND_FLOAT, n);
    int rc = codec_decode_float(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e);
    if (rc != 0)
        fail_msg("decode: %s", e.msg);
    assert_int_equal(m, n);
    if (n)
        assert_memory_equal(got, v, n * sizeof *v); /* bit for bit */
    /* Never worse than Gorilla XOR plus the 4-byte header. */
    if (n)
        memcpy(bits, v, n * 8);
    struct wr w;
    wr_init(&w, xbuf, sizeof xbuf);
    codec__xor_encode(&w, bits, n);
    if (f->out.len > w.len + CODEC__HDR_LEN)
        fail_msg("float block %zu bytes > xor %zu + header (n=%zu)", f->out.len, w.len, n);
    return (unsigned)(uint8_t)f->out.p[1];
}

/* ------------------------------------------------------------ tests */

static void test_time_properties(void **state)
{
    struct fixture *f = *state;
    static int64_t v[N];
    rng_state = 1;
    for (unsigned it = 0; it < 700; it++) {
        size_t n = rnd_n();
        gen_times(v, n, it);
        roundtrip_time(f, v, n);
    }
}

static void test_time_shapes(void **state)
{
    struct fixture *f = *state;
    static int64_t v[N];
    rng_state = 2;
    gen_times(v, N, 0); /* exact 10 s grid: constant delta */
    assert_int_equal(roundtrip_time(f, v, N), CODEC__IS_DELTA);
    assert_true(f->out.len <= 24);
    gen_times(v, N, 1); /* jitter: grid residuals, 22 bits each */
    assert_int_equal(roundtrip_time(f, v, N), CODEC__IS_GRID);
    assert_true(f->out.len <= 4 + 30 + N * 22 / 8);
    for (size_t i = 0; i < N; i++)
        v[i] = 1234567;
    roundtrip_time(f, v, N); /* all equal */
    assert_true(f->out.len <= 16);
    gen_times(v, N, 4); /* whole seconds: GCD removes 30 bits */
    roundtrip_time(f, v, N);
    assert_true(f->out.len <= 4 + 40 + N * 5 / 8);
    v[0] = INT64_MIN;
    roundtrip_time(f, v, 1);
    roundtrip_time(f, v, 0);
    assert_int_equal(f->out.len, CODEC__HDR_LEN);
}

static void test_int_properties(void **state)
{
    struct fixture *f = *state;
    static int64_t v[N];
    static uint64_t u[N];
    rng_state = 3;
    for (unsigned it = 0; it < 900; it++) {
        size_t n = rnd_n();
        gen_ints(v, n, it);
        roundtrip_int(f, v, n);
        memcpy(u, v, n * 8);
        roundtrip_uint(f, u, n);
    }
    static const uint64_t uext[] = { 0, UINT64_MAX, 1, UINT64_MAX - 1,
                                     (uint64_t)INT64_MAX + 1 };
    for (size_t i = 0; i < N; i++)
        u[i] = uext[rnd() % 5];
    roundtrip_uint(f, u, N);
    for (size_t i = 0; i < N; i++) /* near 2^63: narrow only in unsigned order */
        u[i] = (uint64_t)INT64_MAX - 3 + rnd() % 8;
    roundtrip_uint(f, u, N);
    assert_true(f->out.len <= 4 + 24 + N * 3 / 8);
}

/* codec_ctx_set_fast (the head's sealed chunks): every input still round
 * trips bit for bit, integer sequences use only the single-frame kinds, and
 * the output is never larger than raw. */
static void test_fast_mode(void **state)
{
    struct fixture *f = *state;
    static int64_t v[N];
    static uint64_t u[N];
    static double d[N];
    codec_ctx_set_fast(f->c, true);
    rng_state = 11;
    for (unsigned it = 0; it < 300; it++) {
        size_t n = rnd_n();
        gen_ints(v, n, it);
        unsigned id = roundtrip_int(f, v, n);
        assert_true(id <= CODEC__IS_RLE);
        assert_true(f->out.len <= 4 + 24 + 8 * n);
        memcpy(u, v, n * 8);
        roundtrip_uint(f, u, n);
        assert_true((uint8_t)f->out.p[1] <= CODEC__IS_RLE);
        gen_floats(d, n, it);
        roundtrip_float(f, d, n);
    }
    codec_ctx_set_fast(f->c, false);
}

static void test_int_shapes(void **state)
{
    /* Shapes sized for 1,024-value blocks (delta-ob's largest frame is
     * 1,024 values, so a 2,048-value walk is a tie with delta). */
    enum { NS = 1024 };
    struct fixture *f = *state;
    static int64_t v[NS];
    rng_state = 4;
    v[0] = 1000000007; /* counter: delta, 3 bits */
    for (size_t i = 1; i < NS; i++)
        v[i] = v[i - 1] + (int64_t)(rnd() % 8);
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_DELTA);
    assert_true(f->out.len <= 4 + 24 + NS * 3 / 8);
    gen_ints(v, NS, 5); /* 4 KiB gauge: FOR with GCD 4096 */
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_FOR);
    assert_true(f->out.len <= 4 + 24 + NS * 17 / 8);
    gen_ints(v, NS, 6); /* long runs */
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_RLE);
    for (size_t i = 0; i < NS; i++)
        v[i] = -7;
    roundtrip_int(f, v, NS);
    assert_true(f->out.len <= 12);
    /* A counter of 0/1 increments with one burst: only the burst's
     * miniblock is wide. */
    v[0] = 5;
    for (size_t i = 1; i < NS; i++)
        v[i] = v[i - 1] + (int64_t)(rnd() & 1) + (i >= 300 && i < 310 ? 100000 : 0);
    unsigned id = roundtrip_int(f, v, NS);
    assert_true(id == CODEC__IS_DELTA_MB || id == CODEC__IS_DELTA_MBS || id == CODEC__IS_DELTA_OB ||
                id == CODEC__IS_DELTA_PFOR);
    assert_true(f->out.len <= 4 + 10 + (NS / CODEC__MB) * 12 + NS / 8 + 17 * CODEC__MB / 8);
    /* Wide frames store a rounded reference; ranges just under a power of
     * two need one more bit, and w = 63 becomes 64 with an exact one. */
    static const struct {
        int64_t lo;
        uint64_t range;
    } edges[] = {
        { 0x12345fff, (1u << 20) - 1 },
        { -0x12345fffll, (1u << 20) - 1 },
        { INT64_MIN + 0xfff, (1ull << 62) + ((1ull << 62) - 1) },
        { INT64_MIN + 0x7fffffffffffffll, (1ull << 63) - 1 },
        { -1, (1ull << 40) - 3 },
    };
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++) {
        for (size_t i = 0; i < NS; i++)
            v[i] = (int64_t)((uint64_t)edges[k].lo + (rnd() & 1 ? edges[k].range : 0));
        v[3] = edges[k].lo;
        v[5] = (int64_t)((uint64_t)edges[k].lo + 1); /* GCD 1 */
        v[700] = (int64_t)((uint64_t)edges[k].lo + edges[k].range);
        roundtrip_int(f, v, NS); /* frame 0 (rows 3 and 5) needs the widening */
        static uint64_t u[NS];
        memcpy(u, v, sizeof u);
        roundtrip_uint(f, u, NS);
    }
    /* Two levels alternating every 32 values: plain FOR in miniblocks. */
    for (size_t i = 0; i < NS; i++)
        v[i] = (i / 32 % 2 ? 1000000000 : 0) + (int64_t)(rnd() % 1000);
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_FOR_MB);
    assert_true(f->out.len <= 4 + (NS / 32) * 6 + NS * 10 / 8);
    /* Levels alternating every 128: sized miniblocks of 128 (format 2),
     * one frame header per 128 values instead of four. */
    for (size_t i = 0; i < NS; i++)
        v[i] = (i / 128 % 2 ? 1000000000 : 0) + (int64_t)(rnd() % 1000);
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_FOR_MBS);
    assert_int_equal((uint8_t)f->out.p[CODEC__HDR_LEN], 7); /* log2 128 */
    assert_true(f->out.len <= 4 + 1 + (NS / 128) * 6 + NS * 10 / 8);
    /* Counter whose increments switch between 3 and 20 bits every 128. */
    v[0] = 5;
    for (size_t i = 1; i < NS; i++)
        v[i] = v[i - 1] + (int64_t)(rnd() % ((i - 1) / 128 % 2 ? 1u << 20 : 8));
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_DELTA_MBS);
    assert_true(f->out.len <= 4 + 2 + (NS / 128) * 6 + (NS / 2) * 23 / 8);
    /* Symmetric random walk: offset-binary delta frames, no references;
     * 11 bits a value plus one width byte per frame. */
    v[0] = -3;
    for (size_t i = 1; i < NS; i++)
        v[i] = v[i - 1] + (int64_t)(rnd() % 2001) - 1000;
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_DELTA_OB);
    assert_true(f->out.len <= 4 + 3 + 8 + NS * 11 / 8);
    /* Offset-binary frames at the extremes: deltas of +-2^63 need w = 64,
     * and INT64_MIN/MAX neighbours wrap; all must come back exactly. */
    for (size_t i = 0; i < NS; i++)
        v[i] = i % 3 == 0 ? INT64_MIN : i % 3 == 1 ? INT64_MAX : (int64_t)(rnd() % 5) - 2;
    roundtrip_int(f, v, NS);
    static uint64_t u[NS];
    for (size_t i = 0; i < NS; i++)
        u[i] = i % 2 ? UINT64_MAX : (uint64_t)(rnd() % 3);
    roundtrip_uint(f, u, NS);
    /* A 0/1 counter with bursts: patched FOR of the deltas, 1 bit a value
     * plus the bursts as exceptions (zstd off: it must win on its own). */
    codec_ctx_set_zstd_level(f->c, 0);
    v[0] = 1000;
    for (size_t i = 1; i < NS; i++)
        v[i] = v[i - 1] + (int64_t)(rnd() & 1) + (i % 250 == 9 ? 300 + (int64_t)(rnd() % 100) : 0);
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_DELTA_PFOR);
    assert_true(f->out.len <= 4 + 2 + 4 + NS / 8 + 8 + 8);
    /* Small values with rare 2^40 outliers (and UINT64_MAX): patched FOR. */
    for (size_t i = 0; i < NS; i++)
        v[i] = (int64_t)(rnd() % 8) + (i % 100 == 50 ? (int64_t)1 << 40 : 0);
    v[7] = -1;
    assert_int_equal(roundtrip_int(f, v, NS), CODEC__IS_PFOR);
    memcpy(u, v, sizeof u);
    roundtrip_uint(f, u, NS);
    codec_ctx_set_zstd_level(f->c, 1);
    for (size_t n = 0; n <= 300; n += 1 + n / 8) { /* every frame-size boundary */
        v[0] = 77;
        for (size_t i = 1; i < n; i++)
            v[i] = v[i - 1] + (int64_t)(rnd() % 201) - 100 + (i % 61 == 0 ? 1ll << 33 : 0);
        roundtrip_int(f, v, n);
        roundtrip_time(f, v, n);
    }
}

static void test_float_properties(void **state)
{
    struct fixture *f = *state;
    static double v[N];
    rng_state = 5;
    for (unsigned it = 0; it < 900; it++) {
        size_t n = rnd_n();
        gen_floats(v, n, it);
        roundtrip_float(f, v, n);
    }
}

static void test_float_shapes(void **state)
{
    struct fixture *f = *state;
    static double v[N];
    rng_state = 6;
    gen_floats(v, N, 2); /* decimals with exceptions */
    assert_int_equal(roundtrip_float(f, v, N), CODEC__F_DECIMAL);
    gen_floats(v, N, 4); /* ops-like */
    assert_int_equal(roundtrip_float(f, v, N), CODEC__F_DECIMAL);
    assert_true(f->out.len < N * 2);
    gen_floats(v, N, 5);
    assert_int_equal(roundtrip_float(f, v, N), CODEC__F_CONST);
    gen_floats(v, N, 6);
    assert_int_equal(roundtrip_float(f, v, N), CODEC__F_RLE);
    gen_floats(v, N, 3); /* devops walk: well under raw */
    roundtrip_float(f, v, N);
    assert_true(f->out.len < N * 8);
    /* One exception of each special kind inside decimals. */
    for (size_t i = 0; i < N; i++)
        v[i] = (double)(int64_t)i / 10.0;
    v[5] = -0.0;
    v[6] = bits2d(0x7ff0000000000bb8ull);
    v[7] = INFINITY;
    v[8] = bits2d(1);
    v[9] = 0.1 + 0.2; /* not a short decimal */
    assert_int_equal(roundtrip_float(f, v, N), CODEC__F_DECIMAL);
    assert_true(f->out.len < 4 + 60 + N * 12 / 8);
    /* Mostly 2 decimals, 1 % with 3: e = 2 plus exceptions beats e = 3. */
    codec_ctx_set_zstd_level(f->c, 0);
    for (size_t i = 0; i < N; i++)
        v[i] = i % 100 == 7 ? (double)(int64_t)(rnd() % 100000) / 1000.0 + 0.0005
                            : (double)(int64_t)(rnd() % 100000) / 100.0;
    assert_int_equal(roundtrip_float(f, v, N), CODEC__F_DECIMAL);
    assert_int_equal((uint8_t)f->out.p[CODEC__HDR_LEN], 2);
    codec_ctx_set_zstd_level(f->c, 1);
}

static void test_bool_and_presence(void **state)
{
    struct fixture *f = *state;
    static uint8_t v[N], got[N];
    rng_state = 7;
    struct err e;
    for (unsigned it = 0; it < 300; it++) {
        size_t n = rnd_n(), m = 99999;
        unsigned mode = it % 3;
        for (size_t i = 0; i < n; i++)
            v[i] = mode == 0 ? (uint8_t)(rnd() & 1)
                             : (mode == 1 ? (uint8_t)(i / 200 % 2) : 1);
        buf_reset(&f->out);
        int (*enc)(struct codec_ctx *, const uint8_t *, size_t, struct buf *,
                   struct err *) = it & 1 ? codec_encode_bool : codec_encode_presence;
        int (*dec)(struct codec_ctx *, const uint8_t *, size_t, uint8_t *,
                   size_t *, struct err *) = it & 1 ? codec_decode_bool : codec_decode_presence;
        assert_int_equal(enc(f->c, v, n, &f->out, &e), 0);
        assert_int_equal(dec(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e), 0);
        assert_int_equal(m, n);
        if (n)
            assert_memory_equal(got, v, n);
        if (n == N && mode == 2)
            assert_true(f->out.len <= 8); /* one run */
        if (n == N && mode == 0)
            assert_true(f->out.len <= 4 + N / 8);
    }
    /* Non-zero bytes other than 1 read back as 1. */
    v[0] = 7;
    v[1] = 0;
    size_t m;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_bool(f->c, v, 2, &f->out, &e), 0);
    assert_int_equal(codec_decode_bool(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e), 0);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 0);
    /* A presence block is not a bool block. */
    buf_reset(&f->out);
    assert_int_equal(codec_encode_presence(f->c, v, 2, &f->out, &e), 0);
    assert_int_equal(codec_decode_bool(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e),
                     ERR_CORRUPT);
}

/* Short blocks (format 5): every kind, random shapes.  The short block is
 * the normal block with its 4-byte header folded into one byte (codec id |
 * zstd flag), decodes with the count passed in to the same values, and bad
 * header bits or a truncated block are ERR_CORRUPT naming the offset. */
static void test_short_blocks(void **state)
{
    struct fixture *f = *state;
    static int64_t iv[N], igot[N];
    static uint64_t ugot[N];
    static double fv[N], fgot[N];
    static uint8_t bv[N], bgot[N];
    static struct sv sv[N], sgot[N];
    static char pool[N][24];
    struct buf lng;
    buf_init(&lng, 0);
    struct err e;
    rng_state = 99;
    for (unsigned it = 0; it < 700; it++) {
        size_t n = rnd_n();
        unsigned kind = it % 7, mode = (unsigned)rnd();
        buf_reset(&f->out);
        buf_reset(&lng);
        codec_ctx_set_short(f->c, false);
        for (int pass = 0; pass < 2; pass++) {
            struct buf *o = pass ? &f->out : &lng;
            codec_ctx_set_short(f->c, pass == 1);
            switch (kind) {
            case 0:
                if (!pass)
                    gen_times(iv, n, mode);
                assert_int_equal(codec_encode_time(f->c, iv, n, o, NULL, &e), 0);
                break;
            case 1:
                if (!pass)
                    gen_floats(fv, n, mode);
                assert_int_equal(codec_encode_float(f->c, fv, n, o, NULL, &e), 0);
                break;
            case 2:
            case 3:
                if (!pass)
                    gen_ints(iv, n, mode);
                if (kind == 2)
                    assert_int_equal(codec_encode_int(f->c, iv, n, o, NULL, &e), 0);
                else
                    assert_int_equal(
                        codec_encode_uint(f->c, (const uint64_t *)iv, n, o, NULL, &e), 0);
                break;
            case 4:
            case 6:
                for (size_t i = 0; !pass && i < n; i++)
                    bv[i] = mode & 1 ? (uint8_t)(rnd() & 1) : (uint8_t)(i / 100 % 2);
                if (kind == 4)
                    assert_int_equal(codec_encode_bool(f->c, bv, n, o, &e), 0);
                else
                    assert_int_equal(codec_encode_presence(f->c, bv, n, o, &e), 0);
                break;
            default:
                for (size_t i = 0; !pass && i < n; i++) {
                    snprintf(pool[i], sizeof pool[i], "v%u", (unsigned)(rnd() % (mode % 50 + 1)));
                    sv[i] = sv_cstr(pool[i]);
                }
                assert_int_equal(codec_encode_str(f->c, sv, n, o, &e), 0);
                break;
            }
        }
        codec_ctx_set_short(f->c, false);
        const uint8_t *sp = (const uint8_t *)f->out.p, *lp = (const uint8_t *)lng.p;
        size_t sl = f->out.len;
        /* same payload, header folded */
        assert_int_equal(sl + 3, lng.len);
        assert_int_equal(sp[0], lp[1] | (lp[0] & 0x10));
        assert_memory_equal(sp + 1, lp + 4, sl - 1);
        struct codec_block_info bi;
        static const enum codec_kind kinds[7] = { CODEC_KIND_TIME, CODEC_KIND_FLOAT,
                                                  CODEC_KIND_INT,  CODEC_KIND_UINT,
                                                  CODEC_KIND_BOOL, CODEC_KIND_STR,
                                                  CODEC_KIND_PRESENCE };
        assert_int_equal(codec_block_info_short(sp, sl, kinds[kind], n, &bi, &e), 0);
        assert_int_equal(bi.n, n);
        assert_int_equal(bi.hdr_len, 1);
        switch (kind) {
        case 0:
            assert_int_equal(codec_decode_time_short(f->c, sp, sl, n, igot, &e), 0);
            if (n)
                assert_memory_equal(igot, iv, n * 8);
            break;
        case 1:
            assert_int_equal(codec_decode_float_short(f->c, sp, sl, n, fgot, &e), 0);
            if (n)
                assert_memory_equal(fgot, fv, n * 8); /* bit for bit */
            break;
        case 2:
            assert_int_equal(codec_decode_int_short(f->c, sp, sl, n, igot, &e), 0);
            if (n)
                assert_memory_equal(igot, iv, n * 8);
            break;
        case 3:
            assert_int_equal(codec_decode_uint_short(f->c, sp, sl, n, ugot, &e), 0);
            if (n)
                assert_memory_equal(ugot, iv, n * 8);
            break;
        case 4:
        case 6:
            assert_int_equal(kind == 4 ? codec_decode_bool_short(f->c, sp, sl, n, bgot, &e)
                                       : codec_decode_presence_short(f->c, sp, sl, n, bgot, &e),
                             0);
            if (n)
                assert_memory_equal(bgot, bv, n);
            break;
        default:
            assert_int_equal(codec_decode_str_short(f->c, sp, sl, n, sgot, &e), 0);
            for (size_t i = 0; i < n; i++)
                assert_true(sv_eq(sgot[i], sv[i]));
            break;
        }
        /* a normal decoder still reads the normal block after a short one */
        size_t m = 0;
        if (kind == 2) {
            assert_int_equal(codec_decode_int(f->c, lp, lng.len, igot, &m, &e), 0);
            assert_int_equal(m, n);
        }
        /* bad header bits, an empty block, a cut payload */
        uint8_t *mp = (uint8_t *)f->out.p;
        uint8_t h0 = mp[0];
        mp[0] |= 0x20;
        assert_int_equal(codec_decode_float_short(f->c, mp, sl, n, fgot, &e), ERR_CORRUPT);
        assert_non_null(strstr(e.msg, "offset 0: bad header byte"));
        mp[0] = h0;
        assert_int_equal(codec_decode_int_short(f->c, mp, 0, n, igot, &e), ERR_CORRUPT);
        assert_non_null(strstr(e.msg, "truncated"));
        if (kind == 1 && sl > 2 && n > 0) {
            int rc = codec_decode_float_short(f->c, mp, sl - 1, n, fgot, &e);
            if (rc)
                assert_int_equal(rc, ERR_CORRUPT);
        }
    }
    assert_int_equal(codec_decode_int_short(f->c, (const uint8_t *)"\x01", 1, N + 1, igot, &e),
                     ERR_INVAL);
    buf_fini(&lng);
}

static void test_strings(void **state)
{
    struct fixture *f = *state;
    static struct sv v[N], got[N];
    static char pool[N][40];
    static const char *words[] = { "ok", "warning", "critical", "", "unknown" };
    rng_state = 8;
    struct err e;
    for (unsigned it = 0; it < 200; it++) {
        size_t n = rnd_n(), m = 99999;
        for (size_t i = 0; i < n; i++) {
            if (it % 3 == 0) {
                v[i] = sv_cstr(words[rnd() % 5]);
            } else {
                size_t len = rnd() % 40;
                for (size_t k = 0; k < len; k++)
                    pool[i][k] = (char)(it % 3 == 1 ? 'a' + rnd() % 3 : rnd()); /* NULs too */
                v[i] = sv_make(pool[i], len);
            }
        }
        buf_reset(&f->out);
        assert_int_equal(codec_encode_str(f->c, v, n, &f->out, &e), 0);
        int rc = codec_decode_str(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e);
        if (rc != 0)
            fail_msg("decode: %s", e.msg);
        assert_int_equal(m, n);
        for (size_t i = 0; i < n; i++)
            assert_true(sv_eq(got[i], v[i]));
        if (it % 3 == 0 && n == N) {
            assert_int_equal((uint8_t)f->out.p[1], CODEC__S_DICT);
            assert_true(f->out.len < 4 + 40 + N * 3 / 8);
        }
    }
}

static void test_zstd_layer(void **state)
{
    struct fixture *f = *state;
    static struct sv v[N], got[N];
    static const char text[] = "host=web-01 status=degraded disk=/dev/sda1 ";
    static char big[N][64];
    struct err e;
    /* Distinct but similar strings: DICT cannot help, zstd can. */
    for (size_t i = 0; i < N; i++) {
        int len = snprintf(big[i], sizeof big[i], "%s%zu", text, i);
        v[i] = sv_make(big[i], (size_t)len);
    }
    buf_reset(&f->out);
    assert_int_equal(codec_encode_str(f->c, v, N, &f->out, &e), 0);
    struct codec_block_info bi;
    assert_int_equal(codec_block_info((const uint8_t *)f->out.p, f->out.len, &bi, &e), 0);
    assert_true(bi.is_zstd);
    assert_true(f->out.len < bi.payload_len / 4);
    size_t m;
    assert_int_equal(codec_decode_str(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e), 0);
    assert_int_equal(m, N);
    for (size_t i = 0; i < N; i++)
        assert_true(sv_eq(got[i], v[i]));
    /* With zstd off the same block is plain and decodes the same. */
    codec_ctx_set_zstd_level(f->c, 0);
    buf_reset(&f->out);
    assert_int_equal(codec_encode_str(f->c, v, N, &f->out, &e), 0);
    assert_int_equal(codec_block_info((const uint8_t *)f->out.p, f->out.len, &bi, &e), 0);
    assert_false(bi.is_zstd);
    codec_ctx_set_zstd_level(f->c, 1);
    /* Random bytes never keep zstd (it cannot save 10 %). */
    static int64_t r[N];
    rng_state = 9;
    gen_ints(r, N, 0);
    buf_reset(&f->out);
    assert_int_equal(codec_encode_int(f->c, r, N, &f->out, NULL, &e), 0);
    assert_int_equal(codec_block_info((const uint8_t *)f->out.p, f->out.len, &bi, &e), 0);
    assert_false(bi.is_zstd);
}

/* Encoding is deterministic and keeps no state outside the context: two
 * contexts, used alternately, write identical bytes. */
static void test_contexts_independent(void **state)
{
    struct fixture *f = *state;
    struct codec_ctx *c2 = codec_ctx_new();
    assert_non_null(c2);
    static double v[N];
    struct buf b2;
    buf_init(&b2, 0);
    struct err e;
    rng_state = 11;
    for (unsigned it = 0; it < 40; it++) {
        gen_floats(v, N, it);
        buf_reset(&f->out);
        buf_reset(&b2);
        assert_int_equal(codec_encode_float(f->c, v, N, &f->out, NULL, &e), 0);
        gen_floats(v + N / 2, N / 2, it + 1); /* dirty c2's scratch differently */
        assert_int_equal(codec_encode_float(c2, v + N / 2, N / 2, &b2, NULL, &e), 0);
        buf_reset(&b2);
        /* c2 decodes c1's block, then re-encodes the values: same bytes. */
        assert_int_equal(codec_decode_float(c2, (const uint8_t *)f->out.p, f->out.len, v, &(size_t){ 0 }, &e), 0);
        assert_int_equal(codec_encode_float(c2, v, N, &b2, NULL, &e), 0);
        assert_int_equal(b2.len, f->out.len);
        assert_memory_equal(b2.p, f->out.p, b2.len);
    }
    buf_fini(&b2);
    codec_ctx_free(c2);
}

static void test_big_strings(void **state)
{
    struct fixture *f = *state;
    static struct sv v[4], got[4];
    const size_t big = CODEC_STR_BLOCK_MAX_BYTES / 4 - 64;
    char *p = malloc(4 * big + 1024);
    for (size_t i = 0; i < 4 * big + 1024; i++)
        p[i] = (char)('a' + i % 23);
    for (size_t i = 0; i < 4; i++)
        v[i] = sv_make(p + i * big, big);
    struct err e;
    size_t m;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_str(f->c, v, 4, &f->out, &e), 0);
    assert_int_equal(codec_decode_str(f->c, (const uint8_t *)f->out.p, f->out.len, got, &m, &e), 0);
    assert_int_equal(m, 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(sv_eq(got[i], v[i]));
    /* Past the cap: refused, nothing appended.  First the string bytes
     * alone reach the cap exactly (the length header pushes the payload
     * over), then they pass it. */
    for (size_t extra = 256; extra <= 512; extra += 256) {
        v[3] = sv_make(p + 3 * big, big + extra);
        buf_reset(&f->out);
        assert_int_equal(codec_encode_str(f->c, v, 4, &f->out, &e), ERR_INVAL);
        assert_int_equal(f->out.len, 0);
    }
    free(p);
}

static void test_limits_and_errors(void **state)
{
    struct fixture *f = *state;
    static int64_t v[N + 1];
    static double d[N + 1];
    struct err e;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_int(f->c, v, N + 1, &f->out, NULL, &e), ERR_INVAL);
    assert_int_equal(codec_encode_float(f->c, d, N + 1, &f->out, NULL, &e), ERR_INVAL);
    assert_non_null(strstr(e.msg, "2049"));
    assert_int_equal(f->out.len, 0);
    /* The output buffer's cap is honoured. */
    struct buf small;
    buf_init(&small, 16);
    rng_state = 10;
    gen_ints(v, N, 0);
    assert_int_equal(codec_encode_int(f->c, v, N, &small, NULL, &e), ERR_LIMIT);
    assert_int_equal(small.len, 0);
    buf_fini(&small);
    /* Blocks append: two blocks in one buffer decode separately. */
    buf_reset(&f->out);
    gen_ints(v, 10, 1);
    assert_int_equal(codec_encode_int(f->c, v, 10, &f->out, NULL, &e), 0);
    size_t first = f->out.len;
    assert_int_equal(codec_encode_int(f->c, v, 5, &f->out, NULL, &e), 0);
    int64_t got[N];
    size_t m;
    assert_int_equal(codec_decode_int(f->c, (const uint8_t *)f->out.p, first, got, &m, &e), 0);
    assert_int_equal(m, 10);
    assert_int_equal(codec_decode_int(f->c, (const uint8_t *)f->out.p + first,
                                      f->out.len - first, got, &m, &e), 0);
    assert_int_equal(m, 5);
    /* Wrong kind. */
    assert_int_equal(codec_decode_time(f->c, (const uint8_t *)f->out.p, first, got, &m, &e),
                     ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "int block where a time block"));
    assert_int_equal(m, 0);
}

static void test_stats(void **state)
{
    struct fixture *f = *state;
    struct err e;
    double d[5] = { 2.5, NAN, -1.0, 4.0, -0.0 };
    struct codec_fstats fs;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_float(f->c, d, 5, &f->out, &fs, &e), 0);
    assert_int_equal(fs.count, 5);
    assert_int_equal(fs.nan_count, 1);
    assert_true(fs.min == -1.0 && fs.max == 4.0 && fs.sum == 5.5);
    assert_true(fs.first == 2.5);
    assert_int_equal(d2bits(fs.last), 0x8000000000000000ull);
    codec_fstats_compute(d, 0, &fs);
    assert_int_equal(fs.count, 0);
    assert_true(isinf(fs.min) && fs.min > 0);

    int64_t iv[4] = { 5, INT64_MAX, -3, 7 };
    struct codec_istats is;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_int(f->c, iv, 4, &f->out, &is, &e), 0);
    assert_true(is.min == -3 && is.max == INT64_MAX && is.first == 5 && is.last == 7);
    assert_true(is.is_sum_overflow);
    codec_istats_compute(iv, 1, &is);
    assert_true(is.sum == 5 && !is.is_sum_overflow);

    uint64_t uv[3] = { 10, UINT64_MAX, 0 };
    struct codec_ustats us;
    buf_reset(&f->out);
    assert_int_equal(codec_encode_uint(f->c, uv, 3, &f->out, &us, &e), 0);
    assert_true(us.min == 0 && us.max == UINT64_MAX && us.first == 10 && us.last == 0);
    assert_true(us.is_sum_overflow);
    codec_ustats_compute(uv, 1, &us);
    assert_true(us.sum == 10 && !us.is_sum_overflow);
}

/* Format stability: these bytes are the version-1 layout of FORMAT.md.  If
 * an encoder change alters them, the change needs a format version bump
 * (or a deliberate encoder choice change documented there). */
static void expect_hex(const struct buf *b, const char *hex)
{
    char got[512];
    size_t k = 0;
    for (size_t i = 0; i < b->len && k + 3 < sizeof got; i++)
        k += (size_t)snprintf(got + k, sizeof got - k, "%02x", (unsigned char)b->p[i]);
    got[k] = '\0';
    assert_string_equal(got, hex);
}

static void test_golden_bytes(void **state)
{
    struct fixture *f = *state;
    struct err e;
    static const int64_t ts[5] = { 1704067200000000000ll, 1704067210000000000ll,
                                   1704067220000000000ll, 1704067230000000000ll,
                                   1704067240000000000ll };
    buf_reset(&f->out);
    assert_int_equal(codec_encode_time(f->c, ts, 5, &f->out, NULL, &e), 0);
    /* time, delta-for, n=5; v0; FOR w 0, ref 10 s */
    expect_hex(&f->out, "010205008080a896e08588a62f008090dfc04a");

    const double fl[6] = { 12.5, 12.75, -0.0, 13.0, NAN, 12.25 };
    buf_reset(&f->out);
    assert_int_equal(codec_encode_float(f->c, fl, 6, &f->out, NULL, &e), 0);
    expect_hex(&f->out, "020506004029000000000000d0038086014ec02a47fa48ff42");
    double fgot[N];
    size_t m;
    assert_int_equal(codec_decode_float(f->c, (const uint8_t *)f->out.p, f->out.len, fgot, &m, &e), 0);
    assert_int_equal(m, 6);
    assert_memory_equal(fgot, fl, sizeof fl);

    const uint8_t bo[10] = { 1, 0, 1, 1, 0, 0, 0, 1, 1, 1 };
    buf_reset(&f->out);
    assert_int_equal(codec_encode_bool(f->c, bo, 10, &f->out, &e), 0);
    expect_hex(&f->out, "05000a008d03"); /* bits, LSB first */

    const struct sv s[4] = { SV_LIT("ok"), SV_LIT("crit"), SV_LIT("ok"), SV_LIT("ok") };
    buf_reset(&f->out);
    assert_int_equal(codec_encode_str(f->c, s, 4, &f->out, &e), 0);
    /* plain; lengths as FOR w 1 with g 2, ref 2, bits 0100; then the bytes */
    expect_hex(&f->out, "0600040001810204026f6b637269746f6b6f6b");

    /* Decoding handwritten bytes: int rle, n=5: runs 2: (7 x3) (-1 x2). */
    static const uint8_t rle[] = { 0x03, 0x05, 0x05, 0x00, 0x02, 0x0e, 0x03, 0x0f, 0x02 };
    int64_t igot[N];
    assert_int_equal(codec_decode_int(f->c, rle, sizeof rle, igot, &m, &e), 0);
    assert_int_equal(m, 5);
    assert_true(igot[0] == 7 && igot[2] == 7 && igot[3] == -1 && igot[4] == -1);

    /* Format 2, handwritten: int delta-ob, n=4, v0 = -1, log2 size 3, one
     * frame of w 64 holding 0, 2^63 and 2^63 - 1 (deltas -2^63, 0, -1). */
    static const uint8_t ob[] = { 0x03, 0x0a, 0x04, 0x00, 0x01, 0x03, 0x40,
                                  0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 0x80,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
    assert_int_equal(codec_decode_int(f->c, ob, sizeof ob, igot, &m, &e), 0);
    assert_int_equal(m, 4);
    assert_true(igot[0] == -1 && igot[1] == INT64_MAX && igot[2] == INT64_MAX &&
                igot[3] == INT64_MAX - 1);
    /* uint for-mbs, n=3, log2 size 3, one FOR frame: w 2, ref 10 (q 20
     * zigzag), packed 0,1,3 -> 10, 11, 13. */
    static const uint8_t fm[] = { 0x04, 0x08, 0x03, 0x00, 0x03, 0x02, 0x14, 0x34 };
    uint64_t ugot[N];
    assert_int_equal(codec_decode_uint(f->c, fm, sizeof fm, ugot, &m, &e), 0);
    assert_int_equal(m, 3);
    assert_true(ugot[0] == 10 && ugot[1] == 11 && ugot[2] == 13);
    /* int pfor, n=3: ref -2 (zigzag 3), w 1, 1 exception; low bits 1,0,1
     * (0x05); position 1 (2 bits); high parts FOR w 0, ref 4 (zigzag 8):
     * x = 1, 8, 1 -> -1, 6, -1. */
    static const uint8_t pf[] = { 0x03, 0x0b, 0x03, 0x00, 0x03, 0x01, 0x01, 0x05, 0x01,
                                  0x00, 0x08 };
    assert_int_equal(codec_decode_int(f->c, pf, sizeof pf, igot, &m, &e), 0);
    assert_int_equal(m, 3);
    assert_true(igot[0] == -1 && igot[1] == 6 && igot[2] == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_float_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_float_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool_and_presence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zstd_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contexts_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
