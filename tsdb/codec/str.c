// SPDX-License-Identifier: MIT
/*
 * String columns.
 *
 *   PLAIN  nested integer sequence of the n lengths, then the bytes of all
 *          strings back to back
 *   DICT   uvarint ndict, nested integer sequence of the ndict entry
 *          lengths, the entry bytes back to back, then a nested integer
 *          sequence of the n codes (entry numbers in first-seen order, so a
 *          few distinct values FOR-pack into a few bits each)
 * The encoder builds the dictionary with a small open-addressing table
 * (2 * CODEC_BLOCK_MAX slots for n <= CODEC_BLOCK_MAX values, so it never fills), writes DICT only when some value
 * repeats and it comes out smaller, and leaves the rest to zstd, which
 * block.c applies over the whole payload.
 *
 * Decoded views point into the payload: the caller's block bytes, or the
 * context's zstd buffer when the block was compressed.
 */
#include "common/hash.h"
#include "tsdb/codec/codec_int.h"

#define DICT_SLOTS (2 * CODEC_BLOCK_MAX) /* > n, so probing always finds a free slot */

static int append_wr(struct buf *b, const struct wr *w)
{
    return buf_append(b, w->p, w->len);
}

int codec_encode_str(struct codec_ctx *c, const struct sv *v, size_t n,
                     struct buf *out, struct err *e)
{
    if (n > CODEC_BLOCK_MAX)
        return err_set(e, ERR_INVAL, "codec: string block of %zu values, more than %d",
                       n, CODEC_BLOCK_MAX);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].n > CODEC_STR_BLOCK_MAX_BYTES - total)
            return err_set(e, ERR_INVAL,
                           "codec: string block: value %zu brings the block past %u bytes",
                           i, CODEC_STR_BLOCK_MAX_BYTES);
        total += v[i].n;
    }

    uint16_t slot[DICT_SLOTS] = { 0 };
    uint16_t first[CODEC_BLOCK_MAX];
    uint64_t *codes = c->aux, *lens = c->vals;
    size_t ndict = 0, dict_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        lens[i] = v[i].n;
        uint64_t h = v[i].n ? hash_bytes(v[i].p, v[i].n) : 0;
        size_t k = h & (DICT_SLOTS - 1);
        while (slot[k] && !sv_eq(v[first[slot[k] - 1]], v[i]))
            k = (k + 1) & (DICT_SLOTS - 1);
        if (!slot[k]) {
            first[ndict] = (uint16_t)i;
            slot[k] = (uint16_t)++ndict;
            dict_bytes += v[i].n;
        }
        codes[i] = slot[k] - 1u;
    }

    struct wr a, b;
    wr_init(&a, c->tmp[0], CODEC__NUM_PAYLOAD_MAX);
    wr_init(&b, c->tmp[1], CODEC__NUM_PAYLOAD_MAX);
    codec__intseq_put(&a, lens, n, true, c->is, c->fast);
    size_t plain_cost = a.len + total;
    unsigned id = CODEC__S_PLAIN;
    if (ndict < n) {
        uint64_t *dlens = c->vals; /* plain lengths are already in a */
        for (size_t k = 0; k < ndict; k++)
            dlens[k] = v[first[k]].n;
        wr_uvarint(&b, ndict);
        codec__intseq_put(&b, dlens, ndict, true, c->is, c->fast);
        size_t split = b.len;
        codec__intseq_put(&b, codes, n, true, c->is, c->fast);
        if (b.len + dict_bytes < plain_cost) {
            id = CODEC__S_DICT;
            buf_reset(&c->sbuf);
            struct wr head = { b.p, split, split };
            struct wr tail = { b.p + split, b.len - split, b.len - split };
            int rc = append_wr(&c->sbuf, &head);
            for (size_t k = 0; k < ndict && rc == 0; k++)
                rc = buf_append(&c->sbuf, v[first[k]].p, v[first[k]].n);
            if (rc == 0)
                rc = append_wr(&c->sbuf, &tail);
            if (rc != 0)
                return err_set(e, rc, "codec: string block: %s", err_str(rc));
        }
    }
    if (id == CODEC__S_PLAIN) {
        if (plain_cost > CODEC_STR_BLOCK_MAX_BYTES)
            return err_set(e, ERR_INVAL,
                           "codec: string block of %zu bytes, more than %u",
                           plain_cost, CODEC_STR_BLOCK_MAX_BYTES);
        buf_reset(&c->sbuf);
        int rc = append_wr(&c->sbuf, &a);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = buf_append(&c->sbuf, v[i].p, v[i].n);
        if (rc != 0)
            return err_set(e, rc, "codec: string block: %s", err_str(rc));
    }
    return codec__finish(c, CODEC_KIND_STR, id, n, (const uint8_t *)c->sbuf.p,
                         c->sbuf.len, out, e);
}

/* Reads m lengths, then their bytes; offs[k] gets entry k's start. */
static const uint8_t *read_entries(struct cur *cu, size_t m, uint64_t *lens,
                                   uint64_t *offs)
{
    codec__intseq_get(cu, m, lens);
    if (cu->is_bad)
        return NULL;
    size_t total = 0;
    for (size_t k = 0; k < m; k++) {
        if (lens[k] > cur_left(cu) - total) {
            cur_fail(cu, "string lengths overrun the block");
            return NULL;
        }
        offs[k] = total;
        total += (size_t)lens[k];
    }
    return cur_take(cu, total, "string bytes truncated");
}

int codec_decode_str(struct codec_ctx *c, const uint8_t *p, size_t len,
                     struct sv *out, size_t *n, struct err *e)
{
    struct codec_block_info bi;
    struct cur cu;
    *n = 0;
    int rc = codec__open(c, CODEC_KIND_STR, p, len, &bi, &cu, e);
    if (rc != 0)
        return rc;
    size_t cnt = bi.n;
    uint64_t *lens = c->vals, *offs = c->aux, *codes = c->is[0];
    if (bi.codec_id == CODEC__S_PLAIN) {
        const uint8_t *bytes = read_entries(&cu, cnt, lens, offs);
        for (size_t i = 0; bytes && i < cnt; i++)
            out[i] = sv_make((const char *)bytes + offs[i], (size_t)lens[i]);
    } else {
        uint64_t ndict = cur_uvarint(&cu, "truncated dictionary size");
        if (!cu.is_bad && (ndict == 0 || ndict > cnt))
            cur_fail(&cu, "dictionary size is 0 or above the value count");
        const uint8_t *bytes = cu.is_bad ? NULL
                                         : read_entries(&cu, (size_t)ndict, lens, offs);
        if (bytes)
            codec__intseq_get(&cu, cnt, codes);
        for (size_t i = 0; bytes && !cu.is_bad && i < cnt; i++) {
            if (codes[i] >= ndict) {
                cur_fail(&cu, "dictionary code out of range");
                break;
            }
            out[i] = sv_make((const char *)bytes + offs[codes[i]],
                             (size_t)lens[codes[i]]);
        }
    }
    rc = codec__close(&cu, &bi, e);
    if (rc == 0)
        *n = cnt;
    return rc;
}
