// SPDX-License-Identifier: MIT
/*
 * Part files: immutable, checksummed files of columnar blocks, one
 * partition's rows as a head flush wrote them (storage-notes 5.4).  Byte
 * layout: tsdb/FORMAT.md "Part file" (version 4 is written; 1-3 are read).
 * Version 4 keeps the field keys and types once per part, in a field table
 * at the start of the index region whose offset the header records; the
 * block reader finds it at blk - off (the part header), so the block-reader
 * signatures stay those of versions 1-3.
 *
 *   header (16 B) | block | block | ... | block index | footer (40 B)
 *
 * A block holds up to CODEC_BLOCK_MAX rows of one series: the shared time
 * column, then per field its key, type, summary (count, and min, max, sum,
 * first, last for numeric types), an optional presence bitmap (only when
 * the field is missing on some rows) and its values, each column encoded by
 * nj_codec.  Every block ends in a CRC-32C of its bytes; the index and the
 * footer have their own.  Blocks are written sorted by (series id, min time)
 * and the index lists them in that order.
 *
 * Invariants a verified part satisfies (tsdb__part_verify checks all of
 * them, since the bytes come from disk):
 *   1. header magic/version, footer magic/version/CRC, index CRC;
 *   2. every index entry points inside the block area and its block's CRC
 *      matches; entries are sorted by (series id, min time);
 *   3. each block's own series id, row count and time range equal the
 *      entry's.
 * Column payloads are only checked by the codec when decoded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

/* ---- writing ---------------------------------------------------------------- */

int tsdb__pw_init(struct tsdb__pw *w)
{
    return tsdb__pw_init_version(w, TSDB__PART_VERSION);
}

int tsdb__pw_init_version(struct tsdb__pw *w, uint32_t version)
{
    memset(w, 0, sizeof *w);
    w->version = version;
    buf_init(&w->out, 0);
    buf_init(&w->idx, 0);
    buf_init(&w->blk, 0);
    buf_init(&w->col, 0);
    w->cc = codec_ctx_new();
    if (!w->cc)
        return ERR_NOMEM;
    codec_ctx_set_short(w->cc, version >= 4);
    w->min_ts = INT64_MAX;
    w->max_ts = INT64_MIN;
    uint8_t hdr[TSDB__PART_HDR];
    memset(hdr, 0, sizeof hdr);
    tsdb__put_le32(hdr, TSDB__PART_MAGIC);
    tsdb__put_le32(hdr + 4, version);
    return buf_append(&w->out, hdr, sizeof hdr);
}

void tsdb__pw_fini(struct tsdb__pw *w)
{
    buf_fini(&w->out);
    buf_fini(&w->idx);
    buf_fini(&w->blk);
    buf_fini(&w->col);
    codec_ctx_free(w->cc);
    w->cc = NULL;
    for (size_t i = 0; i < w->nfields; i++)
        free(w->fields[i].key);
    free(w->fields);
    free(w->fhash);
    w->fields = NULL;
    w->fhash = NULL;
    w->nfields = w->cap_fields = w->hcap = 0;
}

/* ---- version-4 field table (writer side) ------------------------------------ */

