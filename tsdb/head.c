// SPDX-License-Identifier: MIT
/*
 * Head: the in-memory rows of each series (storage-notes 5.3, first cut).
 *
 * Per series, one timestamp column shared by all fields, a per-row LSN (the
 * WAL record that last wrote the row; snapshots hide rows newer than they
 * are), and one typed column per field with a presence byte per row, since a
 * point may set only some fields.  Rows are kept sorted by time with unique
 * timestamps: in-order points append (the common case, O(1) amortised); an
 * out-of-order point is placed by binary search and the arrays are shifted
 * (O(rows), fine for a head that is flushed every 30 minutes; the sorted
 * side buffer of 5.3 can replace this without changing callers); a point at
 * an existing timestamp merges into that row, and each field it carries
 * overwrites the old value (last write wins, influx-compat 1.7).
 *
 * Compression into mini-blocks (5.3) and flushing come with the partition
 * work; the functions here are the seam.  All calls run with the stripe lock
 * of the series held.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

static size_t col_slot_bytes(enum tsdb_type t)
{
    return t == TSDB_STRING ? sizeof(struct tsdb__str) : sizeof(uint64_t);
}

static void col_grow(struct tsdb__col *c, size_t old_cap, size_t cap)
{
    size_t sb = col_slot_bytes(c->type);
    c->present = xrealloc(c->present, cap);
    memset(c->present + old_cap, 0, cap - old_cap);
    if (c->type == TSDB_STRING) {
        c->v.s = xrealloc(c->v.s, cap * sb);
        memset(c->v.s + old_cap, 0, (cap - old_cap) * sb);
    } else {
        c->v.u = xrealloc(c->v.u, cap * sb);
    }
}

/* hint: the column index where the field usually is (points of a series
 * tend to list their fields in the same order). */
static struct tsdb__col *col_get(struct tsdb__head *h, size_t hint, uint32_t field_id,
                                 enum tsdb_type type, int64_t *grown)
{
    if (hint < h->ncols && h->cols[hint].field_id == field_id)
        return &h->cols[hint];
    for (uint32_t i = 0; i < h->ncols; i++)
        if (h->cols[i].field_id == field_id)
            return &h->cols[i];
    h->cols = xrealloc(h->cols, (h->ncols + 1) * sizeof *h->cols);
    struct tsdb__col *c = &h->cols[h->ncols++];
    memset(c, 0, sizeof *c);
    c->field_id = field_id;
    c->type = type;
    col_grow(c, 0, h->cap);
    *grown += (int64_t)(sizeof *c + h->cap * (1 + col_slot_bytes(type)));
    return c;
}

static void set_value(struct tsdb__col *c, size_t row, const union tsdb_value *v, int64_t *grown)
{
    if (c->type == TSDB_STRING) {
        struct tsdb__str *s = &c->v.s[row];
        if (c->present[row]) {
            *grown -= (int64_t)s->n;
            free(s->p);
        }
        s->p = xmalloc(v->s.n ? v->s.n : 1);
        if (v->s.n)
            memcpy(s->p, v->s.p, v->s.n);
        s->n = v->s.n;
        *grown += (int64_t)s->n;
    } else {
        uint64_t bits;
        switch (c->type) {
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
        c->v.u[row] = bits;
    }
    c->present[row] = 1;
}

/* Opens a hole at row pos (pos < n) in every column. */
static void shift_right(struct tsdb__head *h, size_t pos)
{
    size_t cnt = h->n - pos;
    memmove(h->ts + pos + 1, h->ts + pos, cnt * sizeof *h->ts);
    memmove(h->lsn + pos + 1, h->lsn + pos, cnt * sizeof *h->lsn);
    memmove(h->fgen + pos + 1, h->fgen + pos, cnt * sizeof *h->fgen);
    for (uint32_t i = 0; i < h->ncols; i++) {
        struct tsdb__col *c = &h->cols[i];
        memmove(c->present + pos + 1, c->present + pos, cnt);
        c->present[pos] = 0;
        if (c->type == TSDB_STRING) {
            memmove(c->v.s + pos + 1, c->v.s + pos, cnt * sizeof *c->v.s);
            c->v.s[pos] = (struct tsdb__str){ NULL, 0 };
        } else {
            memmove(c->v.u + pos + 1, c->v.u + pos, cnt * sizeof *c->v.u);
        }
    }
}

int64_t tsdb__head_upsert(struct tsdb__head *h, int64_t ts, uint64_t lsn,
                          const struct tsdb__hval *vals, size_t nvals)
{
    int64_t grown = 0;
    size_t pos;
    bool is_new = true;
    if (h->n == 0 || ts > h->ts[h->n - 1]) {
        pos = h->n;
    } else {
        size_t lo = 0, hi = h->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (h->ts[mid] < ts)
                lo = mid + 1;
            else
                hi = mid;
        }
        pos = lo;
        is_new = !(pos < h->n && h->ts[pos] == ts);
    }
    if (is_new) {
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 8;
            h->ts = xrealloc(h->ts, cap * sizeof *h->ts);
            h->lsn = xrealloc(h->lsn, cap * sizeof *h->lsn);
            h->fgen = xrealloc(h->fgen, cap * sizeof *h->fgen);
            for (uint32_t i = 0; i < h->ncols; i++) {
                col_grow(&h->cols[i], h->cap, cap);
                grown += (int64_t)((cap - h->cap) * (1 + col_slot_bytes(h->cols[i].type)));
            }
            grown += (int64_t)((cap - h->cap) * 24);
            h->cap = cap;
        }
        if (pos < h->n)
            shift_right(h, pos);
        h->n++;
        h->ts[pos] = ts;
    }
    h->lsn[pos] = lsn;
    h->fgen[pos] = 0; /* rewritten: the head's copy is the newest again */
    for (size_t i = 0; i < nvals; i++) {
        struct tsdb__col *c = col_get(h, i, vals[i].field_id, vals[i].type, &grown);
        set_value(c, pos, &vals[i].v, &grown);
    }
    return grown;
}

