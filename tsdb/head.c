// SPDX-License-Identifier: MIT
/*
 * Head: the in-memory rows of each series (storage-notes 5.3, uncompressed).
 *
 * Layout (tsdb_int.h): per series, fixed-size chunks of 64 rows holding
 * time, LSN and flush generation, and per field column one value block per
 * chunk (a presence word plus 64 value slots), allocated only when a row of
 * that chunk has a value for the field.  Rows are packed and sorted by time
 * with unique timestamps, so row r lives in chunk r / 64.
 *
 * Why chunks: the first cut kept every column as one array doubled with
 * realloc, so each series copied all its columns log2(rows) times, touched
 * fresh pages on every doubling and held up to 2x slack; half of a replay
 * was the allocator.  Chunks are allocated once, never copied on append, and
 * waste at most one partly filled chunk per column.  Presence is one bit per
 * row instead of a byte.
 *
 * Invariants:
 *   1. chunks 0 .. nchunks-2 are full; nchunks == ceil(n / 64);
 *   2. every column's blk array has cap_chunks entries, NULL beyond nchunks;
 *   3. no present bit is set for a row >= n (upsert relies on vacated slots
 *      reading as absent);
 *   4. h->bytes is exactly the memory the head holds (chunks, value blocks,
 *      string bytes, column and pointer arrays), so the head_bytes gauge
 *      returns to its base when rows are purged.
 *
 * Appends in time order (the common case) write the last chunk: O(1).  An
 * out-of-order point is placed by binary search and the later rows move
 * up by one (O(rows after it), fine for a head that is flushed every 30
 * minutes); a point at an existing timestamp merges into that row, and each
 * field it carries overwrites the old value (last write wins, influx-compat
 * 1.7).  All calls run with the stripe lock of the series held.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

#define ROWS TSDB__CHUNK_ROWS
#define SHIFT TSDB__CHUNK_SHIFT
#define MASK TSDB__CHUNK_MASK

static size_t vals_bytes(enum tsdb_type t)
{
    return t == TSDB_STRING ? offsetof(struct tsdb__hvals, v) + ROWS * sizeof(struct tsdb__str)
                            : offsetof(struct tsdb__hvals, v) + ROWS * sizeof(uint64_t);
}

static struct tsdb__hvals *vals_new(struct tsdb__head *h, enum tsdb_type t)
{
    size_t n = vals_bytes(t);
    struct tsdb__hvals *v = xmalloc(n);
    v->present = 0;
    h->bytes += n;
    return v;
}

/* Frees a value block and the strings of its present rows. */
static void vals_free(struct tsdb__head *h, struct tsdb__hvals *v, enum tsdb_type t)
{
    if (!v)
        return;
    if (t == TSDB_STRING)
        for (uint64_t m = v->present; m; m &= m - 1) {
            struct tsdb__str *s = &v->v.s[__builtin_ctzll(m)];
            h->bytes -= s->n;
            free(s->p);
        }
    h->bytes -= vals_bytes(t);
    free(v);
}

/* Grows the chunk pointer arrays (the head's and every column's). */
static void grow_ptrs(struct tsdb__head *h, size_t want)
{
    size_t cap = h->cap_chunks ? h->cap_chunks : 4;
    while (cap < want)
        cap *= 2;
    if (cap == h->cap_chunks)
        return;
    size_t add = cap - h->cap_chunks;
    h->chunks = xrealloc(h->chunks, cap * sizeof *h->chunks);
    memset(h->chunks + h->cap_chunks, 0, add * sizeof *h->chunks);
    for (uint32_t i = 0; i < h->ncols; i++) {
        struct tsdb__col *c = &h->cols[i];
        c->blk = xrealloc(c->blk, cap * sizeof *c->blk);
        memset(c->blk + h->cap_chunks, 0, add * sizeof *c->blk);
    }
    h->bytes += add * sizeof(void *) * (1 + h->ncols);
    h->cap_chunks = cap;
}

static void chunk_add(struct tsdb__head *h)
{
    if (h->nchunks == h->cap_chunks)
        grow_ptrs(h, h->nchunks + 1);
    h->chunks[h->nchunks++] = xmalloc(sizeof(struct tsdb__hchunk));
    h->bytes += sizeof(struct tsdb__hchunk);
}

/* hint: the column index where the field usually is (points of a series
 * tend to list their fields in the same order). */
