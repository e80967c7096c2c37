// SPDX-License-Identifier: MIT
/*
 * Head: the in-memory rows of each series (storage-notes 5.3).
 *
 * Layout (tsdb_int.h): per series, chunks of 64 rows, each one allocation
 * holding time, LSN and flush generation of its rows and, per field column,
 * a presence word plus 64 value slots.  Rows are packed and sorted by time
 * with unique timestamps, so row r lives in chunk r / 64.  A series' first
 * chunk starts with room for 4 rows and is copied into one twice as big
 * each time it fills (4, 8, 16, 32, 64) before a second chunk is made: a
 * series with 3 points and 10 fields holds ~0.6 KB instead of 6.6 KB
 * (storage-notes 5.3 budgets 1 KiB per field-series in all).  A full chunk
 * that is no longer the tail is sealed (head_seal.c: codec-encoded, read
 * through per-thread decoded views); writers unseal a chunk before they
 * change it (overwrite, out-of-order insert, purge) and seal it again
 * before returning, so after every call here chunks 0 .. nchunks-2 are
 * sealed and the tail is open.
 *
 * Why: the first cut kept every column as one array doubled with realloc,
 * so each series copied all its columns log2(rows) times, touched fresh
 * pages on every doubling and held up to 2x slack; half of a replay was the
 * allocator and its page faults.  Appending a row now writes one chunk that
 * the series points to directly (h->tail): two dependent loads, and the
 * column headers sit in that chunk, so the common case chases no further
 * pointers.  Chunks come from a slab (below) of 2 MiB transparent huge
 * pages, which cuts the page faults of a growing head by ~500x.
 *
 * Invariants:
 *   1. chunks 0 .. nchunks-2 are full; nchunks == ceil(n / 64); tail is
 *      the last chunk; every chunk has room for 64 rows except a lone first
 *      chunk (4 .. 64 rows, a power of two, at least n);
 *   2. chunk k has columns 0 .. chunks[k]->ncols-1 of h->cols (a prefix:
 *      columns are only ever appended);
 *   3. no present bit is set for a row >= n (upsert relies on vacated slots
 *      reading as absent);
 *   4. h->bytes is exactly the memory the head holds (chunks, string
 *      values, the column and chunk arrays), so the head_bytes gauge returns
 *      to its base when rows are purged.
 *
 * Appends in time order (the common case) write the tail chunk: O(1).  An
 * out-of-order point is placed by binary search and the later rows move up
 * by one (O(rows after it), fine for a head that is flushed every 30
 * minutes); a point at an existing timestamp merges into that row, and each
 * field it carries overwrites the old value (last write wins, influx-compat
 * 1.7).  All calls run with the stripe lock of the series held.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

#define ROWS TSDB__CHUNK_ROWS
#define SHIFT TSDB__CHUNK_SHIFT
#define MASK TSDB__CHUNK_MASK

/* ---- chunk slab ------------------------------------------------------------
 *
 * Chunks of up to SLAB_COLS columns come from 2 MiB regions mapped with
 * MADV_HUGEPAGE (one page fault per region instead of one per 4 KiB), cut
 * by a bump pointer, with a free list per column count.  Freed chunks are
 * reused, never returned to the system: after a flush the next hour's head
 * refills them.  Wider chunks, and every chunk under AddressSanitizer (so
 * it still sees use-after-free), use malloc.  Process-wide, one mutex (a
 * chunk is allocated once per 64 rows). */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_OFF 1
#endif
#endif

#define SLAB_COLS 16
#define SLAB_REGION (2u << 20)

static size_t chunk_bytes(uint32_t cap_cols, size_t cap_rows)
{
    return sizeof(struct tsdb__hchunk) + 20 * cap_rows +
           (size_t)cap_cols * (sizeof(struct tsdb__hcol) + 8 * cap_rows);
}

#ifndef SLAB_OFF
static struct {
    pthread_mutex_t mu;
    void *free[SLAB_COLS + 1];
    char *cur, *end;
} slab = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void *slab_region(void)
{
    /* Over-map to align the region to a huge page. */
    size_t len = 2 * (size_t)SLAB_REGION;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + SLAB_REGION - 1) & ~(uintptr_t)(SLAB_REGION - 1);
    char *r = (char *)a;
    if (r > p)
        munmap(p, (size_t)(r - p));
    if (r + SLAB_REGION < p + len)
        munmap(r + SLAB_REGION, (size_t)(p + len - (r + SLAB_REGION)));
    (void)madvise(r, SLAB_REGION, MADV_HUGEPAGE);
    return r;
}
#endif