void tsdb__head_fini(struct tsdb__head *h)
{
    for (uint32_t i = 0; i < h->ncols; i++) {
        struct tsdb__col *c = &h->cols[i];
        if (c->type == TSDB_STRING) {
            for (size_t r = 0; r < h->n; r++)
                if (c->present[r])
                    free(c->v.s[r].p);
            free(c->v.s);
        } else {
            free(c->v.u);
        }
        free(c->present);
    }
    free(h->cols);
    free(h->ts);
    free(h->lsn);
    free(h->fgen);
    memset(h, 0, sizeof *h);
}

int64_t tsdb__head_purge(struct tsdb__head *h, uint64_t max_gen)
{
    int64_t freed = 0;
    size_t w = 0;
    for (size_t r = 0; r < h->n; r++) {
        bool is_gone = h->fgen[r] && h->fgen[r] <= max_gen;
        if (is_gone) {
            for (uint32_t i = 0; i < h->ncols; i++) {
                struct tsdb__col *c = &h->cols[i];
                if (c->type == TSDB_STRING && c->present[r]) {
                    freed += (int64_t)c->v.s[r].n;
                    free(c->v.s[r].p);
                }
            }
            continue;
        }
        if (w != r) {
            h->ts[w] = h->ts[r];
            h->lsn[w] = h->lsn[r];
            h->fgen[w] = h->fgen[r];
            for (uint32_t i = 0; i < h->ncols; i++) {
                struct tsdb__col *c = &h->cols[i];
                c->present[w] = c->present[r];
                if (c->type == TSDB_STRING)
                    c->v.s[w] = c->v.s[r];
                else
                    c->v.u[w] = c->v.u[r];
            }
        }
        w++;
    }
    /* Vacated slots must read as absent (upsert relies on it). */
    for (size_t r = w; r < h->n; r++)
        for (uint32_t i = 0; i < h->ncols; i++) {
            h->cols[i].present[r] = 0;
            if (h->cols[i].type == TSDB_STRING)
                h->cols[i].v.s[r] = (struct tsdb__str){ NULL, 0 };
        }
    h->n = w;
    if (w == 0 && h->cap) {
        /* Give the memory back: an idle series keeps nothing. */
        struct tsdb__head empty;
        memset(&empty, 0, sizeof empty);
        for (uint32_t i = 0; i < h->ncols; i++) {
            free(h->cols[i].present);
            free(h->cols[i].v.u);
            freed += (int64_t)(h->cap * (1 + col_slot_bytes(h->cols[i].type)) + sizeof h->cols[i]);
        }
        free(h->cols);
        free(h->ts);
        free(h->lsn);
        free(h->fgen);
        freed += (int64_t)(h->cap * 24);
        *h = empty;
    }
    return freed;
}
