// SPDX-License-Identifier: MIT
/*
 * Block framing shared by every column kind: the 4-byte header, the optional
 * zstd layer, the codec context, block summaries and codec names.
 *
 * Header (FORMAT.md "Block header"):
 *   byte 0  kind (bits 0-3) | 0x10 if the payload is zstd (bit 4); bits 5-7
 *           are zero in format version 1
 *   byte 1  codec id (meaning depends on the kind)
 *   byte 2-3  value count n, u16 little-endian, <= CODEC_BLOCK_MAX
 * then either the payload, or uvarint(payload length) and one zstd frame
 * holding exactly that many bytes.
 *
 * zstd rule: offered when the payload is >= 256 bytes, kept only when the
 * varint plus the frame is at most 90 % of the payload.  Decompression is
 * capped at CODEC__NUM_PAYLOAD_MAX for numeric kinds and
 * CODEC_STR_BLOCK_MAX_BYTES for strings, so hostile input cannot make us
 * allocate more.
 */
#include <math.h>
#include <stdlib.h>
#include <zstd.h>

#include "tsdb/codec/codec_int.h"

struct codec_ctx *codec_ctx_new(void)
{
    struct codec_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->zc = ZSTD_createCCtx();
    c->zd = ZSTD_createDCtx();
    c->tmp[0] = malloc(CODEC__NUM_PAYLOAD_MAX);
    c->tmp[1] = malloc(CODEC__NUM_PAYLOAD_MAX);
    c->zstd_level = 1;
    buf_init(&c->sbuf, CODEC_STR_BLOCK_MAX_BYTES);
    if (!c->zc || !c->zd || !c->tmp[0] || !c->tmp[1]) {
        codec_ctx_free(c);
        return NULL;
    }
    return c;
}

void codec_ctx_free(struct codec_ctx *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    free(c->zbuf);
    free(c->tmp[0]);
    free(c->tmp[1]);
    buf_fini(&c->sbuf);
    free(c);
}

void codec_ctx_set_fast(struct codec_ctx *c, bool fast)
{
    c->fast = fast;
}

void codec_ctx_set_short(struct codec_ctx *c, bool on)
{
    c->short_hdr = on;
}

void codec_ctx_set_zstd_level(struct codec_ctx *c, int level)
{
    c->zstd_level = level;
}

static int zbuf_reserve(struct codec_ctx *c, size_t n)
{
    if (n <= c->zbuf_cap)
        return 0;
    uint8_t *p = realloc(c->zbuf, n);
    if (!p)
        return ERR_NOMEM;
    c->zbuf = p;
    c->zbuf_cap = n;
    return 0;
}

const char *codec__kind_name(enum codec_kind kind)
{
    switch (kind) {
    case CODEC_KIND_TIME:
        return "time";
    case CODEC_KIND_FLOAT:
        return "float";
    case CODEC_KIND_INT:
        return "int";
    case CODEC_KIND_UINT:
        return "uint";
    case CODEC_KIND_BOOL:
        return "bool";
    case CODEC_KIND_STR:
        return "string";
    case CODEC_KIND_PRESENCE:
        return "presence";
    }
    return "?";
}

const char *codec_name(enum codec_kind kind, unsigned id)
{
    static const char *const is[] = { "raw", "for", "delta-for", "dod-for",
                                      "grid-for", "rle", "for-mb",
                                      "delta-for-mb", "for-mbs",
                                      "delta-for-mbs", "delta-ob", "pfor",
                                      "delta-pfor", "huff" };
    static const char *const fl[] = { "raw", "const", "rle", "decimal",
                                      "bits-int", "xor" };
    static const char *const bo[] = { "bits", "rle" };
    static const char *const st[] = { "plain", "dict" };
    switch (kind) {
    case CODEC_KIND_TIME:
    case CODEC_KIND_INT:
    case CODEC_KIND_UINT:
        return id < CODEC__IS_NKINDS ? is[id] : "?";
    case CODEC_KIND_FLOAT:
        return id < CODEC__F_NKINDS ? fl[id] : "?";
    case CODEC_KIND_BOOL:
    case CODEC_KIND_PRESENCE:
        return id < CODEC__B_NKINDS ? bo[id] : "?";
    case CODEC_KIND_STR:
        return id < CODEC__S_NKINDS ? st[id] : "?";
    }
    return "?";
}

