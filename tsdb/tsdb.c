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
#include <inttypes.h>
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
    tsdb__compact_fini(db);
    tsdb__wal_stop(db);
    tsdb__storage_fini(db);
    tsdb__catalog_fini(db);
    free(db->wal.done);
    tsdb__rec_pool_fini(db);
    tsdb__zscratch_pool_fini(db);
    tsdb__batch_pool_fini(db);
    pthread_mutex_destroy(&db->wal.mu);
    pthread_mutex_destroy(&db->wal.amu);
    pthread_mutex_destroy(&db->wal.rec_mu);
    pthread_cond_destroy(&db->wal.cv_work);
    pthread_cond_destroy(&db->wal.cv_done);
    pthread_mutex_destroy(&db->cat_lock);
    if (db->has_storage_locks) {
        pthread_mutex_destroy(&db->flush_mu);
        pthread_mutex_destroy(&db->ver_mu);
        pthread_rwlock_destroy(&db->apply_lock);
    }
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
    if (!db->opts.flush_head_bytes)
        db->opts.flush_head_bytes = 32u << 20;
    if (db->opts.flush_age_ns <= 0)
        db->opts.flush_age_ns = 30LL * 60 * 1000000000LL;
    db->last_flush_ns = INT64_MIN;
    snprintf(db->dir, sizeof db->dir, "%s", o->dir);
    db->lock_fd = -1;
    db->wal.fd = -1;
    db->wal.seg_max = db->opts.wal_segment_bytes;
    db->wal.mode = db->opts.fsync_mode;
    db->wal.interval_ns = db->opts.fsync_interval_ns;
    pthread_mutex_init(&db->cat_lock, NULL);
    pthread_mutex_init(&db->wal.mu, NULL);
    pthread_mutex_init(&db->wal.amu, NULL);
    pthread_mutex_init(&db->wal.rec_mu, NULL);
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
    rc = rc ? rc : tsdb__storage_open(db, e);
    rc = rc ? rc : tsdb__wal_replay(db, &db->opts, r, e);
    if (!rc) {
        register_metrics(db);
        tsdb__compact_init(db);
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

/* A snapshot pins the part list (version) and the applied watermark.  The
 * version is taken first: a flush publishes its parts only after they are
 * durable, and its head rows stay readable to snapshots of older versions
 * until those are freed (head.fgen), so head + parts never miss or double a
 * row. */
struct tsdb_snapshot {
    struct tsdb *db;
    uint64_t lsn;
    struct tsdb__version *ver;
};

struct tsdb_snapshot *tsdb_snapshot_new(struct tsdb *db)
{
    struct tsdb_snapshot *s = xcalloc(1, sizeof *s);
    s->db = db;
    s->ver = tsdb__version_pin(db);
    s->lsn = atomic_load(&db->wal.applied);
    return s;
}

void tsdb_snapshot_free(struct tsdb_snapshot **s)
{
    if (!s || !*s)
        return;
    tsdb__version_unpin((*s)->db, (*s)->ver);
    free(*s);
    *s = NULL;
}

/* Decoder scratch: a codec context (zstd contexts and two 64 KiB payload
 * buffers) and the block scratch, about 0.45 MiB together.  Readers take a
 * pair from this small process-wide pool and give it back when they are
 * freed, so a small query neither creates zstd contexts nor faults in
 * fresh pages (both were a measurable part of a one-series query).  The
 * pool keeps at most SCRATCH_POOL_MAX pairs; the contexts hold no state
 * between block reads. */
#define SCRATCH_POOL_MAX 4

static pthread_mutex_t scratch_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    struct codec_ctx *cc;
    struct tsdb__bscratch *sc;
} scratch_pool[SCRATCH_POOL_MAX];
static size_t nscratch_pool;

/* Sets *cc and *sc to a pooled or new pair; ERR_NOMEM when none can be made. */
static int scratch_take(struct codec_ctx **cc, struct tsdb__bscratch **sc)
{
    pthread_mutex_lock(&scratch_mu);
    if (nscratch_pool) {
        nscratch_pool--;
        *cc = scratch_pool[nscratch_pool].cc;
        *sc = scratch_pool[nscratch_pool].sc;
        pthread_mutex_unlock(&scratch_mu);
        return 0;
    }
    pthread_mutex_unlock(&scratch_mu);
    *cc = codec_ctx_new();
    *sc = *cc ? malloc(sizeof **sc) : NULL;
    if (!*sc) {
        codec_ctx_free(*cc);
        *cc = NULL;
        return ERR_NOMEM;
    }
    return 0;
}

