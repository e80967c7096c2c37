// SPDX-License-Identifier: MIT
/*
 * Entropy-coded integer sequences (tsdb/codec/huff.c, sequence kind 13):
 * bit-exact round trips of the body forced through the internal entry
 * points (both modes, random and adversarial values, 1 to 2,048 values),
 * the encoder's exact size, the adaptive encoders picking huff where it
 * pays, and damaged bodies giving errors, never crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec/codec.h"
#include "tsdb/codec/codec_int.h"

#define N CODEC_BLOCK_MAX

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t body[CODEC__NUM_PAYLOAD_MAX + 64];

/* Writes v through huff (forced), checks the size, decodes, compares.
 * Returns the body length. */
static size_t roundtrip(const uint64_t *v, size_t n, bool is_unsigned, int mode)
{
    static uint64_t d[N], got[N + 1];
    for (size_t i = 1; i < n; i++)
        d[i - 1] = v[i] - v[i - 1];
    struct codec__huffp hp;
    codec__huff_plan(v, n, d, is_unsigned, &hp);
    assert_true(hp.cost != SIZE_MAX);
    assert_true(hp.cost <= sizeof body);
    (void)mode;
    struct wr w;
    wr_init(&w, body, sizeof body);
    codec__huff_write(&w, v, n, d, &hp);
    assert_int_equal(w.len, hp.cost);
    struct cur c;
    cur_init(&c, body, w.len);
    got[n] = 0x5a5a;
    codec__huff_read(&c, n, got);
    if (c.is_bad)
        fail_msg("decode n=%zu: %s at %zu", n, c.what, c.bad_off);
    assert_int_equal(c.off, w.len);
    assert_memory_equal(got, v, n * 8);
    assert_int_equal(got[n], 0x5a5a); /* nothing written past n */
    return w.len;
}

static size_t pick_n(unsigned it)
{
    switch (it % 7) {
    case 0:
        return 1;
    case 1:
        return 2;
    case 2:
        return N;
    case 3:
        return 1 + rnd() % 40;
    default:
        return 1 + rnd() % N;
    }
}

static void gen(uint64_t *v, size_t n, unsigned shape)
{
    static const uint64_t ext[] = { (uint64_t)INT64_MIN, (uint64_t)INT64_MAX, UINT64_MAX, 0,
                                    1, (uint64_t)INT64_MIN + 1, (uint64_t)INT64_MAX - 1 };
    uint64_t acc = rnd();
    for (size_t i = 0; i < n; i++) {
        switch (shape % 10) {
        case 0: /* uniform 64-bit */
            v[i] = rnd();
            break;
        case 1: /* extremes only */
            v[i] = ext[rnd() % 7];
            break;
        case 2: /* skewed small domain (geometric) */
            v[i] = (uint64_t)__builtin_ctzll(rnd() | 1ull << 40);
            break;
        case 3: /* gauge: wide uniform noise on a slow walk */
            acc += rnd() % 64 - 32;
            v[i] = acc + rnd() % 3000;
            break;
        case 4: /* 0/1 counter with bursts */
            acc += (rnd() & 1) + (rnd() % 300 == 0 ? rnd() % 100000 : 0);
            v[i] = acc;
            break;
        case 5: /* constant */
            v[i] = 42;
            break;
        case 6: /* small domain with rare 64-bit outliers */
            v[i] = rnd() % 40 == 0 ? rnd() : 100 + rnd() % 30;
            break;
        case 7: /* walk crossing zero and wrapping */
            acc += rnd() % 2001 - 1000;
            v[i] = acc;
            break;
        case 8: /* values near 2^63 (narrow only in unsigned order) */
            v[i] = (uint64_t)INT64_MAX - 3 + rnd() % 8;
            break;
        default: /* mixed widths: every token class */
            v[i] = rnd() >> (rnd() % 64);
            break;
        }
    }
}

static void test_properties(void **state)
{
    (void)state;
    static uint64_t v[N];
    rng_state = 11;
    for (unsigned it = 0; it < 1500; it++) {
        size_t n = pick_n(it);
        gen(v, n, it / 7);
        roundtrip(v, n, (it & 1) != 0, 0);
    }
    /* Every extreme at every position class, 2,048 values. */
    for (size_t i = 0; i < N; i++)
        v[i] = i & 1 ? UINT64_MAX : (uint64_t)INT64_MIN;
    roundtrip(v, N, false, 0);
    roundtrip(v, N, true, 0);
    v[0] = (uint64_t)INT64_MAX;
    roundtrip(v, 1, false, 0);
}

/* Float bit patterns that the decimal path sends to exceptions, and
 * decimal values whose mantissas go through huff: everything returns bit
 * for bit through the public API. */
