// SPDX-License-Identifier: MIT
/*
 * Fixed-width bit packing, the inner loop of every numeric decoder.
 *
 * Layout: value i occupies bits [i*w, i*w + w) of the byte string, counting
 * from the least significant bit of byte 0 (little-endian bit order).  So 8
 * consecutive values always fill exactly w bytes, and a group of 8 starts on
 * a byte boundary: the unpacker works one group at a time, with the width a
 * compile-time constant (one specialised function per width, picked from a
 * table), so every shift and offset inside a group is a constant and the
 * loop body has no branches.  Each value is one unaligned 8-byte load (plus
 * one extra byte when w >= 58 and the value straddles the word), a shift and
 * a mask.
 *
 * Bounds: the fast loop only runs over groups for which a full 8-byte load
 * at the group's last value stays inside the source; the remaining groups
 * are copied to a zero-padded local buffer first.  So the unpacker never
 * reads past src + srclen.
 */
#include "tsdb/codec/codec_int.h"

static inline uint64_t load64le(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

void codec__pack(struct wr *wr, const uint64_t *v, size_t n, unsigned w)
{
    size_t nbytes = codec__packed_size(n, w);
    assert(w <= 64 && wr->len + nbytes <= wr->cap);
    uint8_t *d = wr->p + wr->len;
    wr->len += nbytes;
    if (w == 0)
        return;
    const uint64_t mask = w == 64 ? ~(uint64_t)0 : ((uint64_t)1 << w) - 1;
    uint64_t acc = 0;
    unsigned fill = 0; /* bits used in acc, always < 64 */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = v[i] & mask;
        acc |= x << fill;
        if (fill + w >= 64) {
            memcpy(d + o, &acc, 8);
            o += 8;
            acc = fill ? x >> (64 - fill) : 0;
            fill = fill + w - 64;
        } else {
            fill += w;
        }
    }
    for (; o < nbytes; o++) {
        d[o] = (uint8_t)acc;
        acc >>= 8;
    }
}

/* Unpacks one group of 8 values of width W (a constant after inlining). */
static inline __attribute__((always_inline)) void
unpack8(const uint8_t *p, uint64_t *out, const unsigned W)
{
    const uint64_t mask = W >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << (W & 63)) - 1;
#pragma GCC unroll 8
    for (unsigned j = 0; j < 8; j++) {
        const unsigned bit = j * W, b = bit >> 3, s = bit & 7;
        uint64_t x = load64le(p + b) >> s;
        if (s + W > 64) /* constant-folded: only for W >= 58 */
            x |= (uint64_t)p[b + 8] << ((64 - s) & 63);
        out[j] = x & mask;
    }
}

#define UNPACK_FN(W)                                                       \
    static void unpack_w##W(const uint8_t *p, size_t ngroups, uint64_t *out) \
    {                                                                      \
        for (size_t g = 0; g < ngroups; g++)                               \
            unpack8(p + g * (W), out + 8 * g, (W));                        \
    }
#define WIDTHS(X)                                                          \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)   \
    X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24)      \
    X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32) X(33) X(34) X(35)      \
    X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) X(44) X(45) X(46)      \
    X(47) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56) X(57)      \
    X(58) X(59) X(60) X(61) X(62) X(63) X(64)
WIDTHS(UNPACK_FN)
#define UNPACK_ENTRY(W) unpack_w##W,
static void (*const unpack_fn[65])(const uint8_t *, size_t, uint64_t *) = {
    NULL, WIDTHS(UNPACK_ENTRY)
};

void codec__unpack(const uint8_t *src, size_t srclen, size_t n, unsigned w,
                   uint64_t *out)
{
    assert(w <= 64 && srclen >= codec__packed_size(n, w));
    if (w == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    size_t ngroups = (n + 7) / 8;
    /* Group g reads bytes below g*w + w + 8 (see unpack8). */
    size_t nfast = srclen >= 8 ? (srclen - 8) / w : 0;
    if (nfast > n / 8)
        nfast = n / 8;
    unpack_fn[w](src, nfast, out);
    for (size_t g = nfast; g < ngroups; g++) {
        uint8_t tmp[64 + 16] = { 0 };
        uint64_t vals[8];
        size_t at = g * w, avail = srclen - at < w ? srclen - at : w;
        memcpy(tmp, src + at, avail);
        unpack_fn[w](tmp, 1, vals);
        size_t k = n - 8 * g < 8 ? n - 8 * g : 8;
        memcpy(out + 8 * g, vals, k * sizeof *vals);
    }
}
