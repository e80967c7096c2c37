// SPDX-License-Identifier: MIT
/*
 * Catalog of databases and retention policies (influx-compat 0).
 *
 * Persisted as one small file, <dir>/catalog (FORMAT.md "Catalog"), which
 * every change rewrites crash-safely: catalog.tmp, fdatasync, rename, fsync
 * of the directory.  A crash leaves either the old or the new catalog.
 * Directories are named by numeric id (<dir>/db/<db-id>/<rp-id>/), never by
 * user text, so any byte string InfluxDB accepts is a valid name and none
 * can reach outside the data directory.  Ids are never reused.
 *
 * Order of a change: make the directories, write the new catalog, and only
 * then publish the change in memory.  If the write fails the in-memory
 * catalog is unchanged (the error is ERR_IO; if the failure came after the
 * rename, the change may still be present after a restart, like any write
 * whose outcome is unknown).  Orphan directories are harmless.
 *
 * Retention durations: TSDB_DURATION_INF (0) means infinite; INT64_MAX is
 * normalised to 0.  Shard (partition) durations default to InfluxDB's rule:
 * infinite or > 6 months -> 7 days, < 2 days -> 1 hour, else 1 day.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

#define CAT_MAGIC 0x54434A4Eu /* "NJCT" */
#define CAT_VERSION 1
#define CAT_HDR 16
#define HOUR_NS (3600LL * 1000000000LL)
#define DAY_NS (24 * HOUR_NS)

static int64_t auto_shard_duration(int64_t d)
{
    if (d == TSDB_DURATION_INF || d > 180 * DAY_NS)
        return 7 * DAY_NS;
    if (d < 2 * DAY_NS)
        return HOUR_NS;
    return DAY_NS;
}

static char *dup_sv(struct sv s)
{
    char *p = xmalloc(s.n + 1);
    if (s.n)
        memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    return p;
}

static void rp_free(struct tsdb__rp *rp)
{
    if (!rp)
        return;
    tsdb__store_free(rp->store);
    free(rp->name);
    free(rp);
}

static void db_free(struct tsdb__db *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nrps; i++)
        rp_free(d->rps[i]);
    free(d->rps);
    free(d->name);
    free(d);
}

void tsdb__catalog_fini(struct tsdb *db)
{
    for (size_t i = 0; i < db->cat.ndbs; i++)
        db_free(db->cat.dbs[i]);
    free(db->cat.dbs);
    for (size_t i = 0; i < db->cat.ndead_dbs; i++)
        db_free(db->cat.dead_dbs[i]);
    free(db->cat.dead_dbs);
    for (size_t i = 0; i < db->cat.ndead_rps; i++)
        rp_free(db->cat.dead_rps[i]);
    free(db->cat.dead_rps);
    memset(&db->cat, 0, sizeof db->cat);
}

struct tsdb__db *tsdb__catalog_find_db(struct tsdb *db, struct sv name)
{
    for (size_t i = 0; i < db->cat.ndbs; i++) {
        struct tsdb__db *d = db->cat.dbs[i];
        if (sv_eq((struct sv){ d->name, d->name_n }, name))
            return d;
    }
    return NULL;
}

struct tsdb__rp *tsdb__catalog_find_rp(struct tsdb__db *d, struct sv name)
{
    for (size_t i = 0; i < d->nrps; i++) {
        struct tsdb__rp *rp = d->rps[i];
        if (name.n == 0 ? rp->id == d->default_rp_id : sv_eq((struct sv){ rp->name, rp->name_n }, name))
            return rp;
    }
    return NULL;
}

struct tsdb__store *tsdb__catalog_store(struct tsdb *db, uint64_t db_id, uint64_t rp_id)
{
    for (size_t i = 0; i < db->cat.ndbs; i++) {
        struct tsdb__db *d = db->cat.dbs[i];
        if (d->id != db_id)
            continue;
        for (size_t j = 0; j < d->nrps; j++)
            if (d->rps[j]->id == rp_id)
                return d->rps[j]->store;
    }
    return NULL;
}

/* Serialises a catalog (the current one, with optional extra db/rp not yet
 * published) into out. */
