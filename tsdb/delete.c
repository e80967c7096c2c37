// SPDX-License-Identifier: MIT
/*
 * DELETE, DROP SERIES and DROP MEASUREMENT (tsdb_delete): rewriting parts
 * without the deleted rows and taking series out of the index, crash-safely.
 *
 * Why a rewrite and not tombstones: parts are immutable and small (one
 * partition's flushes), deletes are rare, and a rewrite leaves nothing for
 * readers, compaction or replay to interpret.  The WAL record type 2 stays
 * reserved.
 *
 * Steps (tsdb_delete), with flush_mu held throughout, so flush, retention
 * and compaction publication wait:
 *   1. flush the head (tsdb__flush_locked): every acknowledged row is in a
 *      published part and CHECKPOINT lies past it, so WAL replay can never
 *      bring a deleted row back;
 *   2. per store, the matched series M (the caller's callback, under the
 *      index read lock);
 *   3. per partition overlapping the range: from the first part holding a
 *      matched block in the range to the last part, write a replacement
 *      (untouched blocks copied byte for byte, matched blocks decoded and
 *      re-encoded without the rows in the range; an emptied part has no
 *      replacement).  Later parts are rewritten too although they lose
 *      nothing, because a part's rank among overlapping parts is its
 *      position (seq order): a rewritten part keeps its relative order.
 *      Each file: <seq>-<level>.tsp.tmp, fdatasync, rename, fsync the
 *      directory (tsdb__f_replace);
 *   4. per partition: the MANIFEST listing the replacements (tmp, fsync,
 *      rename, fsync), then the new version is published; the replaced
 *      files are unlinked (snapshots that pinned them keep their mappings:
 *      an unlinked file stays readable through an existing mmap);
 *   5. the series R leaving the index (all of M for DROP SERIES; for
 *      DELETE those with no row left in any part and no unflushed head row,
 *      as influxd 1.6 removes emptied series): the store's series file
 *      without R (tmp, fsync, rename, fsync), and only then R out of the
 *      in-memory index, their head rows freed.  A measurement left without
 *      series leaves the index too, field types included.
 *
 * Crash at any point: before a MANIFEST is replaced its partition is
 * unchanged (new files are unlisted and deleted at open); after it the
 * partition is rewritten.  Before the series file is replaced the series
 * stay listed (their deleted rows are gone); after it they are gone.  The
 * in-memory index only changes after the file, so a key recreated live
 * always has an id above the file's next id.
 *
 * Commits running meanwhile: rows committed after step 1 stay in the head
 * and count as written after the delete; rows of a series in R count as
 * written before it: live commits skip series missing from the index
 * (wal_record.c) and replay skips ids below the series file's next id that
 * the file does not list (tsdb__series_is_dropped).
 *
 * Removed series and measurements are parked on the store's dead lists
 * until tsdb_close: batches in flight may hold pointers to them.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

/* Formats a path; the data directory is capped so that ours fit. */
__attribute__((format(printf, 3, 4))) static void pathf(char *out, size_t cap, const char *fmt,
                                                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

/* ---- id sets --------------------------------------------------------------------- */

struct idset {
    uint64_t *v; /* ascending */
    size_t n, cap;
};

static void idset_push(struct idset *s, uint64_t id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = id;
}

static bool idset_has(const struct idset *s, uint64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->v[lo] == id;
}

/* ---- index removal ---------------------------------------------------------------- */

bool tsdb__series_is_dropped(struct tsdb__store *st, uint64_t id)
{
    return id != 0 && id < st->file_next_id && !tsdb__series_get(st, id);
}

void tsdb__store_free_dead(struct tsdb__store *st)
{
    for (size_t i = 0; i < st->ndead_series; i++) {
        struct tsdb__series *s = st->dead_series[i];
        tsdb__head_fini(&s->head);
        free(s->key);
        free(s->tags);
        free(s->blob);
        free(s);
    }
    free(st->dead_series);
    st->dead_series = NULL;
    st->ndead_series = 0;
    for (size_t i = 0; i < st->ndead_meas; i++) {
        struct tsdb__meas *m = st->dead_meas[i];
        for (uint32_t f = 0; f < m->nfields; f++) {
            free(m->fieldv[f]->key);
            free(m->fieldv[f]);
        }
        free(m->fieldv);
        htab_fini(&m->fields);
        htab_fini(&m->tagkeys); /* emptied when its last series left */
        free(m->series.v);
        free(m->name);
        free(m);
    }
    free(st->dead_meas);
    st->dead_meas = NULL;
    st->ndead_meas = 0;
}

static void idvec_remove(struct tsdb__idvec *v, uint64_t id)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i] == id) {
            memmove(v->v + i, v->v + i + 1, (v->n - i - 1) * sizeof *v->v);
            v->n--;
            return;
        }
}

