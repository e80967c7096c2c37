// SPDX-License-Identifier: MIT
/*
 * Batch record decoding and application (FORMAT.md "Batch record").
 *
 * The same function applies a record during replay and right after a live
 * commit, so both paths build the same head.  A record is decoded and
 * validated completely before anything is applied: a record either applies
 * whole or not at all (replay's atomicity of a batch).  Bytes from disk are
 * hostile: every count is bounded by the bytes left, every index is checked,
 * and any inconsistency is ERR_CORRUPT, never an abort.
 *
 * Replay applies records on two helper threads (storage-notes 5.8): the
 * caller decodes and resolves each record, queues it for one helper that
 * applies the rows of even series ids and one that applies the odd ones,
 * and goes on to the next record without waiting (tsdb_int.h,
 * tsdb__apply_helper).  Each series stays on one thread and sees its rows
 * in WAL order, so the result equals a serial replay.  Rows are applied
 * grouped by stripe and series: a live commit takes each stripe lock once
 * per record.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

struct rfield {
    uint32_t meas;
    struct sv key;
    enum tsdb_type type;
    struct tsdb__field *fd;
};

struct rseries {
    uint64_t id;
    uint32_t meas;
    bool has_def;
    size_t tag0, ntags; /* into tags[] */
    struct tsdb__series *s;
};

struct rrow {
    uint32_t series;
    uint32_t nvals;
    int64_t ts;
    size_t val0;
};

/* A decoded record.  Values are decoded straight into head values: field_id
 * holds the record-local field index until plan_rows() maps it to the
 * store's field id, so the head is handed each row's values in place.
 *
 * Scratch, reused: a record's arrays keep their capacity and go back to a
 * small pool on the WAL (rec_get / rec_put) instead of being allocated,
 * zeroed and page-faulted in for every record (a third of replay's CPU
 * went to that and to the kernel's page faults for it). */
struct tsdb__rec {
    struct sv *meas;
    struct tsdb__meas **mp;
    struct rfield *fields;
    struct rseries *series;
    struct tsdb_tag *tags;
    struct rrow *rows;
    struct tsdb__hval *vals;
    size_t nmeas, nfields, nseries, ntags, nrows, nvals;
    size_t cap_meas, cap_mp, cap_fields, cap_series, cap_tags, cap_rows, cap_vals;
    /* plan_rows: series rank (by stripe), row start per rank, row order */
    size_t *rank, *start, *order;
    size_t cap_rank, cap_start, cap_order;
    size_t nplanned, split; /* rows in order[]; order[0 .. split) are the first thread's */
    bool *need;
    size_t cap_need;
    /* The record's bytes when it is shared with the replay helper. */
    struct buf own;
    struct tsdb__rec *next_free;
};

static void rec_fini(struct tsdb__rec *r)
{
    free(r->meas);
    free(r->mp);
    free(r->fields);
    free(r->series);
    free(r->tags);
    free(r->rows);
    free(r->vals);
    free(r->rank);
    free(r->start);
    free(r->order);
    free(r->need);
    buf_fini(&r->own);
}

/* Keeps at most this many spare records, and none whose record buffer grew
 * past REC_KEEP_BYTES (a rare huge batch should not pin its memory). */
#define REC_POOL_MAX (TSDB__HELPER_QUEUE + 4)
#define REC_KEEP_BYTES (8u << 20)

static struct tsdb__rec *rec_get(struct tsdb *db)
{
    struct tsdb__wal *w = &db->wal;
    pthread_mutex_lock(&w->rec_mu);
    struct tsdb__rec *r = w->rec_free;
    if (r) {
        w->rec_free = r->next_free;
        w->nrec_free--;
    }
    pthread_mutex_unlock(&w->rec_mu);
    if (!r) {
        r = xcalloc(1, sizeof *r);
        buf_init(&r->own, 0);
    }
    r->nmeas = r->nfields = r->nseries = r->ntags = r->nrows = r->nvals = 0;
    r->nplanned = r->split = 0;
    r->own.len = 0;
    return r;
}