static int cat_encode(const struct tsdb__catalog *c, struct buf *out)
{
    struct buf body;
    buf_init(&body, 0);
    int rc = tsdb__put_uvarint(&body, c->next_db_id);
    rc = rc ? rc : tsdb__put_uvarint(&body, c->ndbs);
    for (size_t i = 0; i < c->ndbs && !rc; i++) {
        const struct tsdb__db *d = c->dbs[i];
        rc = tsdb__put_uvarint(&body, d->id);
        rc = rc ? rc : tsdb__put_bytes(&body, d->name, d->name_n);
        rc = rc ? rc : tsdb__put_uvarint(&body, d->default_rp_id);
        rc = rc ? rc : tsdb__put_uvarint(&body, d->next_rp_id);
        rc = rc ? rc : tsdb__put_uvarint(&body, d->nrps);
        for (size_t j = 0; j < d->nrps && !rc; j++) {
            const struct tsdb__rp *rp = d->rps[j];
            rc = tsdb__put_uvarint(&body, rp->id);
            rc = rc ? rc : tsdb__put_bytes(&body, rp->name, rp->name_n);
            rc = rc ? rc : tsdb__put_u64(&body, (uint64_t)rp->duration_ns);
            rc = rc ? rc : tsdb__put_u64(&body, (uint64_t)rp->shard_duration_ns);
            rc = rc ? rc : tsdb__put_uvarint(&body, rp->replication);
        }
    }
    buf_reset(out);
    rc = rc ? rc : tsdb__put_u32(out, CAT_MAGIC);
    rc = rc ? rc : tsdb__put_u32(out, CAT_VERSION);
    rc = rc ? rc : tsdb__put_u32(out, (uint32_t)body.len);
    rc = rc ? rc : tsdb__put_u32(out, tsdb__crc32c(0, body.p, body.len));
    rc = rc ? rc : buf_append(out, body.p, body.len);
    buf_fini(&body);
    return rc;
}

static int cat_write(struct tsdb *db, const struct tsdb__catalog *c, struct err *e)
{
    struct buf out;
    buf_init(&out, 0);
    int rc = cat_encode(c, &out);
    if (rc)
        rc = err_set(e, ERR_NOMEM, "catalog: encoding failed");
    else
        rc = tsdb__f_replace(&db->fio, db->dir, "catalog", out.p, out.len, e);
    buf_fini(&out);
    return rc;
}

static struct tsdb__rp *rp_new(struct tsdb *db, uint64_t db_id, uint64_t id, struct sv name,
                               int64_t duration_ns, int64_t shard_ns, uint32_t replication)
{
    struct tsdb__rp *rp = xcalloc(1, sizeof *rp);
    rp->id = id;
    rp->name = dup_sv(name);
    rp->name_n = name.n;
    rp->duration_ns = duration_ns;
    rp->shard_duration_ns = shard_ns;
    rp->replication = replication;
    rp->store = tsdb__store_new(db, db_id, id);
    return rp;
}