/* A chunk with room for cap_cols columns and cap_rows rows; sets its
 * header but not ncols.  Only full-size chunks come from the slab. */
static struct tsdb__hchunk *chunk_alloc(uint32_t cap_cols, size_t cap_rows)
{
    size_t n = chunk_bytes(cap_cols, cap_rows);
#ifndef SLAB_OFF
    if (cap_cols <= SLAB_COLS && cap_rows == ROWS) {
        struct tsdb__hchunk *p = NULL;
        pthread_mutex_lock(&slab.mu);
        if (slab.free[cap_cols]) {
            p = slab.free[cap_cols];
            slab.free[cap_cols] = *(void **)p;
        } else {
            if ((size_t)(slab.end - slab.cur) < n) {
                /* The rest of the old region is too small for this chunk;
                 * leave it (less than one chunk per region). */
                char *r = slab_region();
                if (r) {
                    slab.cur = r;
                    slab.end = r + SLAB_REGION;
                }
            }
            if ((size_t)(slab.end - slab.cur) >= n) {
                p = (struct tsdb__hchunk *)(void *)slab.cur;
                slab.cur += n;
            }
        }
        pthread_mutex_unlock(&slab.mu);
        if (p) {
            *p = (struct tsdb__hchunk){ .cap_cols = cap_cols, .cap_rows = (uint16_t)cap_rows };
            return p;
        }
    }
#endif
    struct tsdb__hchunk *p = xmalloc(n);
    *p = (struct tsdb__hchunk){ .cap_cols = cap_cols,
                                .cap_rows = (uint16_t)cap_rows,
                                .is_heap = true };
    return p;
}

static void chunk_release(struct tsdb__hchunk *c)
{
#ifndef SLAB_OFF
    if (!c->is_heap) {
        /* Read the list index before the link overwrites the header. */
        uint32_t cap = c->cap_cols;
        pthread_mutex_lock(&slab.mu);
        *(void **)c = slab.free[cap];
        slab.free[cap] = c;
        pthread_mutex_unlock(&slab.mu);
        return;
    }
#endif
    free(c);
}

/* ---- chunks ------------------------------------------------------------- */

static void str_free(struct tsdb__head *h, uint64_t v)
{
    struct tsdb__hstr *s = (struct tsdb__hstr *)(uintptr_t)v;
    h->bytes -= sizeof *s + s->n;
    free(s);
}

static uint64_t str_new(struct tsdb__head *h, struct sv v)
{
    struct tsdb__hstr *s = xmalloc(sizeof *s + v.n);
    s->n = v.n;
    if (v.n)
        memcpy(s->p, v.p, v.n);
    h->bytes += sizeof *s + v.n;
    return (uint64_t)(uintptr_t)s;
}

/* Frees chunk c and the strings of its present rows. */
static void chunk_free(struct tsdb__head *h, struct tsdb__hchunk *c)
{
    if (c->is_sealed) {
        for (uint32_t k = 0; k < c->ncols; k++)
            if (h->cols[k].type == TSDB_STRING) {
                const struct tsdb__hcol *col = tsdb__hc_col(tsdb__hs_view(c, h->cols, k), k);
                for (uint64_t m = col->present; m; m &= m - 1)
                    str_free(h, col->v[__builtin_ctzll(m)]);
            }
        h->bytes -= tsdb__hs_bytes(c);
        tsdb__hs_free(c);
        return;
    }
    for (uint32_t k = 0; k < c->ncols; k++)
        if (h->cols[k].type == TSDB_STRING)
            for (uint64_t m = tsdb__hc_col(c, k)->present; m; m &= m - 1)
                str_free(h, tsdb__hc_col(c, k)->v[__builtin_ctzll(m)]);
    h->bytes -= chunk_bytes(c->cap_cols, c->cap_rows);
    chunk_release(c);
}

static void init_cols(const struct tsdb__head *h, struct tsdb__hchunk *c, uint32_t from,
                      uint32_t to)
{
    for (uint32_t k = from; k < to; k++) {
        struct tsdb__hcol *col = tsdb__hc_col(c, k);
        col->field_id = h->cols[k].field_id;
        col->type = (uint32_t)h->cols[k].type;
        col->present = 0;
    }
}