static uint32_t fhash(const char *p, size_t n, enum tsdb_type type)
{
    uint32_t h = 2166136261u ^ (uint32_t)type;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static void fhash_put(struct tsdb__pw *w, size_t i)
{
    size_t m = w->hcap - 1;
    const struct tsdb__pwf *f = &w->fields[i];
    size_t k = fhash(f->key, f->n, f->type) & m;
    while (w->fhash[k])
        k = (k + 1) & m;
    w->fhash[k] = (uint32_t)i + 1;
}

static size_t field_add(struct tsdb__pw *w, const char *key, size_t n, enum tsdb_type type)
{
    if (w->nfields == w->cap_fields) {
        w->cap_fields = w->cap_fields ? 2 * w->cap_fields : 16;
        w->fields = xrealloc(w->fields, w->cap_fields * sizeof *w->fields);
    }
    size_t i = w->nfields++;
    w->fields[i].key = xmalloc(n + 1);
    if (n)
        memcpy(w->fields[i].key, key, n);
    w->fields[i].key[n] = 0;
    w->fields[i].n = n;
    w->fields[i].type = type;
    if (2 * w->nfields > w->hcap) { /* keep the load at most 1/2 */
        free(w->fhash);
        w->hcap = w->hcap ? 2 * w->hcap : 32;
        w->fhash = xcalloc(w->hcap, sizeof *w->fhash);
        for (size_t j = 0; j < w->nfields; j++)
            fhash_put(w, j);
    } else {
        fhash_put(w, i);
    }
    return i;
}

/* Number of field (key, type) in the part's table, added when new. */
static size_t field_num(struct tsdb__pw *w, struct sv key, enum tsdb_type type)
{
    if (w->hcap) {
        size_t m = w->hcap - 1;
        for (size_t k = fhash(key.p, key.n, type) & m; w->fhash[k]; k = (k + 1) & m) {
            const struct tsdb__pwf *f = &w->fields[w->fhash[k] - 1];
            if (f->type == type && f->n == key.n && (!key.n || !memcmp(f->key, key.p, key.n)))
                return w->fhash[k] - 1;
        }
    }
    return field_add(w, key.p, key.n, type);
}

static int put_f64(struct buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return tsdb__put_u64(b, u);
}

static int put_svarint(struct buf *b, uint64_t x)
{
    return tsdb__put_uvarint(b, (x << 1) ^ (uint64_t)((int64_t)x >> 63));
}

static uint64_t get_svarint(struct tsdb__dec *d)
{
    uint64_t z = tsdb__get_uvarint(d);
    return (z >> 1) ^ (0 - (z & 1));
}

/* ---- compact summaries (part version 3) ------------------------------------
 * Floats that are all short decimals (every value v is exactly
 * (double)d / 10^e for an integer |d| < 2^51, e <= 18, no NaN) store the
 * mantissas: first, min, max and last as svarints relative to first, the
 * exact mantissa sum, and the in-order double sum as its bit distance from
 * (double)sum_d / 10^e.  Anything else keeps the raw f64 layout.  Integers
 * store first and the others relative to it (sum relative to first *
 * count), all modulo 2^64. */

#define SUM_DEC_MAX_E 18
static const double SUM_P10[SUM_DEC_MAX_E + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

static double dec_value(int64_t d, unsigned e)
{
    return (double)d / SUM_P10[e];
}

/* d with (double)d / 10^e == v bit for bit, or false. */
static bool dec_exact(double v, unsigned e, int64_t *d)
{
    double x = v * SUM_P10[e];
    if (!(x > -0x1p51 && x < 0x1p51))
        return false;
    volatile double magic = 0x1.8p52;
    double r = (x + magic) - magic;
    *d = (int64_t)r;
    double back = dec_value(*d, e);
    return memcmp(&back, &v, 8) == 0;
}

static bool dec_plan(const double *v, size_t n, unsigned *ep, int64_t *dsum)
{
    int64_t d;
    unsigned e = 0;
    while (e <= SUM_DEC_MAX_E && !dec_exact(v[0], e, &d))
        e++;
    for (; e <= SUM_DEC_MAX_E; e++) {
        int64_t sum = 0;
        size_t i = 0;
        for (; i < n && dec_exact(v[i], e, &d); i++)
            sum += d; /* |d| < 2^51, n <= 2^11: no overflow */
        if (i == n) {
            *ep = e;
            *dsum = sum;
            return true;
        }
    }
    return false;
}

static uint64_t f2u(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

static int put_fsummary(struct buf *b, const double *v, size_t cnt, const struct codec_fstats *st)
{
    unsigned e;
    int64_t dsum, dfirst, dmin, dmax, dlast;
    if (st->nan_count == 0 && dec_plan(v, cnt, &e, &dsum) && dec_exact(st->first, e, &dfirst) &&
        dec_exact(st->min, e, &dmin) && dec_exact(st->max, e, &dmax) &&
        dec_exact(st->last, e, &dlast)) {
        int rc = tsdb__put_u8(b, (uint8_t)(0x80 | e));
        rc = rc ? rc : put_svarint(b, (uint64_t)dfirst);
        rc = rc ? rc : put_svarint(b, (uint64_t)(dmin - dfirst));
        rc = rc ? rc : put_svarint(b, (uint64_t)(dmax - dfirst));
        rc = rc ? rc : put_svarint(b, (uint64_t)(dlast - dfirst));
        rc = rc ? rc : put_svarint(b, (uint64_t)dsum);
        rc = rc ? rc : put_svarint(b, f2u(st->sum) - f2u(dec_value(dsum, e)));
        return rc;
    }
    int rc = tsdb__put_u8(b, 0);
    rc = rc ? rc : put_f64(b, st->min);
    rc = rc ? rc : put_f64(b, st->max);
    rc = rc ? rc : put_f64(b, st->sum);
    rc = rc ? rc : put_f64(b, st->first);
    rc = rc ? rc : put_f64(b, st->last);
    return rc ? rc : tsdb__put_uvarint(b, st->nan_count);
}

static int put_isummary(struct buf *b, uint64_t mn, uint64_t mx, uint64_t sum, uint64_t first,
                        uint64_t last, uint64_t cnt, bool ovf)
{
    int rc = tsdb__put_u8(b, ovf ? 1 : 0);
    rc = rc ? rc : put_svarint(b, first);
    rc = rc ? rc : put_svarint(b, mn - first);
    rc = rc ? rc : put_svarint(b, mx - first);
    rc = rc ? rc : put_svarint(b, last - first);
    return rc ? rc : put_svarint(b, sum - first * cnt);
}

/* Column header and summary of the version-1/2 layout. */
static int put_legacy_col_head(struct buf *b, enum tsdb_type type, const double *f,
                               const int64_t *i, const uint64_t *u, size_t cnt, size_t n)
{
    int rc = tsdb__put_u8(b, (uint8_t)type);
    rc = rc ? rc : tsdb__put_u8(b, cnt < n ? 1 : 0);
    rc = rc ? rc : tsdb__put_uvarint(b, cnt);
    if (rc)
        return rc;
    if (type == TSDB_FLOAT) {
        struct codec_fstats st;
        codec_fstats_compute(f, cnt, &st);
        rc = put_f64(b, st.min);
        rc = rc ? rc : put_f64(b, st.max);
        rc = rc ? rc : put_f64(b, st.sum);
        rc = rc ? rc : put_f64(b, st.first);
        rc = rc ? rc : put_f64(b, st.last);
        rc = rc ? rc : tsdb__put_uvarint(b, st.nan_count);
    } else if (type == TSDB_INT || type == TSDB_UINT) {
        struct codec_istats is;
        struct codec_ustats us;
        uint64_t x[5];
        bool ovf;
        if (type == TSDB_INT) {
            codec_istats_compute(i, cnt, &is);
            x[0] = (uint64_t)is.min, x[1] = (uint64_t)is.max, x[2] = (uint64_t)is.sum;
            x[3] = (uint64_t)is.first, x[4] = (uint64_t)is.last, ovf = is.is_sum_overflow;
        } else {
            codec_ustats_compute(u, cnt, &us);
            x[0] = us.min, x[1] = us.max, x[2] = us.sum, x[3] = us.first, x[4] = us.last;
            ovf = us.is_sum_overflow;
        }
        for (int k = 0; k < 5 && !rc; k++)
            rc = tsdb__put_u64(b, x[k]);
        rc = rc ? rc : tsdb__put_u8(b, ovf);
    }
    return rc;
}

/* Encodes one column's rows [r0, r0+n) into w->blk. */
static int put_col(struct tsdb__pw *w, const struct tsdb__pcol *c, size_t r0, size_t n,
                   struct err *e)
{
    uint8_t pres[CODEC_BLOCK_MAX];
    union {
        double f[CODEC_BLOCK_MAX];
        int64_t i[CODEC_BLOCK_MAX];
        uint64_t u[CODEC_BLOCK_MAX];
        uint8_t b[CODEC_BLOCK_MAX];
        struct sv s[CODEC_BLOCK_MAX];
    } v;
    size_t cnt = 0;
    for (size_t r = 0; r < n; r++) {
        pres[r] = c->present ? c->present[r0 + r] != 0 : 1;
        if (!pres[r])
            continue;
        switch (c->type) {
        case TSDB_FLOAT:
            memcpy(&v.f[cnt], &c->u[r0 + r], 8);
            break;
        case TSDB_INT:
            v.i[cnt] = (int64_t)c->u[r0 + r];
            break;
        case TSDB_UINT:
            v.u[cnt] = c->u[r0 + r];
            break;
        case TSDB_BOOL:
            v.b[cnt] = c->u[r0 + r] != 0;
            break;
        case TSDB_STRING:
            v.s[cnt] = c->s[r0 + r];
            break;
        }
        cnt++;
    }
    if (!cnt)
        return 0; /* caller counted columns with values only */
    /* Version 4: field number and presence bit, then the body's length and
     * the body (count, summary, presence, values to its end), built in
     * w->col.  Older versions: key, type/flags, summary, prefixed blocks. */
    bool v4 = w->version >= 4;
    struct buf *b = v4 ? &w->col : &w->blk;
    int rc = 0;
    if (v4) {
        buf_reset(b);
        uint64_t fnum = field_num(w, c->key, c->type);
        rc = tsdb__put_uvarint(&w->blk, fnum << 1 | (cnt < n ? 1 : 0));
        if (cnt < n)
            rc = rc ? rc : tsdb__put_uvarint(b, cnt);
    } else {
        rc = tsdb__put_bytes(b, c->key.p, c->key.n);
        if (w->version < 3) {
            rc = rc ? rc : put_legacy_col_head(b, c->type, v.f, v.i, v.u, cnt, n);
            goto values;
        }
        rc = rc ? rc : tsdb__put_u8(b, (uint8_t)(c->type | (cnt < n ? 8 : 0)));
        if (cnt < n)
            rc = rc ? rc : tsdb__put_uvarint(b, cnt);
    }
    if (rc)
        return err_set(e, rc, "part: block too large");
    if (c->type == TSDB_FLOAT) {
        struct codec_fstats st;
        codec_fstats_compute(v.f, cnt, &st);
        rc = put_fsummary(b, v.f, cnt, &st);
    } else if (c->type == TSDB_INT) {
        struct codec_istats st;
        codec_istats_compute(v.i, cnt, &st);
        rc = put_isummary(b, (uint64_t)st.min, (uint64_t)st.max, (uint64_t)st.sum,
                          (uint64_t)st.first, (uint64_t)st.last, cnt, st.is_sum_overflow);
    } else if (c->type == TSDB_UINT) {
        struct codec_ustats st;
        codec_ustats_compute(v.u, cnt, &st);
        rc = put_isummary(b, st.min, st.max, st.sum, st.first, st.last, cnt, st.is_sum_overflow);
    }
values:
    if (rc)
        return err_set(e, rc, "part: block too large");
    /* Codec blocks go through a scratch buffer so their length can prefix them. */
    struct buf tmp;
    buf_init(&tmp, 0);
    if (cnt < n) {
        rc = codec_encode_presence(w->cc, pres, n, &tmp, e);
        rc = rc ? rc : tsdb__put_bytes(b, tmp.p, tmp.len);
        buf_reset(&tmp);
    }
    if (!rc) {
        switch (c->type) {
        case TSDB_FLOAT:
            rc = codec_encode_float(w->cc, v.f, cnt, &tmp, NULL, e);
            break;
        case TSDB_INT:
            rc = codec_encode_int(w->cc, v.i, cnt, &tmp, NULL, e);
            break;
        case TSDB_UINT:
            rc = codec_encode_uint(w->cc, v.u, cnt, &tmp, NULL, e);
            break;
        case TSDB_BOOL:
            rc = codec_encode_bool(w->cc, v.b, cnt, &tmp, e);
            break;
        case TSDB_STRING:
            rc = codec_encode_str(w->cc, v.s, cnt, &tmp, e);
            break;
        }
    }
    if (v4) { /* the values run to the end of the body */
        rc = rc ? rc : buf_append(b, tmp.p, tmp.len);
        rc = rc ? rc : tsdb__put_bytes(&w->blk, b->p, b->len);
    } else {
        rc = rc ? rc : tsdb__put_bytes(b, tmp.p, tmp.len);
    }
    buf_fini(&tmp);
    return rc;
}

/* Scaled uvarint (version 4): x = q * 10^k stored as uvarint(q << 4 | k),
 * k <= 14 the most trailing decimal zeros; k = 15 escapes x >= 2^60 (then
 * uvarint x follows).  A 10 s step or a 3 h span takes 1-3 bytes. */
static int put_scaled(struct buf *b, uint64_t x)
{
    uint64_t q = x;
    unsigned k = 0;
    while (q && k < 14 && q % 10 == 0) {
        q /= 10;
        k++;
    }
    if (q >> 60) {
        int rc = tsdb__put_uvarint(b, 15);
        return rc ? rc : tsdb__put_uvarint(b, x);
    }
    return tsdb__put_uvarint(b, q << 4 | k);
}

static const uint64_t P10[15] = {
    1ull,           10ull,           100ull,           1000ull,           10000ull,
    100000ull,      1000000ull,      10000000ull,      100000000ull,      1000000000ull,
    10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull, 100000000000000ull,
};

static uint64_t get_scaled(struct tsdb__dec *d)
{
    uint64_t z = tsdb__get_uvarint(d);
    unsigned k = (unsigned)(z & 15);
    if (k == 15) {
        if (z >> 4)
            d->is_bad = true;
        return tsdb__get_uvarint(d);
    }
    uint64_t q = z >> 4;
    if (q > UINT64_MAX / P10[k]) {
        d->is_bad = true;
        return 0;
    }
    return q * P10[k];
}

/* True when ts[0..m) is v0 + i * step exactly (m >= 2, step >= 1). */
static bool is_grid(const int64_t *ts, size_t m, uint64_t *step)
{
    uint64_t span = (uint64_t)ts[m - 1] - (uint64_t)ts[0];
    if (span % (m - 1))
        return false;
    uint64_t st = span / (m - 1);
    for (size_t i = 1; i < m; i++)
        if ((uint64_t)ts[i] - (uint64_t)ts[i - 1] != st)
            return false;
    *step = st;
    return st != 0;
}

/* Version 4 blocks do not store their series id: their CRC starts from
 * the CRC of it (u64 little-endian), so a block under another entry fails. */
static uint32_t blk_seed(uint64_t sid)
{
    uint8_t b[8];
    tsdb__put_le64(b, sid);
    return tsdb__crc32c(0, b, 8);
}

/* Rows of the block starting at r0: up to CODEC_BLOCK_MAX, fewer when a
 * string column's bytes would pass TSDB__PART_STR_BUDGET (half the codec's
 * string-block cap, leaving room for the lengths), so long strings never
 * make a block the codec refuses.  At least one row. */
#define TSDB__PART_STR_BUDGET (CODEC_STR_BLOCK_MAX_BYTES / 2)
static size_t block_rows(const struct tsdb__pcol *cols, size_t ncols, size_t r0, size_t n)
{
    size_t m = n - r0 < CODEC_BLOCK_MAX ? n - r0 : CODEC_BLOCK_MAX;
    for (size_t c = 0; c < ncols; c++) {
        if (cols[c].type != TSDB_STRING)
            continue;
        size_t bytes = 0;
        for (size_t r = 0; r < m; r++) {
            if (cols[c].present && !cols[c].present[r0 + r])
                continue;
            bytes += cols[c].s[r0 + r].n;
            if (bytes > TSDB__PART_STR_BUDGET) {
                m = r ? r : 1;
                break;
            }
        }
    }
    return m;
}

int tsdb__pw_add(struct tsdb__pw *w, uint64_t sid, const int64_t *ts, size_t n,
                 const struct tsdb__pcol *cols, size_t ncols, struct err *e)
{
    for (size_t r0 = 0, m = 0; r0 < n; r0 += m) {
        m = block_rows(cols, ncols, r0, n);
        size_t nc = 0;
        for (size_t c = 0; c < ncols; c++) {
            bool any = !cols[c].present;
            for (size_t r = 0; r < m && !any; r++)
                any = cols[c].present[r0 + r] != 0;
            nc += any;
        }
        struct buf *b = &w->blk;
        buf_reset(b);
        int64_t lo = ts[r0], hi = ts[r0 + m - 1];
        int rc = 0;
        if (w->version >= 4) {
            /* nrows, ncols << 1 | coded time; then the grid (first time
             * from the part's time base, step) or the short time block. */
            if (!w->has_base) {
                w->base_ts = lo;
                w->has_base = true;
            }
            uint64_t step = 0;
            bool grid = m == 1 || is_grid(ts + r0, m, &step);
            rc = tsdb__put_uvarint(b, m);
            rc = rc ? rc : tsdb__put_uvarint(b, (uint64_t)nc << 1 | (grid ? 0 : 1));
            if (grid) {
                rc = rc ? rc : put_svarint(b, (uint64_t)lo - (uint64_t)w->base_ts);
                if (m > 1)
                    rc = rc ? rc : put_scaled(b, step);
            }
            if (rc)
                return err_set(e, rc, "part: out of memory");
            if (!grid) {
                struct buf tmp;
                buf_init(&tmp, 0);
                rc = codec_encode_time(w->cc, ts + r0, m, &tmp, NULL, e);
                rc = rc ? rc : tsdb__put_bytes(b, tmp.p, tmp.len);
                buf_fini(&tmp);
            }
        } else {
            rc = tsdb__put_uvarint(b, sid);
            rc = rc ? rc : tsdb__put_uvarint(b, m);
            if (w->version < 3) {
                rc = rc ? rc : tsdb__put_u64(b, (uint64_t)lo);
                rc = rc ? rc : tsdb__put_u64(b, (uint64_t)hi);
            }
            rc = rc ? rc : tsdb__put_uvarint(b, nc);
            if (rc)
                return err_set(e, rc, "part: out of memory");
            struct buf tmp;
            buf_init(&tmp, 0);
            rc = codec_encode_time(w->cc, ts + r0, m, &tmp, NULL, e);
            rc = rc ? rc : tsdb__put_bytes(b, tmp.p, tmp.len);
            buf_fini(&tmp);
        }
        for (size_t c = 0; c < ncols && !rc; c++)
            rc = put_col(w, &cols[c], r0, m, e);
        if (rc)
            return rc;
        uint32_t crc = tsdb__crc32c(w->version >= 4 ? blk_seed(sid) : 0, b->p, b->len);
        rc = tsdb__put_u32(b, crc);
        uint64_t off = w->base + w->out.len;
        rc = rc ? rc : buf_append(&w->out, b->p, b->len);
        rc = rc ? rc : tsdb__put_uvarint(&w->idx, sid);
        rc = rc ? rc : tsdb__put_u64(&w->idx, (uint64_t)lo);
        rc = rc ? rc : tsdb__put_u64(&w->idx, (uint64_t)hi);
        rc = rc ? rc : tsdb__put_uvarint(&w->idx, off);
        rc = rc ? rc : tsdb__put_uvarint(&w->idx, b->len);
        rc = rc ? rc : tsdb__put_uvarint(&w->idx, m);
        if (rc)
            return err_set(e, rc, "part: out of memory");
        w->nblocks++;
        w->rows += m;
        if (lo < w->min_ts)
            w->min_ts = lo;
        if (hi > w->max_ts)
            w->max_ts = hi;
    }
    return 0;
}

/* Version 4 field table (FORMAT.md): u32 nfields, u64 base_ts, nfields
 * u32 offsets of the entries (from the index start), entries u8 type,
 * bytes key. */
static int put_ftab(struct tsdb__pw *w, struct buf *head)
{
    uint8_t fx[12];
    tsdb__put_le32(fx, (uint32_t)w->nfields);
    tsdb__put_le64(fx + 4, (uint64_t)w->base_ts);
    int rc = buf_append(head, fx, sizeof fx);
    uint64_t at = 12 + 4 * (uint64_t)w->nfields;
    for (size_t i = 0; i < w->nfields && !rc; i++) {
        rc = tsdb__put_u32(head, (uint32_t)at);
        at += 1 + tsdb__uvarint_len(w->fields[i].n) + w->fields[i].n;
    }
    for (size_t i = 0; i < w->nfields && !rc; i++) {
        rc = tsdb__put_u8(head, (uint8_t)w->fields[i].type);
        rc = rc ? rc : tsdb__put_bytes(head, w->fields[i].key, w->fields[i].n);
    }
    if (!rc && at > UINT32_MAX)
        rc = ERR_LIMIT;
    return rc;
}

int tsdb__pw_finish(struct tsdb__pw *w, uint64_t max_lsn, struct err *e)
{
    uint64_t idx_off = w->base + w->out.len;
    struct buf head;
    buf_init(&head, 0);
    int rc = w->version >= 4 ? put_ftab(w, &head) : 0;
    rc = rc ? rc : tsdb__put_uvarint(&head, w->nblocks);
    /* w->idx holds raw entries (sid, min_ts, max_ts, offset, length,
     * nrows); the version-3 index stores them relative to each other, and
     * version 4 the first min_ts relative to the time base and the spans
     * scaled. */
    struct tsdb__dec d;
    tsdb__dec_init(&d, w->idx.p, w->idx.len);
    uint64_t psid = 0, pmin = w->version >= 4 ? (uint64_t)w->base_ts : 0;
    if (w->version < 3)
        rc = rc ? rc : buf_append(&head, w->idx.p, w->idx.len);
    for (uint64_t i = 0; i < w->nblocks && !rc && w->version >= 3; i++) {
        uint64_t sid = tsdb__get_uvarint(&d), lo = tsdb__get_u64(&d), hi = tsdb__get_u64(&d);
        (void)tsdb__get_uvarint(&d);
        uint64_t len = tsdb__get_uvarint(&d), rows = tsdb__get_uvarint(&d);
        rc = tsdb__put_uvarint(&head, sid - psid);
        rc = rc ? rc : put_svarint(&head, lo - pmin);
        if (w->version >= 4)
            rc = rc ? rc : put_scaled(&head, hi - lo);
        else
            rc = rc ? rc : tsdb__put_uvarint(&head, hi - lo);
        rc = rc ? rc : tsdb__put_uvarint(&head, len);
        rc = rc ? rc : tsdb__put_uvarint(&head, rows);
        psid = sid;
        pmin = lo;
    }
    uint32_t icrc = tsdb__crc32c(0, head.p, head.len);
    rc = rc ? rc : buf_append(&w->out, head.p, head.len);
    uint64_t idx_len = head.len;
    buf_fini(&head);
    uint8_t f[TSDB__PART_FOOTER];
    tsdb__put_le64(f, idx_off);
    tsdb__put_le64(f + 8, idx_len);
    tsdb__put_le64(f + 16, max_lsn);
    tsdb__put_le32(f + 24, icrc);
    tsdb__put_le32(f + 28, tsdb__crc32c(0, f, 28));
    tsdb__put_le32(f + 32, TSDB__PART_MAGIC);
    tsdb__put_le32(f + 36, w->version);
    rc = rc ? rc : buf_append(&w->out, f, sizeof f);
    if (!rc && w->version >= 4) { /* the header records the index offset */
        memset(w->hdr, 0, sizeof w->hdr);
        tsdb__put_le32(w->hdr, TSDB__PART_MAGIC);
        tsdb__put_le32(w->hdr + 4, w->version);
        tsdb__put_le64(w->hdr + 8, idx_off);
        if (w->base == 0)
            memcpy(w->out.p, w->hdr, sizeof w->hdr);
        else
            w->hdr_pending = true;
    }
    return rc ? err_set(e, rc, "part: out of memory") : 0;
}

int tsdb__pw_drain(struct tsdb__pw *w, struct tsdb__fio *f, int fd, const char *what,
                   struct err *e)
{
    if (w->out.len) {
        int rc = tsdb__f_write(f, fd, w->out.p, w->out.len, what, e);
        if (rc)
            return rc;
        w->base += w->out.len;
        buf_reset(&w->out);
    }
    if (w->hdr_pending) {
        if (lseek(fd, 0, SEEK_SET) != 0)
            return err_set(e, ERR_IO, "%s: seek: %s", what, strerror(errno));
        int rc = tsdb__f_write(f, fd, w->hdr, sizeof w->hdr, what, e);
        if (rc)
            return rc;
        if (lseek(fd, 0, SEEK_END) < 0)
            return err_set(e, ERR_IO, "%s: seek: %s", what, strerror(errno));
        w->hdr_pending = false;
    }
    return 0;
}

/* ---- verifying and reading ----------------------------------------------- */

static int bad(struct err *e, const char *name, uint64_t off, const char *why)
{
    return err_set(e, ERR_CORRUPT, "%s: offset %llu: %s", name, (unsigned long long)off, why);
}

/* Checks the version-4 field table at the start of the index region
 * q[0..n): every offset points at the next entry, types 1..5, keys inside.
 * Sets *end to the table's length, or returns why (and *end the offset
 * of the fault). */
static const char *check_ftab(const uint8_t *q, uint64_t n, uint64_t *end)
{
    *end = 0;
    if (n < 12)
        return "field table truncated";
    uint64_t nf = tsdb__le32(q);
    if (nf > (n - 12) / 6) /* an offset and at least 2 bytes of entry each */
        return "bad field count";
    uint64_t at = 12 + 4 * nf;
    for (uint64_t i = 0; i < nf; i++) {
        *end = 12 + 4 * i;
        if (tsdb__le32(q + 12 + 4 * i) != at)
            return "bad field table offset";
        struct tsdb__dec d;
        tsdb__dec_init(&d, q + at, n - at);
        uint8_t type = tsdb__get_u8(&d);
        (void)tsdb__get_bytes(&d);
        *end = at;
        if (d.is_bad)
            return "field table truncated";
        if (type < TSDB_FLOAT || type > TSDB_STRING)
            return "bad field type";
        at = n - tsdb__dec_left(&d);
    }
    *end = at;
    return NULL;
}

int tsdb__part_verify(const uint8_t *p, size_t len, const char *name, struct tsdb__pinfo *pi,
                      struct err *e)
{
    memset(pi, 0, sizeof *pi);
    if (len < TSDB__PART_HDR + TSDB__PART_FOOTER)
        return bad(e, name, 0, "file too short for a part");
    uint32_t ver = tsdb__le32(p + 4);
    if (tsdb__le32(p) != TSDB__PART_MAGIC || ver < 1 || ver > TSDB__PART_VERSION)
        return bad(e, name, 0, "bad part header (magic or version)");
    const uint8_t *f = p + len - TSDB__PART_FOOTER;
    uint64_t foff = len - TSDB__PART_FOOTER;
    if (tsdb__le32(f + 32) != TSDB__PART_MAGIC || tsdb__le32(f + 36) != ver)
        return bad(e, name, foff, "bad part footer (magic or version)");
    uint64_t rows_max = ver == 1 ? TSDB__PART_V1_ROWS_MAX : CODEC_BLOCK_MAX;
    if (tsdb__le32(f + 28) != tsdb__crc32c(0, f, 28))
        return bad(e, name, foff, "footer checksum mismatch");
    uint64_t ioff = tsdb__le64(f), ilen = tsdb__le64(f + 8);
    if (ioff < TSDB__PART_HDR || ioff > foff || ilen != foff - ioff)
        return bad(e, name, foff, "block index out of bounds");
    if (tsdb__le32(f + 24) != tsdb__crc32c(0, p + ioff, ilen))
        return bad(e, name, ioff, "block index checksum mismatch");
    pi->max_lsn = tsdb__le64(f + 16);
    struct tsdb__dec d;
    tsdb__dec_init(&d, p + ioff, ilen);
    uint64_t base_ts = 0;
    if (ver >= 4) {
        if (tsdb__le64(p + 8) != ioff)
            return bad(e, name, 8, "part header disagrees with the footer (index offset)");
        uint64_t fat = 0;
        const char *why = check_ftab(p + ioff, ilen, &fat);
        if (why)
            return bad(e, name, ioff + fat, why);
        base_ts = tsdb__le64(p + ioff + 4);
        d.p += fat;
    }
    uint64_t nb = tsdb__get_uvarint(&d);
    /* An entry is at least 1+8+8+1+1+1 bytes (5 uvarints in version 3). */
    if (d.is_bad || nb > tsdb__dec_left(&d) / (ver >= 3 ? 5 : 20))
        return bad(e, name, ioff, "bad block count");
    pi->ents = nb ? xmalloc(nb * sizeof *pi->ents) : NULL;
    pi->nents = (size_t)nb;
    pi->min_ts = INT64_MAX;
    pi->max_ts = INT64_MIN;
    uint64_t expect_off = TSDB__PART_HDR;
    for (size_t i = 0; i < pi->nents; i++) {
        struct tsdb__bent *b = &pi->ents[i];
        uint64_t at = ioff + (uint64_t)(d.p - (p + ioff));
        bool is_wrap = false;
        if (ver >= 3) {
            uint64_t psid = i ? pi->ents[i - 1].sid : 0;
            uint64_t pmin = i ? (uint64_t)pi->ents[i - 1].min_ts : base_ts;
            uint64_t dsid = tsdb__get_uvarint(&d);
            b->sid = psid + dsid;
            b->min_ts = (int64_t)(pmin + get_svarint(&d));
            uint64_t span = ver >= 4 ? get_scaled(&d) : tsdb__get_uvarint(&d);
            b->max_ts = (int64_t)((uint64_t)b->min_ts + span);
            is_wrap = b->sid < psid || span > (uint64_t)INT64_MAX || b->max_ts < b->min_ts;
            b->off = expect_off;
        } else {
            b->sid = tsdb__get_uvarint(&d);
            b->min_ts = (int64_t)tsdb__get_u64(&d);
            b->max_ts = (int64_t)tsdb__get_u64(&d);
            b->off = tsdb__get_uvarint(&d);
        }
        b->len = tsdb__get_uvarint(&d);
        uint64_t rows = tsdb__get_uvarint(&d);
        const char *why = NULL;
        if (d.is_bad)
            why = "truncated block index entry";
        else if (is_wrap)
            why = "bad block index entry";
        else if (b->off != expect_off || b->len < 4 || b->len > ioff - b->off)
            why = "block index entry out of bounds";
        else if (rows == 0 || rows > rows_max || b->min_ts > b->max_ts)
            why = "bad block index entry";
        else if (i && (b->sid < pi->ents[i - 1].sid ||
                       (b->sid == pi->ents[i - 1].sid && b->min_ts <= pi->ents[i - 1].max_ts)))
            why = "block index not sorted";
        if (why) {
            tsdb__pinfo_fini(pi);
            return bad(e, name, at, why);
        }
        b->nrows = (uint32_t)rows;
        expect_off = b->off + b->len;
        const uint8_t *blk = p + b->off;
        uint64_t boff = b->off;
        uint32_t seed = ver >= 4 ? blk_seed(b->sid) : 0;
        if (tsdb__le32(blk + b->len - 4) != tsdb__crc32c(seed, blk, b->len - 4)) {
            tsdb__pinfo_fini(pi);
            return bad(e, name, boff, "block checksum mismatch");
        }
        struct tsdb__dec bd;
        tsdb__dec_init(&bd, blk, b->len - 4);
        bool agree;
        if (ver >= 4) {
            /* rows, and a grid time column must span the entry's range */
            uint64_t n = tsdb__get_uvarint(&bd), h = tsdb__get_uvarint(&bd);
            agree = !bd.is_bad && n == rows;
            if (agree && !(h & 1)) {
                uint64_t v0 = base_ts + get_svarint(&bd);
                uint64_t step = n > 1 ? get_scaled(&bd) : 0, span = 0;
                agree = !bd.is_bad && v0 == (uint64_t)b->min_ts &&
                        !__builtin_mul_overflow(step, n - 1, &span) &&
                        span == (uint64_t)b->max_ts - (uint64_t)b->min_ts && (n == 1 || step);
            }
        } else {
            uint64_t sid = tsdb__get_uvarint(&bd);
            uint64_t n = tsdb__get_uvarint(&bd);
            int64_t lo = b->min_ts, hi = b->max_ts;
            if (ver < 3) { /* version 3 blocks leave the time range to the index */
                lo = (int64_t)tsdb__get_u64(&bd);
                hi = (int64_t)tsdb__get_u64(&bd);
            }
            agree = !bd.is_bad && sid == b->sid && n == rows && lo == b->min_ts && hi == b->max_ts;
        }
        if (!agree) {
            tsdb__pinfo_fini(pi);
            return bad(e, name, boff, "block header disagrees with the index");
        }
        if (b->min_ts < pi->min_ts)
            pi->min_ts = b->min_ts;
        if (b->max_ts > pi->max_ts)
            pi->max_ts = b->max_ts;
        pi->rows += rows;
    }
    if (tsdb__dec_left(&d) || expect_off != ioff) {
        tsdb__pinfo_fini(pi);
        return bad(e, name, ioff, "trailing bytes in the block area or index");
    }
    return 0;
}

void tsdb__pinfo_fini(struct tsdb__pinfo *pi)
{
    free(pi->ents);
    pi->ents = NULL;
    pi->nents = 0;
}

static double get_f64(struct tsdb__dec *d)
{
    uint64_t u = tsdb__get_u64(d);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* What a block needs of its part: the version and, for version 4, the
 * field table and time base.  blk lies off bytes into the verified image
 * (tsdb_int.h, tsdb__block_read), so blk - off is the part header. */
struct bpart {
    uint32_t ver;
    const uint8_t *ft; /* version 4: the field table (index start) */
    uint32_t nf;
    uint64_t base_ts;
};

static bool bpart_of(const uint8_t *blk, uint64_t off, struct bpart *bp)
{
    memset(bp, 0, sizeof *bp);
    if (off < TSDB__PART_HDR)
        return false;
    const uint8_t *img = blk - off;
    bp->ver = tsdb__le32(img + 4);
    if (bp->ver < 1 || bp->ver > TSDB__PART_VERSION)
        return false;
    if (bp->ver >= 4) {
        bp->ft = img + tsdb__le64(img + 8);
        bp->nf = tsdb__le32(bp->ft);
        bp->base_ts = tsdb__le64(bp->ft + 4);
    }
    return true;
}

/* Key and type of field f of a version-4 part (verified table). */
static void bpart_field(const struct bpart *bp, uint64_t f, struct tsdb__bcol *col)
{
    const uint8_t *fe = bp->ft + tsdb__le32(bp->ft + 12 + 4 * f);
    col->type = (enum tsdb_type)fe[0];
    /* the verify bounded the uvarint and the key inside the table */
    uint64_t n = 0;
    unsigned i = 0;
    for (unsigned sh = 0; sh < 64; sh += 7) {
        uint8_t c = fe[1 + i++];
        n |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80))
            break;
    }
    col->key = (struct sv){ (const char *)fe + 1 + i, (size_t)n };
}

/* Summary of a version 3+ column of col->type over cnt values.  Returns
 * false on a bad summary (d may also be marked bad: truncation). */
static bool get_summary(struct tsdb__dec *d, uint64_t cnt, struct tsdb__bcol *col)
{
    col->has_stats = col->type <= TSDB_UINT;
    if (col->type == TSDB_FLOAT) {
        uint8_t sf = tsdb__get_u8(d);
        col->fs.count = col->count;
        if (sf & 0x80) {
            unsigned e = sf & 0x1f;
            if (e > SUM_DEC_MAX_E || (sf & 0x60))
                return false;
            int64_t first = (int64_t)get_svarint(d);
            int64_t mn = first + (int64_t)get_svarint(d), mx = first + (int64_t)get_svarint(d);
            int64_t last = first + (int64_t)get_svarint(d), dsum = (int64_t)get_svarint(d);
            uint64_t ulps = get_svarint(d);
            if (!d->is_bad) { /* |d| < 2^51 when written: anything else is corrupt */
                const int64_t lim = (int64_t)1 << 51;
                if (first <= -lim || first >= lim || mn <= -lim || mn >= lim || mx <= -lim ||
                    mx >= lim || last <= -lim || last >= lim || dsum <= -(lim << 11) ||
                    dsum >= (lim << 11))
                    return false;
            }
            col->fs.first = dec_value(first, e);
            col->fs.min = dec_value(mn, e);
            col->fs.max = dec_value(mx, e);
            col->fs.last = dec_value(last, e);
            uint64_t sb = f2u(dec_value(dsum, e)) + ulps;
            memcpy(&col->fs.sum, &sb, 8);
            col->fs.nan_count = 0;
        } else {
            if (sf)
                return false;
            col->fs.min = get_f64(d);
            col->fs.max = get_f64(d);
            col->fs.sum = get_f64(d);
            col->fs.first = get_f64(d);
            col->fs.last = get_f64(d);
            col->fs.nan_count = (uint32_t)tsdb__get_uvarint(d);
        }
    } else if (col->type == TSDB_INT || col->type == TSDB_UINT) {
        uint8_t sf = tsdb__get_u8(d);
        if (sf > 1)
            return false;
        uint64_t first = get_svarint(d);
        uint64_t mn = first + get_svarint(d), mx = first + get_svarint(d);
        uint64_t last = first + get_svarint(d), sum = first * cnt + get_svarint(d);
        if (col->type == TSDB_INT) {
            col->is = (struct codec_istats){ .count = col->count, .is_sum_overflow = sf != 0,
                                             .min = (int64_t)mn, .max = (int64_t)mx,
                                             .first = (int64_t)first, .last = (int64_t)last,
                                             .sum = (int64_t)sum };
        } else {
            col->us = (struct codec_ustats){ .count = col->count, .is_sum_overflow = sf != 0,
                                             .min = mn, .max = mx, .first = first, .last = last,
                                             .sum = sum };
        }
    }
    return true;
}

/* Column key, type, flags, count and summary of versions 1-3.  Returns
 * false on a bad header (d may also be marked bad: truncation). */
static bool get_col_head(struct tsdb__dec *d, uint32_t ver, uint64_t n, struct tsdb__bcol *col,
                         uint8_t *flags)
{
    memset(col, 0, sizeof *col);
    col->key = tsdb__get_bytes(d);
    uint64_t cnt;
    if (ver >= 3) {
        uint8_t tf = tsdb__get_u8(d);
        col->type = (enum tsdb_type)(tf & 7);
        *flags = (tf >> 3) & 1;
        if (tf >> 4)
            return false;
        cnt = *flags ? tsdb__get_uvarint(d) : n;
    } else {
        col->type = (enum tsdb_type)tsdb__get_u8(d);
        *flags = tsdb__get_u8(d);
        cnt = tsdb__get_uvarint(d);
    }
    if (d->is_bad || col->type < TSDB_FLOAT || col->type > TSDB_STRING || *flags > 1 ||
        cnt == 0 || cnt > n || (*flags == 0 && cnt != n))
        return false;
    col->count = (uint32_t)cnt;
    col->has_stats = col->type <= TSDB_UINT;
    if (ver >= 3)
        return get_summary(d, cnt, col);
    if (col->type == TSDB_FLOAT) {
        col->fs.count = col->count;
        col->fs.min = get_f64(d);
        col->fs.max = get_f64(d);
        col->fs.sum = get_f64(d);
        col->fs.first = get_f64(d);
        col->fs.last = get_f64(d);
        col->fs.nan_count = (uint32_t)tsdb__get_uvarint(d);
    } else if (col->type == TSDB_INT) {
        col->is.count = col->count;
        col->is.min = (int64_t)tsdb__get_u64(d);
        col->is.max = (int64_t)tsdb__get_u64(d);
        col->is.sum = (int64_t)tsdb__get_u64(d);
        col->is.first = (int64_t)tsdb__get_u64(d);
        col->is.last = (int64_t)tsdb__get_u64(d);
        col->is.is_sum_overflow = tsdb__get_u8(d) != 0;
    } else if (col->type == TSDB_UINT) {
        col->us.count = col->count;
        col->us.min = tsdb__get_u64(d);
        col->us.max = tsdb__get_u64(d);
        col->us.sum = tsdb__get_u64(d);
        col->us.first = tsdb__get_u64(d);
        col->us.last = tsdb__get_u64(d);
        col->us.is_sum_overflow = tsdb__get_u8(d) != 0;
    }
    return true;
}

/* A block's header and time column location. */
struct bhead {
    uint64_t n, ncols;
    bool grid;          /* version 4 implied time column */
    uint64_t v0, step;  /* grid: first time and step */
    struct sv tb;       /* otherwise: the time block */
};

static bool get_block_head(struct tsdb__dec *d, const struct bpart *bp, struct bhead *h)
{
    memset(h, 0, sizeof *h);
    if (bp->ver >= 4) {
        h->n = tsdb__get_uvarint(d);
        uint64_t x = tsdb__get_uvarint(d);
        h->ncols = x >> 1;
        h->grid = !(x & 1);
        if (h->grid) {
            h->v0 = bp->base_ts + get_svarint(d);
            h->step = h->n > 1 ? get_scaled(d) : 0;
        } else {
            h->tb = tsdb__get_bytes(d);
        }
    } else {
        (void)tsdb__get_uvarint(d);
        h->n = tsdb__get_uvarint(d);
        if (bp->ver < 3) {
            (void)tsdb__get_u64(d);
            (void)tsdb__get_u64(d);
        }
        h->ncols = tsdb__get_uvarint(d);
        h->tb = tsdb__get_bytes(d);
    }
    return !d->is_bad && h->n != 0 && h->n <= CODEC_BLOCK_MAX;
}

/* Version-4 column: field number, presence bit and the body, which
 * *body gets (d skips it).  Fills col->key and col->type. */
static bool get_col4(struct tsdb__dec *d, const struct bpart *bp, struct tsdb__bcol *col,
                     uint8_t *flags, struct tsdb__dec *body)
{
    memset(col, 0, sizeof *col);
    uint64_t h = tsdb__get_uvarint(d);
    uint64_t clen = tsdb__get_uvarint(d);
    if (d->is_bad || clen > tsdb__dec_left(d)) {
        d->is_bad = true;
        return false;
    }
    tsdb__dec_init(body, d->p, clen);
    d->p += clen;
    if ((h >> 1) >= bp->nf)
        return false;
    *flags = h & 1;
    bpart_field(bp, h >> 1, col);
    return true;
}

/* Count and summary of a version-4 column body (after get_col4). */
static bool get_col4_head(struct tsdb__dec *body, uint64_t n, struct tsdb__bcol *col,
                          uint8_t flags)
{
    uint64_t cnt = flags ? tsdb__get_uvarint(body) : n;
    if (body->is_bad || cnt == 0 || cnt > n || (flags && cnt == n))
        return false;
    col->count = (uint32_t)cnt;
    return get_summary(body, cnt, col) && !body->is_bad;
}

static int decode_vals(struct codec_ctx *cc, struct tsdb__bscratch *sc, bool is_short,
                       enum tsdb_type type, const uint8_t *vp, size_t vlen, size_t cnt,
                       struct err *ce)
{
    size_t vn = cnt;
    int rc = 0;
    switch (type) {
    case TSDB_FLOAT:
        rc = is_short ? codec_decode_float_short(cc, vp, vlen, cnt, sc->f, ce)
                      : codec_decode_float(cc, vp, vlen, sc->f, &vn, ce);
        for (size_t i = 0; !rc && i < vn; i++)
            sc->vals[i].f = sc->f[i];
        break;
    case TSDB_INT:
        rc = is_short ? codec_decode_int_short(cc, vp, vlen, cnt, sc->i, ce)
                      : codec_decode_int(cc, vp, vlen, sc->i, &vn, ce);
        for (size_t i = 0; !rc && i < vn; i++)
            sc->vals[i].i = sc->i[i];
        break;
    case TSDB_UINT:
        rc = is_short ? codec_decode_uint_short(cc, vp, vlen, cnt, sc->u, ce)
                      : codec_decode_uint(cc, vp, vlen, sc->u, &vn, ce);
        for (size_t i = 0; !rc && i < vn; i++)
            sc->vals[i].u = sc->u[i];
        break;
    case TSDB_BOOL:
        rc = is_short ? codec_decode_bool_short(cc, vp, vlen, cnt, sc->b, ce)
                      : codec_decode_bool(cc, vp, vlen, sc->b, &vn, ce);
        for (size_t i = 0; !rc && i < vn; i++)
            sc->vals[i].b = sc->b[i] != 0;
        break;
    case TSDB_STRING:
        rc = is_short ? codec_decode_str_short(cc, vp, vlen, cnt, sc->s, ce)
                      : codec_decode_str(cc, vp, vlen, sc->s, &vn, ce);
        for (size_t i = 0; !rc && i < vn; i++)
            sc->vals[i].s = sc->s[i];
        break;
    }
    return rc || vn != cnt ? ERR_CORRUPT : 0;
}

static int block_read(struct codec_ctx *cc, struct tsdb__bscratch *sc, const uint8_t *blk,
                      size_t len, const char *name, uint64_t off, const struct sv *only,
                      tsdb__col_cb cb, void *arg, struct err *e)
{
    if (len < 4)
        return bad(e, name, off, "block too short");
    struct bpart bp;
    if (!bpart_of(blk, off, &bp))
        return bad(e, name, off, "block outside a part image");
    bool v4 = bp.ver >= 4;
    struct tsdb__dec d;
    tsdb__dec_init(&d, blk, len - 4);
    struct bhead h;
    if (!get_block_head(&d, &bp, &h))
        return bad(e, name, off, "bad block header");
    uint64_t n = h.n;
    struct err ce;
    err_clear(&ce);
    if (h.grid) {
        for (uint64_t r = 0; r < n; r++)
            sc->ts[r] = (int64_t)(h.v0 + r * h.step);
    } else {
        size_t got = n;
        int rc = v4 ? codec_decode_time_short(cc, (const uint8_t *)h.tb.p, h.tb.n, n, sc->ts, &ce)
                    : codec_decode_time(cc, (const uint8_t *)h.tb.p, h.tb.n, sc->ts, &got, &ce);
        if (rc || got != n)
            return bad(e, name, off + (uint64_t)((const uint8_t *)h.tb.p - blk),
                       "bad time column");
    }
    for (uint64_t c = 0; c < h.ncols; c++) {
        struct tsdb__bcol col;
        uint64_t coff = off + (uint64_t)(d.p - blk);
        uint8_t flags = 0;
        struct sv pb = { NULL, 0 }, vb;
        if (v4) {
            struct tsdb__dec body;
            if (!get_col4(&d, &bp, &col, &flags, &body))
                return bad(e, name, coff, d.is_bad ? "truncated column" : "bad column header");
            if (only && !sv_eq(col.key, *only))
                continue; /* not wanted: its bytes are skipped undecoded */
            if (!get_col4_head(&body, n, &col, flags))
                return bad(e, name, coff, body.is_bad ? "truncated column" : "bad column header");
            if (flags)
                pb = tsdb__get_bytes(&body);
            vb = (struct sv){ (const char *)body.p, tsdb__dec_left(&body) };
            if (body.is_bad)
                return bad(e, name, coff, "truncated column");
        } else {
            if (!get_col_head(&d, bp.ver, n, &col, &flags))
                return bad(e, name, coff, d.is_bad ? "truncated column" : "bad column header");
            if (flags)
                pb = tsdb__get_bytes(&d);
            vb = tsdb__get_bytes(&d);
            if (d.is_bad)
                return bad(e, name, coff, "truncated column");
            if (only && !sv_eq(col.key, *only))
                continue; /* not wanted: its bytes are skipped undecoded */
        }
        uint64_t cnt = col.count;
        if (flags) {
            size_t pn = n, pc = 0;
            int prc = v4 ? codec_decode_presence_short(cc, (const uint8_t *)pb.p, pb.n, n,
                                                       sc->present, &ce)
                         : codec_decode_presence(cc, (const uint8_t *)pb.p, pb.n, sc->present,
                                                 &pn, &ce);
            if (prc || pn != n)
                return bad(e, name, coff, "bad presence bitmap");
            for (size_t r = 0; r < pn; r++)
                pc += sc->present[r] != 0;
            if (pc != cnt)
                return bad(e, name, coff, "presence bitmap disagrees with the count");
            col.present = sc->present;
        }
        if (decode_vals(cc, sc, v4, col.type, (const uint8_t *)vb.p, vb.n, cnt, &ce))
            return bad(e, name, coff, "bad value column");
        col.vals = sc->vals;
        int rc;
        if (cb && (rc = cb(arg, sc->ts, (size_t)n, &col)) != 0)
            return rc;
    }
    if (tsdb__dec_left(&d))
        return bad(e, name, off, "trailing bytes in block");
    return 0;
}

/* ---- part objects ------------------------------------------------------------ */

int tsdb__part_open(const char *path, const char *rel, struct tsdb__part **out, struct err *e)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, errno == ENOENT ? ERR_CORRUPT : ERR_IO, "%s: open: %s", rel,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int saved = errno;
        close(fd);
        return err_set(e, ERR_IO, "%s: stat: %s", rel, strerror(saved));
    }
    size_t len = (size_t)st.st_size;
    void *map = NULL;
    if (len) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int saved = errno;
            close(fd);
            return err_set(e, ERR_IO, "%s: mmap: %s", rel, strerror(saved));
        }
    }
    close(fd);
    struct tsdb__part *pt = xcalloc(1, sizeof *pt);
    pt->map = map;
    pt->len = len;
    snprintf(pt->rel, sizeof pt->rel, "%s", rel);
    int rc = tsdb__part_verify(map, len, rel, &pt->info, e);
    if (rc) {
        if (map)
            munmap(map, len);
        free(pt);
        return rc;
    }
    atomic_init(&pt->refs, 1);
    *out = pt;
    return 0;
}