int tsdb__catalog_load(struct tsdb *db, struct err *e)
{
    char path[TSDB__PATH_MAX];
    snprintf(path, sizeof path, "%s/catalog", db->dir);
    db->cat.next_db_id = 1;
    struct buf in;
    buf_init(&in, 0);
    int rc = tsdb__f_read_all(path, &in, e);
    if (rc == ERR_NOTFOUND) {
        buf_fini(&in);
        err_clear(e);
        return 0;
    }
    if (rc) {
        buf_fini(&in);
        return rc;
    }
    const uint8_t *p = (const uint8_t *)in.p;
    if (in.len < CAT_HDR || tsdb__le32(p) != CAT_MAGIC) {
        buf_fini(&in);
        return err_set(e, ERR_CORRUPT, "%s: offset 0: bad catalog header", path);
    }
    if (tsdb__le32(p + 4) != CAT_VERSION) {
        buf_fini(&in);
        return err_set(e, ERR_CORRUPT, "%s: unsupported catalog version %" PRIu32, path,
                       tsdb__le32(p + 4));
    }
    uint32_t body_n = tsdb__le32(p + 8);
    if (body_n != in.len - CAT_HDR || tsdb__crc32c(0, p + CAT_HDR, body_n) != tsdb__le32(p + 12)) {
        buf_fini(&in);
        return err_set(e, ERR_CORRUPT, "%s: offset %d: bad catalog checksum or length", path,
                       CAT_HDR);
    }
    struct tsdb__dec d;
    tsdb__dec_init(&d, p + CAT_HDR, body_n);
    db->cat.next_db_id = tsdb__get_uvarint(&d);
    uint64_t ndbs = tsdb__get_uvarint(&d);
    for (uint64_t i = 0; i < ndbs && !d.is_bad && tsdb__dec_left(&d) > 0; i++) {
        struct tsdb__db *dbe = xcalloc(1, sizeof *dbe);
        dbe->id = tsdb__get_uvarint(&d);
        struct sv name = tsdb__get_bytes(&d);
        dbe->name = dup_sv(name);
        dbe->name_n = name.n;
        dbe->default_rp_id = tsdb__get_uvarint(&d);
        dbe->next_rp_id = tsdb__get_uvarint(&d);
        uint64_t nrps = tsdb__get_uvarint(&d);
        for (uint64_t j = 0; j < nrps && !d.is_bad && tsdb__dec_left(&d) > 0; j++) {
            uint64_t id = tsdb__get_uvarint(&d);
            struct sv rname = tsdb__get_bytes(&d);
            int64_t dur = (int64_t)tsdb__get_u64(&d);
            int64_t shard = (int64_t)tsdb__get_u64(&d);
            uint32_t repl = (uint32_t)tsdb__get_uvarint(&d);
            dbe->rps = xrealloc(dbe->rps, (dbe->nrps + 1) * sizeof *dbe->rps);
            dbe->rps[dbe->nrps++] = rp_new(db, dbe->id, id, rname, dur, shard, repl);
        }
        db->cat.dbs = xrealloc(db->cat.dbs, (db->cat.ndbs + 1) * sizeof *db->cat.dbs);
        db->cat.dbs[db->cat.ndbs++] = dbe;
    }
    bool is_bad = d.is_bad || tsdb__dec_left(&d) != 0 || db->cat.ndbs != ndbs;
    buf_fini(&in);
    if (is_bad) {
        tsdb__catalog_fini(db);
        return err_set(e, ERR_CORRUPT, "%s: catalog body does not decode", path);
    }
    return 0;
}

static int check_rp_opts(const struct tsdb_rp_opts *o, int64_t *dur, int64_t *shard,
                         struct err *e)
{
    *dur = o->duration_ns == INT64_MAX ? TSDB_DURATION_INF : o->duration_ns;
    if (*dur < 0)
        return err_set(e, ERR_INVAL, "retention policy duration must be positive or INF");
    if (o->name.n > TSDB_MAX_NAME_BYTES)
        return err_set(e, ERR_INVAL, "retention policy name too long");
    *shard = o->shard_duration_ns ? o->shard_duration_ns : auto_shard_duration(*dur);
    if (*shard < 0)
        return err_set(e, ERR_INVAL, "shard duration must be positive");
    return 0;
}

/* Creates <dir>/db/<db-id>/<rp-id> and fsyncs the parents. */
static int make_rp_dirs(struct tsdb *db, uint64_t db_id, uint64_t rp_id, struct err *e)
{
    char p1[TSDB__PATH_MAX], p2[TSDB__PATH_MAX], p3[TSDB__PATH_MAX];
    snprintf(p1, sizeof p1, "%s/db", db->dir);
    snprintf(p2, sizeof p2, "%s/db/%" PRIu64, db->dir, db_id);
    snprintf(p3, sizeof p3, "%s/db/%" PRIu64 "/%" PRIu64, db->dir, db_id, rp_id);
    int rc = tsdb__f_mkdir(&db->fio, p1, e);
    rc = rc ? rc : tsdb__f_mkdir(&db->fio, p2, e);
    rc = rc ? rc : tsdb__f_mkdir(&db->fio, p3, e);
    rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, p2, e);
    rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, p1, e);
    rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, db->dir, e);
    return rc;
}

