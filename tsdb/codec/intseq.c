// SPDX-License-Identifier: MIT
/*
 * Integer sequences: the workhorse behind time, int and uint blocks, the
 * integers of decimal floats, bit patterns of binary floats, string lengths
 * and dictionary codes.
 *
 * Every candidate reduces the values to residuals, then frame-of-reference
 * (FOR) packs them: ref = the smallest residual (zigzag varint), g = the GCD
 * of (r - ref) over the block (varint, 1 when none), then (r - ref) / g in
 * the fewest bits w.  Because ref is the minimum, FOR needs no zigzag on the
 * residuals and is never wider than zigzag would be.  A frame costs one
 * width byte, the g varint only when g > 1, and the ref varint, which keeps
 * only the ref's top bits when the frame is wide (ref_shift()).  Candidates (FORMAT.md
 * "Integer sequences"):
 *
 *   FOR    residual = value (plain FOR; "constant" is FOR with w = 0)
 *   DELTA  residual = v[i] - v[i-1]          (constant delta: w = 0)
 *   DOD    residual = delta-of-delta
 *   GRID   residual = v[i] - (v[0] + i*D), D = (v[n-1]-v[0]) / (n-1):
 *          jittered timestamps cost only their jitter
 *   RLE    runs of equal values
 *   FOR_MB, DELTA_MB  the same residuals as FOR and DELTA, but cut into
 *          miniblocks of 32 with their own ref, g and w, so that a spike
 *          or a random walk crossing into a wider binade only widens its
 *          own miniblock; each ref is stored relative to the previous one
 *   FOR_MBS, DELTA_MBS (format 2)  the same with 64, 128 or 256 values a
 *          frame (the size is a stored byte): fewer frame headers where the
 *          data is steadier
 *   DELTA_OB (format 2)  deltas in offset-binary frames of 16..1,024
 *          values: each frame is a width byte and w-bit values x, delta =
 *          x - 2^(w-1), no reference; for deltas centred on zero (random
 *          walks, full-precision float bit patterns) it saves the reference
 *   PFOR, DELTA_PFOR (format 2)  patched FOR: a narrow frame for most
 *          values, the few wider ones as exceptions (positions + high bits)
 *   RAW    8 bytes each
 *
 * The encoder computes each candidate's exact size (min/max plus a GCD pass
 * that stops as soon as the GCD is 1) and writes only the smallest.  All
 * arithmetic is on uint64_t, so it wraps instead of overflowing: INT64_MIN
 * next to INT64_MAX is lossless, just expensive.
 *
 * Decoding is unpack (bitpack.c), then one vectorisable pass (ref + x*g),
 * then a prefix sum for DELTA/DOD.
 */
#include "tsdb/codec/codec_int.h"

struct forp {
    uint64_t ref;
    uint64_t g;
    unsigned w;
};

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    int sh = __builtin_ctzll(a | b);
    a >>= __builtin_ctzll(a);
    do {
        b >>= __builtin_ctzll(b);
        if (a > b) {
            uint64_t t = a;
            a = b;
            b = t;
        }
        b -= a;
    } while (b);
    return a << sh;
}

/* A frame of width w keeps only the top bits of its reference: the low
 * ref_shift() bits are zero, so the stored varint is short even when the
 * values are huge (bit patterns of floats).  A function of w alone, so the
 * decoder knows it. */
#define REF_KEEP 8
static unsigned ref_shift(unsigned w, uint64_t g)
{
    return g == 1 && w > REF_KEEP && w < 64 ? w - REF_KEEP : 0;
}

/* Arithmetic right shift of the signed interpretation (s < 64), written
 * out because >> on a negative int64_t is implementation-defined. */
static uint64_t asr(uint64_t x, unsigned s)
{
    if (s == 0)
        return x;
    uint64_t sign = (x >> 63) ? ~(~(uint64_t)0 >> s) : 0;
    return (x >> s) | sign;
}