static unsigned kind_ncodecs(enum codec_kind kind)
{
    switch (kind) {
    case CODEC_KIND_TIME:
    case CODEC_KIND_INT:
    case CODEC_KIND_UINT:
        return CODEC__IS_NKINDS;
    case CODEC_KIND_FLOAT:
        return CODEC__F_NKINDS;
    case CODEC_KIND_BOOL:
    case CODEC_KIND_PRESENCE:
        return CODEC__B_NKINDS;
    case CODEC_KIND_STR:
        return CODEC__S_NKINDS;
    }
    return 0;
}

static size_t payload_cap(enum codec_kind kind)
{
    return kind == CODEC_KIND_STR ? CODEC_STR_BLOCK_MAX_BYTES
                                  : CODEC__NUM_PAYLOAD_MAX;
}

int codec__finish(struct codec_ctx *c, enum codec_kind kind, unsigned id,
                  size_t n, const uint8_t *payload, size_t plen,
                  struct buf *out, struct err *e)
{
    assert(n <= CODEC_BLOCK_MAX && id < kind_ncodecs(kind));
    uint8_t hdr[CODEC__HDR_LEN + 10];
    hdr[0] = (uint8_t)kind;
    hdr[1] = (uint8_t)id;
    hdr[2] = (uint8_t)n;
    hdr[3] = (uint8_t)(n >> 8);
    const uint8_t *body = payload;
    size_t blen = plen, hlen = CODEC__HDR_LEN;
    if (c->short_hdr) { /* kind and n are the container's (FORMAT.md "Short blocks") */
        hdr[0] = (uint8_t)id;
        hlen = CODEC__SHORT_HDR_LEN;
    }

    if (c->zstd_level > 0 && plen >= CODEC__ZSTD_MIN) {
        size_t bound = ZSTD_compressBound(plen);
        if (zbuf_reserve(c, bound) != 0)
            return err_set(e, ERR_NOMEM, "codec: %s block: no memory for zstd",
                           codec__kind_name(kind));
        size_t zn = ZSTD_compressCCtx(c->zc, c->zbuf, bound, payload, plen,
                                      c->zstd_level);
        size_t vl = uvarint_len(plen);
        if (!ZSTD_isError(zn) && 10 * (zn + vl) <= 9 * plen) {
            struct wr w;
            wr_init(&w, hdr + hlen, 10);
            wr_uvarint(&w, plen);
            hdr[0] |= CODEC__FLAG_ZSTD;
            hlen += w.len;
            body = c->zbuf;
            blen = zn;
        }
    }
    int rc = buf_reserve(out, hlen + blen);
    if (rc != 0)
        return err_set(e, rc, "codec: %s block of %zu bytes: %s",
                       codec__kind_name(kind), hlen + blen, err_str(rc));
    memcpy(out->p + out->len, hdr, hlen);
    if (blen)
        memcpy(out->p + out->len + hlen, body, blen);
    out->len += hlen + blen;
    out->p[out->len] = '\0'; /* struct buf keeps a terminator */
    return 0;
}

/* short_n: 0 for a block with the 4-byte header, else n + 1 of a short
 * block of kind skind (1-byte header: codec id | zstd flag). */