void tsdb__part_ref(struct tsdb__part *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void tsdb__part_unref(struct tsdb__part *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    if (p->map)
        munmap((void *)p->map, p->len);
    tsdb__pinfo_fini(&p->info);
    free(p);
}

size_t tsdb__part_find(const struct tsdb__part *p, uint64_t sid)
{
    size_t lo = 0, hi = p->info.nents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->info.ents[mid].sid < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int tsdb__block_read(struct codec_ctx *cc, struct tsdb__bscratch *sc, const uint8_t *blk,
                     size_t len, const char *name, uint64_t off, tsdb__col_cb cb, void *arg,
                     struct err *e)
{
    return block_read(cc, sc, blk, len, name, off, NULL, cb, arg, e);
}

int tsdb__block_read_only(struct codec_ctx *cc, struct tsdb__bscratch *sc, const uint8_t *blk,
                          size_t len, const char *name, uint64_t off, struct sv field,
                          tsdb__col_cb cb, void *arg, struct err *e)
{
    return block_read(cc, sc, blk, len, name, off, &field, cb, arg, e);
}

int tsdb__block_col_summary(const uint8_t *blk, size_t len, struct sv key, struct tsdb__bcol *col,
                            const char *name, uint64_t off, struct err *e)
{
    if (len < 4)
        return bad(e, name, off, "block too short");
    struct bpart bp;
    if (!bpart_of(blk, off, &bp))
        return bad(e, name, off, "block outside a part image");
    struct tsdb__dec d;
    tsdb__dec_init(&d, blk, len - 4);
    struct bhead h;
    if (!get_block_head(&d, &bp, &h))
        return bad(e, name, off, "bad block header");
    for (uint64_t c = 0; c < h.ncols && !d.is_bad; c++) {
        uint8_t flags = 0;
        if (bp.ver >= 4) {
            struct tsdb__dec body;
            if (!get_col4(&d, &bp, col, &flags, &body))
                return bad(e, name, off, d.is_bad ? "truncated column" : "bad column header");
            if (!sv_eq(col->key, key))
                continue; /* skipped by its length, summary unread */
            if (!get_col4_head(&body, h.n, col, flags))
                return bad(e, name, off, body.is_bad ? "truncated column" : "bad column header");
            return 1;
        }
        if (!get_col_head(&d, bp.ver, h.n, col, &flags))
            return bad(e, name, off, d.is_bad ? "truncated column" : "bad column header");
        if (flags)
            (void)tsdb__get_bytes(&d);
        (void)tsdb__get_bytes(&d);
        if (d.is_bad)
            return bad(e, name, off, "truncated column");
        if (sv_eq(col->key, key))
            return 1;
    }
    return d.is_bad ? bad(e, name, off, "bad block header") : 0;
}

int tsdb__pw_init_like(struct tsdb__pw *w, const struct tsdb__part *pt)
{
    uint32_t ver = pt->len >= TSDB__PART_HDR ? tsdb__le32(pt->map + 4) : TSDB__PART_VERSION;
    int rc = tsdb__pw_init_version(w, ver);
    if (rc || ver < 4)
        return rc;
    /* same field numbers and time base, so copied blocks read the same */
    struct bpart bp;
    if (!bpart_of(pt->map + TSDB__PART_HDR, TSDB__PART_HDR, &bp))
        return ERR_CORRUPT;
    for (uint32_t f = 0; f < bp.nf; f++) {
        struct tsdb__bcol col;
        bpart_field(&bp, f, &col);
        field_add(w, col.key.p, col.key.n, col.type);
    }
    w->base_ts = (int64_t)bp.base_ts;
    w->has_base = true;
    return 0;
}
