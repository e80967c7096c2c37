// SPDX-License-Identifier: MIT
/*
 * Batches: the write path from a parsed point to a durable, visible row
 * (head_append in Prometheus terms).
 *
 * tsdb_batch_add() validates a point (names, retention window, field types),
 * resolves or creates its series in the store index, and encodes it straight
 * into the batch's WAL record sections (FORMAT.md "Batch record").  The
 * record carries everything replay needs: the measurement and field tables
 * it uses, and a definition of every series not yet known to be durable in
 * an earlier record.  tsdb_batch_commit() hands the record to the WAL's group
 * commit, then applies it to the head by decoding its own record with the
 * code replay uses, so a live commit and a replay produce the same head.
 *
 * Field types are decided under the store's write lock the first time a
 * field is seen, even before its batch commits, so that concurrent batches
 * agree: the first occurrence wins and later conflicting points are
 * rejected (influx-compat 2.4).  Fast path: an existing series whose fields
 * all exist takes only the read lock.
 *
 * Threads (STYLE.md 5): batches are filled and committed on the callers'
 * worker threads.  Shared state is touched under short locks only: the
 * store's rwlock (read per point on the fast path), the WAL queue mutex once
 * per commit, and one of 64 stripe mutexes (by series id) per applied row.
 * The single WAL writer thread does only writev + fdatasync.  Measured with
 * tsdb_wal_test's test_append_threads (gcc Release, fsync=interval, 1000
 * points x 10 fields per batch, 2-vCPU VM shared with other builds, load
 * average 5-9): 8.4 M values/s with one thread, 8.1 M with two; the box
 * had no idle core to show scaling, so re-measure on an idle machine before
 * choosing anything else (per-worker head shards are the alternative).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/metrics.h"
#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

/* Small open-addressing map u64 -> u32 for the batch-local tables. */
struct u64map {
    uint64_t *keys;
    uint32_t *vals; /* UINT32_MAX = empty */
    size_t cap, n;
};

