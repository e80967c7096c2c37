// SPDX-License-Identifier: MIT
/*
 * Entropy-coded integer sequences (format 4, sequence kind 13 "huff"):
 * a static Huffman code per block over small tokens, plus raw extra bits.
 *
 * Each coded value x (an unsigned 64-bit number: value - ref in FOR mode,
 * the zigzag of the delta in delta mode) becomes a token and extra bits:
 *   x < 8:   token x, no extra bits;
 *   x >= 8:  with b = bit width of x (4..64), token 8 + 2(b-4) + bit b-2 of x,
 *            and the low b-2 bits of x as extra bits.
 * So small values (a 0/1 counter, a value domain of a few dozen) get a code
 * of their own, and wide ones (gauge deltas) a code for their magnitude
 * and half-octave plus raw low bits.  Tokens are 0..129.
 *
 * Code lengths (<= 11 bits) are stored as nibbles per token; the code is
 * canonical, written LSB-first (bit-reversed), so the decoder peeks the low
 * 11 bits of a 64-bit window and looks up (token, length) in one table.
 * Values go round-robin to 4 lanes, each its own bit stream, so a decoder
 * has 4 independent dependency chains in flight (one chain runs at about a
 * third of the speed).  Layout in tsdb/codec/FORMAT.md "huff".
 *
 * The encoder plans both modes (FOR and delta) and returns the exact size;
 * intseq.c keeps it only when it is the smallest sequence.
 */
#include "tsdb/codec/codec_int.h"

#define HF_NTOK 130
#define HF_MAXLEN 11
/* The encoder's limit: a smaller decode table is faster to build. */
#ifndef HF_ENC_MAXLEN
#define HF_ENC_MAXLEN 11
#endif
#define HF_LANES 4
/* Extra bits the fast path reads from one 57-bit window after a code. */
#define HF_FAST_EB 38 /* base < 2^40 fits the table entry */

static inline unsigned hf_token(uint64_t x, unsigned *eb)
{
    if (x < 8) {
        *eb = 0;
        return (unsigned)x;
    }
    unsigned b = codec__bit_width(x);
    *eb = b - 2;
    return 8 + 2 * (b - 4) + (unsigned)((x >> (b - 2)) & 1);
}
static inline unsigned hf_tok_eb(unsigned t)
{
    return t < 8 ? 0 : ((t - 8) >> 1) + 2;
}

/* Length-limited Huffman code lengths for cnt[0..ntok): two-queue build on
 * the symbols sorted by count, then lengths above HF_MAXLEN are clamped and
 * the Kraft sum repaired by lengthening the longest codes that may grow. */
static void hf_lengths(const uint32_t *cnt, unsigned ntok, uint8_t *len)
{
    unsigned sym[HF_NTOK], k = 0;
    for (unsigned s = 0; s < ntok; s++) {
        len[s] = 0;
        if (cnt[s])
            sym[k++] = s;
    }
    if (k == 0)
        return;
    if (k == 1) {
        len[sym[0]] = 1;
        return;
    }
    for (unsigned i = 1; i < k; i++) { /* insertion sort by count */
        unsigned s = sym[i], j = i;
        while (j > 0 && cnt[sym[j - 1]] > cnt[s]) {
            sym[j] = sym[j - 1];
            j--;
        }
        sym[j] = s;
    }
    uint64_t wt[2 * HF_NTOK];
    unsigned parent[2 * HF_NTOK], depth[2 * HF_NTOK];
    for (unsigned i = 0; i < k; i++)
        wt[i] = cnt[sym[i]];
    unsigned li = 0, ii = k;
    for (unsigned node = k; node < 2 * k - 1; node++) {
        unsigned pick[2];
        for (int j = 0; j < 2; j++) {
            if (li < k && (ii >= node || wt[li] <= wt[ii]))
                pick[j] = li++;
            else
                pick[j] = ii++;
        }
        wt[node] = wt[pick[0]] + wt[pick[1]];
        parent[pick[0]] = parent[pick[1]] = node;
    }
    depth[2 * k - 2] = 0;
    for (unsigned node = 2 * k - 2; node-- > 0;)
        depth[node] = depth[parent[node]] + 1;
    unsigned maxl = 0;
    for (unsigned i = 0; i < k; i++) {
        unsigned d = depth[i];
        maxl = d > maxl ? d : maxl;
        len[sym[i]] = (uint8_t)(d > HF_ENC_MAXLEN ? HF_ENC_MAXLEN : d);
    }
    if (maxl <= HF_ENC_MAXLEN)
        return;
    uint32_t kraft = 0;
    for (unsigned i = 0; i < k; i++)
        kraft += 1u << (HF_ENC_MAXLEN - len[sym[i]]);
    while (kraft > (1u << HF_ENC_MAXLEN)) {
        /* Lengthen the rarest symbol among the longest that can still grow
         * (sym[] is sorted by count, rarest first). */
        unsigned best = k;
        for (unsigned i = 0; i < k; i++) {
            unsigned l = len[sym[i]];
            if (l < HF_ENC_MAXLEN && (best == k || l > len[sym[best]]))
                best = i;
        }
        assert(best < k);
        len[sym[best]]++;
        kraft -= 1u << (HF_ENC_MAXLEN - len[sym[best]]);
    }
}