/* Returns a pair to the pool (or frees it when the pool is full). */
static void scratch_give(struct codec_ctx *cc, struct tsdb__bscratch *sc)
{
    if (!cc || !sc) {
        codec_ctx_free(cc);
        free(sc);
        return;
    }
    pthread_mutex_lock(&scratch_mu);
    if (nscratch_pool < SCRATCH_POOL_MAX) {
        scratch_pool[nscratch_pool].cc = cc;
        scratch_pool[nscratch_pool].sc = sc;
        nscratch_pool++;
        cc = NULL;
    }
    pthread_mutex_unlock(&scratch_mu);
    if (cc) {
        codec_ctx_free(cc);
        free(sc);
    }
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

static bool row_visible(const struct tsdb__head *h, size_t r, uint64_t lsn, uint64_t gen,
                        int64_t lo, int64_t hi)
{
    int64_t ts = tsdb__head_ts(h, r);
    uint64_t g = tsdb__head_fgen(h, r);
    return tsdb__head_lsn(h, r) <= lsn && ts >= lo && ts <= hi && !(g && g <= gen);
}

/* Copies the visible part of s's head into sb (stripe lock held).  Returns
 * the number of fields with points. */
static size_t copy_series(struct tsdb__head *h, uint64_t lsn, uint64_t gen, int64_t lo,
                          int64_t hi, struct scan_buf *sb)
{
    size_t total = 0, str_bytes = 0;
    for (uint32_t c = 0; c < h->ncols; c++) {
        const struct tsdb__col *col = &h->cols[c];
        for (size_t r = 0; r < h->n; r++) {
            if (!tsdb__col_has(h, c, r) || !row_visible(h, r, lsn, gen, lo, hi))
                continue;
            total++;
            if (col->type == TSDB_STRING)
                str_bytes += tsdb__col_s(h, c, r).n;
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
            if (!tsdb__col_has(h, c, r) || !row_visible(h, r, lsn, gen, lo, hi))
                continue;
            sb->ts[at] = tsdb__head_ts(h, r);
            union tsdb_value *v = &sb->vals[at];
            if (col->type == TSDB_STRING) {
                struct sv hs = tsdb__col_s(h, c, r);
                if (hs.n)
                    memcpy(sb->strs + sat, hs.p, hs.n);
                v->s = (struct sv){ sb->strs + sat, hs.n };
                sat += hs.n;
            } else {
                uint64_t u = tsdb__col_u(h, c, r);
                switch (col->type) {
                case TSDB_FLOAT:
                    memcpy(&v->f, &u, 8);
                    break;
                case TSDB_INT:
                    v->i = (int64_t)u;
                    break;
                case TSDB_BOOL:
                    v->b = u != 0;
                    break;
                default:
                    v->u = u;
                    break;
                }
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

static int cmp_sv(const void *a, const void *b);

/* ---- merging head and parts ------------------------------------------------ */

/* One field value from some source; rank orders sources (later part wins,
 * the head wins over every part). */
struct ment {
    int64_t ts;
    uint32_t rank;
    uint32_t slot;
    union tsdb_value v; /* strings: v.s.p holds an offset into merge_buf.strs */
};

struct merge_buf {
    struct ment *e;
    size_t n, cap;
    struct sv *keys;
    enum tsdb_type *types;
    size_t nslots, cap_slots;
    struct buf strs;
    int64_t *ts;
    union tsdb_value *vals;
    size_t cap_out;
    struct tsdb_field_points *fields;
    size_t cap_fields;
    struct codec_ctx *cc;
    struct tsdb__bscratch *sc;
    struct ment *tmp; /* merge scratch, cap entries */
    size_t *runs;     /* run starts of one slot's range */
    size_t cap_runs;
    const struct sv *only; /* read only this field of part blocks (NULL: all) */
    /* current block being read */
    uint32_t rank;
    int64_t lo, hi;
    int oom;
};

static uint32_t slot_of(struct merge_buf *m, struct sv key, enum tsdb_type type)
{
    for (size_t i = 0; i < m->nslots; i++)
        if (m->keys[i].n == key.n && !memcmp(m->keys[i].p, key.p, key.n))
            return (uint32_t)i;
    if (m->nslots == m->cap_slots) {
        m->cap_slots = m->cap_slots ? m->cap_slots * 2 : 8;
        m->keys = xrealloc(m->keys, m->cap_slots * sizeof *m->keys);
        m->types = xrealloc(m->types, m->cap_slots * sizeof *m->types);
    }
    m->keys[m->nslots] = key;
    m->types[m->nslots] = type;
    return (uint32_t)m->nslots++;
}

static void ment_push(struct merge_buf *m, int64_t ts, uint32_t slot, enum tsdb_type type,
                      const union tsdb_value *v)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->e = xrealloc(m->e, m->cap * sizeof *m->e);
        m->tmp = xrealloc(m->tmp, m->cap * sizeof *m->tmp);
    }
    struct ment *x = &m->e[m->n++];
    x->ts = ts;
    x->rank = m->rank;
    x->slot = slot;
    x->v = *v;
    if (type == TSDB_STRING) {
        size_t off = m->strs.len;
        if (v->s.n && buf_append(&m->strs, v->s.p, v->s.n) != 0)
            m->oom = 1;
        x->v.s.p = (const char *)(uintptr_t)off;
    }
}

static int on_block_col(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    struct merge_buf *m = arg;
    if (m->only && !sv_eq(col->key, *m->only))
        return 0;
    uint32_t slot = slot_of(m, col->key, col->type);
    size_t k = 0;
    for (size_t r = 0; r < nrows; r++) {
        if (col->present && !col->present[r])
            continue;
        if (ts[r] >= m->lo && ts[r] <= m->hi)
            ment_push(m, ts[r], slot, col->type, &col->vals[k]);
        k++;
    }
    return 0;
}

struct slot_order {
    struct sv key;
    enum tsdb_type type;
    uint32_t old;
};

static int cmp_slot(const void *a, const void *b)
{
    return cmp_sv(&((const struct slot_order *)a)->key, &((const struct slot_order *)b)->key);
}

/* Renumbers slots in key order, so the output lists fields sorted by key. */
static void order_slots(struct merge_buf *m)
{
    struct slot_order *so = xmalloc(m->nslots * sizeof *so);
    uint32_t *map = xmalloc(m->nslots * sizeof *map);
    for (size_t i = 0; i < m->nslots; i++)
        so[i] = (struct slot_order){ m->keys[i], m->types[i], (uint32_t)i };
    qsort(so, m->nslots, sizeof *so, cmp_slot);
    for (size_t i = 0; i < m->nslots; i++) {
        map[so[i].old] = (uint32_t)i;
        m->keys[i] = so[i].key;
        m->types[i] = so[i].type;
    }
    for (size_t i = 0; i < m->n; i++)
        m->e[i].slot = map[m->e[i].slot];
    free(so);
    free(map);
}

/* x before y in merged order: time, then source rank (so the last of a run
 * of equal times is the winning write). */
static bool ment_le(const struct ment *x, const struct ment *y)
{
    return x->ts < y->ts || (x->ts == y->ts && x->rank <= y->rank);
}

/* Sorts e[0..n) by (ts, rank), stably, where e is a concatenation of
 * ascending runs (one per block and per head field): finds the runs and
 * merges neighbours pairwise until one is left (a k-way merge in log k
 * passes).  When the pieces do not overlap there is one run and nothing
 * moves. */
static void merge_runs(struct merge_buf *m, struct ment *e, size_t n)
{
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && ment_le(&e[i - 1], &e[i]))
            continue;
        if (nr + 1 >= m->cap_runs) {
            m->cap_runs = m->cap_runs ? m->cap_runs * 2 : 16;
            m->runs = xrealloc(m->runs, m->cap_runs * sizeof *m->runs);
        }
        m->runs[nr++] = i;
    }
    size_t *r = m->runs;
    while (nr > 1) {
        size_t w = 0;
        for (size_t k = 0; k < nr; k += 2) {
            size_t a = r[k], mid = k + 1 < nr ? r[k + 1] : n;
            size_t end = k + 2 < nr ? r[k + 2] : n;
            r[w++] = a;
            if (mid == end)
                continue;
            size_t i = a, j = mid, o = 0;
            while (i < mid && j < end)
                m->tmp[o++] = ment_le(&e[i], &e[j]) ? e[i++] : e[j++];
            while (i < mid)
                m->tmp[o++] = e[i++];
            /* the rest of the right run is already in place */
            memcpy(e + a, m->tmp, o * sizeof *e);
        }
        nr = w;
    }
}

/* Orders m->e by (slot, ts, rank): groups entries by slot keeping their
 * push order (a stable counting sort), then merges each slot's runs. */
static void sort_ments(struct merge_buf *m)
{
    size_t ns = m->nslots;
    size_t *start = xcalloc(ns + 1, sizeof *start);
    bool grouped = true;
    for (size_t i = 0; i < m->n; i++) {
        start[m->e[i].slot + 1]++;
        grouped = grouped && (!i || m->e[i - 1].slot <= m->e[i].slot);
    }
    for (size_t s = 0; s < ns; s++)
        start[s + 1] += start[s];
    if (!grouped) {
        size_t *at = xmalloc((ns ? ns : 1) * sizeof *at);
        memcpy(at, start, ns * sizeof *at);
        for (size_t i = 0; i < m->n; i++)
            m->tmp[at[m->e[i].slot]++] = m->e[i];
        struct ment *t = m->e;
        m->e = m->tmp;
        m->tmp = t;
        free(at);
    }
    for (size_t s = 0; s < ns; s++)
        merge_runs(m, m->e + start[s], start[s + 1] - start[s]);
    free(start);
}

/* Adds the part blocks of series sid in [lo, hi] to m.  Returns 0 or
 * ERR_CORRUPT (a block that verified at open but does not decode). */
static int gather_parts(struct tsdb_snapshot *snap, struct tsdb__store *st, uint64_t sid,
                        int64_t lo, int64_t hi, struct merge_buf *m, struct err *e)
{
    const struct tsdb__version *v = snap->ver;
    for (size_t i = 0; i < v->nparts; i++) {
        const struct tsdb__vpart *vp = &v->parts[i];
        if (vp->db_id != st->db_id || vp->rp_id != st->rp_id || vp->end <= lo || vp->start > hi)
            continue;
        const struct tsdb__part *pt = vp->part;
        if (pt->info.max_ts < lo || pt->info.min_ts > hi)
            continue;
        for (size_t b = tsdb__part_find(pt, sid); b < pt->info.nents; b++) {
            const struct tsdb__bent *be = &pt->info.ents[b];
            if (be->sid != sid || be->min_ts > hi)
                break;
            if (be->max_ts < lo)
                continue;
            if (!m->cc && scratch_take(&m->cc, &m->sc))
                return err_set(e, ERR_NOMEM, "tsdb: out of memory");
            m->rank = (uint32_t)i;
            m->lo = lo;
            m->hi = hi;
            int rc = tsdb__block_read(m->cc, m->sc, pt->map + be->off, be->len, pt->rel, be->off,
                                     on_block_col, m, e);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Merges m's entries (parts) with the head's fields in sb; the result
 * replaces *fields and *nf, pointing into m. */
static void merge_head(struct merge_buf *m, struct scan_buf *sb, size_t nf_head,
                       struct tsdb_field_points **fields, size_t *nf)
{
    m->rank = UINT32_MAX;
    for (size_t f = 0; f < nf_head; f++) {
        const struct tsdb_field_points *fp = &sb->fields[f];
        uint32_t slot = slot_of(m, fp->key, fp->type);
        for (size_t i = 0; i < fp->n; i++)
            ment_push(m, fp->ts_ns[i], slot, fp->type, &fp->values[i]);
    }
    order_slots(m);
    sort_ments(m);
    if (m->n > m->cap_out) {
        m->cap_out = m->n;
        m->ts = xrealloc(m->ts, m->cap_out * sizeof *m->ts);
        m->vals = xrealloc(m->vals, m->cap_out * sizeof *m->vals);
    }
    if (m->nslots > m->cap_fields) {
        m->cap_fields = m->nslots;
        m->fields = xrealloc(m->fields, m->cap_fields * sizeof *m->fields);
    }
    size_t out = 0, k = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct ment *x = &m->e[i];
        /* Keep the last of a run of equal (slot, ts): the highest rank. */
        if (i + 1 < m->n && m->e[i + 1].slot == x->slot && m->e[i + 1].ts == x->ts)
            continue;
        if (k == 0 || m->fields[k - 1].key.p != m->keys[x->slot].p) {
            m->fields[k++] = (struct tsdb_field_points){ .key = m->keys[x->slot],
                                                         .type = m->types[x->slot],
                                                         .ts_ns = m->ts + out,
                                                         .values = m->vals + out };
        }
        m->ts[out] = x->ts;
        m->vals[out] = x->v;
        if (m->types[x->slot] == TSDB_STRING)
            m->vals[out].s.p = m->strs.p + (uintptr_t)x->v.s.p;
        m->fields[k - 1].n++;
        out++;
    }
    *fields = m->fields;
    *nf = k;
}

int tsdb_snapshot_scan(struct tsdb_snapshot *snap, struct sv dbname, struct sv rpname,
                       struct sv measurement, int64_t min_ts, int64_t max_ts, tsdb_series_cb cb,
                       void *arg, struct err *e)
{
    struct tsdb__store *st = find_store(snap->db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    /* Take the id list under the read lock; a series dropped meanwhile is skipped. */
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
    struct merge_buf mb;
    memset(&mb, 0, sizeof mb);
    buf_init(&mb.strs, 0);
    int rc = 0;
    for (size_t i = 0; i < nids && !rc; i++) {
        pthread_rwlock_rdlock(&st->lock);
        struct tsdb__series *s = tsdb__series_get(st, ids[i]);
        pthread_rwlock_unlock(&st->lock);
        if (!s)
            continue; /* dropped since the id list was taken (delete.c) */
        pthread_mutex_t *mu = &st->stripes[s->id % TSDB__STRIPES];
        pthread_mutex_lock(mu);
        size_t nf = copy_series(&s->head, snap->lsn, snap->ver->gen, min_ts, max_ts, &sb);
        pthread_mutex_unlock(mu);
        mb.n = 0;
        mb.nslots = 0;
        buf_reset(&mb.strs);
        rc = gather_parts(snap, st, s->id, min_ts, max_ts, &mb, e);
        if (rc)
            break;
        if (!nf && !mb.n)
            continue;
        pthread_rwlock_rdlock(&st->lock);
        for (size_t f = 0; f < nf; f++) {
            const struct tsdb__field *fd = s->meas->fieldv[sb.field_ids[f]];
            sb.fields[f].key = (struct sv){ fd->key, fd->key_n };
        }
        pthread_rwlock_unlock(&st->lock);
        struct tsdb_field_points *fields = sb.fields;
        if (mb.n)
            merge_head(&mb, &sb, nf, &fields, &nf);
        if (mb.oom) {
            rc = err_set(e, ERR_NOMEM, "tsdb: out of memory merging series %" PRIu64, s->id);
            break;
        }
        struct tsdb_series_info info = { .id = s->id,
                                         .key = { s->key, s->key_n },
                                         .measurement = { s->meas->name, s->meas->n },
                                         .ntags = s->ntags,
                                         .tags = s->tags };
        rc = cb(arg, &info, nf, fields);
    }
    free(mb.e);
    free(mb.tmp);
    free(mb.runs);
    free(mb.keys);
    free(mb.types);
    buf_fini(&mb.strs);
    free(mb.ts);
    free(mb.vals);
    free(mb.fields);
    scratch_give(mb.cc, mb.sc);
    free(ids);
    free(sb.ts);
    free(sb.vals);
    free(sb.fields);
    free(sb.field_ids);
    free(sb.strs);
    return rc;
}

/* ---- summary read path ---------------------------------------------------- */

/* One source of a per-series field read: a stored block, or (pt NULL) the
 * head's rows of the field. */
struct sblock {
    const struct tsdb__part *pt;
    const struct tsdb__bent *be;
    int64_t min_ts, max_ts;
    uint32_t rank;
};

struct tsdb_reader {
    struct tsdb_snapshot *snap;
    struct scan_buf sb;
    struct merge_buf mb;
    struct sblock *bl;
    size_t cap_bl;
    int64_t *cts; /* a lone block's times of the rows that hold the field */
    /* the call being served */
    const struct tsdb__series *s;
    struct sv field;
    int64_t lo, hi;
    tsdb_series_cb on_points;
    void *arg;
};

struct tsdb_reader *tsdb_reader_new(struct tsdb_snapshot *snap)
{
    struct tsdb_reader *r = xcalloc(1, sizeof *r);
    r->snap = snap;
    buf_init(&r->mb.strs, 0);
    return r;
}

void tsdb_reader_free(struct tsdb_reader **rp)
{
    if (!rp || !*rp)
        return;
    struct tsdb_reader *r = *rp;
    free(r->bl);
    free(r->cts);
    free(r->mb.e);
    free(r->mb.tmp);
    free(r->mb.runs);
    free(r->mb.keys);
    free(r->mb.types);
    buf_fini(&r->mb.strs);
    free(r->mb.ts);
    free(r->mb.vals);
    free(r->mb.fields);
    scratch_give(r->mb.cc, r->mb.sc);
    free(r->sb.ts);
    free(r->sb.vals);
    free(r->sb.fields);
    free(r->sb.field_ids);
    free(r->sb.strs);
    free(r);
    *rp = NULL;
}

static void summary_of(const struct tsdb__bcol *c, const struct tsdb__bent *be,
                       struct tsdb_summary *s)
{
    memset(s, 0, sizeof *s);
    s->min_ts = be->min_ts;
    s->max_ts = be->max_ts;
    s->count = c->count;
    s->type = c->type;
    s->has_stats = c->has_stats;
    if (c->type == TSDB_FLOAT) {
        s->nan_count = c->fs.nan_count;
        s->min.f = c->fs.min;
        s->max.f = c->fs.max;
        s->sum.f = c->fs.sum;
        s->first.f = c->fs.first;
        s->last.f = c->fs.last;
    } else if (c->type == TSDB_INT) {
        s->is_sum_overflow = c->is.is_sum_overflow;
        s->min.i = c->is.min;
        s->max.i = c->is.max;
        s->sum.i = c->is.sum;
        s->first.i = c->is.first;
        s->last.i = c->is.last;
    } else if (c->type == TSDB_UINT) {
        s->is_sum_overflow = c->us.is_sum_overflow;
        s->min.u = c->us.min;
        s->max.u = c->us.max;
        s->sum.u = c->us.sum;
        s->first.u = c->us.first;
        s->last.u = c->us.last;
    }
}

static struct tsdb_series_info series_info(const struct tsdb__series *s)
{
    return (struct tsdb_series_info){ .id = s->id,
                                      .key = { s->key, s->key_n },
                                      .measurement = { s->meas->name, s->meas->n },
                                      .ntags = s->ntags,
                                      .tags = s->tags };
}

/* First index of sorted t[0..n) whose time is >= x. */
static size_t ts_lower(const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A block no other data of the field overlaps: its column goes to
 * on_points as decoded (no merge, no copy of the values), clipped to the
 * bucket. */
static int on_lone_col(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    struct tsdb_reader *r = arg;
    if (!sv_eq(col->key, r->field))
        return 0;
    const int64_t *t = ts;
    size_t n = nrows;
    if (col->present) {
        if (!r->cts)
            r->cts = xmalloc(CODEC_BLOCK_MAX * sizeof *r->cts);
        n = 0;
        for (size_t i = 0; i < nrows; i++) {
            r->cts[n] = ts[i];
            n += col->present[i] != 0;
        }
        t = r->cts;
    }
    if (n == 0)
        return 0;
    size_t a = t[0] < r->lo ? ts_lower(t, n, r->lo) : 0;
    size_t b = t[n - 1] > r->hi ? ts_lower(t, n, r->hi == INT64_MAX ? r->hi : r->hi + 1) : n;
    if (r->hi == INT64_MAX)
        b = n;
    if (a >= b)
        return 0;
    struct tsdb_field_points fp = {
        .key = col->key, .type = col->type, .n = b - a, .ts_ns = t + a, .values = col->vals + a
    };
    struct tsdb_series_info info = series_info(r->s);
    return r->on_points(r->arg, &info, 1, &fp);
}

static int cmp_sblock(const void *pa, const void *pb)
{
    const struct sblock *a = pa, *b = pb;
    if (a->min_ts != b->min_ts)
        return a->min_ts < b->min_ts ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static int ensure_codec(struct merge_buf *mb, struct err *e)
{
    if (mb->cc)
        return 0;
    if (scratch_take(&mb->cc, &mb->sc))
        return err_set(e, ERR_NOMEM, "tsdb: out of memory");
    return 0;
}

/* One piece of a per-series read: bl[0..n) overlap one another (n > 1, or
 * the head alone); decoded, merged and handed to on_points. */
static int read_cluster(struct tsdb_reader *r, const struct sblock *bl, size_t n, size_t hf,
                        struct err *e)
{
    struct merge_buf *mb = &r->mb;
    bool has_head = false;
    mb->n = 0;
    mb->nslots = 0;
    buf_reset(&mb->strs);
    for (size_t i = 0; i < n; i++) {
        if (!bl[i].pt) {
            has_head = true;
            continue;
        }
        int rc = ensure_codec(mb, e);
        if (rc)
            return rc;
        mb->rank = bl[i].rank;
        mb->lo = r->lo;
        mb->hi = r->hi;
        mb->only = &r->field; /* the block's other fields are not decoded */
        rc = tsdb__block_read_only(mb->cc, mb->sc, bl[i].pt->map + bl[i].be->off, bl[i].be->len,
                                   bl[i].pt->rel, bl[i].be->off, r->field, on_block_col, mb, e);
        if (rc)
            return rc;
    }
    struct tsdb_field_points *fields = r->sb.fields;
    size_t nout = has_head ? hf : 0;
    if (mb->n)
        merge_head(mb, &r->sb, nout, &fields, &nout);
    if (mb->oom)
        return err_set(e, ERR_NOMEM, "tsdb: out of memory merging series %" PRIu64, r->s->id);
    int rc = 0;
    for (size_t f = 0; f < nout && !rc; f++) {
        if (!sv_eq(fields[f].key, r->field) || !fields[f].n)
            continue;
        struct tsdb_series_info info = series_info(r->s);
        rc = r->on_points(r->arg, &info, 1, &fields[f]);
    }
    return rc;
}

int tsdb_reader_summaries(struct tsdb_reader *r, struct sv dbname, struct sv rpname,
                          uint64_t series_id, struct sv field, int64_t min_ts, int64_t max_ts,
                          tsdb_summary_cb on_summary, tsdb_series_cb on_points, void *arg,
                          struct err *e)
{
    struct tsdb_snapshot *snap = r->snap;
    struct tsdb__store *st = find_store(snap->db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    pthread_rwlock_rdlock(&st->lock);
    struct tsdb__series *s = tsdb__series_get(st, series_id);
    pthread_rwlock_unlock(&st->lock);
    if (!s)
        return err_set(e, ERR_NOTFOUND, "series not found: %" PRIu64, series_id);
    struct scan_buf *sb = &r->sb;
    pthread_mutex_t *mu = &st->stripes[s->id % TSDB__STRIPES];
    pthread_mutex_lock(mu);
    size_t nf = copy_series(&s->head, snap->lsn, snap->ver->gen, min_ts, max_ts, sb);
    pthread_mutex_unlock(mu);
    /* Keep only the requested field of the head. */
    size_t hf = 0;
    int64_t hmin = INT64_MAX, hmax = INT64_MIN;
    if (nf) {
        pthread_rwlock_rdlock(&st->lock);
        for (size_t f = 0; f < nf; f++) {
            const struct tsdb__field *fd = s->meas->fieldv[sb->field_ids[f]];
            if (fd->key_n == field.n && (!field.n || !memcmp(fd->key, field.p, field.n))) {
                sb->fields[hf] = sb->fields[f];
                sb->fields[hf++].key = (struct sv){ fd->key, fd->key_n };
            }
        }
        pthread_rwlock_unlock(&st->lock);
        for (size_t f = 0; f < hf; f++) {
            for (size_t j = 0; j < sb->fields[f].n; j++) {
                int64_t t = sb->fields[f].ts_ns[j];
                hmin = t < hmin ? t : hmin;
                hmax = t > hmax ? t : hmax;
            }
        }
    }
    /* Every stored block of the series in the bucket, and the head's rows:
     * sorted by start time, so overlapping sources sit next to each other. */
    const struct tsdb__version *v = snap->ver;
    size_t nbl = 0;
    for (size_t i = 0; i < v->nparts; i++) {
        const struct tsdb__vpart *vp = &v->parts[i];
        if (vp->db_id != st->db_id || vp->rp_id != st->rp_id || vp->end <= min_ts ||
            vp->start > max_ts)
            continue;
        const struct tsdb__part *pt = vp->part;
        if (pt->info.max_ts < min_ts || pt->info.min_ts > max_ts)
            continue;
        for (size_t b = tsdb__part_find(pt, s->id); b < pt->info.nents; b++) {
            const struct tsdb__bent *be = &pt->info.ents[b];
            if (be->sid != s->id || be->min_ts > max_ts)
                break;
            if (be->max_ts < min_ts)
                continue;
            if (nbl + 1 >= r->cap_bl) {
                r->cap_bl = r->cap_bl ? r->cap_bl * 2 : 64;
                r->bl = xrealloc(r->bl, r->cap_bl * sizeof *r->bl);
            }
            r->bl[nbl++] = (struct sblock){ pt, be, be->min_ts, be->max_ts, (uint32_t)i };
        }
    }
    if (hmin <= hmax) {
        if (nbl + 1 >= r->cap_bl) {
            r->cap_bl = r->cap_bl ? r->cap_bl * 2 : 64;
            r->bl = xrealloc(r->bl, r->cap_bl * sizeof *r->bl);
        }
        r->bl[nbl++] = (struct sblock){ NULL, NULL, hmin, hmax, UINT32_MAX };
    }
    struct sblock *bl = r->bl;
    bool is_sorted = true;
    for (size_t i = 1; i < nbl && is_sorted; i++)
        is_sorted = cmp_sblock(&bl[i - 1], &bl[i]) <= 0;
    if (!is_sorted)
        qsort(bl, nbl, sizeof *bl, cmp_sblock);
    r->s = s;
    r->field = field;
    r->lo = min_ts;
    r->hi = max_ts;
    r->on_points = on_points;
    r->arg = arg;
    int rc = 0;
    size_t i = 0;
    while (i < nbl && !rc) {
        /* The piece: bl[i] and every source overlapping the run so far. */
        size_t j = i + 1;
        int64_t end = bl[i].max_ts;
        while (j < nbl && bl[j].min_ts <= end) {
            end = bl[j].max_ts > end ? bl[j].max_ts : end;
            j++;
        }
        if (j - i > 1 || !bl[i].pt) {
            rc = read_cluster(r, bl + i, j - i, hf, e);
            i = j;
            continue;
        }
        const struct tsdb__part *pt = bl[i].pt;
        const struct tsdb__bent *be = bl[i].be;
        i = j;
        if (be->min_ts >= min_ts && be->max_ts <= max_ts) {
            struct tsdb__bcol col;
            int found = tsdb__block_col_summary(pt->map + be->off, be->len, field, &col, pt->rel,
                                                be->off, e);
            if (found <= 0) { /* absent field: nothing to read */
                rc = found;
                continue;
            }
            struct tsdb_summary sum;
            summary_of(&col, be, &sum);
            rc = on_summary(arg, &sum);
            if (rc != TSDB_SUMMARY_DECODE)
                continue;
            rc = 0; /* the caller wants its points */
        }
        rc = ensure_codec(&r->mb, e);
        if (!rc)
            rc = tsdb__block_read_only(r->mb.cc, r->mb.sc, pt->map + be->off, be->len, pt->rel,
                                       be->off, field, on_lone_col, r, e);
    }
    return rc;
}

int tsdb_snapshot_summaries(struct tsdb_snapshot *snap, struct sv dbname, struct sv rpname,
                            uint64_t series_id, struct sv field, int64_t min_ts, int64_t max_ts,
                            tsdb_summary_cb on_summary, tsdb_series_cb on_points, void *arg,
                            struct err *e)
{
    struct tsdb_reader *r = tsdb_reader_new(snap);
    int rc = tsdb_reader_summaries(r, dbname, rpname, series_id, field, min_ts, max_ts,
                                   on_summary, on_points, arg, e);
    tsdb_reader_free(&r);
    return rc;
}

int tsdb_snapshot_series(struct tsdb_snapshot *snap, struct sv dbname, struct sv rpname,
                         struct sv measurement, tsdb_series_info_cb cb, void *arg,
                         struct err *e)
{
    struct tsdb__store *st = find_store(snap->db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    uint64_t *ids = NULL;
    size_t nids = 0;
    pthread_rwlock_rdlock(&st->lock);
    struct tsdb__meas *m = tsdb__meas_find(st, measurement);
    if (m && m->series.n) {
        nids = m->series.n;
        ids = xmalloc(nids * sizeof *ids);
        memcpy(ids, m->series.v, nids * sizeof *ids);
    }
    pthread_rwlock_unlock(&st->lock);
    int rc = 0;
    for (size_t i = 0; i < nids && !rc; i++) {
        pthread_rwlock_rdlock(&st->lock);
        struct tsdb__series *s = tsdb__series_get(st, ids[i]);
        pthread_rwlock_unlock(&st->lock);
        /* Series never go away and their key and tags never change. */
        struct tsdb_series_info info = { .id = s->id,
                                         .key = { s->key, s->key_n },
                                         .measurement = { s->meas->name, s->meas->n },
                                         .ntags = s->ntags,
                                         .tags = s->tags };
        rc = cb(arg, &info);
    }
    free(ids);
    return rc;
}

int tsdb_snapshot_series_of(struct tsdb_snapshot *snap, struct sv dbname, struct sv rpname,
                            struct sv measurement, const uint64_t *ids, size_t n,
                            size_t *total, tsdb_series_info_cb cb, void *arg, struct err *e)
{
    *total = 0;
    struct tsdb__store *st = find_store(snap->db, dbname, rpname, e);
    if (!st)
        return ERR_NOTFOUND;
    pthread_rwlock_rdlock(&st->lock);
    struct tsdb__meas *m = tsdb__meas_find(st, measurement);
    *total = m ? m->series.n : 0;
    pthread_rwlock_unlock(&st->lock);
    int rc = 0;
    for (size_t i = 0; i < n && m && !rc; i++) {
        pthread_rwlock_rdlock(&st->lock);
        struct tsdb__series *s = tsdb__series_get(st, ids[i]);
        pthread_rwlock_unlock(&st->lock);
        if (!s || s->meas != m)
            continue;
        /* Series never go away and their key and tags never change. */
        struct tsdb_series_info info = series_info(s);
        rc = cb(arg, &info);
    }
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
/* is_meas: the values are measurements; those without series (every
 * series dropped, delete.c) are not listed. */
static int visit_sorted_if(const struct htab *t, bool is_meas, tsdb_name_cb cb, void *arg)
{
    struct sv *names = xmalloc((t->count ? t->count : 1) * sizeof *names);
    size_t n = 0, it = 0;
    const struct htab_entry *en;
    while (htab_next(t, &it, &en))
        if (!is_meas || ((const struct tsdb__meas *)en->val)->series.n)
            names[n++] = en->key;
    qsort(names, n, sizeof *names, cmp_sv);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = cb(arg, names[i]);
    free(names);
    return rc;
}

static int visit_sorted(const struct htab *t, tsdb_name_cb cb, void *arg)
{
    return visit_sorted_if(t, false, cb, arg);
}

/* A measurement whose series were all dropped is kept for its field types
 * (as influxd keeps them until DROP MEASUREMENT) but listed nowhere. */
static struct tsdb__meas *listed_meas(struct tsdb__store *st, struct sv name)
{
    struct tsdb__meas *m = tsdb__meas_find(st, name);
    return m && m->series.n ? m : NULL;
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
    int rc = visit_sorted_if(&st->meas, true, cb, arg);
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
    struct tsdb__meas *m = listed_meas(st, measurement);
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
    struct tsdb__meas *m = listed_meas(st, measurement);
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
    struct tsdb__meas *m = listed_meas(st, measurement);
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
    struct tsdb__meas *m = listed_meas(st, measurement);
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

bool tsdb_head_is_full(struct tsdb *db)
{
    return (uint64_t)atomic_load(&db->head_bytes) >= tsdb__flush_threshold(db);
}

int tsdb_maybe_flush(struct tsdb *db, int64_t now_ns, struct err *e)
{
    int64_t last = INT64_MIN;
    /* The first call starts the age clock. */
    atomic_compare_exchange_strong(&db->last_flush_ns, &last, now_ns);
    last = atomic_load(&db->last_flush_ns);
    bool is_due = tsdb_head_is_full(db) ||
                  now_ns - last >= db->opts.flush_age_ns;
    if (!is_due)
        return 0;
    atomic_store(&db->last_flush_ns, now_ns);
    return tsdb_flush(db, e);
}