static void rec_put(struct tsdb *db, struct tsdb__rec *r)
{
    struct tsdb__wal *w = &db->wal;
    size_t big = r->cap_vals * sizeof *r->vals + r->cap_rows * sizeof *r->rows + r->own.cap;
    if (big <= REC_KEEP_BYTES) {
        pthread_mutex_lock(&w->rec_mu);
        if (w->nrec_free < REC_POOL_MAX) {
            r->next_free = w->rec_free;
            w->rec_free = r;
            w->nrec_free++;
            r = NULL;
        }
        pthread_mutex_unlock(&w->rec_mu);
    }
    if (r) {
        rec_fini(r);
        free(r);
    }
}

void tsdb__rec_pool_fini(struct tsdb *db)
{
    struct tsdb__wal *w = &db->wal;
    for (struct tsdb__rec *r = w->rec_free, *next; r; r = next) {
        next = r->next_free;
        rec_fini(r);
        free(r);
    }
    w->rec_free = NULL;
    w->nrec_free = 0;
}

/* Grows arr (cap elements) to hold at least n; keeps the contents. */
#define GROW(arr, cap, n)                                                                          \
    do {                                                                                           \
        if ((n) > (cap)) {                                                                         \
            size_t c_ = (cap) ? (cap) : 16;                                                        \
            while (c_ < (n))                                                                       \
                c_ *= 2;                                                                           \
            (arr) = xrealloc((arr), c_ * sizeof *(arr));                                           \
            (cap) = c_;                                                                            \
        }                                                                                          \
    } while (0)

/* Inline fast paths of encoding.c's readers for the per-row fields: a
 * one-byte varint, and eight bytes with room for them. */
static inline uint64_t get_uvarint(struct tsdb__dec *d)
{
    if (d->p < d->end && *d->p < 0x80)
        return *d->p++;
    return tsdb__get_uvarint(d);
}

static inline uint64_t get_u64(struct tsdb__dec *d)
{
    if (d->end - d->p >= 8) {
        uint64_t v = tsdb__le64(d->p);
        d->p += 8;
        return v;
    }
    return tsdb__get_u64(d);
}

/* Bounded count: each element takes at least one byte. */
static size_t get_count(struct tsdb__dec *d)
{
    uint64_t n = get_uvarint(d);
    if (n > tsdb__dec_left(d)) {
        d->is_bad = true;
        return 0;
    }
    return (size_t)n;
}

