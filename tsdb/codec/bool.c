// SPDX-License-Identifier: MIT
/*
 * Bool columns and presence bitmaps (the same encodings, different kinds).
 *
 *   BITS  one bit per value, value i at bit i (LSB first), ceil(n/8) bytes
 *   RLE   u8 first value (0/1), uvarint nruns, nruns x uvarint run length;
 *         runs alternate between the two values.  A constant block is one
 *         run: 3 bytes of payload.
 * The encoder writes whichever is smaller (BITS on ties).
 */
#include "tsdb/codec/codec_int.h"

static int encode_bits(struct codec_ctx *c, enum codec_kind kind,
                       const uint8_t *v, size_t n, struct buf *out,
                       struct err *e)
{
    if (n > CODEC_BLOCK_MAX)
        return err_set(e, ERR_INVAL, "codec: %s block of %zu values, more than %d",
                       codec__kind_name(kind), n, CODEC_BLOCK_MAX);
    uint64_t *bits = c->vals;
    size_t runs = n ? 1 : 0, rle_cost = 1;
    for (size_t i = 0; i < n; i++) {
        bits[i] = v[i] != 0;
        if (i && bits[i] != bits[i - 1])
            runs++;
    }
    struct wr w;
    wr_init(&w, c->tmp[0], CODEC__NUM_PAYLOAD_MAX);
    unsigned id = CODEC__B_BITS;
    if (n) {
        rle_cost += uvarint_len(runs);
        for (size_t i = 0, j; i < n; i = j) {
            for (j = i + 1; j < n && bits[j] == bits[i]; j++)
                ;
            rle_cost += uvarint_len(j - i);
        }
    }
    if (n && rle_cost < codec__packed_size(n, 1)) {
        id = CODEC__B_RLE;
        wr_u8(&w, (unsigned)bits[0]);
        wr_uvarint(&w, runs);
        for (size_t i = 0, j; i < n; i = j) {
            for (j = i + 1; j < n && bits[j] == bits[i]; j++)
                ;
            wr_uvarint(&w, j - i);
        }
    } else {
        codec__pack(&w, bits, n, 1);
    }
    return codec__finish(c, kind, id, n, w.p, w.len, out, e);
}

static int decode_bits(struct codec_ctx *c, enum codec_kind kind,
                       const uint8_t *p, size_t len, uint8_t *out, size_t *n,
                       struct err *e)
{
    struct codec_block_info bi;
    struct cur cu;
    *n = 0;
    int rc = codec__open(c, kind, p, len, &bi, &cu, e);
    if (rc != 0)
        return rc;
    size_t cnt = bi.n;
    if (bi.codec_id == CODEC__B_BITS) {
        size_t nb = codec__packed_size(cnt, 1);
        const uint8_t *src = cur_take(&cu, nb, "bits truncated");
        if (src) {
            for (size_t i = 0; i < cnt; i++)
                out[i] = (src[i >> 3] >> (i & 7)) & 1;
        }
    } else {
        unsigned val = cur_u8(&cu, "truncated first value");
        uint64_t runs = cur_uvarint(&cu, "truncated run count");
        if (!cu.is_bad && val > 1)
            cur_fail(&cu, "first value is not 0 or 1");
        if (!cu.is_bad && (runs == 0 || runs > cnt))
            cur_fail(&cu, "run count is 0 or above the value count");
        size_t pos = 0;
        for (uint64_t r = 0; r < runs && !cu.is_bad; r++, val ^= 1) {
            uint64_t rl = cur_uvarint(&cu, "truncated run length");
            if (cu.is_bad)
                break;
            if (rl == 0 || rl > cnt - pos) {
                cur_fail(&cu, "run length is 0 or overruns the block");
                break;
            }
            memset(out + pos, (int)val, (size_t)rl);
            pos += (size_t)rl;
        }
        if (!cu.is_bad && pos != cnt)
            cur_fail(&cu, "runs do not cover the block");
    }
    rc = codec__close(&cu, &bi, e);
    if (rc == 0)
        *n = cnt;
    return rc;
}

int codec_encode_bool(struct codec_ctx *c, const uint8_t *v, size_t n,
                      struct buf *out, struct err *e)
{
    return encode_bits(c, CODEC_KIND_BOOL, v, n, out, e);
}

int codec_encode_presence(struct codec_ctx *c, const uint8_t *present,
                          size_t n, struct buf *out, struct err *e)
{
    return encode_bits(c, CODEC_KIND_PRESENCE, present, n, out, e);
}

int codec_decode_bool(struct codec_ctx *c, const uint8_t *p, size_t len,
                      uint8_t *out, size_t *n, struct err *e)
{
    return decode_bits(c, CODEC_KIND_BOOL, p, len, out, n, e);
}

int codec_decode_presence(struct codec_ctx *c, const uint8_t *p, size_t len,
                          uint8_t *out, size_t *n, struct err *e)
{
    return decode_bits(c, CODEC_KIND_PRESENCE, p, len, out, n, e);
}