static void u64map_fini(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static uint32_t u64map_get(const struct u64map *m, uint64_t k)
{
    if (!m->cap)
        return UINT32_MAX;
    size_t i = hash_u64(k) & (m->cap - 1);
    while (m->vals[i] != UINT32_MAX) {
        if (m->keys[i] == k)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return UINT32_MAX;
}

static void u64map_put(struct u64map *m, uint64_t k, uint32_t v)
{
    if ((m->n + 1) * 4 > m->cap * 3) {
        struct u64map old = *m;
        m->cap = old.cap ? old.cap * 2 : 16;
        m->keys = xmalloc(m->cap * sizeof *m->keys);
        m->vals = xmalloc(m->cap * sizeof *m->vals);
        memset(m->vals, 0xff, m->cap * sizeof *m->vals);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.vals[i] != UINT32_MAX)
                u64map_put(m, old.keys[i], old.vals[i]);
        u64map_fini(&old);
    }
    size_t i = hash_u64(k) & (m->cap - 1);
    while (m->vals[i] != UINT32_MAX)
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = v;
    m->n++;
}

struct tsdb_batch {
    struct tsdb *db;
    struct tsdb__store *st;
    int64_t duration_ns;
    int64_t now_ns;
    bool is_committed;

    struct u64map meas_map, field_map, series_map;
    uint32_t nmeas, nfields, nseries, npoints;
    struct buf meas_sec, field_sec, series_sec, point_sec;
    struct tsdb__series **defs; /* series defined by this record */
    size_t ndefs, cap_defs;

    /* scratch */
    struct buf key;
    struct tsdb_tag *tags;
    size_t cap_tags;
    struct tsdb__field **fptr;
    size_t cap_fptr;
    struct tsdb_batch_stats stats;
    struct tsdb_batch *next_free; /* in the WAL's pool */
};

/* Freed batches wait in a small pool on the WAL for the next request, so
 * their section buffers and maps are not regrown (realloc copies, fresh
 * pages) for every batch. */
#define BATCH_POOL_MAX 8
#define BATCH_KEEP_BYTES (16u << 20)

static void u64map_clear(struct u64map *m)
{
    if (m->cap)
        memset(m->vals, 0xff, m->cap * sizeof *m->vals);
    m->n = 0;
}

static struct tsdb_batch *batch_get(struct tsdb *db)
{
    struct tsdb__wal *w = &db->wal;
    pthread_mutex_lock(&w->rec_mu);
    struct tsdb_batch *b = w->batch_free;
    if (b) {
        w->batch_free = b->next_free;
        w->nbatch_free--;
    }
    pthread_mutex_unlock(&w->rec_mu);
    size_t cap = db->opts.max_batch_bytes;
    if (!b) {
        b = xcalloc(1, sizeof *b);
        buf_init(&b->meas_sec, cap);
        buf_init(&b->field_sec, cap);
        buf_init(&b->series_sec, cap);
        buf_init(&b->point_sec, cap);
        buf_init(&b->key, 0);
        return b;
    }
    u64map_clear(&b->meas_map);
    u64map_clear(&b->field_map);
    u64map_clear(&b->series_map);
    b->nmeas = b->nfields = b->nseries = b->npoints = 0;
    buf_reset(&b->meas_sec);
    buf_reset(&b->field_sec);
    buf_reset(&b->series_sec);
    buf_reset(&b->point_sec);
    /* max_batch_bytes may change only across reopen; keep them in step. */
    b->meas_sec.max_bytes = b->field_sec.max_bytes = cap;
    b->series_sec.max_bytes = b->point_sec.max_bytes = cap;
    b->ndefs = 0;
    b->is_committed = false;
    memset(&b->stats, 0, sizeof b->stats);
    b->next_free = NULL;
    return b;
}

int tsdb_batch_new(struct tsdb *db, struct sv dbname, struct sv rpname, int64_t now_ns,
                   struct tsdb_batch **out, struct err *e)
{
    *out = NULL;
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "store is open read-only");
    if (atomic_load(&db->wal.failed)) {
        pthread_mutex_lock(&db->wal.mu); /* failed_msg is written under it */
        int rc = err_set(e, ERR_IO, "wal failed: %s", db->wal.failed_msg);
        pthread_mutex_unlock(&db->wal.mu);
        return rc;
    }
    char q[96];
    pthread_mutex_lock(&db->cat_lock);
    struct tsdb__db *d = tsdb__catalog_find_db(db, dbname);
    struct tsdb__rp *rp = d ? tsdb__catalog_find_rp(d, rpname) : NULL;
    struct tsdb__store *st = rp ? rp->store : NULL;
    int64_t dur = rp ? rp->duration_ns : 0;
    pthread_mutex_unlock(&db->cat_lock);
    if (!d)
        return err_set(e, ERR_NOTFOUND, "database not found: \"%s\"",
                       err_quote(q, sizeof q, dbname.p, dbname.n, 64));
    if (!rp)
        return err_set(e, ERR_NOTFOUND, "retention policy not found: %s",
                       err_quote(q, sizeof q, rpname.p, rpname.n, 64));
    struct tsdb_batch *b = batch_get(db);
    b->db = db;
    b->st = st;
    b->duration_ns = dur;
    b->now_ns = now_ns;
    *out = b;
    return 0;
}

static void batch_fini(struct tsdb_batch *b)
{
    u64map_fini(&b->meas_map);
    u64map_fini(&b->field_map);
    u64map_fini(&b->series_map);
    buf_fini(&b->meas_sec);
    buf_fini(&b->field_sec);
    buf_fini(&b->series_sec);
    buf_fini(&b->point_sec);
    buf_fini(&b->key);
    free(b->defs);
    free(b->tags);
    free(b->fptr);
    free(b);
}