static int decode(struct tsdb__dec *d, struct tsdb__rec *r, struct err *e)
{
    r->nmeas = get_count(d);
    GROW(r->meas, r->cap_meas, r->nmeas + 1);
    GROW(r->mp, r->cap_mp, r->nmeas + 1);
    for (size_t i = 0; i < r->nmeas && !d->is_bad; i++) {
        r->meas[i] = tsdb__get_bytes(d);
        if (r->meas[i].n == 0)
            return err_set(e, ERR_CORRUPT, "empty measurement name");
    }
    r->nfields = get_count(d);
    GROW(r->fields, r->cap_fields, r->nfields + 1);
    for (size_t i = 0; i < r->nfields && !d->is_bad; i++) {
        struct rfield *f = &r->fields[i];
        uint64_t m = get_uvarint(d);
        f->key = tsdb__get_bytes(d);
        uint8_t t = tsdb__get_u8(d);
        f->fd = NULL;
        if (d->is_bad)
            break;
        if (m >= r->nmeas || t < TSDB_FLOAT || t > TSDB_STRING || f->key.n == 0)
            return err_set(e, ERR_CORRUPT, "field %zu: bad measurement index or type", i);
        f->meas = (uint32_t)m;
        f->type = (enum tsdb_type)t;
    }
    r->nseries = get_count(d);
    GROW(r->series, r->cap_series, r->nseries + 1);
    for (size_t i = 0; i < r->nseries && !d->is_bad; i++) {
        struct rseries *s = &r->series[i];
        s->id = get_uvarint(d);
        uint64_t m = get_uvarint(d);
        uint8_t has_def = tsdb__get_u8(d);
        s->s = NULL;
        s->ntags = 0;
        if (d->is_bad)
            break;
        if (m >= r->nmeas || s->id == 0 || has_def > 1)
            return err_set(e, ERR_CORRUPT, "series %zu: bad id, measurement or flag", i);
        s->meas = (uint32_t)m;
        s->has_def = has_def;
        s->tag0 = r->ntags;
        if (!has_def)
            continue;
        s->ntags = get_count(d);
        GROW(r->tags, r->cap_tags, r->ntags + s->ntags + 1);
        for (size_t j = 0; j < s->ntags && !d->is_bad; j++) {
            struct tsdb_tag *t = &r->tags[r->ntags++];
            t->key = tsdb__get_bytes(d);
            t->value = tsdb__get_bytes(d);
        }
    }
    r->nrows = get_count(d);
    GROW(r->rows, r->cap_rows, r->nrows + 1);
    for (size_t i = 0; i < r->nrows && !d->is_bad; i++) {
        struct rrow *row = &r->rows[i];
        uint64_t sl = get_uvarint(d);
        row->ts = (int64_t)get_u64(d);
        size_t nvals = get_count(d);
        if (d->is_bad)
            break;
        if (sl >= r->nseries || nvals == 0)
            return err_set(e, ERR_CORRUPT, "point %zu: bad series index or no values", i);
        row->series = (uint32_t)sl;
        row->nvals = (uint32_t)nvals;
        row->val0 = r->nvals;
        GROW(r->vals, r->cap_vals, r->nvals + nvals);
        uint32_t meas = r->series[sl].meas;
        for (size_t j = 0; j < nvals && !d->is_bad; j++) {
            struct tsdb__hval *v = &r->vals[r->nvals++];
            uint64_t fl = get_uvarint(d);
            if (d->is_bad)
                break;
            if (fl >= r->nfields || r->fields[fl].meas != meas)
                return err_set(e, ERR_CORRUPT, "point %zu: bad field index", i);
            v->field_id = (uint32_t)fl;
            v->type = r->fields[fl].type;
            switch (v->type) {
            case TSDB_FLOAT: {
                uint64_t bits = get_u64(d);
                memcpy(&v->v.f, &bits, 8);
                break;
            }
            case TSDB_INT:
                v->v.i = tsdb__unzigzag(get_uvarint(d));
                break;
            case TSDB_UINT:
                v->v.u = get_uvarint(d);
                break;
            case TSDB_BOOL: {
                uint8_t bv = tsdb__get_u8(d);
                if (bv > 1)
                    return err_set(e, ERR_CORRUPT, "point %zu: bad boolean", i);
                v->v.b = bv;
                break;
            }
            case TSDB_STRING:
                v->v.s = tsdb__get_bytes(d);
                break;
            }
        }
    }
    if (d->is_bad)
        return err_set(e, ERR_CORRUPT, "record body is truncated or malformed");
    if (tsdb__dec_left(d) != 0)
        return err_set(e, ERR_CORRUPT, "%zu trailing bytes after record body", tsdb__dec_left(d));
    return 0;
}

/* Marks the fields that rows of resolved (not dropped) series use, in
 * r->need. */
