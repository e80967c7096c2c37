// SPDX-License-Identifier: MIT
/*
 * Hostile-input tests for the tsdb/codec decoders.  A set of valid blocks is
 * built that covers every codec id of every kind (the test checks the
 * coverage, so a new codec without a sample fails here), then each block is
 * truncated, extended, bit-flipped and fed to the wrong decoder.  Decoders
 * must return ERR_CORRUPT with a message, or, for a flip that still makes a
 * valid block, 0 with a count within the block maximum; ASan/UBSan catch
 * any out-of-bounds read or undefined arithmetic.  Handcrafted blocks check
 * that specific problems are reported with their offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec/codec.h"
#include "tsdb/codec/codec_int.h" /* codec ids */

#define N CODEC_BLOCK_MAX
#define MAX_SAMPLES 96

struct sample {
    enum codec_kind kind;
    size_t len;
    uint8_t *p;
};

static struct sample samples[MAX_SAMPLES];
static size_t nsamples;
static struct codec_ctx *ctx;
static uint64_t rng_state = 77;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void add(enum codec_kind kind, const struct buf *b)
{
    assert_true(nsamples < MAX_SAMPLES);
    struct sample *s = &samples[nsamples++];
    s->kind = kind;
    s->len = b->len;
    s->p = malloc(b->len);
    memcpy(s->p, b->p, b->len);
}

/* Decodes with the decoder of `kind`; returns rc and sets *n. */
static int decode_as(enum codec_kind kind, const uint8_t *p, size_t len,
                     size_t *n, struct err *e)
{
    static int64_t i64[N];
    static uint64_t u64[N];
    static double f64[N];
    static uint8_t u8[N];
    static struct sv sv[N];
    switch (kind) {
    case CODEC_KIND_TIME:
        return codec_decode_time(ctx, p, len, i64, n, e);
    case CODEC_KIND_FLOAT:
        return codec_decode_float(ctx, p, len, f64, n, e);
    case CODEC_KIND_INT:
        return codec_decode_int(ctx, p, len, i64, n, e);
    case CODEC_KIND_UINT:
        return codec_decode_uint(ctx, p, len, u64, n, e);
    case CODEC_KIND_BOOL:
        return codec_decode_bool(ctx, p, len, u8, n, e);
    case CODEC_KIND_PRESENCE:
        return codec_decode_presence(ctx, p, len, u8, n, e);
    case CODEC_KIND_STR:
        return codec_decode_str(ctx, p, len, sv, n, e);
    }
    return -1;
}

static void int_samples(enum codec_kind kind, struct buf *b)
{
    /* Shapes sized for 1,024-value blocks (delta-ob's largest frame is
     * 1,024 values, so a 2,048-value walk is a tie with delta). */
    enum { NS = 1024 };
    static int64_t v[NS];
    struct err e;
    for (unsigned shape = 0; shape < 16; shape++) {
        for (size_t i = 0; i < NS; i++) {
            switch (shape) {
            case 0: v[i] = (int64_t)rnd(); break;                          /* raw */
            case 1: v[i] = (int64_t)(rnd() % 1000) - 500; break;           /* for */
            case 2: v[i] = i ? v[i - 1] + (int64_t)(rnd() % 8) : 9; break; /* delta */
            case 3: v[i] = (int64_t)(i * i * 7); break;                    /* dod */
            case 4: /* grid: jitter, none on the first and last rows */
                v[i] = (int64_t)i * 10000000000ll + (i && i < NS - 1 ? (int64_t)(rnd() % 3000000) : 0); break;
            case 5: v[i] = (int64_t)(i / 300); break;                      /* rle */
            case 6: /* for-mb: levels alternating every 32 values */
                v[i] = (i / 32 % 2 ? 1000000000 : 0) + (int64_t)(rnd() % 1000); break;
            case 7: /* delta-for-mb: increments narrow and wide every 32 */
                v[i] = i ? v[i - 1] + (int64_t)(rnd() % ((i - 1) / 32 % 2 ? 1u << 20 : 8)) : 5; break;
            case 9: /* for-mbs: levels alternating every 128 values */
                v[i] = (i / 128 % 2 ? 1000000000 : 0) + (int64_t)(rnd() % 1000); break;
            case 10: /* delta-for-mbs: increments narrow and wide every 128 */
                v[i] = i ? v[i - 1] + (int64_t)(rnd() % ((i - 1) / 128 % 2 ? 1u << 20 : 8)) : 5; break;
            case 11: /* delta-ob: symmetric random walk */
                v[i] = i ? v[i - 1] + (int64_t)(rnd() % 2001) - 1000 : -3; break;
            case 13: /* pfor: small values with rare huge outliers */
                v[i] = (int64_t)(rnd() % 16) + (i % 200 == 3 ? (int64_t)1 << 40 : 0); break;
            case 14: /* delta-pfor: a 0/1 counter with rare bursts */
                v[i] = i ? v[i - 1] + (int64_t)(rnd() & 1) + (i % 300 == 5 ? 5000 : 0) : 9; break;
            case 15: /* huff: a skewed small domain (geometric) */
                v[i] = __builtin_ctzll(rnd() | 1ull << 40); break;
            case 12: /* delta-ob with small frames: a walk with rare jumps */
                v[i] = i ? v[i - 1] + (int64_t)(rnd() % 9) - 4 +
                           (i % 97 == 0 ? (int64_t)1 << 40 : 0) : 0; break;
            default: v[i] = 17; break;                                     /* zstd-free tiny */
            }
        }
        buf_reset(b);
        int rc = kind == CODEC_KIND_TIME ? codec_encode_time(ctx, v, NS, b, NULL, &e)
               : kind == CODEC_KIND_INT  ? codec_encode_int(ctx, v, NS, b, NULL, &e)
                                         : codec_encode_uint(ctx, (uint64_t *)v, NS, b, NULL, &e);
        assert_int_equal(rc, 0);
        add(kind, b);
    }
    buf_reset(b);
    assert_int_equal(codec_encode_int(ctx, v, 0, b, NULL, &e), 0);
    add(CODEC_KIND_INT, b);
}