void tsdb_batch_free(struct tsdb_batch **bp)
{
    struct tsdb_batch *b = bp ? *bp : NULL;
    if (!b)
        return;
    *bp = NULL;
    /* Back to the pool with its buffers' capacity, unless a rare huge
     * batch grew them (its memory is not pinned). */
    struct tsdb__wal *w = &b->db->wal;
    size_t big = b->meas_sec.cap + b->field_sec.cap + b->series_sec.cap + b->point_sec.cap +
                 (b->series_map.cap + b->field_map.cap + b->meas_map.cap) * 12;
    if (big <= BATCH_KEEP_BYTES) {
        pthread_mutex_lock(&w->rec_mu);
        if (w->nbatch_free < BATCH_POOL_MAX) {
            b->next_free = w->batch_free;
            w->batch_free = b;
            w->nbatch_free++;
            b = NULL;
        }
        pthread_mutex_unlock(&w->rec_mu);
    }
    if (b)
        batch_fini(b);
}

void tsdb__batch_pool_fini(struct tsdb *db)
{
    for (struct tsdb_batch *b = db->wal.batch_free, *next; b; b = next) {
        next = b->next_free;
        batch_fini(b);
    }
    db->wal.batch_free = NULL;
    db->wal.nbatch_free = 0;
}

void tsdb_batch_stats(const struct tsdb_batch *b, struct tsdb_batch_stats *out)
{
    *out = b->stats;
}

/* "<what> \"<a>\" on measurement \"<m>\" is invalid" (InfluxDB's texts). */
static int reject_name(size_t *counter, struct err *e, const char *what, struct sv a, struct sv m)
{
    (*counter)++;
    /* raw names, as influxd prints them (see type_conflict) */
    int an = a.n > 72 ? 72 : (int)a.n, mn = m.n > 72 ? 72 : (int)m.n;
    return err_set(e, ERR_INVAL, "%s \"%.*s\" on measurement \"%.*s\" is invalid", what, an, a.p,
                   mn, m.p);
}

static int reject(size_t *counter, struct err *e, int code, const char *msg)
{
    (*counter)++;
    return err_set(e, code, "%s", msg);
}

static size_t batch_bytes(const struct tsdb_batch *b)
{
    return b->meas_sec.len + b->field_sec.len + b->series_sec.len + b->point_sec.len;
}

static bool is_time(struct sv s)
{
    return sv_eq(s, SV_LIT("time"));
}

/* Checks what depends only on the measurement and tags, sorts the tags into
 * b->tags and builds the escaped series key into b->key.  Skipped when the
 * caller's ref names a series of this store: its key passed these checks
 * when the series was created. */
static int check_key(struct tsdb_batch *b, const struct tsdb_point *p, struct err *e)
{
    if (p->measurement.n == 0)
        return reject(&b->stats.dropped_invalid, e, ERR_INVAL, "missing measurement");
    if (p->nfields == 0)
        return reject(&b->stats.dropped_invalid, e, ERR_INVAL, "missing fields");
    if (p->ntags > b->cap_tags) {
        b->cap_tags = p->ntags;
        b->tags = xrealloc(b->tags, b->cap_tags * sizeof *b->tags);
    }
    for (size_t i = 0; i < p->ntags; i++) {
        if (p->tags[i].key.n == 0 || p->tags[i].value.n == 0)
            return reject(&b->stats.dropped_invalid, e, ERR_INVAL, "missing tag key or value");
        if (is_time(p->tags[i].key))
            return reject_name(&b->stats.dropped_invalid, e, "invalid tag key: input tag",
                               p->tags[i].key, p->measurement);
        b->tags[i] = p->tags[i];
    }
    if (!tsdb__sort_tags(b->tags, p->ntags))
        return reject(&b->stats.dropped_invalid, e, ERR_INVAL, "duplicate tags");
    if (tsdb__series_key(&b->key, p->measurement, b->tags, p->ntags) != 0)
        return reject(&b->stats.dropped_invalid, e, ERR_NOMEM, "series key: out of memory");
    if (b->key.len > TSDB_MAX_KEY_BYTES) {
        b->stats.dropped_invalid++;
        return err_set(e, ERR_LIMIT, "max key length exceeded: %zu > %d", b->key.len,
                       TSDB_MAX_KEY_BYTES);
    }
    return 0;
}