static const bool *fields_needed(struct tsdb__rec *r)
{
    size_t cap = r->cap_fields;
    if (!r->need || cap > r->cap_need) {
        free(r->need);
        r->need = xmalloc(cap * sizeof *r->need);
        r->cap_need = cap;
    }
    bool *need = r->need;
    memset(need, 0, r->nfields * sizeof *need);
    bool is_all = true;
    for (size_t i = 0; i < r->nseries; i++)
        is_all &= r->series[i].s != NULL;
    if (is_all) {
        for (size_t k = 0; k < r->nvals; k++)
            need[r->vals[k].field_id] = true;
        return need;
    }
    for (size_t i = 0; i < r->nrows; i++) {
        const struct rrow *row = &r->rows[i];
        if (!r->series[row->series].s)
            continue;
        for (size_t j = 0; j < row->nvals; j++)
            need[r->vals[row->val0 + j].field_id] = true;
    }
    return need;
}

/* Replay: finds or creates measurements, fields and series.  Write lock
 * held.  A series that DROP SERIES / DROP MEASUREMENT / DELETE removed
 * (tsdb__series_is_dropped) is skipped with its rows, as the live commit
 * skipped them; only fields that kept rows use are created or checked, so
 * a measurement recreated with other field types replays. */
static int resolve_replay(struct tsdb__store *st, struct tsdb__rec *r, struct buf *key, struct err *e)
{
    for (size_t i = 0; i < r->nseries; i++) {
        struct rseries *rs = &r->series[i];
        struct tsdb__series *s = tsdb__series_get(st, rs->id);
        rs->s = NULL;
        if (!s && tsdb__series_is_dropped(st, rs->id))
            continue;
        if (!rs->has_def) {
            if (!s)
                return err_set(e, ERR_CORRUPT, "series id %" PRIu64 " used before definition",
                               rs->id);
        } else {
            struct tsdb_tag *tags = r->tags + rs->tag0;
            bool is_bad = !tsdb__sort_tags(tags, rs->ntags);
            for (size_t j = 0; j < rs->ntags; j++)
                is_bad |= tags[j].key.n == 0 || tags[j].value.n == 0;
            if (is_bad)
                return err_set(e, ERR_CORRUPT, "series id %" PRIu64 ": bad tags", rs->id);
            if (tsdb__series_key(key, r->meas[rs->meas], tags, rs->ntags) != 0)
                return err_set(e, ERR_CORRUPT, "series id %" PRIu64 ": key too large", rs->id);
            struct sv k = buf_sv(key);
            uint64_t h = hash_sv(k);
            struct tsdb__series *other = tsdb__series_find(st, k, h);
            if (s) {
                if (other != s)
                    return err_set(e, ERR_CORRUPT, "series id %" PRIu64 " redefined", rs->id);
            } else {
                if (other)
                    return err_set(e, ERR_CORRUPT,
                                   "series key defined twice (ids %" PRIu64 " and %" PRIu64 ")",
                                   other->id, rs->id);
                /* Ids are dense: a wild id would make by_id huge. */
                if (rs->id > st->next_id + (1u << 20))
                    return err_set(e, ERR_CORRUPT, "series id %" PRIu64 " out of range", rs->id);
                s = tsdb__series_create(st, rs->id, k, h, r->meas[rs->meas], tags, rs->ntags);
                atomic_store(&s->is_logged, true);
            }
        }
        if (!sv_eq((struct sv){ s->meas->name, s->meas->n }, r->meas[rs->meas]))
            return err_set(e, ERR_CORRUPT, "series id %" PRIu64 ": measurement mismatch", rs->id);
        rs->s = s;
    }
    for (size_t i = 0; i < r->nmeas; i++)
        r->mp[i] = tsdb__meas_find(st, r->meas[i]);
    const bool *need = fields_needed(r);
    for (size_t i = 0; i < r->nfields; i++) {
        struct rfield *f = &r->fields[i];
        struct tsdb__meas *m = r->mp[f->meas];
        f->fd = NULL;
        if (!need[i] || !m)
            continue;
        f->fd = tsdb__field_find(m, f->key);
        if (f->fd && f->fd->type != f->type) {
            return err_set(e, ERR_CORRUPT, "field type of %.*s differs from earlier records",
                           (int)(f->key.n > 64 ? 64 : f->key.n), f->key.p);
        }
        if (!f->fd)
            f->fd = tsdb__field_create(m, f->key, f->type);
    }
    return 0;
}