/* Canonical codes (in symbol order within a length), bit-reversed for
 * LSB-first streams.  Returns false when the lengths over-subscribe. */
static bool hf_codes(const uint8_t *len, unsigned ntok, uint16_t *code)
{
    unsigned nl[HF_MAXLEN + 1] = { 0 };
    for (unsigned s = 0; s < ntok; s++)
        nl[len[s]]++;
    nl[0] = 0;
    uint32_t next[HF_MAXLEN + 2], c = 0, kraft = 0;
    for (unsigned l = 1; l <= HF_MAXLEN; l++) {
        c = (c + nl[l - 1]) << 1;
        next[l] = c;
        kraft += nl[l] << (HF_MAXLEN - l);
    }
    if (kraft > (1u << HF_MAXLEN))
        return false;
    for (unsigned s = 0; s < ntok; s++) {
        unsigned l = len[s];
        if (!l)
            continue;
        uint32_t cd = next[l]++, r = 0;
        for (unsigned i = 0; i < l; i++)
            r |= ((cd >> i) & 1u) << (l - 1 - i);
        code[s] = (uint16_t)r;
    }
    return true;
}

/* ---- planning ------------------------------------------------------------ */

/* x = zigzag(v[i]) (delta mode) or v[i] - ref (FOR mode). */
static inline uint64_t hf_x(const uint64_t *v, size_t i, bool zz, uint64_t ref)
{
    return zz ? zigzag((int64_t)v[i]) : v[i] - ref;
}

static void hf_plan_mode(const uint64_t *x, size_t m, bool zz, uint64_t ref,
                         struct codec__huffp *hp)
{
    uint32_t cnt[HF_NTOK] = { 0 };
    unsigned ntok = 0;
    for (size_t i = 0; i < m; i++) {
        unsigned eb, t = hf_token(hf_x(x, i, zz, ref), &eb);
        cnt[t]++;
        ntok = t + 1 > ntok ? t + 1 : ntok;
    }
    hf_lengths(cnt, ntok, hp->len);
    size_t lb[HF_LANES] = { 0 };
    for (size_t i = 0; i < m; i++) {
        unsigned eb, t = hf_token(hf_x(x, i, zz, ref), &eb);
        lb[i % HF_LANES] += hp->len[t] + eb;
    }
    size_t total = 0;
    for (unsigned k = 0; k < HF_LANES; k++) {
        hp->lane[k] = (lb[k] + 7) / 8;
        total += hp->lane[k];
    }
    hp->ntok = ntok;
    size_t cost = 1 + 1 + (ntok + 1) / 2 + uvarint_len(total);
    for (unsigned k = 0; k + 1 < HF_LANES; k++)
        cost += svarint_len(hp->lane[k] - total / HF_LANES);
    hp->cost = cost + total;
}

void codec__huff_plan(const uint64_t *v, size_t n, const uint64_t *d, bool is_unsigned,
                      struct codec__huffp *hp)
{
    hp->cost = SIZE_MAX;
    if (n == 0)
        return;
    /* FOR mode: x = v - min. */
    uint64_t ref = v[0];
    for (size_t i = 1; i < n; i++) {
        bool lt = is_unsigned ? v[i] < ref : (int64_t)v[i] < (int64_t)ref;
        ref = lt ? v[i] : ref;
    }
    struct codec__huffp a, b;
    hf_plan_mode(v, n, false, ref, &a);
    a.mode = 0;
    a.ref = ref;
    a.cost += svarint_len(ref);
    *hp = a;
    if (n >= 2) {
        hf_plan_mode(d, n - 1, true, 0, &b);
        b.mode = 1;
        b.ref = v[0];
        b.cost += svarint_len(v[0]);
        if (b.cost < a.cost)
            *hp = b;
    }
}

/* ---- writing ------------------------------------------------------------- */