static int parse_header(const uint8_t *p, size_t len,
                        struct codec_block_info *bi, struct cur *cu,
                        unsigned short_n, enum codec_kind skind, struct err *e)
{
    cur_init(cu, p, len);
    unsigned b0, id, n;
    size_t hlen = CODEC__HDR_LEN;
    if (short_n) {
        unsigned h = cur_u8(cu, "truncated header");
        if (cu->is_bad)
            return err_set(e, ERR_CORRUPT, "codec: short %s block of %zu bytes: header truncated",
                           codec__kind_name(skind), len);
        if (h & 0xe0)
            return err_set(e, ERR_CORRUPT, "codec: short %s block: offset 0: bad header byte 0x%02x",
                           codec__kind_name(skind), h);
        b0 = (unsigned)skind | (h & CODEC__FLAG_ZSTD);
        id = h & 0x0f;
        n = short_n - 1;
        hlen = CODEC__SHORT_HDR_LEN;
    } else {
        b0 = cur_u8(cu, "truncated header");
        id = cur_u8(cu, "truncated header");
        n = cur_u16(cu, "truncated header");
        if (cu->is_bad)
            return err_set(e, ERR_CORRUPT,
                           "codec: block of %zu bytes: header truncated", len);
    }
    enum codec_kind kind = (enum codec_kind)(b0 & 0x0f);
    if ((b0 & 0xe0) || kind_ncodecs(kind) == 0)
        return err_set(e, ERR_CORRUPT,
                       "codec: offset 0: bad kind byte 0x%02x", b0);
    if (id >= kind_ncodecs(kind))
        return err_set(e, ERR_CORRUPT, "codec: %s block: offset 1: unknown codec id %u",
                       codec__kind_name(kind), id);
    if (n > CODEC_BLOCK_MAX)
        return err_set(e, ERR_CORRUPT,
                       "codec: %s block: offset 2: %u values, more than %d",
                       codec__kind_name(kind), n, CODEC_BLOCK_MAX);
    bi->kind = kind;
    bi->codec_id = id;
    bi->n = n;
    bi->is_zstd = (b0 & CODEC__FLAG_ZSTD) != 0;
    bi->payload_len = len - hlen;
    bi->hdr_len = hlen;
    if (bi->is_zstd) {
        uint64_t raw = cur_uvarint(cu, "truncated payload length");
        if (cu->is_bad || raw > payload_cap(kind))
            return err_set(e, ERR_CORRUPT,
                           "codec: %s block: offset %zu: bad zstd payload length",
                           codec__kind_name(kind), hlen);
        bi->payload_len = (size_t)raw;
    }
    return 0;
}

int codec_block_info(const uint8_t *p, size_t len, struct codec_block_info *bi,
                     struct err *e)
{
    struct cur cu;
    return parse_header(p, len, bi, &cu, 0, CODEC_KIND_TIME, e);
}

int codec_block_info_short(const uint8_t *p, size_t len, enum codec_kind kind, size_t n,
                           struct codec_block_info *bi, struct err *e)
{
    struct cur cu;
    if (n > CODEC_BLOCK_MAX)
        return err_set(e, ERR_INVAL, "codec: short block of %zu values", n);
    return parse_header(p, len, bi, &cu, (unsigned)n + 1, kind, e);
}

int codec__open(struct codec_ctx *c, enum codec_kind kind, const uint8_t *p,
                size_t len, struct codec_block_info *bi, struct cur *cu,
                struct err *e)
{
    unsigned short_n = c->short_n;
    c->short_n = 0; /* one block only */
    int rc = parse_header(p, len, bi, cu, short_n, kind, e);
    if (rc != 0)
        return rc;
    if (bi->kind != kind)
        return err_set(e, ERR_CORRUPT, "codec: offset 0: %s block where a %s block was expected",
                       codec__kind_name(bi->kind), codec__kind_name(kind));
    if (!bi->is_zstd) {
        cur_init(cu, p + bi->hdr_len, len - bi->hdr_len);
        return 0;
    }
    size_t at = cu->off, raw = bi->payload_len;
    if (zbuf_reserve(c, raw ? raw : 1) != 0)
        return err_set(e, ERR_NOMEM, "codec: %s block: no memory for %zu bytes",
                       codec__kind_name(kind), raw);
    size_t got = ZSTD_decompressDCtx(c->zd, c->zbuf, raw, p + at, len - at);
    if (ZSTD_isError(got))
        return err_set(e, ERR_CORRUPT, "codec: %s block: offset %zu: zstd: %s",
                       codec__kind_name(kind), at, ZSTD_getErrorName(got));
    if (got != raw)
        return err_set(e, ERR_CORRUPT,
                       "codec: %s block: offset %zu: zstd frame holds %zu bytes, header says %zu",
                       codec__kind_name(kind), at, got, raw);
    cur_init(cu, c->zbuf, raw);
    return 0;
}

