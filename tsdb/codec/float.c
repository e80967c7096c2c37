// SPDX-License-Identifier: MIT
/*
 * Float columns: candidate selection and the simple codecs.
 *
 * The encoder always works on bit patterns, so every value (NaN payloads,
 * -0.0, denormals, +-Inf) comes back bit for bit.  Candidates, each written
 * in full into a scratch payload and kept when smaller than the best so far
 * (ties keep the earlier, faster one):
 *
 *   CONST     every bit pattern equal: 8 bytes
 *   RLE       runs of equal bit patterns (tried when runs <= n/8)
 *   DECIMAL   float_alp.c: short decimals as integers, plus exceptions
 *   BITS      the bit patterns as an integer sequence (intseq.c): a random
 *             walk of full-precision floats with a stable exponent packs its
 *             deltas in about as many bits as the walk has entropy, below XOR
 *   XOR       float_xor.c, Gorilla; its exact size is computed for every
 *             block, so a block is never bigger than Gorilla XOR plus the
 *             4-byte header
 *   RAW       8 bytes a value
 */
#include "tsdb/codec/codec_int.h"

static void swap_wr(struct wr *a, struct wr *b)
{
    struct wr t = *a;
    *a = *b;
    *b = t;
}

/* Keeps trial when it is smaller than best; resets trial either way. */
static void keep_smaller(struct wr *best, unsigned *best_id, struct wr *trial,
                         unsigned id)
{
    if (trial->len < best->len) {
        swap_wr(best, trial);
        *best_id = id;
    }
    trial->len = 0;
}

int codec_encode_float(struct codec_ctx *c, const double *v, size_t n,
                       struct buf *out, struct codec_fstats *st, struct err *e)
{
    if (n > CODEC_BLOCK_MAX)
        return err_set(e, ERR_INVAL, "codec: float block of %zu values, more than %d",
                       n, CODEC_BLOCK_MAX);
    if (st)
        codec_fstats_compute(v, n, st);
    uint64_t *bits = c->vals;
    if (n)
        memcpy(bits, v, n * sizeof *bits);

    struct wr best, trial;
    wr_init(&best, c->tmp[0], CODEC__NUM_PAYLOAD_MAX);
    wr_init(&trial, c->tmp[1], CODEC__NUM_PAYLOAD_MAX);
    unsigned id = CODEC__F_RAW;
    for (size_t i = 0; i < n; i++)
        wr_u64(&best, bits[i]);

    size_t runs = n ? 1 : 0;
    for (size_t i = 1; i < n; i++)
        runs += bits[i] != bits[i - 1];
    if (runs == 1) {
        wr_u64(&trial, bits[0]);
        keep_smaller(&best, &id, &trial, CODEC__F_CONST);
    } else if (n > 1) {
        if (runs <= n / 8) {
            wr_uvarint(&trial, runs);
            for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                while (j < n && bits[j] == bits[i])
                    j++;
                wr_u64(&trial, bits[i]);
                wr_uvarint(&trial, j - i);
                i = j;
            }
            keep_smaller(&best, &id, &trial, CODEC__F_RLE);
        }
        if (codec__decimal_encode(c, &trial, v, n))
            keep_smaller(&best, &id, &trial, CODEC__F_DECIMAL);
        trial.len = 0;
        codec__intseq_put(&trial, bits, n, false, c->is, c->fast);
        keep_smaller(&best, &id, &trial, CODEC__F_BITS);
        /* Sizing the XOR stream is cheaper than writing it. */
        if (codec__xor_size(bits, n) < best.len) {
            codec__xor_encode(&trial, bits, n);
            keep_smaller(&best, &id, &trial, CODEC__F_XOR);
        }
    }
    return codec__finish(c, CODEC_KIND_FLOAT, id, n, best.p, best.len, out, e);
}

int codec_decode_float(struct codec_ctx *c, const uint8_t *p, size_t len,
                       double *out, size_t *n, struct err *e)
{
    struct codec_block_info bi;
    struct cur cu;
    *n = 0;
    int rc = codec__open(c, CODEC_KIND_FLOAT, p, len, &bi, &cu, e);
    if (rc != 0)
        return rc;
    size_t cnt = bi.n;
    switch (bi.codec_id) {
    case CODEC__F_RAW: {
        const uint8_t *src = cur_take(&cu, 8 * cnt, "raw values truncated");
        if (src && cnt)
            memcpy(out, src, 8 * cnt);
        break;
    }
    case CODEC__F_CONST: {
        uint64_t x = cur_u64(&cu, "truncated constant");
        for (size_t i = 0; i < cnt; i++)
            memcpy(&out[i], &x, 8);
        break;
    }
    case CODEC__F_RLE: {
        uint64_t runs = cur_uvarint(&cu, "truncated run count");
        if (!cu.is_bad && (runs == 0 || runs > cnt))
            cur_fail(&cu, "run count is 0 or above the value count");
        size_t pos = 0;
        for (uint64_t r = 0; r < runs && !cu.is_bad; r++) {
            uint64_t x = cur_u64(&cu, "truncated run value");
            uint64_t rl = cur_uvarint(&cu, "truncated run length");
            if (cu.is_bad)
                break;
            if (rl == 0 || rl > cnt - pos) {
                cur_fail(&cu, "run length is 0 or overruns the block");
                break;
            }
            for (uint64_t k = 0; k < rl; k++)
                memcpy(&out[pos++], &x, 8);
        }
        if (!cu.is_bad && pos != cnt)
            cur_fail(&cu, "runs do not cover the block");
        break;
    }
    case CODEC__F_DECIMAL:
        codec__decimal_decode(c, &cu, cnt, out);
        break;
    case CODEC__F_BITS:
        codec__intseq_get(&cu, cnt, c->vals);
        if (!cu.is_bad && cnt)
            memcpy(out, c->vals, 8 * cnt);
        break;
    case CODEC__F_XOR:
        codec__xor_decode(&cu, cnt, c->vals);
        if (!cu.is_bad && cnt)
            memcpy(out, c->vals, 8 * cnt);
        break;
    }
    rc = codec__close(&cu, &bi, e);
    if (rc == 0)
        *n = cnt;
    return rc;
}