static void float_samples(struct buf *b)
{
    static double v[N];
    struct err e;
    double walk = 50;
    for (unsigned shape = 0; shape < 7; shape++) {
        size_t n = shape == 0 ? 1 : N;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd();
            switch (shape) {
            case 0: v[i] = 1.0 / 3; break;                                  /* raw */
            case 1: v[i] = -0.0; break;                                     /* const */
            case 2: /* runs of random bit patterns: rle */
                if (i % 200 == 0)
                    memcpy(&v[i], &(uint64_t){ rnd() }, 8);
                else
                    v[i] = v[i - 1];
                break;
            case 3: v[i] = r % 50 ? (double)(r % 10000) / 100 : 0.1 + 0.2; break;
            case 4: walk += (double)(r >> 11) * 0x1p-52 - 1.0; v[i] = walk; break;
            case 5: /* a few middle bits flipped at a time: xor (integer deltas
                     * of such patterns are wide, even for huff) */
                if (i == 0)
                    v[i] = 1234.5678;
                else {
                    uint64_t bits;
                    memcpy(&bits, &v[i - 1], 8);
                    bits ^= (r & 63) << (10 + (r >> 8) % 30);
                    memcpy(&v[i], &bits, 8);
                }
                break;
            default: v[i] = (double)(r % 4) / 4; break;                     /* zstd */
            }
        }
        buf_reset(b);
        assert_int_equal(codec_encode_float(ctx, v, n, b, NULL, &e), 0);
        add(CODEC_KIND_FLOAT, b);
    }
}

static void other_samples(struct buf *b)
{
    static uint8_t bits[N];
    static struct sv s[N];
    static char pool[N][24];
    struct err e;
    for (unsigned shape = 0; shape < 2; shape++) {
        for (size_t i = 0; i < N; i++)
            bits[i] = shape ? (uint8_t)(i / 100 % 2) : (uint8_t)(rnd() & 1);
        buf_reset(b);
        assert_int_equal(codec_encode_bool(ctx, bits, N, b, &e), 0);
        add(CODEC_KIND_BOOL, b);
        buf_reset(b);
        assert_int_equal(codec_encode_presence(ctx, bits, N - 3, b, &e), 0);
        add(CODEC_KIND_PRESENCE, b);
    }
    static const char *words[] = { "ok", "warn", "crit" };
    for (unsigned shape = 0; shape < 3; shape++) {
        size_t n = shape == 2 ? 300 : 40;
        for (size_t i = 0; i < n; i++) {
            if (shape == 0) {
                s[i] = sv_cstr(words[rnd() % 3]);
            } else {
                int len = snprintf(pool[i], sizeof pool[i], "%s-%llu",
                                   shape == 1 ? "x" : "instance", (unsigned long long)(rnd() % 100000));
                s[i] = sv_make(pool[i], (size_t)len);
            }
        }
        buf_reset(b);
        assert_int_equal(codec_encode_str(ctx, s, n, b, &e), 0);
        add(CODEC_KIND_STR, b);
    }
}

static int setup(void **state)
{
    (void)state;
    ctx = codec_ctx_new();
    struct buf b;
    buf_init(&b, 0);
    int_samples(CODEC_KIND_TIME, &b);
    int_samples(CODEC_KIND_INT, &b);
    int_samples(CODEC_KIND_UINT, &b);
    float_samples(&b);
    other_samples(&b);
    buf_fini(&b);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsamples; i++)
        free(samples[i].p);
    codec_ctx_free(ctx);
    return 0;
}