/* Checks the fields (key_n: length of the series key), the retention window
 * and the room left in the batch; *nkept gets the fields kept ("time" is
 * dropped). */
static int check_fields(struct tsdb_batch *b, const struct tsdb_point *p, size_t key_n,
                        size_t *nkept, struct err *e)
{
    if (p->nfields == 0)
        return reject(&b->stats.dropped_invalid, e, ERR_INVAL, "missing fields");
    size_t kept = 0;
    size_t est = key_n + 64;
    for (size_t i = 0; i < p->nfields; i++) {
        const struct tsdb_field *f = &p->fields[i];
        if (f->key.n == 0)
            return reject(&b->stats.dropped_invalid, e, ERR_INVAL, "missing field key");
        if (f->type < TSDB_FLOAT || f->type > TSDB_STRING)
            return reject_name(&b->stats.dropped_invalid, e, "invalid type of field", f->key,
                               p->measurement);
        if (key_n + 4 + f->key.n > TSDB_MAX_KEY_BYTES) {
            b->stats.dropped_invalid++;
            return err_set(e, ERR_LIMIT, "max key length exceeded: %zu > %d",
                           key_n + 4 + f->key.n, TSDB_MAX_KEY_BYTES);
        }
        if (!is_time(f->key))
            kept++;
        est += f->key.n + 24 + (f->type == TSDB_STRING ? f->v.s.n : 0);
    }
    if (kept == 0)
        return reject_name(&b->stats.dropped_invalid, e, "invalid field name: input field",
                           SV_LIT("time"), p->measurement);
    *nkept = kept;
    if (b->duration_ns != TSDB_DURATION_INF && b->now_ns > INT64_MIN + b->duration_ns &&
        p->ts_ns < b->now_ns - b->duration_ns) {
        b->stats.dropped_retention++;
        return err_set(e, ERR_LIMIT, "points beyond retention policy");
    }
    if (batch_bytes(b) + est > b->db->opts.max_batch_bytes) {
        b->stats.dropped_invalid++;
        return err_set(e, ERR_NOMEM, "batch larger than %" PRIu64 " bytes",
                       b->db->opts.max_batch_bytes);
    }
    return 0;
}

/* Series references (the *ref of tsdb_batch_add): the store's serial above
 * REF_ID_BITS, the series id below.  A store's serial is unique in the
 * process, so a reference from another store (a dropped and recreated
 * database, a changed default policy) never matches. */
#define REF_ID_BITS 40

static uint64_t ref_make(const struct tsdb__store *st, uint64_t id)
{
    return id >> REF_ID_BITS || st->serial >> (64 - REF_ID_BITS) ? 0
                                                                  : st->serial << REF_ID_BITS | id;
}

/* The series id a reference names in this batch's store, or 0. */
static uint64_t ref_id(const struct tsdb_batch *b, const uint64_t *ref)
{
    if (!ref || !*ref || *ref >> REF_ID_BITS != b->st->serial)
        return 0;
    return *ref & ((UINT64_C(1) << REF_ID_BITS) - 1);
}

static int type_conflict(struct tsdb_batch *b, const struct tsdb_point *p, struct sv key,
                         enum tsdb_type t, enum tsdb_type have, struct err *e)
{
    b->stats.dropped_type++;
    /* The names as they are (influxd prints them raw; the HTTP layer's
     * JSON encoding escapes them), cut to keep the message whole. */
    int kn = key.n > 72 ? 72 : (int)key.n;
    int mn = p->measurement.n > 72 ? 72 : (int)p->measurement.n;
    return err_set(e, ERR_TYPE,
                   "field type conflict: input field \"%.*s\" on measurement \"%.*s\" is type %s, "
                   "already exists as type %s",
                   kn, key.p, mn, p->measurement.p, tsdb_type_name(t), tsdb_type_name(have));
}