static void for_plan(const uint64_t *r, size_t m, bool is_unsigned,
                     struct forp *f)
{
    f->ref = 0;
    f->g = 1;
    f->w = 0;
    if (m == 0)
        return;
    uint64_t lo, hi;
    if (is_unsigned) {
        lo = hi = r[0];
        for (size_t i = 1; i < m; i++) {
            lo = r[i] < lo ? r[i] : lo;
            hi = r[i] > hi ? r[i] : hi;
        }
    } else {
        int64_t slo = (int64_t)r[0], shi = slo;
        for (size_t i = 1; i < m; i++) {
            int64_t x = (int64_t)r[i];
            slo = x < slo ? x : slo;
            shi = x > shi ? x : shi;
        }
        lo = (uint64_t)slo;
        hi = (uint64_t)shi;
    }
    uint64_t range = hi - lo, g = 0;
    if (range > 1) {
        for (size_t i = 0; i < m && g != 1; i++)
            g = gcd64(g, r[i] - lo);
    }
    if (g == 0)
        g = 1;
    f->ref = lo;
    f->g = g;
    f->w = codec__bit_width(range / g);
    unsigned s = ref_shift(f->w, g);
    if (s == 0)
        return;
    /* Round the reference down to a multiple of 2^s (clearing low bits is
     * a floor in both signed and unsigned order).  The range grows by less
     * than 2^s = 2^(w-8); in the rare case that needs one more bit, widen
     * the frame and take that width's shift, which still fits (and w = 64
     * has no shift at all). */
    uint64_t ref = lo & ~((((uint64_t)1) << s) - 1);
    if (codec__bit_width(hi - ref) > f->w) {
        f->w++;
        s = ref_shift(f->w, g);
        ref = lo & ~((((uint64_t)1) << s) - 1);
    }
    f->ref = ref;
}

/* Frame: u8 w | FOR_HAS_G, uvarint g if flagged, svarint q, packed values.
 * With s = ref_shift(w, g), ref = (asr(base, s) + q) << s, where base is 0
 * for a lone frame and the previous frame's ref inside miniblocks. */
#define FOR_HAS_G 0x80u

static uint64_t ref_q(const struct forp *f, uint64_t base)
{
    unsigned s = ref_shift(f->w, f->g);
    return asr(f->ref, s) - asr(base, s);
}

static size_t for_cost(const struct forp *f, size_t m, uint64_t base)
{
    return 1 + (f->g > 1 ? uvarint_len(f->g) : 0) + svarint_len(ref_q(f, base)) +
           codec__packed_size(m, f->w);
}

static void for_write(struct wr *w, const uint64_t *r, size_t m,
                      const struct forp *f, uint64_t *tmp, uint64_t base)
{
    wr_u8(w, f->w | (f->g > 1 ? FOR_HAS_G : 0));
    if (f->g > 1)
        wr_uvarint(w, f->g);
    wr_svarint(w, ref_q(f, base));
    if (f->w == 0)
        return;
    if ((f->g & (f->g - 1)) == 0) {
        unsigned sh = (unsigned)__builtin_ctzll(f->g);
        for (size_t i = 0; i < m; i++)
            tmp[i] = (r[i] - f->ref) >> sh;
    } else {
        for (size_t i = 0; i < m; i++)
            tmp[i] = (r[i] - f->ref) / f->g;
    }
    codec__pack(w, tmp, m, f->w);
}

/* Returns the frame's reference (for the next miniblock). */
static uint64_t for_read(struct cur *c, size_t m, uint64_t *out, uint64_t base)
{
    unsigned w = cur_u8(c, "truncated FOR width");
    uint64_t g = 1;
    if (w & FOR_HAS_G) {
        w &= ~FOR_HAS_G;
        g = cur_uvarint(c, "truncated FOR divisor");
        if (!c->is_bad && g < 2) {
            cur_fail(c, "FOR divisor below 2");
            return 0;
        }
    }
    if (!c->is_bad && w > 64) {
        cur_fail(c, "FOR bit width above 64");
        return 0;
    }
    unsigned s = ref_shift(w, g);
    uint64_t ref = (asr(base, s) + cur_svarint(c, "truncated FOR reference")) << s;
    if (c->is_bad)
        return 0;
    size_t nb = codec__packed_size(m, w);
    const uint8_t *src = cur_take(c, nb, "packed values truncated");
    if (!src)
        return 0;
    codec__unpack(src, nb, m, w, out);
    if (g == 1) {
        for (size_t i = 0; i < m; i++)
            out[i] += ref;
    } else {
        for (size_t i = 0; i < m; i++)
            out[i] = ref + out[i] * g;
    }
    return ref;
}

