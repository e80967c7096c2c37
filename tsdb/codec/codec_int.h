// SPDX-License-Identifier: MIT
/*
 * Private declarations shared by the files of nj_codec.
 *
 * Two small I/O helpers carry every encoding:
 *   - struct wr, an append-only writer into a fixed scratch array whose size
 *     the encoder has computed in advance (overflow is our own bug, so it is
 *     an assert, never an input error);
 *   - struct cur, the bounds-checked read cursor with a sticky error.  Every
 *     read past the end, or a value a decoder rejects, marks the cursor bad
 *     and records the first offset and what was wrong; later reads return
 *     zeros.  Decoders read many fields and check once at the end
 *     (codec__close()), except before using a span of bytes.
 *
 * Byte order: the format is little-endian (the XOR bit stream is MSB-first
 * within big-endian words; see FORMAT.md).  The fast paths load words with
 * memcpy and assume a little-endian host, which the #error below enforces.
 */
#ifndef NJ_TSDB_CODEC_INT_H
#define NJ_TSDB_CODEC_INT_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tsdb/codec/codec.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nj_codec fast paths assume a little-endian host"
#endif

/* Largest payload of a numeric block: XOR worst case is 64 + 78 bits per
 * value, a decimal block 10 bytes per exception plus a raw integer
 * sequence.  Numeric scratch arrays and the zstd cap use it. */
#define CODEC__NUM_PAYLOAD_MAX (64u << 10)
/* Block header: kind|flags, codec id, u16 count. */
#define CODEC__HDR_LEN 4
#define CODEC__FLAG_ZSTD 0x10u
/* Short block header (format 5): codec id (bits 0-3) | zstd (bit 4). */
#define CODEC__SHORT_HDR_LEN 1
/* Payloads at least this big are offered to zstd. */
#define CODEC__ZSTD_MIN 256

/* Codec ids of integer sequences (time, int and uint blocks use them as
 * their block codec id; nested sequences store them as one byte). */
enum {
    CODEC__IS_RAW = 0,
    CODEC__IS_FOR = 1,
    CODEC__IS_DELTA = 2,
    CODEC__IS_DOD = 3,
    CODEC__IS_GRID = 4,
    CODEC__IS_RLE = 5,
    CODEC__IS_FOR_MB = 6,
    CODEC__IS_DELTA_MB = 7,
    /* Format version 2: */
    CODEC__IS_FOR_MBS = 8,   /* for-mb with a u8 log2 miniblock size */
    CODEC__IS_DELTA_MBS = 9, /* delta-for-mb with a u8 log2 miniblock size */
    CODEC__IS_DELTA_OB = 10, /* deltas in offset-binary frames (no reference) */
    CODEC__IS_PFOR = 11,     /* patched FOR: narrow frame plus exceptions */
    CODEC__IS_DELTA_PFOR = 12, /* patched FOR of the deltas */
    /* Format version 4: */
    CODEC__IS_HUFF = 13, /* static Huffman tokens + extra bits (huff.c) */
    CODEC__IS_NKINDS
};
/* Values per miniblock in the version-1 _MB sequence kinds. */
#define CODEC__MB 32
/* log2 of the miniblock size in the sized kinds (8 .. 1,024 values). */
#define CODEC__MBS_MIN_LOG 3
#define CODEC__MBS_MAX_LOG 10
/* Float block codec ids. */
enum {
    CODEC__F_RAW = 0,
    CODEC__F_CONST = 1,
    CODEC__F_RLE = 2,
    CODEC__F_DECIMAL = 3,
    CODEC__F_BITS = 4,
    CODEC__F_XOR = 5,
    CODEC__F_NKINDS
};
/* Bool and presence block codec ids. */
enum { CODEC__B_BITS = 0, CODEC__B_RLE = 1, CODEC__B_NKINDS };
/* String block codec ids. */
enum { CODEC__S_PLAIN = 0, CODEC__S_DICT = 1, CODEC__S_NKINDS };

struct codec_ctx {
    void *zc; /* ZSTD_CCtx */
    void *zd; /* ZSTD_DCtx */
    int zstd_level;
    bool fast; /* codec_ctx_set_fast */
    bool short_hdr; /* codec_ctx_set_short: encoders write 1-byte headers */
    unsigned short_n; /* n + 1 of the next short block to decode (0: none) */
    uint8_t *zbuf; /* zstd output / decompressed payload */
    size_t zbuf_cap;
    uint8_t *tmp[2]; /* candidate payloads, CODEC__NUM_PAYLOAD_MAX each */
    struct buf sbuf; /* string payloads */
    uint64_t vals[CODEC_BLOCK_MAX];    /* converted input / decoded ints */
    uint64_t aux[CODEC_BLOCK_MAX];     /* second value array */
    uint64_t is[4][CODEC_BLOCK_MAX];   /* integer-sequence scratch */
};