/* Resolves the series and fields of p under the store lock and runs
 * check_fields; fills b->fptr (NULL for the dropped time field), *sp and
 * *nkept.  hid != 0: the series is the one with that id (the caller's
 * reference), else it is looked up by b->key (built by check_key).  Returns
 * 0, an error of check_fields, ERR_TYPE, or ERR_AGAIN when series hid is no
 * longer in the index (dropped): the caller retries by key. */
static int resolve(struct tsdb_batch *b, uint64_t hid, const struct tsdb_point *p,
                   struct tsdb__series **sp, size_t *nkept, struct err *e)
{
    struct tsdb__store *st = b->st;
    struct sv key = buf_sv(&b->key);
    uint64_t h = 0;
    bool has_h = false;
    if (p->nfields > b->cap_fptr) {
        b->cap_fptr = p->nfields;
        b->fptr = xrealloc(b->fptr, b->cap_fptr * sizeof *b->fptr);
    }
    for (int pass = 0; pass < 2; pass++) {
        bool is_write = pass == 1;
        if (is_write)
            pthread_rwlock_wrlock(&st->lock);
        else
            pthread_rwlock_rdlock(&st->lock);
        struct tsdb__series *s = NULL;
        if (hid) {
            s = tsdb__series_get(st, hid);
            if (!s) {
                pthread_rwlock_unlock(&st->lock);
                return ERR_AGAIN;
            }
        } else {
            if (!has_h) {
                h = hash_sv(key);
                has_h = true;
            }
            s = tsdb__series_find(st, key, h);
        }
        if (!is_write) {
            /* The checks need no lock, but the key length of a referenced
             * series is only known here; the lock is uncontended for
             * readers. */
            int rc = check_fields(b, p, s ? s->key_n : key.n, nkept, e);
            if (rc) {
                pthread_rwlock_unlock(&st->lock);
                return rc;
            }
        }
        struct tsdb__meas *m = s ? s->meas : tsdb__meas_find(st, p->measurement);
        bool is_missing = !s;
        for (size_t i = 0; i < p->nfields; i++) {
            const struct tsdb_field *f = &p->fields[i];
            b->fptr[i] = NULL;
            if (is_time(f->key))
                continue;
            struct tsdb__field *fd = m ? tsdb__field_find(m, f->key) : NULL;
            /* An earlier duplicate key in this point may have fixed it. */
            for (size_t j = 0; !fd && j < i; j++)
                if (sv_eq(p->fields[j].key, f->key) && p->fields[j].type != f->type) {
                    pthread_rwlock_unlock(&st->lock);
                    return type_conflict(b, p, f->key, f->type, p->fields[j].type, e);
                }
            if (fd && fd->type != f->type) {
                pthread_rwlock_unlock(&st->lock);
                return type_conflict(b, p, f->key, f->type, fd->type, e);
            }
            if (!fd)
                is_missing = true;
            b->fptr[i] = fd;
        }
        if (is_missing && !is_write) {
            pthread_rwlock_unlock(&st->lock);
            continue;
        }
        if (is_write) {
            /* No conflicts: create what is missing. */
            if (!s) {
                s = tsdb__series_create(st, 0, key, h, p->measurement, b->tags, p->ntags);
                b->stats.series_created++;
            }
            for (size_t i = 0; i < p->nfields; i++) {
                if (is_time(p->fields[i].key) || b->fptr[i])
                    continue;
                struct tsdb__field *fd = tsdb__field_find(s->meas, p->fields[i].key);
                if (!fd)
                    fd = tsdb__field_create(s->meas, p->fields[i].key, p->fields[i].type);
                b->fptr[i] = fd;
            }
        }
        pthread_rwlock_unlock(&st->lock);
        *sp = s;
        return 0;
    }
    return err_set(e, ERR_INVAL, "unreachable");
}