/* Miniblocks: consecutive FOR frames over `size` values each (CODEC__MB for
 * the version-1 kinds, 2^s for the sized kinds).  In offset-binary mode
 * (`ob`, delta-ob) a frame is only `u8 w` and the packed values: its
 * reference is implied, -2^(w-1), which suits residuals centred on zero
 * (deltas of a random walk) and saves the reference varint per frame. */
static unsigned ob_width(const uint64_t *r, size_t k)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < k; i++)
        acc |= zigzag((int64_t)r[i]);
    return codec__bit_width(acc);
}

static uint64_t ob_ref(unsigned w)
{
    return w ? (uint64_t)0 - ((uint64_t)1 << (w - 1)) : 0;
}

static size_t mb_cost(const uint64_t *r, size_t m, bool is_unsigned, size_t size,
                      bool ob)
{
    size_t cost = 0;
    uint64_t base = 0;
    for (size_t at = 0; at < m; at += size) {
        size_t k = m - at < size ? m - at : size;
        if (ob) {
            cost += 1 + codec__packed_size(k, ob_width(r + at, k));
            continue;
        }
        struct forp f;
        for_plan(r + at, k, is_unsigned, &f);
        cost += for_cost(&f, k, base);
        base = f.ref;
    }
    return cost;
}

static void mb_write(struct wr *w, const uint64_t *r, size_t m,
                     bool is_unsigned, uint64_t *tmp, size_t size, bool ob)
{
    uint64_t base = 0;
    for (size_t at = 0; at < m; at += size) {
        size_t k = m - at < size ? m - at : size;
        if (ob) {
            unsigned wd = ob_width(r + at, k);
            uint64_t ref = ob_ref(wd);
            wr_u8(w, wd);
            for (size_t i = 0; i < k; i++)
                tmp[i] = r[at + i] - ref;
            codec__pack(w, tmp, k, wd);
            continue;
        }
        struct forp f;
        for_plan(r + at, k, is_unsigned, &f);
        for_write(w, r + at, k, &f, tmp, base);
        base = f.ref;
    }
}

/* Offset-binary frame: u8 w, pack(k, w); value = x - 2^(w-1). */
static void ob_read(struct cur *c, size_t k, uint64_t *out)
{
    unsigned w = cur_u8(c, "truncated frame width");
    if (!c->is_bad && w > 64) {
        cur_fail(c, "frame bit width above 64");
        return;
    }
    size_t nb = codec__packed_size(k, w);
    const uint8_t *src = cur_take(c, nb, "packed values truncated");
    if (!src)
        return;
    codec__unpack(src, nb, k, w, out);
    uint64_t ref = ob_ref(w);
    for (size_t i = 0; i < k; i++)
        out[i] += ref;
}

static void mb_read(struct cur *c, size_t m, uint64_t *out, size_t size, bool ob)
{
    uint64_t base = 0;
    for (size_t at = 0; at < m && !c->is_bad; at += size) {
        size_t k = m - at < size ? m - at : size;
        if (ob)
            ob_read(c, k, out + at);
        else
            base = for_read(c, k, out + at, base);
    }
}

/* Reads the u8 log2 miniblock size of the sized kinds. */
static size_t mb_size_get(struct cur *c)
{
    unsigned s = cur_u8(c, "truncated miniblock size");
    if (!c->is_bad && (s < CODEC__MBS_MIN_LOG || s > CODEC__MBS_MAX_LOG)) {
        cur_fail(c, "miniblock size out of range");
        return CODEC__MB;
    }
    return (size_t)1 << s;
}

