// SPDX-License-Identifier: MIT
/*
 * The store object: open (lock the directory, load the catalog, replay the
 * WAL, start the WAL writer), close, metrics, fault hooks, and the read API
 * (snapshots and index listings).
 *
 * Open sequence, each step undone on failure:
 *   1. mkdir <dir>, flock <dir>/LOCK (ERR_BUSY if held by another process);
 *   2. load <dir>/catalog (ERR_CORRUPT if it fails its checksum);
 *   3. replay <dir>/wal into the stores (tsdb__wal_replay);
 *   4. start the WAL writer thread; the store is open for writes and reads.
 *
 * Snapshots: a snapshot records the applied-LSN watermark (every batch with
 * an LSN at or below it is completely in the head).  Reading a series copies
 * the rows whose LSN is at or below the snapshot's under the series' stripe
 * lock, so a reader holds a lock only for one series at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

const char *tsdb_type_name(enum tsdb_type t)
{
    switch (t) {
    case TSDB_FLOAT:
        return "float";
    case TSDB_INT:
        return "integer";
    case TSDB_UINT:
        return "unsigned";
    case TSDB_BOOL:
        return "boolean";
    case TSDB_STRING:
        return "string";
    }
    return "unknown";
}

void tsdb__metric_add(struct metric *m, double v)
{
    if (m)
        metric_add(m, v);
}

void tsdb__metric_set(struct metric *m, double v)
{
    if (m)
        metric_set(m, v);
}

void tsdb__metric_observe(struct metric *m, double v)
{
    if (m)
        metric_observe(m, v);
}

void tsdb_opts_init(struct tsdb_opts *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    o->dir = dir;
    o->fsync_mode = TSDB_FSYNC_ALWAYS;
    o->fsync_interval_ns = 1000000000LL;
    o->wal_segment_bytes = 64u << 20;
    o->max_batch_bytes = 64u << 20;
    o->wal_compress_min_bytes = 4096;
}

void tsdb_fault_arm(struct tsdb *db, enum tsdb_fault_op op, uint64_t nth, bool persistent)
{
    if (op >= TSDB_FAULT_NOPS)
        return;
    atomic_store(&db->fio.is_persistent[op], persistent);
    atomic_store(&db->fio.fail_at[op], nth ? atomic_load(&db->fio.calls[op]) + nth : 0);
}

bool tsdb_is_failed(struct tsdb *db)
{
    return atomic_load(&db->wal.failed) != 0;
}

void tsdb__update_gauges(struct tsdb *db)
{
    tsdb__metric_set(db->m_head_series, (double)atomic_load(&db->head_series));
    tsdb__metric_set(db->m_head_bytes, (double)atomic_load(&db->head_bytes));
}

static void register_metrics(struct tsdb *db)
{
    struct metrics_registry *r = db->opts.metrics;
    if (!r)
        return;
    static const double fsync_buckets[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   1 };
    static const double group_buckets[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };
    db->wal.m_bytes = metrics_counter(r, "nightjar_wal_bytes_written_total",
                                      "Bytes written to the write-ahead log.");
    db->wal.m_fsyncs = metrics_counter(r, "nightjar_wal_fsyncs_total",
                                       "fdatasync calls on write-ahead log segments.");
    db->wal.m_fsync_secs =
        metrics_histogram(r, "nightjar_wal_fsync_duration_seconds",
                          "Duration of write-ahead log fdatasync calls.", fsync_buckets,
                          sizeof fsync_buckets / sizeof fsync_buckets[0]);
    db->wal.m_group = metrics_histogram(r, "nightjar_wal_group_commit_batches",
                                        "Batches made durable by one write-ahead log fsync.",
                                        group_buckets,
                                        sizeof group_buckets / sizeof group_buckets[0]);
    db->m_points = metrics_counter(r, "nightjar_points_stored_total",
                                   "Points applied to the head after a durable commit.");
    /* Plain gauges set after each applied batch (not callbacks), so the
     * registry never points into a closed store. */
    db->m_head_series = metrics_gauge(r, "nightjar_head_series", "Series in the in-memory head.");
    db->m_head_bytes =
        metrics_gauge(r, "nightjar_head_bytes", "Approximate bytes used by the in-memory head.");
    tsdb__update_gauges(db);
}