static struct tsdb__hchunk *chunk_new(struct tsdb__head *h, size_t cap_rows)
{
    uint32_t cap = h->ncols ? h->ncols : 1;
    struct tsdb__hchunk *c = chunk_alloc(cap, cap_rows);
    c->ncols = h->ncols;
    init_cols(h, c, 0, h->ncols);
    h->bytes += chunk_bytes(cap, cap_rows);
    return c;
}

/* Turns sealed chunk k back into an open one (before it is changed). */
static struct tsdb__hchunk *chunk_unseal(struct tsdb__head *h, size_t k)
{
    struct tsdb__hchunk *s = h->chunks[k];
    if (!s->is_sealed)
        return s;
    struct tsdb__hchunk *c = chunk_alloc(h->ncols > s->ncols ? h->ncols : s->ncols, ROWS);
    tsdb__hs_unseal(s, h->cols, c);
    h->bytes += chunk_bytes(c->cap_cols, ROWS);
    h->bytes -= tsdb__hs_bytes(s);
    tsdb__hs_free(s); /* its strings now belong to c */
    h->chunks[k] = c;
    if (k + 1 == h->nchunks)
        h->tail = c;
    return c;
}

/* Seals chunk k when it is open and not the tail (so full). */
static void chunk_seal(struct tsdb__head *h, size_t k)
{
    struct tsdb__hchunk *c = h->chunks[k];
    if (c->is_sealed || k + 1 >= h->nchunks)
        return;
    assert(c->cap_rows == ROWS);
    struct tsdb__hchunk *s = tsdb__hs_seal(c, h->cols);
    h->bytes += tsdb__hs_bytes(s);
    h->bytes -= chunk_bytes(c->cap_cols, c->cap_rows);
    chunk_release(c); /* strings now belong to s */
    h->chunks[k] = s;
}

/* Gives chunk k all of the series' columns (a field first seen after the
 * chunk was made), unsealing it first: ready to be written.  Widening is
 * rare: it copies the chunk into a wider one. */
static struct tsdb__hchunk *chunk_widen(struct tsdb__head *h, size_t k)
{
    struct tsdb__hchunk *c = chunk_unseal(h, k);
    if (c->ncols == h->ncols)
        return c;
    if (c->cap_cols < h->ncols) {
        /* Column offsets depend on cap_rows only: one copy moves them all. */
        struct tsdb__hchunk *w = chunk_alloc(h->ncols, c->cap_rows);
        struct tsdb__hchunk hdr = *w;
        memcpy(w, c, chunk_bytes(c->ncols, c->cap_rows));
        *w = hdr;
        w->ncols = c->ncols;
        h->bytes += chunk_bytes(w->cap_cols, w->cap_rows);
        h->bytes -= chunk_bytes(c->cap_cols, c->cap_rows);
        chunk_release(c);
        c = w;
        h->chunks[k] = c;
        if (k + 1 == h->nchunks)
            h->tail = c;
    }
    init_cols(h, c, c->ncols, h->ncols);
    c->ncols = h->ncols;
    return c;
}

/* Rows the chunks have room for. */
static size_t capacity(const struct tsdb__head *h)
{
    if (h->nchunks == 1)
        return h->chunks[0]->cap_rows;
    return h->nchunks << SHIFT;
}

/* Copies the only chunk of h into one with twice the rows (a small first
 * chunk filled up). */
static void chunk_grow(struct tsdb__head *h)
{
    struct tsdb__hchunk *c = h->chunks[0];
    size_t rows = c->cap_rows, n = h->n;
    struct tsdb__hchunk *w = chunk_alloc(h->ncols > c->cap_cols ? h->ncols : c->cap_cols,
                                         rows * 2);
    w->ncols = c->ncols;
    memcpy(tsdb__hc_ts(w), tsdb__hc_ts(c), n * sizeof(int64_t));
    memcpy(tsdb__hc_lsn(w), tsdb__hc_lsn(c), n * sizeof(uint64_t));
    memcpy(tsdb__hc_fgen(w), tsdb__hc_fgen(c), n * sizeof(uint32_t));
    for (uint32_t k = 0; k < c->ncols; k++) {
        const struct tsdb__hcol *from = tsdb__hc_col(c, k);
        struct tsdb__hcol *to = tsdb__hc_col(w, k);
        to->field_id = from->field_id;
        to->type = from->type;
        to->present = from->present;
        memcpy(to->v, from->v, n * sizeof(uint64_t));
    }
    h->bytes += chunk_bytes(w->cap_cols, w->cap_rows);
    h->bytes -= chunk_bytes(c->cap_cols, c->cap_rows);
    chunk_release(c); /* strings moved with the slots */
    h->chunks[0] = h->tail = w;
}