int tsdb_create_database(struct tsdb *db, struct sv name, const struct tsdb_rp_opts *rpo,
                         struct err *e)
{
    struct tsdb_rp_opts def = { .duration_ns = TSDB_DURATION_INF };
    if (!rpo)
        rpo = &def;
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "store is open read-only");
    if (name.n == 0)
        return err_set(e, ERR_INVAL, "database name required");
    if (name.n > TSDB_MAX_NAME_BYTES)
        return err_set(e, ERR_INVAL, "database name too long");
    int64_t dur = 0, shard = 0;
    int rc = check_rp_opts(rpo, &dur, &shard, e);
    if (rc)
        return rc;
    struct sv rpname = rpo->name.n ? rpo->name : SV_LIT(TSDB_DEFAULT_RP);

    pthread_mutex_lock(&db->cat_lock);
    if (tsdb__catalog_find_db(db, name)) {
        pthread_mutex_unlock(&db->cat_lock);
        char q[96];
        return err_set(e, ERR_EXISTS, "database already exists: \"%s\"",
                       err_quote(q, sizeof q, name.p, name.n, 64));
    }
    struct tsdb__db *d = xcalloc(1, sizeof *d);
    d->id = db->cat.next_db_id;
    d->name = dup_sv(name);
    d->name_n = name.n;
    d->default_rp_id = 1;
    d->next_rp_id = 2;
    d->rps = xcalloc(1, sizeof *d->rps);
    d->rps[0] = rp_new(db, d->id, 1, rpname, dur, shard, rpo->replication ? rpo->replication : 1);
    d->nrps = 1;

    rc = make_rp_dirs(db, d->id, 1, e);
    if (!rc) {
        /* Encode the catalog as it will be, without publishing it yet. */
        struct tsdb__catalog next = db->cat;
        next.next_db_id = d->id + 1;
        next.dbs = xcalloc(db->cat.ndbs + 1, sizeof *next.dbs);
        if (db->cat.ndbs)
            memcpy(next.dbs, db->cat.dbs, db->cat.ndbs * sizeof *next.dbs);
        next.dbs[next.ndbs++] = d;
        rc = cat_write(db, &next, e);
        if (!rc) {
            free(db->cat.dbs);
            db->cat = next;
        } else {
            free(next.dbs);
        }
    }
    pthread_mutex_unlock(&db->cat_lock);
    if (rc)
        db_free(d);
    return rc;
}

int tsdb_create_retention_policy(struct tsdb *db, struct sv dbname, const struct tsdb_rp_opts *rpo,
                                 struct err *e)
{
    int64_t dur = 0, shard = 0;
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "store is open read-only");
    int rc = check_rp_opts(rpo, &dur, &shard, e);
    if (rc)
        return rc;
    if (rpo->name.n == 0)
        return err_set(e, ERR_INVAL, "retention policy name required");
    char q[96];
    pthread_mutex_lock(&db->cat_lock);
    struct tsdb__db *d = tsdb__catalog_find_db(db, dbname);
    if (!d) {
        pthread_mutex_unlock(&db->cat_lock);
        return err_set(e, ERR_NOTFOUND, "database not found: \"%s\"",
                       err_quote(q, sizeof q, dbname.p, dbname.n, 64));
    }
    if (tsdb__catalog_find_rp(d, rpo->name)) {
        pthread_mutex_unlock(&db->cat_lock);
        return err_set(e, ERR_EXISTS, "retention policy already exists");
    }
    uint64_t id = d->next_rp_id;
    struct tsdb__rp *rp =
        rp_new(db, d->id, id, rpo->name, dur, shard, rpo->replication ? rpo->replication : 1);
    rc = make_rp_dirs(db, d->id, id, e);
    if (!rc) {
        /* Publish tentatively under the lock (nobody else sees it until we
         * unlock), write, and undo on failure. */
        uint64_t old_default = d->default_rp_id;
        d->rps = xrealloc(d->rps, (d->nrps + 1) * sizeof *d->rps);
        d->rps[d->nrps++] = rp;
        d->next_rp_id = id + 1;
        if (rpo->is_default)
            d->default_rp_id = id;
        rc = cat_write(db, &db->cat, e);
        if (rc) {
            d->nrps--;
            d->next_rp_id = id;
            d->default_rp_id = old_default;
        }
    }
    pthread_mutex_unlock(&db->cat_lock);
    if (rc)
        rp_free(rp);
    return rc;
}

/* Drops: the catalog without the entry is made durable first (so neither a
 * restart nor WAL replay can bring it back: replay skips records whose ids
 * the catalog lacks, and ids are never reused), then the entry is unlinked
 * in memory, then its data goes (tsdb__storage_drop).  flush_mu keeps a
 * flush or retention pass from writing into the directory meanwhile. */