/* Takes s out of by_id, by_key, its postings and its measurement; parks it
 * (and, with drop_meas, its measurement when that is left empty: a
 * measurement emptied by DROP SERIES or DELETE keeps its field types, as in
 * influxd, and is only hidden from listings).  Store write lock held. */
static void index_remove(struct tsdb__store *st, struct tsdb__series *s, bool drop_meas)
{
    struct tsdb__meas *m = s->meas;
    st->by_id[s->id] = NULL;
    htab_del(&st->by_key, (struct sv){ s->key, s->key_n });
    idvec_remove(&m->series, s->id);
    for (size_t i = 0; i < s->ntags; i++) {
        struct tsdb__tagkey *tk = htab_find(&m->tagkeys, s->tags[i].key);
        struct tsdb__tagval *tv = tk ? htab_find(&tk->vals, s->tags[i].value) : NULL;
        if (!tv)
            continue;
        idvec_remove(&tv->ids, s->id);
        if (tv->ids.n == 0) {
            htab_del(&tk->vals, (struct sv){ tv->val, tv->n });
            free(tv->ids.v);
            free(tv->val);
            free(tv);
        }
        if (tk->vals.count == 0) {
            htab_del(&m->tagkeys, (struct sv){ tk->key, tk->n });
            htab_fini(&tk->vals);
            free(tk->key);
            free(tk);
        }
    }
    st->dead_series = xrealloc(st->dead_series, (st->ndead_series + 1) * sizeof *st->dead_series);
    st->dead_series[st->ndead_series++] = s;
    if (drop_meas && m->series.n == 0) {
        htab_del(&st->meas, (struct sv){ m->name, m->n });
        st->dead_meas = xrealloc(st->dead_meas, (st->ndead_meas + 1) * sizeof *st->dead_meas);
        st->dead_meas[st->ndead_meas++] = m;
    }
    atomic_fetch_sub(&st->db->head_series, 1);
}

/* ---- rewriting parts ---------------------------------------------------------------- */

/* One column of a decoded block, values per row. */
struct ccol {
    char *key;
    size_t key_n, key_cap;
    enum tsdb_type type;
    uint8_t present[CODEC_BLOCK_MAX];
    uint64_t u[CODEC_BLOCK_MAX];
    struct sv s[CODEC_BLOCK_MAX]; /* point into strs */
};

struct bcopy {
    size_t n;
    int64_t ts[CODEC_BLOCK_MAX];
    struct ccol **cols;
    size_t ncols, cap_cols;
    struct buf strs; /* string bytes of the block; s[].p are offsets until fixed up */
};

