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
 * Replay applies big records on two threads (storage-notes 5.8): the caller
 * decodes and resolves each record, queues it for a helper thread that
 * applies the rows of odd series ids, applies the even ones itself and goes
 * on to the next record without waiting (tsdb_int.h, tsdb__apply_helper).
 * Each series stays on one thread and sees its rows in WAL order, so the
 * result equals a serial replay.  Rows are applied grouped by stripe and
 * series: a live commit takes each stripe lock once per record.
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
    int64_t ts;
    size_t val0, nvals;
};

struct rval {
    uint32_t field;
    union tsdb_value v;
};

struct tsdb__rec {
    struct sv *meas;
    struct tsdb__meas **mp;
    struct rfield *fields;
    struct rseries *series;
    struct tsdb_tag *tags;
    struct rrow *rows;
    struct rval *vals;
    size_t nmeas, nfields, nseries, ntags, nrows, nvals;
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
}

/* Bounded count: each element takes at least one byte. */
static size_t get_count(struct tsdb__dec *d)
{
    uint64_t n = tsdb__get_uvarint(d);
    if (n > tsdb__dec_left(d)) {
        d->is_bad = true;
        return 0;
    }
    return (size_t)n;
}

static int decode(struct tsdb__dec *d, struct tsdb__rec *r, struct err *e)
{
    r->nmeas = get_count(d);
    r->meas = xcalloc(r->nmeas + 1, sizeof *r->meas);
    r->mp = xcalloc(r->nmeas + 1, sizeof *r->mp);
    for (size_t i = 0; i < r->nmeas && !d->is_bad; i++) {
        r->meas[i] = tsdb__get_bytes(d);
        if (r->meas[i].n == 0)
            return err_set(e, ERR_CORRUPT, "empty measurement name");
    }
    r->nfields = get_count(d);
    r->fields = xcalloc(r->nfields + 1, sizeof *r->fields);
    for (size_t i = 0; i < r->nfields && !d->is_bad; i++) {
        struct rfield *f = &r->fields[i];
        uint64_t m = tsdb__get_uvarint(d);
        f->key = tsdb__get_bytes(d);
        uint8_t t = tsdb__get_u8(d);
        if (d->is_bad)
            break;
        if (m >= r->nmeas || t < TSDB_FLOAT || t > TSDB_STRING || f->key.n == 0)
            return err_set(e, ERR_CORRUPT, "field %zu: bad measurement index or type", i);
        f->meas = (uint32_t)m;
        f->type = (enum tsdb_type)t;
    }
    r->nseries = get_count(d);
    r->series = xcalloc(r->nseries + 1, sizeof *r->series);
    size_t cap_tags = 1;
    r->tags = xcalloc(1, sizeof *r->tags);
    for (size_t i = 0; i < r->nseries && !d->is_bad; i++) {
        struct rseries *s = &r->series[i];
        s->id = tsdb__get_uvarint(d);
        uint64_t m = tsdb__get_uvarint(d);
        uint8_t has_def = tsdb__get_u8(d);
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
        if (r->ntags + s->ntags > cap_tags) {
            cap_tags = (r->ntags + s->ntags) * 2;
            r->tags = xrealloc(r->tags, cap_tags * sizeof *r->tags);
        }
        for (size_t j = 0; j < s->ntags && !d->is_bad; j++) {
            struct tsdb_tag *t = &r->tags[r->ntags++];
            t->key = tsdb__get_bytes(d);
            t->value = tsdb__get_bytes(d);
        }
    }
    r->nrows = get_count(d);
    r->rows = xcalloc(r->nrows + 1, sizeof *r->rows);
    size_t cap_vals = 0;
    for (size_t i = 0; i < r->nrows && !d->is_bad; i++) {
        struct rrow *row = &r->rows[i];
        uint64_t sl = tsdb__get_uvarint(d);
        row->ts = (int64_t)tsdb__get_u64(d);
        row->nvals = get_count(d);
        if (d->is_bad)
            break;
        if (sl >= r->nseries || row->nvals == 0)
            return err_set(e, ERR_CORRUPT, "point %zu: bad series index or no values", i);
        row->series = (uint32_t)sl;
        row->val0 = r->nvals;
        if (r->nvals + row->nvals > cap_vals) {
            cap_vals = (r->nvals + row->nvals) * 2;
            r->vals = xrealloc(r->vals, cap_vals * sizeof *r->vals);
        }
        uint32_t meas = r->series[sl].meas;
        for (size_t j = 0; j < row->nvals && !d->is_bad; j++) {
            struct rval *v = &r->vals[r->nvals++];
            uint64_t fl = tsdb__get_uvarint(d);
            if (d->is_bad)
                break;
            if (fl >= r->nfields || r->fields[fl].meas != meas)
                return err_set(e, ERR_CORRUPT, "point %zu: bad field index", i);
            v->field = (uint32_t)fl;
            switch (r->fields[fl].type) {
            case TSDB_FLOAT: {
                uint64_t bits = tsdb__get_u64(d);
                memcpy(&v->v.f, &bits, 8);
                break;
            }
            case TSDB_INT:
                v->v.i = tsdb__unzigzag(tsdb__get_uvarint(d));
                break;
            case TSDB_UINT:
                v->v.u = tsdb__get_uvarint(d);
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

/* Marks the fields that rows of resolved (not dropped) series use. */
static bool *fields_needed(const struct tsdb__rec *r)
{
    bool *need = xcalloc(r->nfields ? r->nfields : 1, sizeof *need);
    for (size_t i = 0; i < r->nrows; i++) {
        const struct rrow *row = &r->rows[i];
        if (!r->series[row->series].s)
            continue;
        for (size_t j = 0; j < row->nvals; j++)
            need[r->vals[row->val0 + j].field] = true;
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
    bool *need = fields_needed(r);
    for (size_t i = 0; i < r->nfields; i++) {
        struct rfield *f = &r->fields[i];
        struct tsdb__meas *m = r->mp[f->meas];
        f->fd = NULL;
        if (!need[i] || !m)
            continue;
        f->fd = tsdb__field_find(m, f->key);
        if (f->fd && f->fd->type != f->type) {
            free(need);
            return err_set(e, ERR_CORRUPT, "field type of %.*s differs from earlier records",
                           (int)(f->key.n > 64 ? 64 : f->key.n), f->key.p);
        }
        if (!f->fd)
            f->fd = tsdb__field_create(m, f->key, f->type);
    }
    free(need);
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
    bool *need = fields_needed(r);
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
    free(need);
    return rc;
}

/* Applies the rows whose series id & mask == want (mask 0: all rows).
 * is_locked: take the stripe locks; replay skips them, since no reader or
 * writer exists before tsdb_open returns and the two replay threads touch
 * disjoint series. */
static int64_t apply_rows(struct tsdb__store *st, const struct tsdb__rec *r, uint64_t lsn,
                          uint64_t mask, uint64_t want, bool is_locked)
{
    struct tsdb__hval *hv = NULL;
    size_t cap_hv = 0;
    int64_t grown = 0;
    /* Visit rows grouped by stripe, then by series (stable counting sorts,
     * so each series still sees its rows in record order): each stripe
     * lock is taken once per record instead of once per row, and
     * consecutive rows write the same series' chunks, which keeps them in
     * cache. */
    size_t *rank = xmalloc((r->nseries ? r->nseries : 1) * sizeof *rank);
    size_t by_stripe[TSDB__STRIPES + 1] = { 0 };
    for (size_t i = 0; i < r->nseries; i++)
        if (r->series[i].s)
            by_stripe[r->series[i].s->id % TSDB__STRIPES + 1]++;
    for (size_t i = 0; i < TSDB__STRIPES; i++)
        by_stripe[i + 1] += by_stripe[i];
    for (size_t i = 0; i < r->nseries; i++)
        if (r->series[i].s)
            rank[i] = by_stripe[r->series[i].s->id % TSDB__STRIPES]++;
    size_t *start = xcalloc(r->nseries + 1, sizeof *start);
    size_t *order = xmalloc((r->nrows ? r->nrows : 1) * sizeof *order);
    size_t nrows = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const struct tsdb__series *s = r->series[r->rows[i].series].s;
        if (s && (s->id & mask) == want) {
            start[rank[r->rows[i].series] + 1]++;
            nrows++;
        }
    }
    for (size_t i = 0; i < r->nseries; i++)
        start[i + 1] += start[i];
    for (size_t i = 0; i < r->nrows; i++) {
        const struct tsdb__series *s = r->series[r->rows[i].series].s;
        if (s && (s->id & mask) == want)
            order[start[rank[r->rows[i].series]]++] = i;
    }
    free(start);
    free(rank);
    pthread_mutex_t *held = NULL;
    for (size_t k = 0; k < nrows; k++) {
        const struct rrow *row = &r->rows[order[k]];
        struct tsdb__series *s = r->series[row->series].s;
        if (row->nvals > cap_hv) {
            cap_hv = row->nvals * 2;
            hv = xrealloc(hv, cap_hv * sizeof *hv);
        }
        for (size_t j = 0; j < row->nvals; j++) {
            const struct rval *v = &r->vals[row->val0 + j];
            const struct rfield *f = &r->fields[v->field];
            hv[j] = (struct tsdb__hval){ .field_id = f->fd->id, .type = f->type, .v = v->v };
        }
        pthread_mutex_t *mu = &st->stripes[s->id % TSDB__STRIPES];
        if (is_locked && mu != held) {
            if (held)
                pthread_mutex_unlock(held);
            pthread_mutex_lock(mu);
            held = mu;
        }
        grown += tsdb__head_upsert(&s->head, row->ts, lsn, hv, row->nvals);
    }
    if (held)
        pthread_mutex_unlock(held);
    free(hv);
    free(order);
    return grown;
}

static void job_release(struct tsdb__apply_job *job)
{
    if (atomic_fetch_sub(&job->refs, 1) != 1)
        return;
    rec_fini(job->rec);
    free(job->rec);
    free(job->payload);
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
        int64_t grown = apply_rows(job->st, job->rec, job->lsn, 1, 1, false);
        atomic_fetch_add(&job->db->head_bytes, grown);
        pthread_mutex_lock(&h->mu);
        h->head = job->next;
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
    job->next = NULL;
    if (h->tail)
        h->tail->next = job;
    else
        h->head = job;
    h->tail = job;
    h->queued++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

bool tsdb__helper_start(struct tsdb__apply_helper *h)
{
    memset(h, 0, sizeof *h);
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
                       uint64_t lsn, bool is_replay, struct tsdb__apply_helper *helper,
                       size_t *points, struct err *e)
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
    /* A big replayed record is shared with the helper thread, which may
     * still apply it after the caller's buffer (a mapped segment, the
     * decompression buffer) is gone: it is decoded from its own copy. */
    bool is_shared = helper && n >= TSDB__PARALLEL_MIN_BYTES;
    void *copy = NULL;
    if (is_shared) {
        copy = xmalloc(n);
        memcpy(copy, p, n);
        tsdb__dec_init(&d, (const uint8_t *)copy + (n - tsdb__dec_left(&d)), tsdb__dec_left(&d));
    }
    struct tsdb__rec *r = xcalloc(1, sizeof *r);
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
        rec_fini(r);
        free(r);
        free(copy);
        return rc;
    }
    *points = r->nrows;
    int64_t grown;
    if (is_shared) {
        /* The helper takes odd series ids, this thread even ones: each
         * series is applied by one thread, in record order. */
        struct tsdb__apply_job *job = xcalloc(1, sizeof *job);
        *job = (struct tsdb__apply_job){ .db = db, .st = st, .rec = r, .payload = copy, .lsn = lsn };
        atomic_init(&job->refs, 2);
        helper_push(helper, job);
        grown = apply_rows(st, r, lsn, 1, 0, false);
        job_release(job);
    } else {
        grown = apply_rows(st, r, lsn, 0, 0, !is_replay);
        rec_fini(r);
        free(r);
    }
    atomic_fetch_add(&db->head_bytes, grown);
    if (!is_replay)
        tsdb__update_gauges(db); /* replay publishes once, at the end of open */
    return 0;
}