/* Room for one more row: grows a small first chunk or appends a chunk. */
static void make_room(struct tsdb__head *h)
{
    if (h->nchunks == 1 && h->chunks[0]->cap_rows < ROWS) {
        chunk_grow(h);
        return;
    }
    if (h->nchunks == h->cap_chunks) {
        size_t cap = h->cap_chunks ? h->cap_chunks * 2 : 1;
        h->chunks = xrealloc(h->chunks, cap * sizeof *h->chunks);
        h->bytes += (cap - h->cap_chunks) * sizeof *h->chunks;
        h->cap_chunks = cap;
    }
    h->tail = chunk_new(h, h->nchunks ? ROWS : TSDB__CHUNK_MIN_ROWS);
    h->chunks[h->nchunks++] = h->tail;
}

/* Column index of field_id, added to the series when new.  hint: where the
 * field usually is (points of a series list their fields in the same
 * order); checked against the tail chunk, which the append touches anyway. */
static uint32_t col_index(struct tsdb__head *h, size_t hint, uint32_t field_id,
                          enum tsdb_type type)
{
    const struct tsdb__hchunk *t = h->tail;
    if (t && hint < t->ncols && tsdb__hc_col(t, (uint32_t)hint)->field_id == field_id)
        return (uint32_t)hint;
    for (uint32_t i = 0; i < h->ncols; i++)
        if (h->cols[i].field_id == field_id)
            return i;
    h->cols = xrealloc(h->cols, (h->ncols + 1) * sizeof *h->cols);
    h->cols[h->ncols] = (struct tsdb__col){ .field_id = field_id, .type = type };
    h->bytes += sizeof *h->cols;
    return h->ncols++;
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

/* Moves row from to row to (both in chunks with every column): time, LSN,
 * generation and every column's value and presence.  Strings move with
 * their ownership; the source slot keeps its bits and must be overwritten
 * or cleared by the caller. */
static void row_move(struct tsdb__head *h, size_t from, size_t to)
{
    struct tsdb__hchunk *fc = h->chunks[from >> SHIFT], *tc = h->chunks[to >> SHIFT];
    size_t fi = from & MASK, ti = to & MASK;
    tsdb__hc_ts(tc)[ti] = tsdb__hc_ts(fc)[fi];
    tsdb__hc_lsn(tc)[ti] = tsdb__hc_lsn(fc)[fi];
    tsdb__hc_fgen(tc)[ti] = tsdb__hc_fgen(fc)[fi];
    uint64_t tbit = UINT64_C(1) << ti;
    for (uint32_t k = 0; k < fc->ncols; k++) {
        const struct tsdb__hcol *f = tsdb__hc_col(fc, k);
        struct tsdb__hcol *t = tsdb__hc_col(tc, k);
        if (f->present >> fi & 1) {
            t->v[ti] = f->v[fi];
            t->present |= tbit;
        } else {
            t->present &= ~tbit;
        }
    }
}

/* Clears every column's presence bit of row r (its strings were moved or
 * freed already). */
static void row_clear(struct tsdb__head *h, size_t r)
{
    struct tsdb__hchunk *c = h->chunks[r >> SHIFT];
    uint64_t keep = ~(UINT64_C(1) << (r & MASK));
    for (uint32_t k = 0; k < c->ncols; k++)
        tsdb__hc_col(c, k)->present &= keep;
}

size_t tsdb__head_lower_bound(const struct tsdb__head *h, int64_t t)
{
    /* Chunks first (by their first row), then inside one chunk. */
    size_t lo = 0, hi = h->nchunks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct tsdb__hchunk *c = h->chunks[mid];
        int64_t first = c->is_sealed ? ((const struct tsdb__hsealed *)c)->ts_first
                                     : tsdb__hc_ts(c)[0];
        if (first < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    size_t k = lo - 1; /* chunk k starts below t; the answer is in it or right after */
    const struct tsdb__hchunk *c = tsdb__head_chunk(h, k << SHIFT, UINT32_MAX);
    size_t rows = k + 1 == h->nchunks ? h->n - (k << SHIFT) : ROWS;
    size_t a = 0, b = rows;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (tsdb__hc_ts(c)[mid] < t)
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
    /* Columns first, so a new chunk gets them all. */
    uint32_t cidx[16];
    uint32_t *ci = nvals <= 16 ? cidx : xmalloc(nvals * sizeof *ci);
    uint32_t ncols0 = h->ncols;
    for (size_t i = 0; i < nvals; i++)
        ci[i] = col_index(h, i, vals[i].field_id, vals[i].type);
    size_t pos;
    bool is_new = true;
    if (h->n == 0 || ts > tsdb__hc_ts(h->tail)[(h->n - 1) & MASK]) {
        pos = h->n;
    } else {
        pos = tsdb__head_lower_bound(h, ts);
        is_new = !(pos < h->n && tsdb__head_ts(h, pos) == ts);
    }
    size_t reseal = pos >> SHIFT; /* chunks from here on may need sealing */
    if (is_new) {
        if (h->n == capacity(h)) {
            size_t had = h->nchunks;
            make_room(h);
            if (h->nchunks > had && had > 0 && had - 1 < reseal)
                reseal = had - 1; /* the old tail is full and no longer the tail */
        }
        if (pos < h->n) {
            /* Out of order: later rows move up by one, across chunks that
             * must all have every column. */
            for (size_t k = pos >> SHIFT; k < h->nchunks; k++)
                chunk_widen(h, k);
            for (size_t r = h->n; r > pos; r--)
                row_move(h, r - 1, r);
            row_clear(h, pos);
        }
        h->n++;
        tsdb__hc_ts(h->chunks[pos >> SHIFT])[pos & MASK] = ts;
    }
    struct tsdb__hchunk *c = h->chunks[pos >> SHIFT];
    if (h->ncols != ncols0 || c->ncols < h->ncols || c->is_sealed)
        c = chunk_widen(h, pos >> SHIFT);
    size_t i = pos & MASK;
    uint64_t bit = UINT64_C(1) << i;
    tsdb__hc_lsn(c)[i] = lsn;
    tsdb__hc_fgen(c)[i] = 0; /* rewritten: the head's copy is the newest again */
    for (size_t k = 0; k < nvals; k++) {
        struct tsdb__hcol *col = tsdb__hc_col(c, ci[k]);
        if (col->type == TSDB_STRING) {
            if (col->present & bit)
                str_free(h, col->v[i]);
            col->v[i] = str_new(h, vals[k].v.s);
        } else {
            col->v[i] = bits_of((enum tsdb_type)col->type, &vals[k].v);
        }
        col->present |= bit;
    }
    if (ci != cidx)
        free(ci);
    for (size_t k = reseal; k + 1 < h->nchunks; k++)
        chunk_seal(h, k);
    return (int64_t)h->bytes - (int64_t)before;
}

void tsdb__head_fini(struct tsdb__head *h)
{
    for (size_t k = 0; k < h->nchunks; k++)
        chunk_free(h, h->chunks[k]);
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
    for (size_t r = 0; r < h->n; r++) {
        uint64_t g = tsdb__head_fgen(h, r);
        gone += g && g <= max_gen;
    }
    if (gone == 0)
        return 0;
    if (gone == h->n) /* everything was flushed: an idle series keeps nothing */
        return tsdb__head_clear(h);
    /* Rows move down across chunks, which must all have every column. */
    for (size_t k = 0; k < h->nchunks; k++)
        chunk_widen(h, k);
    for (size_t r = 0; r < h->n; r++) {
        struct tsdb__hchunk *c = h->chunks[r >> SHIFT];
        size_t i = r & MASK;
        uint32_t g = tsdb__hc_fgen(c)[i];
        if (g && g <= max_gen) {
            for (uint32_t k = 0; k < c->ncols; k++)
                if (h->cols[k].type == TSDB_STRING && (tsdb__hc_col(c, k)->present >> i & 1))
                    str_free(h, tsdb__hc_col(c, k)->v[i]);
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
    size_t keep = (w + MASK) >> SHIFT;
    for (size_t k = keep; k < h->nchunks; k++) {
        chunk_free(h, h->chunks[k]); /* no rows left: no strings freed twice */
        h->chunks[k] = NULL;
    }
    h->nchunks = keep;
    h->tail = keep ? h->chunks[keep - 1] : NULL;
    for (size_t k = 0; k + 1 < h->nchunks; k++)
        chunk_seal(h, k);
    return (int64_t)before - (int64_t)h->bytes;
}