static struct tsdb__col *col_get(struct tsdb__head *h, size_t hint, uint32_t field_id,
                                 enum tsdb_type type)
{
    if (hint < h->ncols && h->cols[hint].field_id == field_id)
        return &h->cols[hint];
    for (uint32_t i = 0; i < h->ncols; i++)
        if (h->cols[i].field_id == field_id)
            return &h->cols[i];
    h->cols = xrealloc(h->cols, (h->ncols + 1) * sizeof *h->cols);
    struct tsdb__col *c = &h->cols[h->ncols++];
    c->field_id = field_id;
    c->type = type;
    c->blk = h->cap_chunks ? xcalloc(h->cap_chunks, sizeof *c->blk) : NULL;
    h->bytes += sizeof *c + h->cap_chunks * sizeof *c->blk;
    return c;
}

static uint64_t bits_of(enum tsdb_type t, const union tsdb_value *v)
{
    uint64_t bits;
    switch (t) {
    case TSDB_FLOAT:
        memcpy(&bits, &v->f, 8);
        break;
    case TSDB_INT:
        bits = (uint64_t)v->i;
        break;
    case TSDB_BOOL:
        bits = v->b ? 1 : 0;
        break;
    default:
        bits = v->u;
        break;
    }
    return bits;
}

static void set_value(struct tsdb__head *h, struct tsdb__col *c, size_t row,
                      const union tsdb_value *v)
{
    struct tsdb__hvals **bp = &c->blk[row >> SHIFT];
    if (!*bp)
        *bp = vals_new(h, c->type);
    struct tsdb__hvals *b = *bp;
    size_t i = row & MASK;
    uint64_t bit = UINT64_C(1) << i;
    if (c->type == TSDB_STRING) {
        struct tsdb__str *s = &b->v.s[i];
        if (b->present & bit) {
            h->bytes -= s->n;
            free(s->p);
        }
        s->p = xmalloc(v->s.n ? v->s.n : 1);
        if (v->s.n)
            memcpy(s->p, v->s.p, v->s.n);
        s->n = v->s.n;
        h->bytes += s->n;
    } else {
        b->v.u[i] = bits_of(c->type, v);
    }
    b->present |= bit;
}

/* Moves row from to row to (to != from, both < nchunks * 64): time, LSN,
 * generation and every column's value and presence.  Strings move with
 * their ownership; the source slot keeps its bits and must be overwritten
 * or cleared by the caller. */
static void row_move(struct tsdb__head *h, size_t from, size_t to)
{
    struct tsdb__hchunk *fc = h->chunks[from >> SHIFT], *tc = h->chunks[to >> SHIFT];
    size_t fi = from & MASK, ti = to & MASK;
    tc->ts[ti] = fc->ts[fi];
    tc->lsn[ti] = fc->lsn[fi];
    tc->fgen[ti] = fc->fgen[fi];
    uint64_t tbit = UINT64_C(1) << ti;
    for (uint32_t k = 0; k < h->ncols; k++) {
        struct tsdb__col *c = &h->cols[k];
        struct tsdb__hvals *fb = c->blk[from >> SHIFT];
        bool has = fb && (fb->present >> fi & 1);
        struct tsdb__hvals **tbp = &c->blk[to >> SHIFT];
        if (!has) {
            if (*tbp)
                (*tbp)->present &= ~tbit;
            continue;
        }
        if (!*tbp)
            *tbp = vals_new(h, c->type);
        if (c->type == TSDB_STRING)
            (*tbp)->v.s[ti] = fb->v.s[fi];
        else
            (*tbp)->v.u[ti] = fb->v.u[fi];
        (*tbp)->present |= tbit;
    }
}

/* Clears every column's presence bit of row r (its strings were moved or
 * freed already). */
static void row_clear(struct tsdb__head *h, size_t r)
{
    uint64_t keep = ~(UINT64_C(1) << (r & MASK));
    for (uint32_t k = 0; k < h->ncols; k++) {
        struct tsdb__hvals *b = h->cols[k].blk[r >> SHIFT];
        if (b)
            b->present &= keep;
    }
}

/* Index of the first row with ts >= t (rows sorted). */
static size_t lower_bound(const struct tsdb__head *h, int64_t t)
{
    /* Chunks first (by their first row), then inside one chunk. */
    size_t lo = 0, hi = h->nchunks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->chunks[mid]->ts[0] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    size_t k = lo - 1; /* chunk k starts below t; the answer is in it or right after */
    const struct tsdb__hchunk *c = h->chunks[k];
    size_t rows = k + 1 == h->nchunks ? h->n - (k << SHIFT) : ROWS;
    size_t a = 0, b = rows;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (c->ts[mid] < t)
            a = mid + 1;
        else
            b = mid;
    }
    return (k << SHIFT) + a;
}