struct bw {
    struct wr *w;
    uint64_t acc;
    unsigned nb;
};
static inline void bw_put(struct bw *b, uint64_t x, unsigned n)
{
    /* n <= 64; write in pieces of at most 32 bits. */
    while (n) {
        unsigned k = n > 32 ? 32 : n;
        b->acc |= (x & ((1ull << k) - 1)) << b->nb;
        b->nb += k;
        x = k < 64 ? x >> k : 0;
        n -= k;
        while (b->nb >= 8) {
            wr_u8(b->w, (unsigned)(b->acc & 0xff));
            b->acc >>= 8;
            b->nb -= 8;
        }
    }
}

void codec__huff_write(struct wr *w, const uint64_t *v, size_t n, const uint64_t *d,
                       const struct codec__huffp *hp)
{
    size_t start = w->len;
    (void)start;
    uint16_t code[HF_NTOK];
    bool ok = hf_codes(hp->len, hp->ntok, code);
    assert(ok);
    (void)ok;
    wr_u8(w, hp->mode);
    wr_svarint(w, hp->ref);
    wr_u8(w, hp->ntok);
    for (unsigned s = 0; s < hp->ntok; s += 2)
        wr_u8(w, hp->len[s] | (s + 1 < hp->ntok ? hp->len[s + 1] << 4 : 0));
    size_t total = 0;
    for (unsigned k = 0; k < HF_LANES; k++)
        total += hp->lane[k];
    wr_uvarint(w, total);
    for (unsigned k = 0; k + 1 < HF_LANES; k++)
        wr_svarint(w, hp->lane[k] - total / HF_LANES);
    const uint64_t *x = hp->mode ? d : v;
    size_t m = hp->mode ? n - 1 : n;
    for (unsigned k = 0; k < HF_LANES; k++) {
        size_t at = w->len;
        (void)at;
        struct bw b = { w, 0, 0 };
        for (size_t i = k; i < m; i += HF_LANES) {
            uint64_t xv = hf_x(x, i, hp->mode, hp->ref);
            unsigned eb, t = hf_token(xv, &eb);
            bw_put(&b, code[t], hp->len[t]);
            bw_put(&b, xv, eb);
        }
        if (b.nb)
            wr_u8(w, (unsigned)b.acc);
        assert(w->len - at == hp->lane[k]);
    }
    assert(w->len - start == hp->cost);
}

/* ---- reading ------------------------------------------------------------- */

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* Bit window of 64 bits at bit position pos of p[0..len): bytes past len
 * read as zero. */
static __attribute__((noinline)) uint64_t hf_win_safe(const uint8_t *p, size_t len, size_t pos)
{
    uint8_t b[9] = { 0 };
    size_t at = pos >> 3;
    for (size_t j = 0; j < 9 && at < len && j < len - at; j++)
        b[j] = p[at + j];
    uint64_t lo = ld64(b);
    unsigned sh = pos & 7;
    return sh ? lo >> sh | (uint64_t)b[8] << (64 - sh) : lo;
}

/* Decode table entry (u64): bits 0-3 code length; bit 6: the extra bits
 * do not fit the fast window (then bits 24-26 hold the top bits of the
 * token's base); bit 7: a hole of an incomplete code; bits 8-13 extra bits;
 * bits 16-23 code length + extra bits; bits 24-63 the token's base
 * (top << extra bits) when bit 6 is clear. */

/* One value at bit *pos of p[0..len), bounds-checked (the tails). */
static uint64_t hf_one_safe(const uint8_t *p, size_t len, size_t *pos, const uint64_t *dt,
                            uint64_t mask, uint32_t *bad)
{
    uint64_t wv = hf_win_safe(p, len, *pos);
    uint64_t e = dt[wv & mask];
    unsigned l = e & 15, eb = (unsigned)(e >> 8) & 63;
    *bad |= (uint32_t)e & 0x80;
    uint64_t top = e & 0x40 ? (e >> 24) & 7 : (e >> 24) >> eb;
    uint64_t y = eb ? hf_win_safe(p, len, *pos + l) & (~0ull >> (64 - eb)) : 0;
    *pos += l + eb;
    return (top << eb) + y;
}

/* Value of an entry whose extra bits do not fit the fast window. */
static __attribute__((noinline)) uint64_t hf_slow_extra(const uint8_t *p, size_t len, size_t pos,
                                                        uint64_t e)
{
    unsigned l = e & 15, eb = (unsigned)(e >> 8) & 63;
    uint64_t top = (e >> 24) & 7;
    return (top << eb) + (hf_win_safe(p, len, pos + l) & (~0ull >> (64 - eb)));
}