/* Live commit: everything exists already, unless DROP SERIES / DROP
 * MEASUREMENT / DELETE removed a series after the batch resolved it: its
 * rows are skipped (the write counts as made before the drop; replay skips
 * them too), and so are fields that only such rows use.  Read lock held. */
static int resolve_live(struct tsdb__store *st, struct tsdb__rec *r, struct err *e)
{
    for (size_t i = 0; i < r->nseries; i++)
        r->series[i].s = tsdb__series_get(st, r->series[i].id);
    for (size_t i = 0; i < r->nmeas; i++)
        r->mp[i] = tsdb__meas_find(st, r->meas[i]);
    const bool *need = fields_needed(r);
    int rc = 0;
    for (size_t i = 0; i < r->nfields && !rc; i++) {
        struct rfield *f = &r->fields[i];
        struct tsdb__meas *m = r->mp[f->meas];
        f->fd = m ? tsdb__field_find(m, f->key) : NULL;
        if (f->fd && f->fd->type != f->type)
            f->fd = NULL;
        if (need[i] && !f->fd)
            rc = err_set(e, ERR_CORRUPT, "field vanished");
    }
    return rc;
}

/* Orders the rows of resolved series for applying, once per record, in
 * r->order: grouped by bucket, then by series in first-seen order, each
 * series' rows in record order (stable counting sorts).  A bucket is the
 * stripe of the series id, so a live commit takes each stripe lock once per
 * record and consecutive rows write the same series' chunks, which keeps
 * them in cache.  is_split (replay): even ids first, then odd, so
 * order[0 .. split) is the even helper's share and the rest the odd one's;
 * each series stays on one thread.  Also maps each value's
 * record-local field index to the store's field id. */
_Static_assert(TSDB__STRIPES % 2 == 0, "the replay split relies on an even stripe count");
static void plan_rows(struct tsdb__rec *r, bool is_split)
{
    enum { NB = TSDB__STRIPES };
    size_t by_bucket[NB + 1] = { 0 };
    GROW(r->rank, r->cap_rank, r->nseries + 1);
    GROW(r->start, r->cap_start, r->nseries + 1);
    GROW(r->order, r->cap_order, r->nrows + 1);
    for (size_t i = 0; i < r->nseries; i++) {
        const struct tsdb__series *s = r->series[i].s;
        if (!s)
            continue;
        size_t b = s->id % NB;
        if (is_split)
            b = (b & 1) * (NB / 2) + b / 2;
        r->rank[i] = b; /* bucket for now */
        by_bucket[b + 1]++;
    }
    for (size_t b = 0; b < NB; b++)
        by_bucket[b + 1] += by_bucket[b];
    size_t half_rank = by_bucket[NB / 2]; /* ranks below it: even ids (split) */
    for (size_t i = 0; i < r->nseries; i++)
        if (r->series[i].s)
            r->rank[i] = by_bucket[r->rank[i]]++;
    size_t *start = r->start;
    memset(start, 0, (r->nseries + 1) * sizeof *start);
    uint32_t fid[64];
    uint32_t *gid = r->nfields <= 64 ? fid : xmalloc(r->nfields * sizeof *gid);
    for (size_t i = 0; i < r->nfields; i++)
        gid[i] = r->fields[i].fd ? r->fields[i].fd->id : 0;
    size_t n = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const struct rrow *row = &r->rows[i];
        if (!r->series[row->series].s)
            continue;
        start[r->rank[row->series] + 1]++;
        n++;
        struct tsdb__hval *v = &r->vals[row->val0];
        for (size_t j = 0; j < row->nvals; j++)
            v[j].field_id = gid[v[j].field_id];
    }
    if (gid != fid)
        free(gid);
    for (size_t i = 0; i < r->nseries; i++)
        start[i + 1] += start[i];
    r->split = is_split ? start[half_rank] : n;
    for (size_t i = 0; i < r->nrows; i++) {
        const struct rrow *row = &r->rows[i];
        if (r->series[row->series].s)
            r->order[start[r->rank[row->series]]++] = i;
    }
    r->nplanned = n;
}