static void test_coverage(void **state)
{
    (void)state;
    static const struct {
        enum codec_kind kind;
        unsigned ncodecs;
    } kinds[] = {
        { CODEC_KIND_TIME, CODEC__IS_NKINDS }, { CODEC_KIND_INT, CODEC__IS_NKINDS },
        { CODEC_KIND_UINT, CODEC__IS_NKINDS }, { CODEC_KIND_FLOAT, CODEC__F_NKINDS },
        { CODEC_KIND_BOOL, CODEC__B_NKINDS },  { CODEC_KIND_PRESENCE, CODEC__B_NKINDS },
        { CODEC_KIND_STR, CODEC__S_NKINDS },
    };
    bool zstd_seen = false;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (unsigned id = 0; id < kinds[k].ncodecs; id++) {
            bool found = false;
            for (size_t i = 0; i < nsamples; i++) {
                struct codec_block_info bi;
                assert_int_equal(codec_block_info(samples[i].p, samples[i].len, &bi, NULL), 0);
                zstd_seen |= bi.is_zstd;
                found |= bi.kind == kinds[k].kind && bi.codec_id == id;
            }
            if (!found)
                fail_msg("no sample for %s codec %s", codec__kind_name(kinds[k].kind),
                         codec_name(kinds[k].kind, id));
        }
    }
    assert_true(zstd_seen);
    for (size_t i = 0; i < nsamples; i++) {
        size_t n;
        struct err e;
        if (decode_as(samples[i].kind, samples[i].p, samples[i].len, &n, &e) != 0)
            fail_msg("sample %zu does not decode: %s", i, e.msg);
    }
}

static void test_truncated_and_extended(void **state)
{
    (void)state;
    uint8_t *tmp = malloc(CODEC__NUM_PAYLOAD_MAX + 64);
    for (size_t i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];
        for (size_t cut = 0; cut < s->len; cut++) {
            if (s->len > 600 && cut > 200 && cut < s->len - 200 && cut % 37)
                continue;
            /* A copy of exactly cut bytes, so ASan sees any over-read. */
            uint8_t *p = malloc(cut ? cut : 1);
            memcpy(p, s->p, cut);
            size_t n = 12345;
            struct err e = { 0 };
            int rc = decode_as(s->kind, p, cut, &n, &e);
            if (rc != ERR_CORRUPT)
                fail_msg("sample %zu (%s) cut at %zu/%zu: rc %d", i,
                         codec__kind_name(s->kind), cut, s->len, rc);
            assert_non_null(strstr(e.msg, "codec"));
            assert_int_equal(n, 0);
            free(p);
        }
        memcpy(tmp, s->p, s->len);
        tmp[s->len] = 0;
        size_t n;
        struct err e;
        assert_int_equal(decode_as(s->kind, tmp, s->len + 1, &n, &e), ERR_CORRUPT);
    }
    free(tmp);
}

static void test_bit_flips(void **state)
{
    (void)state;
    static const uint8_t masks[] = { 0x01, 0x10, 0x80, 0xff };
    for (size_t i = 0; i < nsamples; i++) {
        const struct sample *s = &samples[i];
        uint8_t *p = malloc(s->len);
        for (size_t k = 0; k < 400; k++) {
            size_t at = k < 64 ? k : (size_t)(rnd() % s->len);
            if (at >= s->len)
                continue;
            memcpy(p, s->p, s->len);
            p[at] ^= masks[rnd() % 4];
            size_t n = 12345;
            struct err e = { 0 };
            int rc = decode_as(s->kind, p, s->len, &n, &e);
            if (rc == 0) {
                assert_true(n <= N);
            } else {
                assert_int_equal(rc, ERR_CORRUPT);
                assert_true(e.msg[0] != '\0');
            }
        }
        free(p);
    }
}

static void test_wrong_kind(void **state)
{
    (void)state;
    for (size_t i = 0; i < nsamples; i++) {
        for (int k = CODEC_KIND_TIME; k <= CODEC_KIND_PRESENCE; k++) {
            if ((enum codec_kind)k == samples[i].kind)
                continue;
            size_t n;
            struct err e;
            assert_int_equal(decode_as((enum codec_kind)k, samples[i].p, samples[i].len, &n, &e),
                             ERR_CORRUPT);
        }
    }
}