/* ------------------------------------------------------------ writer */

struct wr {
    uint8_t *p;
    size_t len;
    size_t cap;
};

static inline void wr_init(struct wr *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->len = 0;
    w->cap = cap;
}
static inline void wr_u8(struct wr *w, unsigned x)
{
    assert(w->len + 1 <= w->cap);
    w->p[w->len++] = (uint8_t)x;
}
static inline void wr_u16(struct wr *w, unsigned x)
{
    assert(w->len + 2 <= w->cap);
    w->p[w->len++] = (uint8_t)x;
    w->p[w->len++] = (uint8_t)(x >> 8);
}
static inline void wr_u64(struct wr *w, uint64_t x)
{
    assert(w->len + 8 <= w->cap);
    memcpy(w->p + w->len, &x, 8);
    w->len += 8;
}
static inline void wr_bytes(struct wr *w, const void *p, size_t n)
{
    assert(w->len + n <= w->cap);
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}
static inline size_t uvarint_len(uint64_t x)
{
    size_t n = 1;
    while (x >= 0x80) {
        x >>= 7;
        n++;
    }
    return n;
}
static inline uint64_t zigzag(int64_t x)
{
    return ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
}
static inline int64_t unzigzag(uint64_t x)
{
    return (int64_t)((x >> 1) ^ (0 - (x & 1)));
}
static inline size_t svarint_len(uint64_t x)
{
    return uvarint_len(zigzag((int64_t)x));
}
static inline void wr_uvarint(struct wr *w, uint64_t x)
{
    assert(w->len + uvarint_len(x) <= w->cap);
    while (x >= 0x80) {
        w->p[w->len++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    w->p[w->len++] = (uint8_t)x;
}
/* Signed value as a zigzag varint; takes the bits as uint64_t. */
static inline void wr_svarint(struct wr *w, uint64_t x)
{
    wr_uvarint(w, zigzag((int64_t)x));
}

/* ------------------------------------------------------------ cursor */

struct cur {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool is_bad;
    size_t bad_off;   /* offset of the first problem */
    const char *what; /* static description of the first problem */
};

static inline void cur_init(struct cur *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->len = len;
    c->off = 0;
    c->is_bad = false;
    c->bad_off = 0;
    c->what = NULL;
}
/* Records the first problem; later reads all fail. */
static inline void cur_fail(struct cur *c, const char *what)
{
    if (!c->is_bad) {
        c->is_bad = true;
        c->bad_off = c->off;
        c->what = what;
    }
    c->off = c->len;
}
static inline size_t cur_left(const struct cur *c)
{
    return c->len - c->off;
}
/* Returns a pointer to the next n bytes, or NULL (cursor marked bad). */
static inline const uint8_t *cur_take(struct cur *c, size_t n, const char *what)
{
    if (c->is_bad || n > c->len - c->off) {
        cur_fail(c, what);
        return NULL;
    }
    const uint8_t *r = c->p + c->off;
    c->off += n;
    return r;
}
static inline unsigned cur_u8(struct cur *c, const char *what)
{
    const uint8_t *b = cur_take(c, 1, what);
    return b ? b[0] : 0;
}
static inline unsigned cur_u16(struct cur *c, const char *what)
{
    const uint8_t *b = cur_take(c, 2, what);
    return b ? (unsigned)b[0] | (unsigned)b[1] << 8 : 0;
}
static inline uint64_t cur_u64(struct cur *c, const char *what)
{
    const uint8_t *b = cur_take(c, 8, what);
    uint64_t x = 0;
    if (b)
        memcpy(&x, b, 8);
    return x;
}
static inline uint64_t cur_uvarint(struct cur *c, const char *what)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        const uint8_t *b = cur_take(c, 1, what);
        if (!b)
            return 0;
        if (shift == 63 && *b > 1) {
            cur_fail(c, "varint overflows 64 bits");
            return 0;
        }
        x |= (uint64_t)(*b & 0x7f) << shift;
        if (!(*b & 0x80))
            return x;
    }
    cur_fail(c, "varint longer than 10 bytes");
    return 0;
}
/* Zigzag varint; returns the bits as uint64_t. */
static inline uint64_t cur_svarint(struct cur *c, const char *what)
{
    return (uint64_t)unzigzag(cur_uvarint(c, what));
}

/* ------------------------------------------------------------ bitpack.c */

static inline unsigned codec__bit_width(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}
static inline size_t codec__packed_size(size_t n, unsigned w)
{
    return (n * w + 7) / 8;
}
/* Appends n values of w bits each (0 <= w <= 64; higher bits of v[i] are
 * ignored), value i at bit i*w, LSB first: codec__packed_size(n, w) bytes. */
void codec__pack(struct wr *wr, const uint64_t *v, size_t n, unsigned w);
/* Reads n values of w bits from src, which holds at least
 * codec__packed_size(n, w) bytes (srclen).  Never reads past src + srclen.
 * Branch-free, width-specialised loops. */