/* Applies planned rows order[from .. to).  is_locked: take the stripe
 * locks; replay skips them, since no reader or writer exists before
 * tsdb_open returns and the two replay threads touch disjoint series. */
#define PREFETCH_ROWS 4
static int64_t apply_rows(struct tsdb__store *st, const struct tsdb__rec *r, uint64_t lsn,
                          size_t from, size_t to, bool is_locked)
{
    int64_t grown = 0;
    pthread_mutex_t *held = NULL;
    for (size_t k = from; k < to; k++) {
        /* Rows of a record mostly belong to different series, each cold in
         * cache: fetch the series eight rows ahead and, from it, the lines
         * of its tail chunk four rows ahead, while this one is written. */
        if (k + 2 * PREFETCH_ROWS < to) {
            const struct tsdb__series *ahead =
                r->series[r->rows[r->order[k + 2 * PREFETCH_ROWS]].series].s;
            __builtin_prefetch(&ahead->head);
        }
        if (k + PREFETCH_ROWS < to)
            tsdb__head_prefetch(&r->series[r->rows[r->order[k + PREFETCH_ROWS]].series].s->head);
        const struct rrow *row = &r->rows[r->order[k]];
        struct tsdb__series *s = r->series[row->series].s;
        if (is_locked) {
            pthread_mutex_t *mu = &st->stripes[s->id % TSDB__STRIPES];
            if (mu != held) {
                if (held)
                    pthread_mutex_unlock(held);
                pthread_mutex_lock(mu);
                held = mu;
            }
        }
        grown += tsdb__head_upsert(&s->head, row->ts, lsn, &r->vals[row->val0], row->nvals);
    }
    if (held)
        pthread_mutex_unlock(held);
    return grown;
}

static void job_release(struct tsdb__apply_job *job)
{
    if (atomic_fetch_sub(&job->refs, 1) != 1)
        return;
    rec_put(job->db, job->rec);
    free(job);
}

static void *helper_main(void *arg)
{
    struct tsdb__apply_helper *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->head && !h->is_stopping)
            pthread_cond_wait(&h->cv, &h->mu);
        struct tsdb__apply_job *job = h->head;
        if (!job)
            break; /* stopping and drained */
        pthread_mutex_unlock(&h->mu);
        const struct tsdb__rec *r = job->rec;
        int64_t grown = h->part == 0 ? apply_rows(job->st, r, job->lsn, 0, r->split, false)
                                     : apply_rows(job->st, r, job->lsn, r->split, r->nplanned,
                                                  false);
        atomic_fetch_add(&job->db->head_bytes, grown);
        pthread_mutex_lock(&h->mu);
        h->head = job->next[h->link];
        if (!h->head)
            h->tail = NULL;
        h->queued--;
        pthread_cond_broadcast(&h->cv); /* room in the queue, or drained */
        pthread_mutex_unlock(&h->mu);
        job_release(job);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void helper_push(struct tsdb__apply_helper *h, struct tsdb__apply_job *job)
{
    pthread_mutex_lock(&h->mu);
    while (h->queued >= TSDB__HELPER_QUEUE)
        pthread_cond_wait(&h->cv, &h->mu);
    job->next[h->link] = NULL;
    if (h->tail)
        h->tail->next[h->link] = job;
    else
        h->head = job;
    h->tail = job;
    h->queued++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

bool tsdb__helper_start(struct tsdb__apply_helper *h, int part)
{
    memset(h, 0, sizeof *h);
    h->part = part;
    h->link = part;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, helper_main, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        return false;
    }
    return true;
}