static void expect_corrupt(enum codec_kind kind, const uint8_t *p, size_t len,
                           const char *needle)
{
    size_t n;
    struct err e = { 0 };
    assert_int_equal(decode_as(kind, p, len, &n, &e), ERR_CORRUPT);
    if (!strstr(e.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
}

static void test_handcrafted(void **state)
{
    (void)state;
    /* Header problems. */
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x01", 2, "header truncated");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x23\x01\x01\x00", 4, "bad kind byte");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x0e\x01\x00", 4, "unknown codec id");
    /* Patched FOR (format 2), n = 2, ref 0: width 64; 3 exceptions. */
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x0b\x02\x00\x00\x40\x00", 7,
                   "width above 63");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x0b\x02\x00\x00\x01\x03\x00", 8,
                   "more exceptions than values");
    /* n = 3, ref 0, w 1, 1 exception; low bits 0x00; position 3 (2 bits);
     * high parts FOR w 0 ref 1. */
    expect_corrupt(CODEC_KIND_INT,
                   (const uint8_t *)"\x03\x0b\x03\x00\x00\x01\x01\x00\x03\x00\x02", 11,
                   "exception position beyond the block");
    expect_corrupt(CODEC_KIND_UINT, (const uint8_t *)"\x04\x0c\x03\x00\x00\x00\x01\x01\x00",
                   9, "exception positions truncated");
    /* Sized miniblocks (format 2): log2 size 2 and 11 are out of range;
     * delta-ob frame width 65.  n = 2: v0, size, one frame of 1 value. */
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x08\x02\x00\x02", 5,
                   "miniblock size out of range");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x09\x02\x00\x00\x0b", 6,
                   "miniblock size out of range");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x0a\x02\x00\x00\x05\x41", 7,
                   "frame bit width above 64");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x0a\x02\x00\x00\x05\x10\x01", 8,
                   "packed values truncated");
    expect_corrupt(CODEC_KIND_TIME, (const uint8_t *)"\x01\x0a\x01\x00\x00\x05", 6,
                   "fewer than 2 values");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x00\x01\x08", 4, "more than 2048");
    /* FOR with width 65: kind int, FOR, n=1, w 65, ref 0. */
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x01\x01\x00\x41\x00", 6,
                   "payload offset 1: FOR bit width above 64");
    /* FOR divisor flagged but 1. */
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x01\x01\x00\x80\x01\x00", 7,
                   "FOR divisor below 2");
    /* Packed bytes missing: n=16, w=8 needs 16 bytes. */
    expect_corrupt(CODEC_KIND_UINT, (const uint8_t *)"\x04\x01\x10\x00\x08\x00\xaa", 7,
                   "packed values truncated");
    /* Varint running past 10 bytes. */
    expect_corrupt(CODEC_KIND_INT,
                   (const uint8_t *)"\x03\x01\x01\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                   16, "varint");
    /* RLE runs that overrun the block: n=2, 1 run of 3. */
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x03\x05\x02\x00\x01\x02\x03", 7,
                   "overruns");
    /* Decimal exponent 19. */
    expect_corrupt(CODEC_KIND_FLOAT, (const uint8_t *)"\x02\x03\x01\x00\x13\x00", 6,
                   "exponent above 18");
    /* Decimal exception position beyond n: n=1, e=1, 1 exception at 5. */
    static const uint8_t dec[] = { 0x02, 0x03, 0x01, 0x00, 0x01, 0x01, 0x05, 0x00,
                                   0, 0, 0, 0, 0, 0, 0, 0, /* raw value */
                                   0x01, 0x00, 0x00 /* FOR w 0 ref 0 */ };
    expect_corrupt(CODEC_KIND_FLOAT, dec, sizeof dec, "exception position");
    /* XOR: '10' window reuse before any window, n=2. */
    static const uint8_t x[] = { 0x02, 0x05, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x80 };
    expect_corrupt(CODEC_KIND_FLOAT, x, sizeof x, "reused before");
    /* Bool RLE with first value 2. */
    expect_corrupt(CODEC_KIND_BOOL, (const uint8_t *)"\x05\x01\x01\x00\x02\x01\x01", 7,
                   "not 0 or 1");
    /* String dict code out of range: n=1, ndict 1, lens FOR(w 0, ref 1),
     * byte 'a', codes FOR(w 0, ref 3). */
    static const uint8_t sd[] = { 0x06, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00, 0x02, 'a',
                                  0x01, 0x00, 0x06 };
    expect_corrupt(CODEC_KIND_STR, sd, sizeof sd, "dictionary code out of range");
    /* String lengths beyond the block: n=1, plain, FOR ref 100. */
    static const uint8_t sp[] = { 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0xc8, 0x01, 'a' };
    expect_corrupt(CODEC_KIND_STR, sp, sizeof sp, "overrun");
    /* zstd flag with a declared payload over the cap, and a garbage frame. */
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x13\x01\x01\x00\xff\xff\x7f", 7,
                   "bad zstd payload length");
    expect_corrupt(CODEC_KIND_INT, (const uint8_t *)"\x13\x01\x01\x00\x04\x01\x02\x03\x04", 9,
                   "zstd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_truncated_and_extended),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_handcrafted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
