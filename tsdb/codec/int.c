// SPDX-License-Identifier: MIT
/*
 * Time, int and uint columns: each block is one integer sequence
 * (intseq.c) whose kind is the block's codec id.  Timestamps and signed
 * integers plan plain FOR in signed order; unsigned integers in unsigned
 * order (so UINT64_MAX next to 0 is a wide frame, not a narrow one).
 * Deltas are always planned signed, which lets monotonic counters pack
 * their increments with no zigzag and still survive a reset.
 */
#include "tsdb/codec/codec_int.h"

static int encode_seq(struct codec_ctx *c, enum codec_kind kind,
                      const uint64_t *v, size_t n, bool is_unsigned,
                      struct buf *out, struct err *e)
{
    if (n > CODEC_BLOCK_MAX)
        return err_set(e, ERR_INVAL, "codec: %s block of %zu values, more than %d",
                       codec__kind_name(kind), n, CODEC_BLOCK_MAX);
    struct wr w;
    wr_init(&w, c->tmp[0], CODEC__NUM_PAYLOAD_MAX);
    unsigned id = codec__intseq_encode(&w, v, n, is_unsigned, c->is, c->fast);
    return codec__finish(c, kind, id, n, w.p, w.len, out, e);
}

static int decode_seq(struct codec_ctx *c, enum codec_kind kind,
                      const uint8_t *p, size_t len, uint64_t *out, size_t *n,
                      struct err *e)
{
    struct codec_block_info bi;
    struct cur cu;
    *n = 0;
    int rc = codec__open(c, kind, p, len, &bi, &cu, e);
    if (rc != 0)
        return rc;
    codec__intseq_decode(&cu, bi.codec_id, bi.n, out);
    rc = codec__close(&cu, &bi, e);
    if (rc == 0)
        *n = bi.n;
    return rc;
}

int codec_encode_time(struct codec_ctx *c, const int64_t *ts, size_t n,
                      struct buf *out, struct codec_istats *st, struct err *e)
{
    if (st && n <= CODEC_BLOCK_MAX)
        codec_istats_compute(ts, n, st);
    return encode_seq(c, CODEC_KIND_TIME, (const uint64_t *)ts, n, false, out, e);
}

int codec_encode_int(struct codec_ctx *c, const int64_t *v, size_t n,
                     struct buf *out, struct codec_istats *st, struct err *e)
{
    if (st && n <= CODEC_BLOCK_MAX)
        codec_istats_compute(v, n, st);
    return encode_seq(c, CODEC_KIND_INT, (const uint64_t *)v, n, false, out, e);
}

int codec_encode_uint(struct codec_ctx *c, const uint64_t *v, size_t n,
                      struct buf *out, struct codec_ustats *st, struct err *e)
{
    if (st && n <= CODEC_BLOCK_MAX)
        codec_ustats_compute(v, n, st);
    return encode_seq(c, CODEC_KIND_UINT, v, n, true, out, e);
}

int codec_decode_time(struct codec_ctx *c, const uint8_t *p, size_t len,
                      int64_t *out, size_t *n, struct err *e)
{
    return decode_seq(c, CODEC_KIND_TIME, p, len, (uint64_t *)out, n, e);
}

int codec_decode_int(struct codec_ctx *c, const uint8_t *p, size_t len,
                     int64_t *out, size_t *n, struct err *e)
{
    return decode_seq(c, CODEC_KIND_INT, p, len, (uint64_t *)out, n, e);
}

int codec_decode_uint(struct codec_ctx *c, const uint8_t *p, size_t len,
                      uint64_t *out, size_t *n, struct err *e)
{
    return decode_seq(c, CODEC_KIND_UINT, p, len, out, n, e);
}