static uint32_t meas_local(struct tsdb_batch *b, struct tsdb__meas *m, int *rc)
{
    uint32_t l = u64map_get(&b->meas_map, (uint64_t)(uintptr_t)m);
    if (l != UINT32_MAX)
        return l;
    *rc = *rc ? *rc : tsdb__put_bytes(&b->meas_sec, m->name, m->n);
    u64map_put(&b->meas_map, (uint64_t)(uintptr_t)m, b->nmeas);
    return b->nmeas++;
}

static inline uint8_t *wr_uvarint(uint8_t *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *q++ = (uint8_t)v;
    return q;
}

static int encode_point(struct tsdb_batch *b, const struct tsdb_point *p, struct tsdb__series *s,
                        size_t nkept)
{
    int rc = 0;
    uint32_t ml = meas_local(b, s->meas, &rc);
    uint32_t sl = u64map_get(&b->series_map, s->id);
    if (sl == UINT32_MAX) {
        bool has_def = !atomic_load(&s->is_logged);
        rc = rc ? rc : tsdb__put_uvarint(&b->series_sec, s->id);
        rc = rc ? rc : tsdb__put_uvarint(&b->series_sec, ml);
        rc = rc ? rc : tsdb__put_u8(&b->series_sec, has_def);
        if (has_def) {
            rc = rc ? rc : tsdb__put_uvarint(&b->series_sec, s->ntags);
            for (size_t i = 0; i < s->ntags && !rc; i++) {
                rc = tsdb__put_bytes(&b->series_sec, s->tags[i].key.p, s->tags[i].key.n);
                rc = rc ? rc : tsdb__put_bytes(&b->series_sec, s->tags[i].value.p,
                                               s->tags[i].value.n);
            }
            if (b->ndefs == b->cap_defs) {
                b->cap_defs = b->cap_defs ? b->cap_defs * 2 : 16;
                b->defs = xrealloc(b->defs, b->cap_defs * sizeof *b->defs);
            }
            b->defs[b->ndefs++] = s;
        }
        sl = b->nseries++;
        u64map_put(&b->series_map, s->id, sl);
    }
    if (rc)
        return rc;
    /* The point goes into room reserved for its largest encoding, written
     * through a pointer (no bounds check and call per varint). */
    size_t bound = 10 + 8 + 10;
    for (size_t i = 0; i < p->nfields; i++)
        bound += 10 + 10 + (b->fptr[i] && b->fptr[i]->type == TSDB_STRING ? p->fields[i].v.s.n : 0);
    rc = buf_reserve(&b->point_sec, bound);
    if (rc)
        return rc;
    uint8_t *q = (uint8_t *)b->point_sec.p + b->point_sec.len;
    q = wr_uvarint(q, sl);
    tsdb__put_le64(q, (uint64_t)p->ts_ns);
    q = wr_uvarint(q + 8, nkept);
    for (size_t i = 0; i < p->nfields && !rc; i++) {
        struct tsdb__field *fd = b->fptr[i];
        if (!fd)
            continue;
        uint64_t fkey = (uint64_t)ml << 32 | fd->id;
        uint32_t fl = u64map_get(&b->field_map, fkey);
        if (fl == UINT32_MAX) {
            rc = tsdb__put_uvarint(&b->field_sec, ml);
            rc = rc ? rc : tsdb__put_bytes(&b->field_sec, fd->key, fd->key_n);
            rc = rc ? rc : tsdb__put_u8(&b->field_sec, (uint8_t)fd->type);
            fl = b->nfields++;
            u64map_put(&b->field_map, fkey, fl);
        }
        q = wr_uvarint(q, fl);
        const union tsdb_value *v = &p->fields[i].v;
        switch (fd->type) {
        case TSDB_FLOAT: {
            uint64_t bits;
            memcpy(&bits, &v->f, 8);
            tsdb__put_le64(q, bits);
            q += 8;
            break;
        }
        case TSDB_INT:
            q = wr_uvarint(q, tsdb__zigzag(v->i));
            break;
        case TSDB_UINT:
            q = wr_uvarint(q, v->u);
            break;
        case TSDB_BOOL:
            *q++ = v->b ? 1 : 0;
            break;
        case TSDB_STRING:
            q = wr_uvarint(q, v->s.n);
            if (v->s.n)
                memcpy(q, v->s.p, v->s.n);
            q += v->s.n;
            break;
        }
    }
    b->point_sec.len = (size_t)(q - (uint8_t *)b->point_sec.p);
    return rc;
}