void tsdb__helper_stop(struct tsdb__apply_helper *h)
{
    pthread_mutex_lock(&h->mu);
    h->is_stopping = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
}

int tsdb__record_apply(struct tsdb *db, struct tsdb__store *st, const uint8_t *p, size_t n,
                       uint64_t lsn, bool is_replay, struct tsdb__apply_helper *helpers,
                       size_t nhelpers, struct buf *give, size_t *points, struct err *e)
{
    *points = 0;
    struct tsdb__dec d;
    tsdb__dec_init(&d, p, n);
    uint64_t db_id = tsdb__get_uvarint(&d);
    uint64_t rp_id = tsdb__get_uvarint(&d);
    if (d.is_bad)
        return err_set(e, ERR_CORRUPT, "record header is truncated");
    if (!st) {
        st = tsdb__catalog_store(db, db_id, rp_id);
        if (!st)
            return 1;
    } else if (st->db_id != db_id || st->rp_id != rp_id) {
        return err_set(e, ERR_CORRUPT, "record names another store");
    }
    struct tsdb__rec *r = rec_get(db);
    /* A replayed record is shared with the helper threads, which may still
     * apply it after the caller's buffer (a mapped segment, the
     * decompression buffer) is gone: it is decoded from bytes the record
     * owns, taken from the caller's buffer when it holds them (give: the
     * two swap buffers, no copy) or else copied.  Every record goes through
     * the helpers, small ones too: applying one here while a helper still
     * applies an earlier record would write the same series from two
     * threads, out of WAL order. */
    bool is_shared = is_replay && nhelpers > 0;
    if (is_shared) {
        size_t at = n - tsdb__dec_left(&d);
        if (give && give->p == (const char *)p && give->len == n) {
            struct buf t = r->own;
            r->own = *give;
            *give = t;
            give->len = 0;
        } else {
            r->own.len = 0;
            if (buf_append(&r->own, p, n) != 0) {
                rec_put(db, r);
                return err_set(e, ERR_NOMEM, "record of %zu bytes: out of memory", n);
            }
        }
        tsdb__dec_init(&d, (const uint8_t *)r->own.p + at, n - at);
    }
    int rc = decode(&d, r, e);
    if (!rc) {
        if (is_replay) {
            struct buf key;
            buf_init(&key, 0);
            pthread_rwlock_wrlock(&st->lock);
            rc = resolve_replay(st, r, &key, e);
            pthread_rwlock_unlock(&st->lock);
            buf_fini(&key);
        } else {
            pthread_rwlock_rdlock(&st->lock);
            rc = resolve_live(st, r, e);
            pthread_rwlock_unlock(&st->lock);
        }
    }
    if (rc) {
        rec_put(db, r);
        return rc;
    }
    *points = r->nrows;
    plan_rows(r, is_shared);
    int64_t grown = 0;
    if (is_shared) {
        /* Two helpers: one applies the even series ids, the other the odd
         * ones, while this thread decodes the next records (three threads
         * on two cores: the scheduler balances decoding against applying).
         * One helper: it takes the odd ids and this thread the even ones.
         * Each series is applied by one thread, in record order. */
        struct tsdb__apply_job *job = xcalloc(1, sizeof *job);
        *job = (struct tsdb__apply_job){ .db = db, .st = st, .rec = r, .lsn = lsn };
        atomic_init(&job->refs, 2);
        if (nhelpers >= 2) {
            helper_push(&helpers[0], job);
            helper_push(&helpers[1], job); /* job may be freed from here on */
        } else {
            helper_push(&helpers[0], job);
            grown = apply_rows(st, r, lsn, 0, r->split, false);
            job_release(job);
        }
    } else {
        grown = apply_rows(st, r, lsn, 0, r->nplanned, !is_replay);
        rec_put(db, r);
    }
    atomic_fetch_add(&db->head_bytes, grown);
    if (!is_replay)
        tsdb__update_gauges(db); /* replay publishes once, at the end of open */
    return 0;
}