/* Patched FOR (format 2): the FOR residual x = r - ref of most values
 * fits w bits; the few that do not (a counter's burst, an incident's
 * spike) are exceptions whose high bits x >> w are stored apart:
 *   svarint ref, u8 w (< 64), uvarint nexc, pack(m, w) of the low bits,
 *   then if nexc > 0: pack(nexc, bit_width(m - 1)) positions and a
 *   for(nexc) frame of the high parts.
 * Decoding is the plain unpack, a scatter of nexc high parts, and the
 * ref add: no per-value branch. */
struct pforp {
    uint64_t ref;
    unsigned w;
    size_t nexc;
    struct forp hi; /* frame of the high parts */
    size_t cost;
};

static void pfor_plan(const uint64_t *r, size_t m, bool is_unsigned, uint64_t *tmp,
                      struct pforp *p)
{
    p->cost = SIZE_MAX;
    if (m < 2)
        return;
    uint64_t lo = r[0];
    for (size_t i = 1; i < m; i++) {
        if (is_unsigned)
            lo = r[i] < lo ? r[i] : lo;
        else
            lo = (int64_t)r[i] < (int64_t)lo ? r[i] : lo;
    }
    size_t cnt[65] = { 0 };
    unsigned maxb = 0;
    for (size_t i = 0; i < m; i++) {
        unsigned b = codec__bit_width(r[i] - lo);
        cnt[b]++;
        maxb = b > maxb ? b : maxb;
    }
    if (maxb == 0)
        return; /* constant: plain FOR */
    unsigned pw = codec__bit_width(m - 1);
    /* Estimate: low bits, positions, high parts at maxb - w bits. */
    size_t best_est = SIZE_MAX, nexc = 0;
    unsigned best_w = maxb;
    for (unsigned w = maxb; w-- > 0;) {
        nexc += cnt[w + 1];
        if (nexc * 4 > m)
            break;
        size_t est = codec__packed_size(m, w) + codec__packed_size(nexc, pw) + 3 +
                     codec__packed_size(nexc, maxb - w);
        if (est < best_est) {
            best_est = est;
            best_w = w;
        }
    }
    if (best_w == maxb)
        return;
    p->ref = lo;
    p->w = best_w;
    p->nexc = 0;
    for (size_t i = 0; i < m; i++) {
        uint64_t x = r[i] - lo;
        if (x >> best_w)
            tmp[p->nexc++] = x >> best_w;
    }
    for_plan(tmp, p->nexc, true, &p->hi);
    p->cost = svarint_len(lo) + 1 + uvarint_len(p->nexc) + codec__packed_size(m, best_w) +
              codec__packed_size(p->nexc, pw) + for_cost(&p->hi, p->nexc, 0);
}

static void pfor_write(struct wr *w, const uint64_t *r, size_t m, const struct pforp *p,
                       uint64_t *tmp)
{
    wr_svarint(w, p->ref);
    wr_u8(w, p->w);
    wr_uvarint(w, p->nexc);
    for (size_t i = 0; i < m; i++)
        tmp[i] = r[i] - p->ref;
    codec__pack(w, tmp, m, p->w);
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if ((r[i] - p->ref) >> p->w)
            tmp[k++] = i;
    codec__pack(w, tmp, k, codec__bit_width(m - 1));
    k = 0;
    for (size_t i = 0; i < m; i++) {
        uint64_t x = r[i] - p->ref;
        if (x >> p->w)
            tmp[k++] = x >> p->w;
    }
    for_write(w, tmp, k, &p->hi, tmp + k, 0);
}