int tsdb_batch_add(struct tsdb_batch *b, uint64_t *ref, const struct tsdb_point *p,
                   struct err *e)
{
    if (b->is_committed)
        return err_set(e, ERR_INVAL, "batch already committed");
    /* A reference to a series of this store skips sorting the tags and
     * building the key: the common case behind ingest's series cache. */
    uint64_t hid = ref_id(b, ref);
    size_t nkept = 0;
    struct tsdb__series *s = NULL;
    int rc = hid ? resolve(b, hid, p, &s, &nkept, e) : ERR_AGAIN;
    if (rc == ERR_AGAIN) {
        hid = 0;
        rc = check_key(b, p, e);
        rc = rc ? rc : resolve(b, 0, p, &s, &nkept, e);
    }
    if (rc)
        return rc;
#ifndef NDEBUG
    if (hid) {
        /* The contract: a reference is only reused for the same measurement
         * and tags.  Debug builds (the sanitizer tests) check it. */
        int krc = check_key(b, p, NULL);
        assert(krc == 0 && sv_eq(buf_sv(&b->key), (struct sv){ s->key, s->key_n }));
        (void)krc;
    }
#endif
    rc = encode_point(b, p, s, nkept);
    if (rc) {
        /* Cannot happen below the cap checked above; treat as fatal for the
         * batch so no half-encoded point is ever committed. */
        b->is_committed = true;
        return err_set(e, ERR_NOMEM, "batch encoding failed; batch unusable");
    }
    if (ref)
        *ref = ref_make(b->st, s->id);
    b->npoints++;
    b->stats.points++;
    b->stats.values += nkept;
    return 0;
}

/* Compression scratch, pooled on the WAL (tsdb_int.h). */
struct tsdb__zscratch {
    ZSTD_CCtx *cctx;
    struct buf out;
    struct tsdb__zscratch *next;
};

#define ZSCRATCH_MAX 4
#define ZSCRATCH_KEEP_BYTES (8u << 20)

static struct tsdb__zscratch *zscratch_get(struct tsdb *db)
{
    struct tsdb__wal *w = &db->wal;
    pthread_mutex_lock(&w->rec_mu);
    struct tsdb__zscratch *z = w->z_free;
    if (z) {
        w->z_free = z->next;
        w->nz_free--;
    }
    pthread_mutex_unlock(&w->rec_mu);
    if (z)
        return z;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (!c)
        return NULL; /* the record goes uncompressed */
    z = xcalloc(1, sizeof *z);
    z->cctx = c;
    buf_init(&z->out, 0);
    return z;
}

static void zscratch_free(struct tsdb__zscratch *z)
{
    ZSTD_freeCCtx(z->cctx);
    buf_fini(&z->out);
    free(z);
}

static void zscratch_put(struct tsdb *db, struct tsdb__zscratch *z)
{
    struct tsdb__wal *w = &db->wal;
    if (z->out.cap <= ZSCRATCH_KEEP_BYTES) {
        pthread_mutex_lock(&w->rec_mu);
        if (w->nz_free < ZSCRATCH_MAX) {
            z->next = w->z_free;
            w->z_free = z;
            w->nz_free++;
            z = NULL;
        }
        pthread_mutex_unlock(&w->rec_mu);
    }
    if (z)
        zscratch_free(z);
}