static int bcopy_col(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    struct bcopy *b = arg;
    b->n = nrows;
    memcpy(b->ts, ts, nrows * sizeof *ts);
    if (b->ncols == b->cap_cols) {
        b->cap_cols = b->cap_cols ? b->cap_cols * 2 : 8;
        b->cols = xrealloc(b->cols, b->cap_cols * sizeof *b->cols);
        memset(b->cols + b->ncols, 0, (b->cap_cols - b->ncols) * sizeof *b->cols);
    }
    if (!b->cols[b->ncols])
        b->cols[b->ncols] = xcalloc(1, sizeof **b->cols);
    struct ccol *c = b->cols[b->ncols++];
    if (col->key.n + 1 > c->key_cap) {
        c->key_cap = col->key.n + 1;
        c->key = xrealloc(c->key, c->key_cap);
    }
    if (col->key.n)
        memcpy(c->key, col->key.p, col->key.n);
    c->key_n = col->key.n;
    c->type = col->type;
    size_t k = 0;
    for (size_t r = 0; r < nrows; r++) {
        c->present[r] = col->present ? col->present[r] != 0 : 1;
        c->u[r] = 0;
        c->s[r] = (struct sv){ NULL, 0 };
        if (!c->present[r])
            continue;
        const union tsdb_value *v = &col->vals[k++];
        switch (c->type) {
        case TSDB_FLOAT:
            memcpy(&c->u[r], &v->f, 8);
            break;
        case TSDB_INT:
            c->u[r] = (uint64_t)v->i;
            break;
        case TSDB_UINT:
            c->u[r] = v->u;
            break;
        case TSDB_BOOL:
            c->u[r] = v->b ? 1 : 0;
            break;
        case TSDB_STRING:
            /* Offsets now; the buffer may move until the block is done. */
            c->s[r] = (struct sv){ (const char *)(uintptr_t)b->strs.len, v->s.n };
            if (v->s.n && buf_append(&b->strs, v->s.p, v->s.n) != 0)
                return ERR_NOMEM;
            break;
        }
    }
    return 0;
}

/* Appends a stored block unchanged (blocks carry no offsets). */
static int pw_copy_block(struct tsdb__pw *w, const struct tsdb__part *pt, const struct tsdb__bent *be,
                         struct err *e)
{
    uint64_t off = w->out.len;
    int rc = buf_append(&w->out, pt->map + be->off, be->len);
    rc = rc ? rc : tsdb__put_uvarint(&w->idx, be->sid);
    rc = rc ? rc : tsdb__put_u64(&w->idx, (uint64_t)be->min_ts);
    rc = rc ? rc : tsdb__put_u64(&w->idx, (uint64_t)be->max_ts);
    rc = rc ? rc : tsdb__put_uvarint(&w->idx, off);
    rc = rc ? rc : tsdb__put_uvarint(&w->idx, be->len);
    rc = rc ? rc : tsdb__put_uvarint(&w->idx, be->nrows);
    if (rc)
        return err_set(e, rc, "%s: out of memory", pt->rel);
    w->nblocks++;
    w->rows += be->nrows;
    if (be->min_ts < w->min_ts)
        w->min_ts = be->min_ts;
    if (be->max_ts > w->max_ts)
        w->max_ts = be->max_ts;
    return 0;
}

struct rewriter {
    struct codec_ctx *cc;
    struct tsdb__bscratch *sc;
    struct bcopy bc;
    struct tsdb__pcol *pcols;
    size_t cap_pcols;
};

static void rewriter_fini(struct rewriter *rw)
{
    codec_ctx_free(rw->cc);
    free(rw->sc);
    for (size_t i = 0; i < rw->bc.cap_cols; i++)
        if (rw->bc.cols[i]) {
            free(rw->bc.cols[i]->key);
            free(rw->bc.cols[i]);
        }
    free(rw->bc.cols);
    buf_fini(&rw->bc.strs);
    free(rw->pcols);
}