static void pfor_read(struct cur *c, size_t m, uint64_t *out)
{
    uint64_t ref = cur_svarint(c, "truncated patched-FOR reference");
    unsigned w = cur_u8(c, "truncated patched-FOR width");
    uint64_t nexc = cur_uvarint(c, "truncated exception count");
    if (c->is_bad)
        return;
    if (w > 63) {
        cur_fail(c, "patched-FOR width above 63");
        return;
    }
    if (nexc > m) {
        cur_fail(c, "more exceptions than values");
        return;
    }
    size_t nb = codec__packed_size(m, w);
    const uint8_t *src = cur_take(c, nb, "packed values truncated");
    if (!src)
        return;
    codec__unpack(src, nb, m, w, out);
    if (nexc) {
        uint64_t pos[CODEC_BLOCK_MAX], hi[CODEC_BLOCK_MAX];
        unsigned pw = codec__bit_width(m - 1);
        size_t pb = codec__packed_size(nexc, pw);
        const uint8_t *ps = cur_take(c, pb, "exception positions truncated");
        if (!ps)
            return;
        codec__unpack(ps, pb, nexc, pw, pos);
        for_read(c, nexc, hi, 0);
        if (c->is_bad)
            return;
        for (size_t k = 0; k < nexc; k++) {
            if (pos[k] >= m) {
                cur_fail(c, "exception position beyond the block");
                return;
            }
            out[pos[k]] |= hi[k] << w;
        }
    }
    for (size_t i = 0; i < m; i++)
        out[i] += ref;
}

static size_t rle_runs(const uint64_t *v, size_t n)
{
    size_t runs = n ? 1 : 0;
    for (size_t i = 1; i < n; i++)
        runs += v[i] != v[i - 1];
    return runs;
}

static size_t rle_cost(const uint64_t *v, size_t n, size_t runs)
{
    size_t cost = uvarint_len(runs);
    uint64_t prev = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j] == v[i])
            j++;
        cost += svarint_len(v[i] - prev) + uvarint_len(j - i);
        prev = v[i];
        i = j;
    }
    return cost;
}

static void rle_write(struct wr *w, const uint64_t *v, size_t n, size_t runs)
{
    wr_uvarint(w, runs);
    uint64_t prev = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j] == v[i])
            j++;
        wr_svarint(w, v[i] - prev);
        wr_uvarint(w, j - i);
        prev = v[i];
        i = j;
    }
}