int tsdb_drop_database(struct tsdb *db, struct sv name, struct err *e)
{
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "store is open read-only");
    pthread_mutex_lock(&db->flush_mu);
    pthread_mutex_lock(&db->cat_lock);
    size_t at = 0;
    while (at < db->cat.ndbs &&
           !sv_eq((struct sv){ db->cat.dbs[at]->name, db->cat.dbs[at]->name_n }, name))
        at++;
    if (at == db->cat.ndbs) {
        pthread_mutex_unlock(&db->cat_lock);
        pthread_mutex_unlock(&db->flush_mu);
        return 0;
    }
    struct tsdb__db *d = db->cat.dbs[at];
    struct tsdb__catalog next = db->cat;
    next.dbs = xcalloc(db->cat.ndbs, sizeof *next.dbs);
    next.ndbs = 0;
    for (size_t i = 0; i < db->cat.ndbs; i++)
        if (i != at)
            next.dbs[next.ndbs++] = db->cat.dbs[i];
    int rc = cat_write(db, &next, e);
    struct tsdb__store **sts = NULL;
    if (rc) {
        free(next.dbs);
    } else {
        free(db->cat.dbs);
        db->cat.dbs = next.dbs;
        db->cat.ndbs = next.ndbs;
        db->cat.dead_dbs =
            xrealloc(db->cat.dead_dbs, (db->cat.ndead_dbs + 1) * sizeof *db->cat.dead_dbs);
        db->cat.dead_dbs[db->cat.ndead_dbs++] = d;
        sts = xcalloc(d->nrps ? d->nrps : 1, sizeof *sts);
        for (size_t j = 0; j < d->nrps; j++)
            sts[j] = d->rps[j]->store;
    }
    pthread_mutex_unlock(&db->cat_lock);
    if (!rc)
        rc = tsdb__storage_drop(db, sts, d->nrps, d->id, 0, e);
    free(sts);
    pthread_mutex_unlock(&db->flush_mu);
    return rc;
}

int tsdb_drop_retention_policy(struct tsdb *db, struct sv dbname, struct sv rpname,
                               struct err *e)
{
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "store is open read-only");
    if (rpname.n == 0)
        return 0; /* the empty name means "the default" elsewhere; no policy has it */
    pthread_mutex_lock(&db->flush_mu);
    pthread_mutex_lock(&db->cat_lock);
    struct tsdb__db *d = tsdb__catalog_find_db(db, dbname);
    size_t at = 0;
    while (d && at < d->nrps &&
           !sv_eq((struct sv){ d->rps[at]->name, d->rps[at]->name_n }, rpname))
        at++;
    if (!d || at == d->nrps) {
        pthread_mutex_unlock(&db->cat_lock);
        pthread_mutex_unlock(&db->flush_mu);
        return 0;
    }
    /* Unlink tentatively under the lock, write, undo on failure (as
     * tsdb_create_retention_policy does).  Dropping the default leaves the
     * database without one, as in InfluxDB 1.6. */
    struct tsdb__rp *rp = d->rps[at];
    uint64_t old_default = d->default_rp_id;
    memmove(d->rps + at, d->rps + at + 1, (d->nrps - at - 1) * sizeof *d->rps);
    d->nrps--;
    if (old_default == rp->id)
        d->default_rp_id = 0;
    int rc = cat_write(db, &db->cat, e);
    if (rc) {
        memmove(d->rps + at + 1, d->rps + at, (d->nrps - at) * sizeof *d->rps);
        d->rps[at] = rp;
        d->nrps++;
        d->default_rp_id = old_default;
    } else {
        db->cat.dead_rps =
            xrealloc(db->cat.dead_rps, (db->cat.ndead_rps + 1) * sizeof *db->cat.dead_rps);
        db->cat.dead_rps[db->cat.ndead_rps++] = rp;
    }
    uint64_t db_id = d->id;
    pthread_mutex_unlock(&db->cat_lock);
    if (!rc)
        rc = tsdb__storage_drop(db, &rp->store, 1, db_id, rp->id, e);
    pthread_mutex_unlock(&db->flush_mu);
    return rc;
}