/* Decodes values round-robin from 4 lanes starting at bit positions pos[]
 * of src into x, in chunks of 16 while every lane stays below lim_bits
 * (so the 8-byte loads stay inside the buffer: the caller keeps a margin
 * of 4 values of the block's longest code + extra bits and one window);
 * returns the count decoded.
 * Compiled twice: plain x86-64, and with BMI2 (one-uop variable shifts and
 * bzhi) chosen at run time. */
#define HF_ONE(P, DST, BZHI)                                                            \
    do {                                                                                \
        uint64_t wv_ = ld64(src + ((P) >> 3)) >> ((P) & 7);                             \
        uint64_t e_ = dt[wv_ & mask];                                                   \
        uint64_t y_ = wv_ >> (e_ & 63);                                                 \
        if (__builtin_expect((e_ & 0x40) != 0, 0))                                      \
            y_ = hf_slow_extra(src, slen, (P), e_);                                     \
        else                                                                            \
            y_ = BZHI(y_, (e_ >> 8) & 63) + (e_ >> 24);                                 \
        (DST) = y_;                                                                     \
        (P) += (e_ >> 16) & 0xff;                                                       \
    } while (0)
#define HF_LANES_BODY(BZHI)                                                             \
    {                                                                                   \
        size_t p0 = pos[0], p1 = pos[1], p2 = pos[2], p3 = pos[3];                      \
        size_t i = 0;                                                                   \
        for (; i + 16 <= m; i += 16) {                                                  \
            size_t h0 = p0 > p1 ? p0 : p1, h1 = p2 > p3 ? p2 : p3;                      \
            if ((h0 > h1 ? h0 : h1) >= lim_bits)                                        \
                break;                                                                  \
            for (size_t j = i; j < i + 16; j += 4) {                                    \
                HF_ONE(p0, x[j], BZHI);                                                 \
                HF_ONE(p1, x[j + 1], BZHI);                                             \
                HF_ONE(p2, x[j + 2], BZHI);                                             \
                HF_ONE(p3, x[j + 3], BZHI);                                             \
            }                                                                           \
        }                                                                               \
        pos[0] = p0;                                                                    \
        pos[1] = p1;                                                                    \
        pos[2] = p2;                                                                    \
        pos[3] = p3;                                                                    \
        (void)badp;                                                                     \
        return i;                                                                       \
    }
#define HF_BZHI_C(y, n) ((y) & ((1ull << (n)) - 1))
static size_t hf_lanes_generic(const uint8_t *src, size_t slen, size_t lim_bits,
                               const uint64_t *dt, uint64_t mask, uint64_t *x, size_t m,
                               size_t *pos, uint32_t *badp)
HF_LANES_BODY(HF_BZHI_C)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HF_BZHI_BMI2(y, n) _bzhi_u64((y), (n))
__attribute__((target("bmi2"))) static size_t
hf_lanes_bmi2(const uint8_t *src, size_t slen, size_t lim_bits, const uint64_t *dt, uint64_t mask,
              uint64_t *x, size_t m, size_t *pos, uint32_t *badp)
HF_LANES_BODY(HF_BZHI_BMI2)
static bool hf_use_bmi2(void)
{
    return __builtin_cpu_supports("bmi2");
}
#else
#define hf_lanes_bmi2 hf_lanes_generic
static bool hf_use_bmi2(void)
{
    return false;
}
#endif
#undef HF_LANES_BODY