/* Re-encodes block be of pt without its rows in [lo, hi]. */
static int rewrite_block(struct rewriter *rw, struct tsdb__pw *w, const struct tsdb__part *pt,
                         const struct tsdb__bent *be, int64_t lo, int64_t hi, uint64_t *deleted,
                         struct err *e)
{
    struct bcopy *b = &rw->bc;
    b->n = 0;
    b->ncols = 0;
    buf_reset(&b->strs);
    int rc = tsdb__block_read(rw->cc, rw->sc, pt->map + be->off, be->len, pt->rel, be->off,
                              bcopy_col, b, e);
    if (rc == ERR_NOMEM)
        return err_set(e, rc, "%s: out of memory", pt->rel);
    if (rc)
        return rc;
    for (size_t c = 0; c < b->ncols; c++)
        if (b->cols[c]->type == TSDB_STRING)
            for (size_t r = 0; r < b->n; r++)
                if (b->cols[c]->present[r])
                    b->cols[c]->s[r].p = b->strs.p + (uintptr_t)b->cols[c]->s[r].p;
    size_t keep = 0;
    for (size_t r = 0; r < b->n; r++) {
        if (b->ts[r] >= lo && b->ts[r] <= hi)
            continue;
        b->ts[keep] = b->ts[r];
        for (size_t c = 0; c < b->ncols; c++) {
            struct ccol *cc = b->cols[c];
            cc->present[keep] = cc->present[r];
            cc->u[keep] = cc->u[r];
            cc->s[keep] = cc->s[r];
        }
        keep++;
    }
    *deleted += b->n - keep;
    if (!keep)
        return 0;
    if (b->ncols > rw->cap_pcols) {
        rw->cap_pcols = b->ncols;
        rw->pcols = xrealloc(rw->pcols, rw->cap_pcols * sizeof *rw->pcols);
    }
    for (size_t c = 0; c < b->ncols; c++)
        rw->pcols[c] = (struct tsdb__pcol){ .key = { b->cols[c]->key, b->cols[c]->key_n },
                                            .type = b->cols[c]->type,
                                            .present = b->cols[c]->present,
                                            .u = b->cols[c]->u,
                                            .s = b->cols[c]->s };
    return tsdb__pw_add(w, be->sid, b->ts, keep, rw->pcols, b->ncols, e);
}

static bool hits(const struct tsdb__bent *be, const struct idset *m, int64_t lo, int64_t hi)
{
    return be->max_ts >= lo && be->min_ts <= hi && idset_has(m, be->sid);
}

static bool part_hit(const struct tsdb__part *pt, const struct idset *m, int64_t lo, int64_t hi)
{
    if (pt->info.max_ts < lo || pt->info.min_ts > hi)
        return false;
    for (size_t i = 0; i < pt->info.nents; i++)
        if (hits(&pt->info.ents[i], m, lo, hi))
            return true;
    return false;
}

/* Writes the replacement of pt into pa (published only by the MANIFEST);
 * *made stays NULL when nothing is left of it. */
static int rewrite_part(struct tsdb *db, struct rewriter *rw, struct tsdb__partition *pa,
                        const struct tsdb__part *pt, const struct idset *m, int64_t lo, int64_t hi,
                        struct tsdb__part **made, uint64_t *deleted, struct err *e)
{
    *made = NULL;
    /* The replacement keeps pt's layout (version and, in version 4, field
     * table and time base): untouched blocks are copied byte for byte. */
    struct tsdb__pw w;
    int rc = tsdb__pw_init_like(&w, pt);
    if (rc) {
        tsdb__pw_fini(&w);
        return err_set(e, rc, "%s: out of memory", pa->rel);
    }
    for (size_t i = 0; i < pt->info.nents && !rc; i++) {
        const struct tsdb__bent *be = &pt->info.ents[i];
        if (hits(be, m, lo, hi))
            rc = rewrite_block(rw, &w, pt, be, lo, hi, deleted, e);
        else
            rc = pw_copy_block(&w, pt, be, e);
    }
    if (rc || w.nblocks == 0) {
        tsdb__pw_fini(&w);
        return rc;
    }
    rc = tsdb__pw_finish(&w, pt->info.max_lsn, e);
    uint64_t seq = pa->next_seq++;
    char fn[64], fp[TSDB__PATH_MAX], fr[160];
    tsdb__part_name(fn, sizeof fn, seq, pt->level);
    pathf(fp, sizeof fp, "%s/%s", pa->dir, fn);
    pathf(fr, sizeof fr, "%s/%s", pa->rel, fn);
    rc = rc ? rc : tsdb__f_replace(&db->fio, pa->dir, fn, w.out.p, w.out.len, e);
    tsdb__pw_fini(&w);
    rc = rc ? rc : tsdb__part_open(fp, fr, made, e);
    if (!rc) {
        (*made)->seq = seq;
        (*made)->level = pt->level;
    }
    return rc;
}