void codec__unpack(const uint8_t *src, size_t srclen, size_t n, unsigned w,
                   uint64_t *out);

/* ------------------------------------------------------------ intseq.c */

/* Encodes n (<= CODEC_BLOCK_MAX) 64-bit values as the smallest integer
 * sequence (FOR, delta, delta-of-delta, grid residuals, RLE, raw; all with
 * GCD scaling), writing the body without its kind byte.  is_unsigned orders
 * values as unsigned when planning plain FOR.  scratch is c->is.  Returns
 * the kind.  The body is at most 8 * n + 32 bytes. */
unsigned codec__intseq_encode(struct wr *w, const uint64_t *v, size_t n,
                              bool is_unsigned,
                              uint64_t (*scratch)[CODEC_BLOCK_MAX], bool fast);
/* Same, preceded by the kind byte (for sequences nested in other codecs). */
void codec__intseq_put(struct wr *w, const uint64_t *v, size_t n,
                       bool is_unsigned, uint64_t (*scratch)[CODEC_BLOCK_MAX], bool fast);
/* Decodes a body of the given kind into out[0..n); errors go to c. */
void codec__intseq_decode(struct cur *c, unsigned kind, size_t n,
                          uint64_t *out);
/* Reads the kind byte, then the body. */
void codec__intseq_get(struct cur *c, size_t n, uint64_t *out);

/* ------------------------------------------------------------ huff.c */

/* Smallest sequence the encoder offers to huff. */
#define CODEC__HUFF_MIN 32
#ifndef CODEC__HUFF_GAIN
#define CODEC__HUFF_GAIN 20
#endif
/* Largest total of huff lane bytes: 2,048 values of 11 + 62 bits. */
#define CODEC__HUFF_STREAM_MAX ((CODEC_BLOCK_MAX * 73 + 7) / 8 + 8)
struct codec__huffp {
    size_t cost;      /* exact body size, SIZE_MAX = not planned */
    unsigned mode;    /* 0 FOR (x = v - ref), 1 delta (x = zigzag(d)) */
    uint64_t ref;     /* FOR reference or first value */
    unsigned ntok;
    uint8_t len[130]; /* code length per token */
    size_t lane[4];   /* bytes per lane */
};
/* Plans a huff body for v[0..n), n >= 1 (d: the n-1 deltas v[i+1]-v[i]):
 * FOR or delta mode, whichever is smaller; hp->cost is the exact size
 * codec__huff_write() writes (the body, without a kind byte). */
void codec__huff_plan(const uint64_t *v, size_t n, const uint64_t *d, bool is_unsigned,
                      struct codec__huffp *hp);
void codec__huff_write(struct wr *w, const uint64_t *v, size_t n, const uint64_t *d,
                       const struct codec__huffp *hp);
void codec__huff_read(struct cur *c, size_t n, uint64_t *out);

/* ------------------------------------------------------------ float_*.c */

/* Decimal (ALP-style) candidate: writes the payload and returns true, or
 * returns false (nothing useful written) when no exponent fits or the
 * exceptions would cost more than raw storage. */
bool codec__decimal_encode(struct codec_ctx *c, struct wr *w, const double *v,
                           size_t n);
void codec__decimal_decode(struct codec_ctx *c, struct cur *cu, size_t n,
                           double *out);
/* Gorilla XOR stream over bit patterns. */
void codec__xor_encode(struct wr *w, const uint64_t *bits, size_t n);
/* Exact size in bytes codec__xor_encode() would write, without writing. */
size_t codec__xor_size(const uint64_t *bits, size_t n);
void codec__xor_decode(struct cur *cu, size_t n, uint64_t *out);

/* ------------------------------------------------------------ block.c */

/* Frames payload[0..plen) as one block (header, optional zstd) and appends
 * it to out.  Returns 0, ERR_LIMIT or ERR_NOMEM (with e). */
int codec__finish(struct codec_ctx *c, enum codec_kind kind, unsigned id,
                  size_t n, const uint8_t *payload, size_t plen,
                  struct buf *out, struct err *e);
/* Parses the header of a block that must be of kind `kind`, decompressing
 * when needed, and points cu at the payload.  Returns 0 or ERR_CORRUPT /
 * ERR_NOMEM with e filled in. */
int codec__open(struct codec_ctx *c, enum codec_kind kind, const uint8_t *p,
                size_t len, struct codec_block_info *bi, struct cur *cu,
                struct err *e);
/* Checks the cursor after decoding: a sticky error or trailing bytes give
 * ERR_CORRUPT naming the kind, the offset and the problem. */
int codec__close(const struct cur *cu, const struct codec_block_info *bi,
                 struct err *e);
/* Kind name for messages ("float"). */
const char *codec__kind_name(enum codec_kind kind);

#endif