void tsdb__zscratch_pool_fini(struct tsdb *db)
{
    for (struct tsdb__zscratch *z = db->wal.z_free, *next; z; z = next) {
        next = z->next;
        zscratch_free(z);
    }
    db->wal.z_free = NULL;
    db->wal.nz_free = 0;
}

int tsdb_batch_commit(struct tsdb_batch *b, struct err *e)
{
    if (b->is_committed)
        return err_set(e, ERR_INVAL, "batch already committed");
    b->is_committed = true;
    if (b->npoints == 0)
        return 0;
    struct tsdb *db = b->db;
    struct buf pay;
    buf_init(&pay, 0);
    /* One allocation: the sections plus at most 6 varints. */
    int rc = buf_reserve(&pay, batch_bytes(b) + 64);
    rc = rc ? rc : tsdb__put_uvarint(&pay, b->st->db_id);
    rc = rc ? rc : tsdb__put_uvarint(&pay, b->st->rp_id);
    rc = rc ? rc : tsdb__put_uvarint(&pay, b->nmeas);
    rc = rc ? rc : buf_append(&pay, b->meas_sec.p, b->meas_sec.len);
    rc = rc ? rc : tsdb__put_uvarint(&pay, b->nfields);
    rc = rc ? rc : buf_append(&pay, b->field_sec.p, b->field_sec.len);
    rc = rc ? rc : tsdb__put_uvarint(&pay, b->nseries);
    rc = rc ? rc : buf_append(&pay, b->series_sec.p, b->series_sec.len);
    rc = rc ? rc : tsdb__put_uvarint(&pay, b->npoints);
    rc = rc ? rc : buf_append(&pay, b->point_sec.p, b->point_sec.len);
    if (rc) {
        buf_fini(&pay);
        return err_set(e, ERR_NOMEM, "batch record: out of memory");
    }
    const void *rec = pay.p;
    size_t rec_n = pay.len;
    uint8_t flags = 0;
    struct tsdb__zscratch *z = NULL;
    uint32_t zmin = db->opts.wal_compress_min_bytes;
    if (zmin && pay.len >= zmin && (z = zscratch_get(db)) != NULL) {
        size_t bound = ZSTD_compressBound(pay.len);
        z->out.len = 0;
        if (buf_reserve(&z->out, bound + 8) == 0) {
            /* Uncompressed size first, so replay can size its buffer. */
            tsdb__put_le64((uint8_t *)z->out.p, pay.len);
            size_t zn = ZSTD_compressCCtx(z->cctx, z->out.p + 8, bound, pay.p, pay.len, 1);
            if (!ZSTD_isError(zn) && zn + 8 < pay.len) {
                rec = z->out.p;
                rec_n = zn + 8;
                flags = TSDB__REC_FLAG_ZSTD;
            }
        }
    }
    uint64_t lsn = 0;
    rc = tsdb__wal_submit(db, TSDB__REC_BATCH, flags, rec, rec_n, &lsn, e);
    if (z)
        zscratch_put(db, z);
    if (rc) {
        buf_fini(&pay);
        return rc;
    }
    for (size_t i = 0; i < b->ndefs; i++)
        atomic_store(&b->defs[i]->is_logged, true);
    size_t points = 0;
    /* Read side of apply_lock: a flush copies the head only between
     * applies, so the applied watermark it notes is exact. */
    pthread_rwlock_rdlock(&db->apply_lock);
    /* A store dropped since the batch found it takes nothing: the write
     * counts as made before the drop (replay skips its record too). */
    if (!atomic_load(&b->st->is_dropped))
        rc = tsdb__record_apply(db, b->st, (const uint8_t *)pay.p, pay.len, lsn, false, NULL, 0,
                                NULL, &points, e);
    tsdb__wal_applied(db, lsn);
    pthread_rwlock_unlock(&db->apply_lock);
    buf_fini(&pay);
    if (rc)
        return rc < 0 ? rc : err_set(e, ERR_CORRUPT, "batch store vanished");
    tsdb__metric_add(db->m_points, (double)points);
    return 0;
}