static void unlink_part(struct tsdb *db, const struct tsdb__part *pt)
{
    char p[TSDB__PATH_MAX];
    pathf(p, sizeof p, "%s/%s", db->dir, pt->rel);
    struct err ig;
    (void)tsdb__f_unlink(&db->fio, p, &ig); /* a leftover is deleted at open */
}

/* The rewrite of one partition: its parts from the first hit on. */
struct pplan {
    struct tsdb__partition *pa;
    size_t first;               /* parts[first..] are replaced */
    struct tsdb__part **made;   /* replacements, NULL where emptied */
    size_t nmade;
};

/* Drops the replacements; with is_unlink their files go too (not when a
 * MANIFEST listing them may have reached the disk). */
static void plan_discard(struct tsdb *db, struct pplan *p, bool is_unlink)
{
    for (size_t i = 0; i < p->nmade; i++)
        if (p->made[i]) {
            if (is_unlink)
                unlink_part(db, p->made[i]);
            tsdb__part_unref(p->made[i]);
        }
    free(p->made);
    p->made = NULL;
    p->nmade = 0;
}

/* Swaps the replacements into pa and writes its MANIFEST; on failure pa is
 * restored.  On success the replaced parts are returned in *old (one ref
 * each) for the caller to unlink after publishing. */
static int plan_commit(struct tsdb *db, struct pplan *p, struct tsdb__part ***old, size_t *nold,
                       struct err *e)
{
    struct tsdb__partition *pa = p->pa;
    size_t nkeep = p->first, nnew = 0;
    for (size_t i = 0; i < p->nmade; i++)
        nnew += p->made[i] != NULL;
    struct tsdb__part **saved = pa->parts;
    size_t nsaved = pa->nparts;
    struct tsdb__part **np = xcalloc(nkeep + nnew + 1, sizeof *np);
    memcpy(np, saved, nkeep * sizeof *np);
    size_t k = nkeep;
    for (size_t i = 0; i < p->nmade; i++)
        if (p->made[i])
            np[k++] = p->made[i];
    pa->parts = np;
    pa->nparts = k;
    int rc = tsdb__manifest_write(db, pa, e);
    if (rc) {
        /* The old list stays in force in memory.  On disk the MANIFEST is
         * the old or (a failure after its rename) the new one, so neither
         * set of files is removed: both lists open.  The next flush or
         * delete of the partition writes the MANIFEST from memory again;
         * unlisted files are deleted at open. */
        pa->parts = saved;
        pa->nparts = nsaved;
        free(np);
        plan_discard(db, p, false);
        return rc;
    }
    /* pa now owns the replacements' refs (made[] handed them over). */
    free(p->made);
    p->made = NULL;
    p->nmade = 0;
    *old = xrealloc(*old, (*nold + nsaved - nkeep + 1) * sizeof **old);
    for (size_t i = nkeep; i < nsaved; i++)
        (*old)[(*nold)++] = saved[i];
    free(saved);
    return 0;
}

/* ---- one store ------------------------------------------------------------------------- */

struct skip_arg {
    struct tsdb__store *st;
    const struct idset *r;
    bool drop_meas;
};