void codec__huff_read(struct cur *c, size_t n, uint64_t *out)
{
    unsigned mode = cur_u8(c, "truncated huff mode");
    uint64_t ref = cur_svarint(c, "truncated huff reference");
    unsigned ntok = cur_u8(c, "truncated huff token count");
    if (c->is_bad)
        return;
    if (mode > 1 || (mode == 1 && n < 2)) {
        cur_fail(c, "bad huff mode");
        return;
    }
    if (ntok == 0 || ntok > HF_NTOK) {
        cur_fail(c, "bad huff token count");
        return;
    }
    const uint8_t *nib = cur_take(c, (ntok + 1) / 2, "huff code lengths truncated");
    uint64_t total = cur_uvarint(c, "truncated huff stream length");
    uint64_t lane[HF_LANES];
    uint64_t sum = 0;
    for (unsigned k = 0; k + 1 < HF_LANES; k++) {
        lane[k] = total / HF_LANES + cur_svarint(c, "truncated huff lane length");
        if (lane[k] > total) {
            cur_fail(c, "huff lane longer than the streams");
            return;
        }
        sum += lane[k];
    }
    if (c->is_bad)
        return;
    if (sum > total) {
        cur_fail(c, "huff lanes longer than the streams");
        return;
    }
    lane[HF_LANES - 1] = total - sum;
    uint8_t len[HF_NTOK];
    unsigned maxl = 0;
    for (unsigned s = 0; s < ntok; s++) {
        len[s] = (uint8_t)((nib[s / 2] >> (4 * (s & 1))) & 15);
        if (len[s] > HF_MAXLEN) {
            cur_fail(c, "huff code length above 11");
            return;
        }
        maxl = len[s] > maxl ? len[s] : maxl;
    }
    if (ntok & 1 && nib[ntok / 2] >> 4) {
        cur_fail(c, "huff padding nibble not 0");
        return;
    }
    uint16_t code[HF_NTOK];
    if (maxl == 0 || !hf_codes(len, ntok, code)) {
        cur_fail(c, "bad huff code lengths");
        return;
    }
    const uint8_t *src = cur_take(c, total, "huff streams truncated");
    if (!src)
        return;
    /* Decode table, entries as described at hf_one_safe(); holes (a code
     * that is not complete) have bit 7 set. */
    uint64_t dt[1u << HF_MAXLEN];
    size_t tsize = (size_t)1 << maxl;
    uint32_t kraft = 0;
    unsigned maxbits = 0;
    for (unsigned s = 0; s < ntok; s++)
        kraft += len[s] ? 1u << (maxl - len[s]) : 0;
    if (kraft != tsize) {
        maxbits = 255;
        for (size_t j = 0; j < tsize; j++)
            dt[j] = 0x80 | (uint64_t)255 << 16; /* jumps past any lane end */
    }
    for (unsigned s = 0; s < ntok; s++) {
        if (!len[s])
            continue;
        unsigned eb = hf_tok_eb(s), top = s < 8 ? s : 2 | (s & 1);
        uint64_t ent = len[s] | eb << 8 | (len[s] + eb) << 16;
        ent |= eb > HF_FAST_EB ? 0x40 | (uint64_t)top << 24 : ((uint64_t)top << eb) << 24;
        for (size_t j = code[s]; j < tsize; j += (size_t)1 << len[s])
            dt[j] = ent;
        maxbits = len[s] + eb > maxbits ? len[s] + eb : maxbits;
    }
    /* Lanes are read in place: windows past a lane's end see the next
     * lane's bits (never part of a valid value).  The fast loop stops near
     * the cursor's end; the tail reads a window directly while 16 bytes
     * remain, else through the bounds-checked path. */
    size_t avail = (size_t)(c->p + c->len - src), slen = avail;
    size_t pos[HF_LANES], so = 0;
    for (unsigned k = 0; k < HF_LANES; k++) {
        pos[k] = 8 * so;
        so += lane[k];
    }
    size_t m = mode ? n - 1 : n;
    uint64_t *x = mode ? out + 1 : out;
    uint32_t bad = 0;
    size_t margin = (4 * maxbits + 7) / 8 + 8;
    size_t lim_bits = avail > margin ? 8 * (avail - margin) : 0, i = 0;
        if (lim_bits)
        i = hf_use_bmi2() ? hf_lanes_bmi2(src, avail, lim_bits, dt, tsize - 1, x, m, pos, &bad)
                          : hf_lanes_generic(src, avail, lim_bits, dt, tsize - 1, x, m, pos,
                                             &bad);
    for (; i < m; i++) {
        unsigned k = i % HF_LANES;
        if ((pos[k] >> 3) + 8 <= avail) {
            size_t p = pos[k];
            uint64_t mask = tsize - 1;
            HF_ONE(p, x[i], HF_BZHI_C);
            pos[k] = p;
            continue;
        }
        x[i] = hf_one_safe(src, avail, &pos[k], dt, tsize - 1, &bad);
        if (pos[k] > 8 * avail)
            break; /* corrupt; caught below */
    }
    bool is_bad = (bad & 0x80) != 0 || i < m;
    so = 0;
    for (unsigned k = 0; k < HF_LANES; k++) {
        so += lane[k];
        is_bad |= (pos[k] + 7) / 8 != so;
    }
    if (is_bad) {
        cur_fail(c, "huff streams do not decode to their lengths");
        return;
    }
    if (mode == 0) {
        for (size_t j = 0; j < n; j++)
            out[j] += ref;
    } else {
        uint64_t acc = ref;
        out[0] = acc;
        for (size_t j = 1; j < n; j++) {
            acc += (uint64_t)unzigzag(out[j]);
            out[j] = acc;
        }
    }
}