int64_t tsdb__head_upsert(struct tsdb__head *h, int64_t ts, uint64_t lsn,
                          const struct tsdb__hval *vals, size_t nvals)
{
    size_t before = h->bytes;
    size_t pos;
    bool is_new = true;
    if (h->n == 0 || ts > tsdb__head_ts(h, h->n - 1)) {
        pos = h->n;
    } else {
        pos = lower_bound(h, ts);
        is_new = !(pos < h->n && tsdb__head_ts(h, pos) == ts);
    }
    if (is_new) {
        if (h->n == h->nchunks << SHIFT)
            chunk_add(h);
        /* Later rows move up by one (out of order: rare). */
        for (size_t r = h->n; r > pos; r--)
            row_move(h, r - 1, r);
        if (pos < h->n)
            row_clear(h, pos);
        h->n++;
        h->chunks[pos >> SHIFT]->ts[pos & MASK] = ts;
    }
    struct tsdb__hchunk *c = h->chunks[pos >> SHIFT];
    c->lsn[pos & MASK] = lsn;
    c->fgen[pos & MASK] = 0; /* rewritten: the head's copy is the newest again */
    for (size_t i = 0; i < nvals; i++)
        set_value(h, col_get(h, i, vals[i].field_id, vals[i].type), pos, &vals[i].v);
    return (int64_t)h->bytes - (int64_t)before;
}

void tsdb__head_fini(struct tsdb__head *h)
{
    for (uint32_t i = 0; i < h->ncols; i++) {
        struct tsdb__col *c = &h->cols[i];
        for (size_t k = 0; k < h->nchunks; k++)
            vals_free(h, c->blk[k], c->type);
        free(c->blk);
    }
    for (size_t k = 0; k < h->nchunks; k++)
        free(h->chunks[k]);
    free(h->chunks);
    free(h->cols);
    memset(h, 0, sizeof *h);
}

int64_t tsdb__head_clear(struct tsdb__head *h)
{
    int64_t freed = (int64_t)h->bytes;
    tsdb__head_fini(h);
    return freed;
}

int64_t tsdb__head_purge(struct tsdb__head *h, uint64_t max_gen)
{
    size_t before = h->bytes;
    size_t w = 0, gone = 0;
    for (size_t k = 0; k < h->nchunks; k++) {
        const struct tsdb__hchunk *c = h->chunks[k];
        size_t rows = k + 1 == h->nchunks ? h->n - (k << SHIFT) : ROWS;
        for (size_t i = 0; i < rows; i++)
            gone += c->fgen[i] && c->fgen[i] <= max_gen;
    }
    if (gone == 0)
        return 0;
    if (gone == h->n) {
        /* Everything was flushed: an idle series keeps nothing. */
        return tsdb__head_clear(h);
    }
    for (size_t r = 0; r < h->n; r++) {
        uint64_t g = tsdb__head_fgen(h, r);
        if (g && g <= max_gen) {
            for (uint32_t k = 0; k < h->ncols; k++) {
                struct tsdb__col *c = &h->cols[k];
                if (c->type == TSDB_STRING && tsdb__col_has(c, r)) {
                    struct tsdb__str *s = &c->blk[r >> SHIFT]->v.s[r & MASK];
                    h->bytes -= s->n;
                    free(s->p);
                    s->p = NULL;
                }
            }
            row_clear(h, r);
            continue;
        }
        if (w != r) {
            row_move(h, r, w);
            row_clear(h, r);
        }
        w++;
    }
    h->n = w;
    /* Free the chunks past the last row, and value blocks left empty. */
    size_t keep = (w + MASK) >> SHIFT;
    for (uint32_t i = 0; i < h->ncols; i++) {
        struct tsdb__col *c = &h->cols[i];
        for (size_t k = 0; k < h->nchunks; k++) {
            if (c->blk[k] && (k >= keep || c->blk[k]->present == 0)) {
                vals_free(h, c->blk[k], c->type);
                c->blk[k] = NULL;
            }
        }
    }
    for (size_t k = keep; k < h->nchunks; k++) {
        free(h->chunks[k]);
        h->chunks[k] = NULL;
        h->bytes -= sizeof(struct tsdb__hchunk);
    }
    h->nchunks = keep;
    return (int64_t)before - (int64_t)h->bytes;
}