/* Series in r; with drop_meas, measurements all of whose series are in r. */
static bool skip_removed(void *arg, const struct tsdb__series *s, const struct tsdb__meas *m)
{
    struct skip_arg *a = arg;
    if (s)
        return idset_has(a->r, s->id);
    if (!a->drop_meas || !m->series.n)
        return false;
    for (size_t i = 0; i < m->series.n; i++)
        if (!idset_has(a->r, m->series.v[i]))
            return false;
    return true;
}

/* Whether any live part of the store still holds a row of sid. */
static bool has_rows(struct tsdb *db, const struct tsdb__store *st, uint64_t sid)
{
    for (size_t i = 0; i < db->npartitions; i++) {
        const struct tsdb__partition *pa = db->partitions[i];
        if (pa->db_id != st->db_id || pa->rp_id != st->rp_id)
            continue;
        for (size_t k = 0; k < pa->nparts; k++) {
            const struct tsdb__part *pt = pa->parts[k];
            size_t b = tsdb__part_find(pt, sid);
            if (b < pt->info.nents && pt->info.ents[b].sid == sid)
                return true;
        }
    }
    return false;
}

static void restore_series_file(struct tsdb *db, struct tsdb__store *st, const char *dir)
{
    struct buf out;
    buf_init(&out, 0);
    struct err re;
    pthread_rwlock_rdlock(&st->lock);
    int rc = tsdb__series_encode(st, NULL, NULL, &out);
    pthread_rwlock_unlock(&st->lock);
    rc = rc ? err_set(&re, rc, "series table: out of memory")
            : tsdb__f_replace(&db->fio, dir, "series", out.p, out.len, &re);
    buf_fini(&out);
    if (!rc)
        return;
    pthread_mutex_lock(&db->wal.mu);
    if (!atomic_load(&db->wal.failed)) {
        snprintf(db->wal.failed_msg, sizeof db->wal.failed_msg, "%s", re.msg);
        atomic_store(&db->wal.failed, ERR_IO);
    }
    pthread_mutex_unlock(&db->wal.mu);
}

static int ensure_store_dir(struct tsdb *db, const struct tsdb__store *st, char *dir, size_t n,
                            struct err *e)
{
    char up[TSDB__PATH_MAX];
    pathf(up, sizeof up, "%s/db", db->dir);
    int rc = tsdb__f_mkdir(&db->fio, up, e);
    pathf(up, sizeof up, "%s/db/%" PRIu64, db->dir, st->db_id);
    rc = rc ? rc : tsdb__f_mkdir(&db->fio, up, e);
    pathf(dir, n, "%s/db/%" PRIu64 "/%" PRIu64, db->dir, st->db_id, st->rp_id);
    rc = rc ? rc : tsdb__f_mkdir(&db->fio, dir, e);
    return rc ? rc : tsdb__f_fsync_dir(&db->fio, up, e);
}

/* Step 2 for one store: the matched series, ascending. */
static int match_store(struct tsdb__store *st, const struct tsdb_delete_req *req, struct idset *m)
{
    int rc = 0;
    pthread_rwlock_rdlock(&st->lock);
    for (uint64_t id = 1; id < st->next_id && rc >= 0; id++) {
        struct tsdb__series *s = tsdb__series_get(st, id);
        if (!s)
            continue;
        struct tsdb_series_info info = { .id = s->id,
                                         .key = { s->key, s->key_n },
                                         .measurement = { s->meas->name, s->meas->n },
                                         .ntags = s->ntags,
                                         .tags = s->tags };
        rc = req->match(req->arg, st->rp_id, &info);
        if (rc > 0)
            idset_push(m, id);
    }
    pthread_rwlock_unlock(&st->lock);
    return rc < 0 ? rc : 0;
}

/* Steps 3-5 for one store and its matched series m (freed here). */
static int delete_store(struct tsdb *db, struct tsdb__store *st, const struct tsdb_delete_req *req,
                        struct idset m, struct tsdb_delete_stats *stats, struct err *e)
{
    if (!m.n)
        return 0;
    stats->series_matched += m.n;
    int64_t lo = req->drop_series ? INT64_MIN : req->min_ts;
    int64_t hi = req->drop_series ? INT64_MAX : req->max_ts;

