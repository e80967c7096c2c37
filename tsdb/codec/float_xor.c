// SPDX-License-Identifier: MIT
/*
 * Gorilla XOR (Pelkonen et al., VLDB 2015) over float bit patterns: the
 * fallback that bounds every float block ("never worse than XOR plus the
 * header").  It is strictly sequential, so it is the slow decoder.
 *
 * Bit stream (FORMAT.md "Float: xor"), MSB first:
 *   value 0: 64 raw bits.
 *   then per value, x = bits XOR previous bits:
 *     '0'                         x == 0
 *     '10' + m bits               x fits the previous window (leading zeros
 *                                 >= L, trailing zeros >= T): m = 64-L-T
 *     '11' + 6 bits L + 6 bits (m-1) + m bits   new window
 * Unlike Gorilla's 5-bit leading count this one stores 6 bits, so no cap.
 * The stream is zero-padded to a byte; the decoder requires that it ends in
 * the last byte of the payload.
 */
#include "tsdb/codec/codec_int.h"

struct bw {
    struct wr *w;
    uint64_t acc;
    unsigned nacc; /* < 8 between calls */
};

/* Appends the low nb (<= 32) bits of x. */
static inline void bw_put(struct bw *b, uint64_t x, unsigned nb)
{
    if (nb == 0)
        return;
    b->acc = (b->acc << nb) | (x & (((uint64_t)1 << nb) - 1));
    b->nacc += nb;
    while (b->nacc >= 8) {
        b->nacc -= 8;
        wr_u8(b->w, (unsigned)(b->acc >> b->nacc) & 0xff);
    }
}

static inline void bw_put64(struct bw *b, uint64_t x, unsigned nb)
{
    if (nb > 32) {
        bw_put(b, x >> 32, nb - 32);
        bw_put(b, x, 32);
    } else {
        bw_put(b, x, nb);
    }
}

void codec__xor_encode(struct wr *w, const uint64_t *bits, size_t n)
{
    struct bw b = { w, 0, 0 };
    if (n == 0)
        return;
    bw_put64(&b, bits[0], 64);
    unsigned pl = 65, pt = 0; /* no window yet */
    for (size_t i = 1; i < n; i++) {
        uint64_t x = bits[i] ^ bits[i - 1];
        if (x == 0) {
            bw_put(&b, 0, 1);
            continue;
        }
        unsigned l = (unsigned)__builtin_clzll(x), t = (unsigned)__builtin_ctzll(x);
        if (pl <= 64 && l >= pl && t >= pt) {
            bw_put(&b, 2, 2);
            bw_put64(&b, x >> pt, 64 - pl - pt);
        } else {
            unsigned m = 64 - l - t;
            bw_put(&b, 3, 2);
            bw_put(&b, l, 6);
            bw_put(&b, m - 1, 6);
            bw_put64(&b, x >> t, m);
            pl = l;
            pt = t;
        }
    }
    if (b.nacc)
        wr_u8(w, (unsigned)(b.acc << (8 - b.nacc)) & 0xff);
}

size_t codec__xor_size(const uint64_t *bits, size_t n)
{
    if (n == 0)
        return 0;
    size_t nbits = 64;
    unsigned pl = 65, pt = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t x = bits[i] ^ bits[i - 1];
        if (x == 0) {
            nbits += 1;
            continue;
        }
        unsigned l = (unsigned)__builtin_clzll(x), t = (unsigned)__builtin_ctzll(x);
        if (pl <= 64 && l >= pl && t >= pt) {
            nbits += 2 + 64 - pl - pt;
        } else {
            nbits += 2 + 12 + 64 - l - t;
            pl = l;
            pt = t;
        }
    }
    return (nbits + 7) / 8;
}

struct br {
    const uint8_t *p;
    size_t len;    /* bytes */
    size_t bitpos; /* next bit to read */
    bool is_bad;
};

/* Reads nb (<= 56) bits; past the end it returns 0 and marks the reader. */
static inline uint64_t br_get(struct br *r, unsigned nb)
{
    if (nb == 0)
        return 0;
    if (nb > r->len * 8 - r->bitpos) {
        r->is_bad = true;
        r->bitpos = r->len * 8;
        return 0;
    }
    size_t byte = r->bitpos >> 3;
    unsigned sh = (unsigned)(r->bitpos & 7);
    uint64_t word;
    if (byte + 8 <= r->len) {
        memcpy(&word, r->p + byte, 8);
        word = __builtin_bswap64(word);
    } else {
        word = 0;
        for (unsigned k = 0; k < 8; k++)
            word = (word << 8) | (byte + k < r->len ? r->p[byte + k] : 0);
    }
    r->bitpos += nb;
    return (word << sh) >> (64 - nb);
}

static inline uint64_t br_get64(struct br *r, unsigned nb)
{
    if (nb > 32) {
        uint64_t hi = br_get(r, nb - 32);
        return (hi << 32) | br_get(r, 32);
    }
    return br_get(r, nb);
}

void codec__xor_decode(struct cur *cu, size_t n, uint64_t *out)
{
    size_t base = cu->off, left = cur_left(cu);
    const uint8_t *p = cur_take(cu, left, "xor stream");
    if (!p)
        return;
    if (n == 0) {
        if (left) {
            cu->off = base;
            cur_fail(cu, "xor stream for an empty block");
        }
        return;
    }
    struct br r = { p, left, 0, false };
    const char *bad = NULL;
    uint64_t v = br_get64(&r, 64);
    out[0] = v;
    unsigned pl = 65, pt = 0; /* no window yet */
    for (size_t i = 1; i < n && !r.is_bad && !bad; i++) {
        if (br_get(&r, 1) == 0) {
            out[i] = v;
            continue;
        }
        if (br_get(&r, 1) == 0) {
            if (pl > 64) {
                bad = "xor window reused before one was set";
                break;
            }
            v ^= br_get64(&r, 64 - pl - pt) << pt;
        } else {
            unsigned l = (unsigned)br_get(&r, 6);
            unsigned m = (unsigned)br_get(&r, 6) + 1;
            if (l + m > 64) {
                bad = "xor window wider than 64 bits";
                break;
            }
            pl = l;
            pt = 64 - l - m;
            v ^= br_get64(&r, m) << pt;
        }
        out[i] = v;
    }
    if (r.is_bad)
        bad = "xor stream truncated";
    else if (!bad && (r.bitpos + 7) / 8 != left)
        bad = "trailing bytes after the xor stream";
    if (bad) {
        cu->off = base + r.bitpos / 8;
        cur_fail(cu, bad);
    }
}