int tsdb_alter_retention_policy(struct tsdb *db, struct sv dbname, struct sv rpname,
                                const struct tsdb_rp_alter *a, struct err *e)
{
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "store is open read-only");
    int64_t dur = 0;
    if (a->has_duration) {
        dur = a->duration_ns == INT64_MAX ? TSDB_DURATION_INF : a->duration_ns;
        if (dur < 0)
            return err_set(e, ERR_INVAL, "retention policy duration must be positive or INF");
    }
    if (a->has_shard && a->shard_duration_ns < 0)
        return err_set(e, ERR_INVAL, "shard duration must be positive");
    char q[96];
    pthread_mutex_lock(&db->cat_lock);
    struct tsdb__db *d = tsdb__catalog_find_db(db, dbname);
    struct tsdb__rp *rp = d && rpname.n ? tsdb__catalog_find_rp(d, rpname) : NULL;
    int rc = 0;
    if (!d) {
        rc = err_set(e, ERR_NOTFOUND, "database not found: \"%s\"",
                     err_quote(q, sizeof q, dbname.p, dbname.n, 64));
    } else if (!rp) {
        rc = err_set(e, ERR_NOTFOUND, "retention policy not found: %s",
                     err_quote(q, sizeof q, rpname.p, rpname.n, 64));
    } else {
        int64_t new_dur = a->has_duration ? dur : rp->duration_ns;
        int64_t new_shard = rp->shard_duration_ns;
        if (a->has_shard)
            new_shard = a->shard_duration_ns ? a->shard_duration_ns : auto_shard_duration(new_dur);
        if (new_dur != TSDB_DURATION_INF && new_shard > new_dur) {
            rc = err_set(e, ERR_INVAL,
                         "retention policy duration must be greater than the shard duration");
        } else {
            /* Change in place under the lock, write, undo on failure. */
            struct tsdb__rp old = *rp;
            uint64_t old_default = d->default_rp_id;
            rp->duration_ns = new_dur;
            rp->shard_duration_ns = new_shard;
            if (a->has_replication)
                rp->replication = a->replication ? a->replication : 1;
            if (a->is_default)
                d->default_rp_id = rp->id;
            rc = cat_write(db, &db->cat, e);
            if (rc) {
                rp->duration_ns = old.duration_ns;
                rp->shard_duration_ns = old.shard_duration_ns;
                rp->replication = old.replication;
                d->default_rp_id = old_default;
            }
        }
    }
    pthread_mutex_unlock(&db->cat_lock);
    return rc;
}

int tsdb_list_databases(struct tsdb *db, tsdb_db_cb cb, void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&db->cat_lock);
    for (size_t i = 0; i < db->cat.ndbs && !rc; i++) {
        struct tsdb__db *d = db->cat.dbs[i];
        struct tsdb_rp_info *rps = xcalloc(d->nrps ? d->nrps : 1, sizeof *rps);
        for (size_t j = 0; j < d->nrps; j++) {
            struct tsdb__rp *rp = d->rps[j];
            rps[j] = (struct tsdb_rp_info){ .name = { rp->name, rp->name_n },
                                            .id = rp->id,
                                            .duration_ns = rp->duration_ns,
                                            .shard_duration_ns = rp->shard_duration_ns,
                                            .replication = rp->replication,
                                            .is_default = rp->id == d->default_rp_id };
        }
        struct tsdb_db_info info = { .name = { d->name, d->name_n },
                                     .id = d->id,
                                     .nrps = d->nrps,
                                     .rps = rps };
        rc = cb(arg, &info);
        free(rps);
    }
    pthread_mutex_unlock(&db->cat_lock);
    return rc;
}

int tsdb_find_rp(struct tsdb *db, struct sv dbname, struct sv rpname, struct tsdb_rp_info *out,
                 struct err *e)
{
    char q[96];
    int rc = 0;
    pthread_mutex_lock(&db->cat_lock);
    struct tsdb__db *d = tsdb__catalog_find_db(db, dbname);
    struct tsdb__rp *rp = d ? tsdb__catalog_find_rp(d, rpname) : NULL;
    if (!d)
        rc = err_set(e, ERR_NOTFOUND, "database not found: \"%s\"",
                     err_quote(q, sizeof q, dbname.p, dbname.n, 64));
    else if (!rp)
        rc = err_set(e, ERR_NOTFOUND, "retention policy not found: %s",
                     err_quote(q, sizeof q, rpname.p, rpname.n, 64));
    else if (out)
        *out = (struct tsdb_rp_info){ .id = rp->id,
                                      .duration_ns = rp->duration_ns,
                                      .shard_duration_ns = rp->shard_duration_ns,
                                      .replication = rp->replication,
                                      .is_default = rp->id == d->default_rp_id };
    pthread_mutex_unlock(&db->cat_lock);
    return rc;
}