int codec__close(const struct cur *cu, const struct codec_block_info *bi,
                 struct err *e)
{
    const char *where = bi->is_zstd ? "decompressed payload offset"
                                    : "payload offset";
    if (cu->is_bad)
        return err_set(e, ERR_CORRUPT, "codec: %s block (%s, %u values): %s %zu: %s",
                       codec__kind_name(bi->kind),
                       codec_name(bi->kind, bi->codec_id), bi->n, where,
                       cu->bad_off, cu->what);
    if (cu->off != cu->len)
        return err_set(e, ERR_CORRUPT,
                       "codec: %s block (%s, %u values): %s %zu: %zu trailing bytes",
                       codec__kind_name(bi->kind),
                       codec_name(bi->kind, bi->codec_id), bi->n, where,
                       cu->off, cu->len - cu->off);
    return 0;
}

/* ------------------------------------------------------------ summaries */

void codec_fstats_compute(const double *v, size_t n, struct codec_fstats *st)
{
    memset(st, 0, sizeof *st);
    st->count = (uint32_t)n;
    st->min = INFINITY;
    st->max = -INFINITY;
    if (n == 0)
        return;
    st->first = v[0];
    st->last = v[n - 1];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (isnan(x)) {
            st->nan_count++;
            continue;
        }
        st->min = x < st->min ? x : st->min;
        st->max = x > st->max ? x : st->max;
        sum += x;
    }
    st->sum = sum;
}

void codec_istats_compute(const int64_t *v, size_t n, struct codec_istats *st)
{
    memset(st, 0, sizeof *st);
    st->count = (uint32_t)n;
    if (n == 0)
        return;
    st->first = st->min = st->max = v[0];
    st->last = v[n - 1];
    int64_t sum = 0;
    bool is_ovf = false;
    for (size_t i = 0; i < n; i++) {
        st->min = v[i] < st->min ? v[i] : st->min;
        st->max = v[i] > st->max ? v[i] : st->max;
        is_ovf |= __builtin_add_overflow(sum, v[i], &sum);
    }
    st->sum = sum;
    st->is_sum_overflow = is_ovf;
}

void codec_ustats_compute(const uint64_t *v, size_t n, struct codec_ustats *st)
{
    memset(st, 0, sizeof *st);
    st->count = (uint32_t)n;
    if (n == 0)
        return;
    st->first = st->min = st->max = v[0];
    st->last = v[n - 1];
    uint64_t sum = 0;
    bool is_ovf = false;
    for (size_t i = 0; i < n; i++) {
        st->min = v[i] < st->min ? v[i] : st->min;
        st->max = v[i] > st->max ? v[i] : st->max;
        is_ovf |= __builtin_add_overflow(sum, v[i], &sum);
    }
    st->sum = sum;
    st->is_sum_overflow = is_ovf;
}

/* ------------------------------------------------------------ short blocks */

/* The kind's ordinary decoder reads the 1-byte header: codec__open takes
 * (and clears) c->short_n. */
#define SHORT_DECODER(name, type)                                                           \
    int codec_decode_##name##_short(struct codec_ctx *c, const uint8_t *p, size_t len,      \
                                    size_t n, type *out, struct err *e)                     \
    {                                                                                       \
        if (n > CODEC_BLOCK_MAX)                                                            \
            return err_set(e, ERR_INVAL, "codec: short block of %zu values", n);            \
        size_t got = 0;                                                                     \
        c->short_n = (unsigned)n + 1;                                                       \
        int rc = codec_decode_##name(c, p, len, out, &got, e);                              \
        c->short_n = 0;                                                                     \
        return rc;                                                                          \
    }
SHORT_DECODER(time, int64_t)
SHORT_DECODER(float, double)
SHORT_DECODER(int, int64_t)
SHORT_DECODER(uint, uint64_t)
SHORT_DECODER(bool, uint8_t)
SHORT_DECODER(presence, uint8_t)
SHORT_DECODER(str, struct sv)