static void test_float_adversarial(void **state)
{
    (void)state;
    struct codec_ctx *c = codec_ctx_new();
    assert_non_null(c);
    struct buf out;
    buf_init(&out, 0);
    static double v[N], got[N];
    rng_state = 5;
    static const uint64_t odd[] = { 0x7ff8000000000001ull, 0xfff0000000000000ull,
                                    0x7ff0000000000000ull, 0x8000000000000000ull,
                                    0x0000000000000001ull, 0x000fffffffffffffull,
                                    0x7ff4000000000abcull };
    unsigned huffed = 0;
    for (unsigned it = 0; it < 200; it++) {
        size_t n = pick_n(it);
        for (size_t i = 0; i < n; i++) {
            /* mos-like: 2 decimals, a small skewed domain */
            v[i] = (double)(420 + (int64_t)__builtin_ctzll(rnd() | 1ull << 20) -
                            (int64_t)(rnd() % 3)) / 100.0;
            if (it % 3 == 0 && rnd() % 50 == 0)
                memcpy(&v[i], &odd[rnd() % 7], 8);
        }
        buf_reset(&out);
        struct err e;
        assert_int_equal(codec_encode_float(c, v, n, &out, NULL, &e), 0);
        size_t m = 0;
        if (codec_decode_float(c, (const uint8_t *)out.p, out.len, got, &m, &e))
            fail_msg("decode: %s", e.msg);
        assert_int_equal(m, n);
        assert_memory_equal(got, v, n * 8);
        /* Decimal payload: e, nexc, positions, raws, then the nested kind. */
        if ((uint8_t)out.p[1] == CODEC__F_DECIMAL && !(out.p[0] & CODEC__FLAG_ZSTD)) {
            struct cur cu;
            cur_init(&cu, (const uint8_t *)out.p + 4, out.len - 4);
            (void)cur_u8(&cu, "e");
            uint64_t nexc = cur_uvarint(&cu, "nexc");
            (void)cur_take(&cu, 10 * nexc, "exc");
            huffed += !cu.is_bad && cur_u8(&cu, "kind") == CODEC__IS_HUFF;
        }
    }
    assert_true(huffed > 50); /* the skewed mantissas did take the huff path */
    buf_fini(&out);
    codec_ctx_free(c);
}

/* The adaptive int encoder picks huff for a skewed domain and not for
 * data bit packing already codes well; the size beats plain FOR. */
static void test_adaptive_choice(void **state)
{
    (void)state;
    struct codec_ctx *c = codec_ctx_new();
    struct buf out;
    buf_init(&out, 0);
    static int64_t v[N], got[N];
    rng_state = 9;
    for (size_t i = 0; i < N; i++)
        v[i] = 1000 + __builtin_ctzll(rnd() | 1ull << 30);
    struct err e;
    assert_int_equal(codec_encode_int(c, v, N, &out, NULL, &e), 0);
    assert_int_equal((uint8_t)out.p[1], CODEC__IS_HUFF);
    assert_string_equal(codec_name(CODEC_KIND_INT, CODEC__IS_HUFF), "huff");
    /* Entropy ~2 bits a value against 5 bits of FOR. */
    assert_true(out.len < N * 3 / 8);
    size_t m;
    assert_int_equal(codec_decode_int(c, (const uint8_t *)out.p, out.len, got, &m, &e), 0);
    assert_memory_equal(got, v, sizeof v);
    for (size_t i = 0; i < N; i++) /* a 10 s grid: delta-for with width 0 */
        v[i] = 1704067200000000000ll + (int64_t)i * 10000000000ll;
    buf_reset(&out);
    assert_int_equal(codec_encode_time(c, v, N, &out, NULL, &e), 0);
    assert_int_not_equal((uint8_t)out.p[1], CODEC__IS_HUFF);
    buf_fini(&out);
    codec_ctx_free(c);
}

/* Truncations and bit flips of valid bodies: an error or some values,
 * never a crash or a read past the body (ASan). */
static void test_damage(void **state)
{
    (void)state;
    static uint64_t v[N], got[N];
    rng_state = 21;
    unsigned errors = 0;
    for (unsigned it = 0; it < 60; it++) {
        size_t n = pick_n(it);
        gen(v, n, it);
        size_t len = roundtrip(v, n, false, 0);
        for (unsigned k = 0; k < 40; k++) {
            size_t cut = k < 20 ? rnd() % len : len;
            uint8_t *p = malloc(cut ? cut : 1); /* exact size: ASan sees over-reads */
            memcpy(p, body, cut);
            if (k >= 20 && cut)
                p[rnd() % cut] ^= (uint8_t)(1u << (rnd() % 8));
            struct cur c;
            cur_init(&c, p, cut);
            codec__huff_read(&c, n, got);
            errors += c.is_bad;
            free(p);
        }
    }
    assert_true(errors > 60 * 20 / 2); /* truncations are always caught */
    /* Hand-made bad headers. */
    static const struct {
        const char *what;
        uint8_t b[12];
        size_t len;
    } bad[] = {
        { "mode 2", { 2, 0, 1, 0x01, 0 }, 5 },
        { "no tokens", { 0, 0, 0, 0 }, 4 },
        { "131 tokens", { 0, 0, 131 }, 3 },
        { "length 12", { 0, 0, 1, 0x0c, 0 }, 5 },
        { "all lengths 0", { 0, 0, 2, 0x00, 0 }, 5 },
        { "oversubscribed", { 0, 0, 3, 0x11, 0x01, 0 }, 6 },
        { "lane longer than total", { 0, 0, 1, 0x01, 1, 0x7e, 0, 0 }, 8 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cur c;
        cur_init(&c, bad[i].b, bad[i].len);
        codec__huff_read(&c, 4, got);
        if (!c.is_bad)
            fail_msg("accepted: %s", bad[i].what);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_float_adversarial),
        cmocka_unit_test(test_adaptive_choice),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