unsigned codec__intseq_encode(struct wr *w, const uint64_t *v, size_t n,
                              bool is_unsigned,
                              uint64_t (*scratch)[CODEC_BLOCK_MAX], bool fast)
{
    assert(n <= CODEC_BLOCK_MAX);
    uint64_t *d = scratch[0], *dd = scratch[1], *gr = scratch[2],
             *tmp = scratch[3];
    unsigned best = CODEC__IS_RAW;
    size_t best_cost = 8 * n;
    struct forp fp[CODEC__IS_NKINDS];
    uint64_t step = 0;

    for_plan(v, n, is_unsigned, &fp[CODEC__IS_FOR]);
    size_t cost = for_cost(&fp[CODEC__IS_FOR], n, 0);
    if (n > 0 && cost < best_cost) {
        best = CODEC__IS_FOR;
        best_cost = cost;
    }
    if (n >= 2) {
        for (size_t i = 1; i < n; i++)
            d[i - 1] = v[i] - v[i - 1];
        for_plan(d, n - 1, false, &fp[CODEC__IS_DELTA]);
        cost = svarint_len(v[0]) + for_cost(&fp[CODEC__IS_DELTA], n - 1, 0);
        if (cost < best_cost) {
            best = CODEC__IS_DELTA;
            best_cost = cost;
        }
    }
    /* A constant delta cannot be beaten by DOD or GRID. */
    if (n >= 3 && !(best == CODEC__IS_DELTA && fp[CODEC__IS_DELTA].w == 0)) {
        for (size_t i = 1; i < n - 1; i++)
            dd[i - 1] = d[i] - d[i - 1];
        for_plan(dd, n - 2, false, &fp[CODEC__IS_DOD]);
        cost = svarint_len(v[0]) + svarint_len(d[0]) +
               for_cost(&fp[CODEC__IS_DOD], n - 2, 0);
        if (cost < best_cost) {
            best = CODEC__IS_DOD;
            best_cost = cost;
        }
        /* Conversions of out-of-range values are modular on every compiler
         * we support (implementation-defined, not undefined). */
        int64_t span = (int64_t)(v[n - 1] - v[0]);
        step = (uint64_t)(span / (int64_t)(n - 1));
        for (size_t i = 1; i < n; i++)
            gr[i - 1] = v[i] - v[0] - (uint64_t)i * step;
        for_plan(gr, n - 1, false, &fp[CODEC__IS_GRID]);
        cost = svarint_len(v[0]) + svarint_len(step) +
               for_cost(&fp[CODEC__IS_GRID], n - 1, 0);
        if (cost < best_cost) {
            best = CODEC__IS_GRID;
            best_cost = cost;
        }
    }
    /* Miniblocks pay off only when one frame is wide.  Version-1 kinds use
     * 32 values a frame; the sized kinds (format 2) try 64..256, and
     * delta-ob (offset-binary frames, no reference) 32..1024.  A sized
     * kind costs one byte more than the 32-value kind, so 32 stays there. */
    unsigned best_s = 0;
    if (!fast && n > CODEC__MB &&
        (best == CODEC__IS_RAW || best == CODEC__IS_RLE || fp[best].w >= 4)) {
        cost = mb_cost(v, n, is_unsigned, CODEC__MB, false);
        if (cost < best_cost) {
            best = CODEC__IS_FOR_MB;
            best_cost = cost;
        }
        cost = svarint_len(v[0]) + mb_cost(d, n - 1, false, CODEC__MB, false);
        if (cost < best_cost) {
            best = CODEC__IS_DELTA_MB;
            best_cost = cost;
        }
        for (unsigned s = 4; s <= CODEC__MBS_MAX_LOG; s++) {
            size_t size = (size_t)1 << s;
            if (s > 4 && size / 2 >= n)
                break;
            if (s > 5 && s <= 8) {
                cost = 1 + mb_cost(v, n, is_unsigned, size, false);
                if (cost < best_cost) {
                    best = CODEC__IS_FOR_MBS;
                    best_cost = cost;
                    best_s = s;
                }
                cost = svarint_len(v[0]) + 1 + mb_cost(d, n - 1, false, size, false);
                if (cost < best_cost) {
                    best = CODEC__IS_DELTA_MBS;
                    best_cost = cost;
                    best_s = s;
                }
            }
            cost = svarint_len(v[0]) + 1 + mb_cost(d, n - 1, false, size, true);
            if (cost < best_cost) {
                best = CODEC__IS_DELTA_OB;
                best_cost = cost;
                best_s = s;
            }
        }
    }
    size_t runs = rle_runs(v, n);
    if (runs > 0 && runs <= n / 4) {
        cost = rle_cost(v, n, runs);
        if (cost < best_cost) {
            best = CODEC__IS_RLE;
            best_cost = cost;
        }
    }

    /* Patched FOR of the values and of the deltas (format 2), when the
     * best so far is wide enough for outliers to matter. */
    struct pforp pv, pd;
    pv.cost = pd.cost = SIZE_MAX;
    if (!fast && n >= 16 && best != CODEC__IS_RLE &&
        (best == CODEC__IS_RAW || best >= CODEC__IS_FOR_MB || fp[best].w >= 2)) {
        pfor_plan(v, n, is_unsigned, tmp, &pv);
        if (pv.cost < best_cost) {
            best = CODEC__IS_PFOR;
            best_cost = pv.cost;
        }
        pfor_plan(d, n - 1, false, tmp, &pd);
        if (pd.cost != SIZE_MAX && svarint_len(v[0]) + pd.cost < best_cost) {
            best = CODEC__IS_DELTA_PFOR;
            best_cost = svarint_len(v[0]) + pd.cost;
        }
    }

    /* Entropy-coded tokens (format 4) when the best so far spends bits. */
    struct codec__huffp hp;
    hp.cost = SIZE_MAX;
    if (!fast && n >= CODEC__HUFF_MIN && best != CODEC__IS_RLE &&
        (best == CODEC__IS_RAW || best >= CODEC__IS_FOR_MB || fp[best].w >= 1)) {
        codec__huff_plan(v, n, d, is_unsigned, &hp);
        /* Huff decodes at about half the speed of bit-packed frames: it
         * must save at least 1/CODEC__HUFF_GAIN of the best size. */
        if (hp.cost < best_cost - best_cost / CODEC__HUFF_GAIN) {
            best = CODEC__IS_HUFF;
            best_cost = hp.cost;
        }
    }

    size_t start = w->len;
    (void)start;
    switch (best) {
    case CODEC__IS_RAW:
        for (size_t i = 0; i < n; i++)
            wr_u64(w, v[i]);
        break;
    case CODEC__IS_FOR:
        for_write(w, v, n, &fp[best], tmp, 0);
        break;
    case CODEC__IS_DELTA:
        wr_svarint(w, v[0]);
        for_write(w, d, n - 1, &fp[best], tmp, 0);
        break;
    case CODEC__IS_DOD:
        wr_svarint(w, v[0]);
        wr_svarint(w, d[0]);
        for_write(w, dd, n - 2, &fp[best], tmp, 0);
        break;
    case CODEC__IS_GRID:
        wr_svarint(w, v[0]);
        wr_svarint(w, step);
        for_write(w, gr, n - 1, &fp[best], tmp, 0);
        break;
    case CODEC__IS_RLE:
        rle_write(w, v, n, runs);
        break;
    case CODEC__IS_FOR_MB:
        mb_write(w, v, n, is_unsigned, tmp, CODEC__MB, false);
        break;
    case CODEC__IS_DELTA_MB:
        wr_svarint(w, v[0]);
        mb_write(w, d, n - 1, false, tmp, CODEC__MB, false);
        break;
    case CODEC__IS_PFOR:
        pfor_write(w, v, n, &pv, tmp);
        break;
    case CODEC__IS_DELTA_PFOR:
        wr_svarint(w, v[0]);
        pfor_write(w, d, n - 1, &pd, tmp);
        break;
    case CODEC__IS_HUFF:
        codec__huff_write(w, v, n, d, &hp);
        break;
    case CODEC__IS_FOR_MBS:
        wr_u8(w, best_s);
        mb_write(w, v, n, is_unsigned, tmp, (size_t)1 << best_s, false);
        break;
    case CODEC__IS_DELTA_MBS:
    case CODEC__IS_DELTA_OB:
        wr_svarint(w, v[0]);
        wr_u8(w, best_s);
        mb_write(w, d, n - 1, false, tmp, (size_t)1 << best_s,
                 best == CODEC__IS_DELTA_OB);
        break;
    }
    assert(w->len - start == best_cost);
    return best;
}