    /* 3. Replacement parts, written but not yet listed. */
    struct rewriter rw;
    memset(&rw, 0, sizeof rw);
    buf_init(&rw.bc.strs, 0);
    rw.cc = codec_ctx_new();
    rw.sc = xmalloc(sizeof *rw.sc);
    int rc = rw.cc ? 0 : err_set(e, ERR_NOMEM, "delete: out of memory");
    struct pplan *plans = NULL;
    size_t nplans = 0;
    uint64_t deleted = 0;
    for (size_t i = 0; i < db->npartitions && !rc; i++) {
        struct tsdb__partition *pa = db->partitions[i];
        if (pa->db_id != st->db_id || pa->rp_id != st->rp_id || pa->end <= lo || pa->start > hi)
            continue;
        size_t first = pa->nparts;
        for (size_t k = 0; k < pa->nparts && first == pa->nparts; k++)
            if (part_hit(pa->parts[k], &m, lo, hi))
                first = k;
        if (first == pa->nparts)
            continue;
        plans = xrealloc(plans, (nplans + 1) * sizeof *plans);
        struct pplan *p = &plans[nplans++];
        *p = (struct pplan){ .pa = pa, .first = first };
        p->made = xcalloc(pa->nparts - first, sizeof *p->made);
        for (size_t k = first; k < pa->nparts && !rc; k++) {
            rc = rewrite_part(db, &rw, pa, pa->parts[k], &m, lo, hi, &p->made[p->nmade], &deleted,
                              e);
            p->nmade++;
        }
    }
    rewriter_fini(&rw);
    if (rc) {
        for (size_t i = 0; i < nplans; i++)
            plan_discard(db, &plans[i], true);
        free(plans);
        free(m.v);
        return rc;
    }

    /* 4. MANIFESTs, then one new version; replaced files go. */
    struct tsdb__part **old = NULL;
    size_t nold = 0;
    size_t done = 0;
    for (; done < nplans && !rc; done++)
        rc = plan_commit(db, &plans[done], &old, &nold, e);
    for (size_t i = done; i < nplans; i++)
        plan_discard(db, &plans[i], true);
    free(plans);
    if (nold) {
        uint64_t gen = db->gen_next++;
        db->gen_published = gen;
        tsdb__publish(db, gen);
        stats->parts_rewritten += nold;
        stats->rows_deleted += deleted;
    }
    for (size_t i = 0; i < nold; i++) {
        unlink_part(db, old[i]);
        tsdb__part_unref(old[i]);
    }
    free(old);
    if (rc) {
        free(m.v);
        return rc;
    }