static void tsdb_free(struct tsdb *db)
{
    tsdb__wal_stop(db);
    tsdb__catalog_fini(db);
    free(db->wal.done);
    pthread_mutex_destroy(&db->wal.mu);
    pthread_mutex_destroy(&db->wal.amu);
    pthread_cond_destroy(&db->wal.cv_work);
    pthread_cond_destroy(&db->wal.cv_done);
    pthread_mutex_destroy(&db->cat_lock);
    if (db->lock_fd >= 0)
        close(db->lock_fd);
    free(db);
}

int tsdb_open(const struct tsdb_opts *o, struct tsdb **out, struct err *e)
{
    *out = NULL;
    struct tsdb_recovery_report scratch;
    struct tsdb_recovery_report *r = o->report ? o->report : &scratch;
    memset(r, 0, sizeof *r);
    if (!o->dir || !*o->dir)
        return err_set(e, ERR_INVAL, "tsdb: no data directory");
    if (o->read_only && o->repair)
        return err_set(e, ERR_INVAL, "tsdb: read_only and repair exclude each other");
    if (strlen(o->dir) >= TSDB__DIR_MAX)
        return err_set(e, ERR_INVAL, "tsdb: data directory path too long");
    struct tsdb *db = xcalloc(1, sizeof *db);
    db->opts = *o;
    db->opts.dir = NULL; /* borrowed string: use db->dir */
    db->opts.report = NULL;
    if (!db->opts.wal_segment_bytes)
        db->opts.wal_segment_bytes = 64u << 20;
    if (db->opts.wal_segment_bytes < 4096)
        db->opts.wal_segment_bytes = 4096;
    if (!db->opts.max_batch_bytes)
        db->opts.max_batch_bytes = 64u << 20;
    if (db->opts.fsync_interval_ns <= 0)
        db->opts.fsync_interval_ns = 1000000000LL;
    snprintf(db->dir, sizeof db->dir, "%s", o->dir);
    db->lock_fd = -1;
    db->wal.fd = -1;
    db->wal.seg_max = db->opts.wal_segment_bytes;
    db->wal.mode = db->opts.fsync_mode;
    db->wal.interval_ns = db->opts.fsync_interval_ns;
    pthread_mutex_init(&db->cat_lock, NULL);
    pthread_mutex_init(&db->wal.mu, NULL);
    pthread_mutex_init(&db->wal.amu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&db->wal.cv_work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&db->wal.cv_done, NULL);

    /* mkdir -p: parents first. */
    int rc = 0;
    for (char *c = db->dir + 1; *c && !rc && !o->read_only; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        rc = tsdb__f_mkdir(&db->fio, db->dir, e);
        *c = '/';
    }
    if (!o->read_only)
        rc = rc ? rc : tsdb__f_mkdir(&db->fio, db->dir, e);
    if (!rc) {
        char lp[TSDB__PATH_MAX];
        snprintf(lp, sizeof lp, "%s/LOCK", db->dir);
        rc = tsdb__f_open(&db->fio, lp, o->read_only ? O_RDONLY : O_RDWR | O_CREAT, 0644,
                          &db->lock_fd, e);
        if (!rc && flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0)
            rc = err_set(e, ERR_BUSY, "%s: locked by another process", lp);
    }
    if (!rc && !o->read_only) {
        char tmp[TSDB__PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s/catalog.tmp", db->dir);
        rc = tsdb__f_unlink(&db->fio, tmp, e);
    }
    rc = rc ? rc : tsdb__catalog_load(db, e);
    rc = rc ? rc : tsdb__wal_replay(db, &db->opts, r, e);
    if (!rc) {
        register_metrics(db);
        if (!o->read_only)
            rc = tsdb__wal_start(db, e);
    }
    if (rc) {
        tsdb_free(db);
        return rc;
    }
    *out = db;
    return 0;
}

void tsdb_close(struct tsdb **dbp)
{
    if (!dbp || !*dbp)
        return;
    tsdb_free(*dbp);
    *dbp = NULL;
}

/* ---- reading -------------------------------------------------------------- */

struct tsdb_snapshot {
    struct tsdb *db;
    uint64_t lsn;
};

struct tsdb_snapshot *tsdb_snapshot_new(struct tsdb *db)
{
    struct tsdb_snapshot *s = xcalloc(1, sizeof *s);
    s->db = db;
    s->lsn = atomic_load(&db->wal.applied);
    return s;
}

void tsdb_snapshot_free(struct tsdb_snapshot **s)
{
    if (!s || !*s)
        return;
    free(*s);
    *s = NULL;
}

static struct tsdb__store *find_store(struct tsdb *db, struct sv dbname, struct sv rpname,
                                      struct err *e)
{
    char q[96];
    pthread_mutex_lock(&db->cat_lock);
    struct tsdb__db *d = tsdb__catalog_find_db(db, dbname);
    struct tsdb__rp *rp = d ? tsdb__catalog_find_rp(d, rpname) : NULL;
    pthread_mutex_unlock(&db->cat_lock);
    if (!d)
        err_set(e, ERR_NOTFOUND, "database not found: \"%s\"",
                err_quote(q, sizeof q, dbname.p, dbname.n, 64));
    else if (!rp)
        err_set(e, ERR_NOTFOUND, "retention policy not found: %s",
                err_quote(q, sizeof q, rpname.p, rpname.n, 64));
    return rp ? rp->store : NULL;
}

struct scan_buf {
    int64_t *ts;
    union tsdb_value *vals;
    size_t cap;
    struct tsdb_field_points *fields;
    uint32_t *field_ids;
    size_t cap_fields;
    char *strs;
    size_t cap_strs;
};

static bool row_visible(const struct tsdb__head *h, size_t r, uint64_t lsn, int64_t lo, int64_t hi)
{
    return h->lsn[r] <= lsn && h->ts[r] >= lo && h->ts[r] <= hi;
}

/* Copies the visible part of s's head into sb (stripe lock held).  Returns
 * the number of fields with points. */
static size_t copy_series(struct tsdb__head *h, uint64_t lsn, int64_t lo, int64_t hi,
                          struct scan_buf *sb)
{
    size_t total = 0, str_bytes = 0;
    for (uint32_t c = 0; c < h->ncols; c++) {
        const struct tsdb__col *col = &h->cols[c];
        for (size_t r = 0; r < h->n; r++) {
            if (!col->present[r] || !row_visible(h, r, lsn, lo, hi))
                continue;
            total++;
            if (col->type == TSDB_STRING)
                str_bytes += col->v.s[r].n;
        }
    }
    if (total > sb->cap) {
        sb->cap = total * 2;
        sb->ts = xrealloc(sb->ts, sb->cap * sizeof *sb->ts);
        sb->vals = xrealloc(sb->vals, sb->cap * sizeof *sb->vals);
    }
    if (h->ncols > sb->cap_fields) {
        sb->cap_fields = h->ncols * 2;
        sb->fields = xrealloc(sb->fields, sb->cap_fields * sizeof *sb->fields);
        sb->field_ids = xrealloc(sb->field_ids, sb->cap_fields * sizeof *sb->field_ids);
    }
    if (str_bytes + 1 > sb->cap_strs) {
        sb->cap_strs = (str_bytes + 1) * 2;
        sb->strs = xrealloc(sb->strs, sb->cap_strs);
    }
    size_t at = 0, sat = 0, nf = 0;
    for (uint32_t c = 0; c < h->ncols; c++) {
        const struct tsdb__col *col = &h->cols[c];
        size_t start = at;
        for (size_t r = 0; r < h->n; r++) {
            if (!col->present[r] || !row_visible(h, r, lsn, lo, hi))
                continue;
            sb->ts[at] = h->ts[r];
            union tsdb_value *v = &sb->vals[at];
            switch (col->type) {
            case TSDB_FLOAT:
                memcpy(&v->f, &col->v.u[r], 8);
                break;
            case TSDB_INT:
                v->i = (int64_t)col->v.u[r];
                break;
            case TSDB_UINT:
                v->u = col->v.u[r];
                break;
            case TSDB_BOOL:
                v->b = col->v.u[r] != 0;
                break;
            case TSDB_STRING:
                if (col->v.s[r].n)
                    memcpy(sb->strs + sat, col->v.s[r].p, col->v.s[r].n);
                v->s = (struct sv){ sb->strs + sat, col->v.s[r].n };
                sat += col->v.s[r].n;
                break;
            }
            at++;
        }
        if (at == start)
            continue;
        sb->fields[nf] = (struct tsdb_field_points){
            .type = col->type, .n = at - start, .ts_ns = sb->ts + start, .values = sb->vals + start
        };
        sb->field_ids[nf] = col->field_id;
        nf++;
    }
    return nf;
}

int tsdb_snapshot_scan(struct tsdb_snapshot *snap, struct sv dbname, struct sv rpname,
                       struct sv measurement, int64_t min_ts, int64_t max_ts, tsdb_series_cb cb,
                       void *arg, struct err *e)
{
    struct tsdb__store *st = find_store(snap->db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    /* Take the id list under the read lock; series never go away. */
    uint64_t *ids = NULL;
    size_t nids = 0;
    pthread_rwlock_rdlock(&st->lock);
    if (measurement.n) {
        struct tsdb__meas *m = tsdb__meas_find(st, measurement);
        if (m && m->series.n) {
            nids = m->series.n;
            ids = xmalloc(nids * sizeof *ids);
            memcpy(ids, m->series.v, nids * sizeof *ids);
        }
    } else {
        ids = xmalloc((st->next_id ? st->next_id : 1) * sizeof *ids);
        for (uint64_t id = 1; id < st->next_id; id++)
            if (tsdb__series_get(st, id))
                ids[nids++] = id;
    }
    pthread_rwlock_unlock(&st->lock);

    struct scan_buf sb;
    memset(&sb, 0, sizeof sb);
    int rc = 0;
    for (size_t i = 0; i < nids && !rc; i++) {
        pthread_rwlock_rdlock(&st->lock);
        struct tsdb__series *s = tsdb__series_get(st, ids[i]);
        pthread_rwlock_unlock(&st->lock);
        pthread_mutex_t *mu = &st->stripes[s->id % TSDB__STRIPES];
        pthread_mutex_lock(mu);
        size_t nf = copy_series(&s->head, snap->lsn, min_ts, max_ts, &sb);
        pthread_mutex_unlock(mu);
        if (!nf)
            continue;
        pthread_rwlock_rdlock(&st->lock);
        for (size_t f = 0; f < nf; f++) {
            const struct tsdb__field *fd = s->meas->fieldv[sb.field_ids[f]];
            sb.fields[f].key = (struct sv){ fd->key, fd->key_n };
        }
        pthread_rwlock_unlock(&st->lock);
        struct tsdb_series_info info = { .id = s->id,
                                         .key = { s->key, s->key_n },
                                         .measurement = { s->meas->name, s->meas->n },
                                         .ntags = s->ntags,
                                         .tags = s->tags };
        rc = cb(arg, &info, nf, sb.fields);
    }
    free(ids);
    free(sb.ts);
    free(sb.vals);
    free(sb.fields);
    free(sb.field_ids);
    free(sb.strs);
    return rc;
}

static int cmp_sv(const void *a, const void *b)
{
    const struct sv *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

/* Sorts the keys of t and calls cb for each (read lock held by caller). */
static int visit_sorted(const struct htab *t, tsdb_name_cb cb, void *arg)
{
    struct sv *names = xmalloc((t->count ? t->count : 1) * sizeof *names);
    size_t n = 0, it = 0;
    const struct htab_entry *en;
    while (htab_next(t, &it, &en))
        names[n++] = en->key;
    qsort(names, n, sizeof *names, cmp_sv);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = cb(arg, names[i]);
    free(names);
    return rc;
}

static int meas_notfound(struct sv m, struct err *e)
{
    char q[96];
    return err_set(e, ERR_NOTFOUND, "measurement not found: \"%s\"",
                   err_quote(q, sizeof q, m.p, m.n, 64));
}

int tsdb_list_measurements(struct tsdb *db, struct sv dbname, struct sv rpname, tsdb_name_cb cb,
                           void *arg, struct err *e)
{
    struct tsdb__store *st = find_store(db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    pthread_rwlock_rdlock(&st->lock);
    int rc = visit_sorted(&st->meas, cb, arg);
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

int tsdb_list_tag_keys(struct tsdb *db, struct sv dbname, struct sv rpname, struct sv measurement,
                       tsdb_name_cb cb, void *arg, struct err *e)
{
    struct tsdb__store *st = find_store(db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    pthread_rwlock_rdlock(&st->lock);
    struct tsdb__meas *m = tsdb__meas_find(st, measurement);
    int rc = m ? visit_sorted(&m->tagkeys, cb, arg) : meas_notfound(measurement, e);
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

int tsdb_list_tag_values(struct tsdb *db, struct sv dbname, struct sv rpname,
                         struct sv measurement, struct sv tag_key, tsdb_name_cb cb, void *arg,
                         struct err *e)
{
    struct tsdb__store *st = find_store(db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    pthread_rwlock_rdlock(&st->lock);
    struct tsdb__meas *m = tsdb__meas_find(st, measurement);
    struct tsdb__tagkey *tk = m ? htab_find(&m->tagkeys, tag_key) : NULL;
    int rc = !m ? meas_notfound(measurement, e) : tk ? visit_sorted(&tk->vals, cb, arg) : 0;
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

struct field_sort {
    struct sv key;
    enum tsdb_type type;
};

static int cmp_field(const void *a, const void *b)
{
    return cmp_sv(&((const struct field_sort *)a)->key, &((const struct field_sort *)b)->key);
}

int tsdb_list_fields(struct tsdb *db, struct sv dbname, struct sv rpname, struct sv measurement,
                     tsdb_field_cb cb, void *arg, struct err *e)
{
    struct tsdb__store *st = find_store(db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    pthread_rwlock_rdlock(&st->lock);
    struct tsdb__meas *m = tsdb__meas_find(st, measurement);
    int rc = 0;
    if (!m) {
        rc = meas_notfound(measurement, e);
    } else {
        struct field_sort *fs = xmalloc((m->nfields ? m->nfields : 1) * sizeof *fs);
        for (uint32_t i = 0; i < m->nfields; i++)
            fs[i] = (struct field_sort){ { m->fieldv[i]->key, m->fieldv[i]->key_n },
                                         m->fieldv[i]->type };
        qsort(fs, m->nfields, sizeof *fs, cmp_field);
        for (uint32_t i = 0; i < m->nfields && !rc; i++)
            rc = cb(arg, fs[i].key, fs[i].type);
        free(fs);
    }
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

int tsdb_postings(struct tsdb *db, struct sv dbname, struct sv rpname, struct sv measurement,
                  struct sv tag_key, struct sv tag_value, uint64_t **ids, size_t *n,
                  struct err *e)
{
    *ids = NULL;
    *n = 0;
    struct tsdb__store *st = find_store(db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    pthread_rwlock_rdlock(&st->lock);
    struct tsdb__meas *m = tsdb__meas_find(st, measurement);
    struct tsdb__tagkey *tk = m ? htab_find(&m->tagkeys, tag_key) : NULL;
    struct tsdb__tagval *tv = tk ? htab_find(&tk->vals, tag_value) : NULL;
    if (tv && tv->ids.n) {
        *ids = xmalloc(tv->ids.n * sizeof **ids);
        memcpy(*ids, tv->ids.v, tv->ids.n * sizeof **ids);
        *n = tv->ids.n;
    }
    pthread_rwlock_unlock(&st->lock);
    return 0;
}