void codec__intseq_put(struct wr *w, const uint64_t *v, size_t n,
                       bool is_unsigned, uint64_t (*scratch)[CODEC_BLOCK_MAX], bool fast)
{
    size_t at = w->len;
    wr_u8(w, 0);
    w->p[at] = (uint8_t)codec__intseq_encode(w, v, n, is_unsigned, scratch, fast);
}

void codec__intseq_decode(struct cur *c, unsigned kind, size_t n,
                          uint64_t *out)
{
    if (n == 0 && kind != CODEC__IS_RAW) {
        cur_fail(c, "empty sequence with a non-raw codec");
        return;
    }
    switch (kind) {
    case CODEC__IS_RAW: {
        const uint8_t *src = cur_take(c, 8 * n, "raw values truncated");
        if (src && n)
            memcpy(out, src, 8 * n);
        return;
    }
    case CODEC__IS_FOR:
        for_read(c, n, out, 0);
        return;
    case CODEC__IS_DELTA: {
        if (n < 2) {
            cur_fail(c, "delta sequence with fewer than 2 values");
            return;
        }
        uint64_t acc = cur_svarint(c, "truncated first value");
        for_read(c, n - 1, out + 1, 0);
        out[0] = acc;
        for (size_t i = 1; i < n; i++) {
            acc += out[i];
            out[i] = acc;
        }
        return;
    }
    case CODEC__IS_DOD: {
        if (n < 3) {
            cur_fail(c, "delta-of-delta sequence with fewer than 3 values");
            return;
        }
        uint64_t acc = cur_svarint(c, "truncated first value");
        uint64_t delta = cur_svarint(c, "truncated first delta");
        for_read(c, n - 2, out + 2, 0);
        out[0] = acc;
        acc += delta;
        out[1] = acc;
        for (size_t i = 2; i < n; i++) {
            delta += out[i];
            acc += delta;
            out[i] = acc;
        }
        return;
    }
    case CODEC__IS_GRID: {
        if (n < 3) {
            cur_fail(c, "grid sequence with fewer than 3 values");
            return;
        }
        uint64_t first = cur_svarint(c, "truncated first value");
        uint64_t step = cur_svarint(c, "truncated grid step");
        for_read(c, n - 1, out + 1, 0);
        out[0] = first;
        for (size_t i = 1; i < n; i++)
            out[i] += first + (uint64_t)i * step;
        return;
    }
    case CODEC__IS_RLE: {
        uint64_t runs = cur_uvarint(c, "truncated run count");
        if (c->is_bad)
            return;
        if (runs == 0 || runs > n) {
            cur_fail(c, "run count is 0 or above the value count");
            return;
        }
        uint64_t prev = 0;
        size_t pos = 0;
        for (uint64_t r = 0; r < runs && !c->is_bad; r++) {
            prev += cur_svarint(c, "truncated run value");
            uint64_t len = cur_uvarint(c, "truncated run length");
            if (c->is_bad)
                return;
            if (len == 0 || len > n - pos) {
                cur_fail(c, "run length is 0 or overruns the block");
                return;
            }
            for (uint64_t k = 0; k < len; k++)
                out[pos++] = prev;
        }
        if (!c->is_bad && pos != n)
            cur_fail(c, "runs do not cover the block");
        return;
    }
    case CODEC__IS_FOR_MB:
        mb_read(c, n, out, CODEC__MB, false);
        return;
    case CODEC__IS_PFOR:
        pfor_read(c, n, out);
        return;
    case CODEC__IS_DELTA_PFOR: {
        if (n < 2) {
            cur_fail(c, "delta sequence with fewer than 2 values");
            return;
        }
        uint64_t acc = cur_svarint(c, "truncated first value");
        pfor_read(c, n - 1, out + 1);
        if (c->is_bad)
            return;
        out[0] = acc;
        for (size_t i = 1; i < n; i++) {
            acc += out[i];
            out[i] = acc;
        }
        return;
    }
    case CODEC__IS_HUFF:
        codec__huff_read(c, n, out);
        return;
    case CODEC__IS_FOR_MBS: {
        size_t size = mb_size_get(c);
        mb_read(c, n, out, size, false);
        return;
    }
    case CODEC__IS_DELTA_MB:
    case CODEC__IS_DELTA_MBS:
    case CODEC__IS_DELTA_OB: {
        if (n < 2) {
            cur_fail(c, "delta sequence with fewer than 2 values");
            return;
        }
        uint64_t acc = cur_svarint(c, "truncated first value");
        if (kind == CODEC__IS_DELTA_MB)
            mb_read(c, n - 1, out + 1, CODEC__MB, false);
        else {
            size_t size = mb_size_get(c);
            mb_read(c, n - 1, out + 1, size, kind == CODEC__IS_DELTA_OB);
        }
        if (c->is_bad)
            return;
        out[0] = acc;
        for (size_t i = 1; i < n; i++) {
            acc += out[i];
            out[i] = acc;
        }
        return;
    }
    default:
        cur_fail(c, "unknown integer codec");
        return;
    }
}

void codec__intseq_get(struct cur *c, size_t n, uint64_t *out)
{
    unsigned kind = cur_u8(c, "truncated integer codec id");
    if (!c->is_bad)
        codec__intseq_decode(c, kind, n, out);
}