    /* 5. Series leaving the index: the series file first, then memory. */
    struct idset r = { 0 };
    for (size_t i = 0; i < m.n; i++) {
        bool is_empty = req->drop_series;
        if (!is_empty && !has_rows(db, st, m.v[i])) {
            pthread_rwlock_rdlock(&st->lock);
            struct tsdb__series *s = tsdb__series_get(st, m.v[i]);
            pthread_rwlock_unlock(&st->lock);
            pthread_mutex_t *mu = &st->stripes[m.v[i] % TSDB__STRIPES];
            pthread_mutex_lock(mu);
            is_empty = true;
            for (size_t k = 0; s && k < s->head.n && is_empty; k++) {
                uint64_t g = tsdb__head_fgen(&s->head, k);
                is_empty = g != 0 && g <= db->gen_published;
            }
            pthread_mutex_unlock(mu);
        }
        if (is_empty)
            idset_push(&r, m.v[i]);
    }
    free(m.v);
    if (!r.n)
        return 0;
    char dir[TSDB__PATH_MAX];
    rc = ensure_store_dir(db, st, dir, sizeof dir, e);
    if (!rc) {
        struct buf out;
        buf_init(&out, 0);
        struct skip_arg sa = { st, &r, req->drop_measurement };
        pthread_rwlock_rdlock(&st->lock);
        rc = tsdb__series_encode(st, skip_removed, &sa, &out);
        pthread_rwlock_unlock(&st->lock);
        rc = rc ? err_set(e, rc, "series table: out of memory")
                : tsdb__f_replace(&db->fio, dir, "series", out.p, out.len, e);
        buf_fini(&out);
    }
    if (rc) {
        /* The file on disk may be the new one (a failure after its rename):
         * put the old contents back, or stop acknowledging writes (as a WAL
         * fsync failure does), since replay would skip rows of R. */
        restore_series_file(db, st, dir);
        free(r.v);
        return rc;
    }
    int64_t freed = 0;
    pthread_rwlock_wrlock(&st->lock);
    for (size_t i = 0; i < r.n; i++) {
        struct tsdb__series *s = tsdb__series_get(st, r.v[i]);
        if (!s)
            continue;
        pthread_mutex_t *mu = &st->stripes[s->id % TSDB__STRIPES];
        pthread_mutex_lock(mu);
        freed += tsdb__head_clear(&s->head);
        pthread_mutex_unlock(mu);
        index_remove(st, s, req->drop_measurement);
        stats->series_removed++;
    }
    pthread_rwlock_unlock(&st->lock);
    atomic_fetch_sub(&db->head_bytes, freed);
    free(r.v);
    return 0;
}

/* ---- entry point ------------------------------------------------------------------------- */

int tsdb_delete(struct tsdb *db, const struct tsdb_delete_req *req, struct tsdb_delete_stats *out,
                struct err *e)
{
    struct tsdb_delete_stats stats;
    memset(&stats, 0, sizeof stats);
    if (out)
        *out = stats;
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "tsdb: store is read-only");
    if (!req->match || (!req->drop_series && req->min_ts > req->max_ts))
        return 0;
    pthread_mutex_lock(&db->flush_mu);
    /* 1. Every acknowledged row into parts, CHECKPOINT past them. */
    int rc = tsdb__flush_locked(db, e);
    if (rc) {
        pthread_mutex_unlock(&db->flush_mu);
        return rc;
    }
    /* The stores (a concurrent drop waits for flush_mu, so they stay). */
    struct tsdb__store **sts = NULL;
    size_t nst = 0;
    pthread_mutex_lock(&db->cat_lock);
    struct tsdb__db *d = tsdb__catalog_find_db(db, req->dbname);
    if (!d) {
        rc = err_set(e, ERR_NOTFOUND, "database not found: %.*s", SV_FMT(req->dbname));
    } else {
        for (size_t i = 0; i < d->nrps; i++) {
            struct tsdb__rp *rp = d->rps[i];
            if (req->rpname.n && !sv_eq((struct sv){ rp->name, rp->name_n }, req->rpname))
                continue;
            sts = xrealloc(sts, (nst + 1) * sizeof *sts);
            sts[nst++] = rp->store;
        }
        if (req->rpname.n && !nst)
            rc = err_set(e, ERR_NOTFOUND, "retention policy not found: %.*s",
                         SV_FMT(req->rpname));
    }
    pthread_mutex_unlock(&db->cat_lock);
    /* 2. Every store's matches before anything changes. */
    struct idset *ms = xcalloc(nst ? nst : 1, sizeof *ms);
    for (size_t i = 0; i < nst && !rc; i++)
        if (!atomic_load(&sts[i]->is_dropped))
            rc = match_store(sts[i], req, &ms[i]);
    for (size_t i = 0; i < nst; i++) {
        if (!rc)
            rc = delete_store(db, sts[i], req, ms[i], &stats, e);
        else
            free(ms[i].v);
    }
    free(ms);
    pthread_mutex_unlock(&db->flush_mu);
    free(sts);
    tsdb__update_gauges(db);
    if (out)
        *out = stats;
    return rc;
}
