// SPDX-License-Identifier: MIT
/*
 * Storage at rest: partitions, MANIFESTs, the head flush, the checkpoint,
 * recovery of all of these at open, and retention (storage-notes 5.4, 5.6,
 * 5.7, 5.8).  Byte layouts: tsdb/FORMAT.md.
 *
 * Partitions.  Each retention policy's time axis is cut into partitions of
 * the policy's shard duration; partition [start, start + shard) lives in
 * db/<db-id>/<rp-id>/<start>/ (<start> in ns, decimal digits, possibly with
 * a minus sign), holding a MANIFEST and the part files it lists
 * (<seq>-<level>.tsp, seq 16 hex digits).  Files the MANIFEST does not list
 * are left-overs of a failed or interrupted flush and are deleted at open.
 *
 * Flush (tsdb_flush), one at a time (flush_mu):
 *   1. under apply_lock (write; commits hold it for reading while they apply
 *      a record), note C = the applied watermark: every record <= C is in
 *      the head.  Then, without apply_lock, walk every store's series in id
 *      order and copy each one's rows not yet in a published part, a piece
 *      of up to 2,048 rows at a time (store lock read + stripe), marking
 *      each row with the new generation g (head.fgen);
 *   2. hand each piece to the streaming part writer of its partition, which
 *      writes <seq>-0.tsp.tmp as it goes; at the end of the pass: index and
 *      footer, fdatasync, rename, fsync the directory ("Streaming flush"
 *      below);
 *   3. per touched store: write its series file (ids, keys, field types),
 *      since WAL records that define series are about to be deleted;
 *   4. per touched partition: write the MANIFEST (tmp, fsync, rename, fsync);
 *   5. write CHECKPOINT = C (tmp, fsync, rename, fsync);
 *   6. publish: a new version (part list + generation g) replaces the
 *      current one; snapshots taken from now on read the new parts and skip
 *      head rows with fgen <= g;
 *   7. purge head rows whose fgen no live snapshot still needs, give the
 *      freed heap back (malloc_trim), and delete WAL segments whose records
 *      are all <= C.
 * A failure in 1-5 leaves the rows in the head (their marks are undone)
 * and the old MANIFESTs/CHECKPOINT in force: replay re-applies the WAL
 * above the old checkpoint.  A part listed by a new MANIFEST while
 * CHECKPOINT is old holds rows that replay also puts in the head; readers
 * prefer the head, so every point is still seen once.
 *
 * Rows copied in step 1 whose LSN is above C (records applied while the
 * flush walks, or out of order) are also replayed after a crash: applying
 * them twice gives the same values, since a record carries whole field
 * values and replay runs in LSN order.
 *
 * Locks, outermost first: flush_mu, apply_lock, store lock, stripes; ver_mu
 * is a leaf (current version, live snapshot generations).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

#define MAN_MAGIC 0x4D4A4A4Eu /* "NJJM" */
#define MAN_VERSION 1
#define SER_MAGIC 0x534A4A4Eu /* "NJJS" */
#define SER_VERSION 1
#define CKP_MAGIC 0x434A4A4Eu /* "NJJC" */
#define CKP_VERSION 1
#define FILE_HDR 16

/* Formats a path; an over-long result is cut (the data directory is capped
 * at TSDB__DIR_MAX so that ours never are). */
__attribute__((format(printf, 3, 4))) static void pathf(char *out, size_t cap, const char *fmt,
                                                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

/* ---- versions ------------------------------------------------------------------ */

static struct tsdb__version *version_new(uint64_t gen, size_t n)
{
    struct tsdb__version *v = xcalloc(1, sizeof *v);
    atomic_init(&v->refs, 1);
    v->gen = gen;
    v->parts = n ? xcalloc(n, sizeof *v->parts) : NULL;
    return v;
}

void tsdb__version_unref(struct tsdb__version *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (size_t i = 0; i < v->nparts; i++)
        tsdb__part_unref(v->parts[i].part);
    free(v->parts);
    free(v);
}

/* Builds a version from the partition list (flush_mu held). */
static struct tsdb__version *version_build(struct tsdb *db, uint64_t gen)
{
    size_t n = 0;
    for (size_t i = 0; i < db->npartitions; i++)
        n += db->partitions[i]->nparts;
    struct tsdb__version *v = version_new(gen, n);
    for (size_t i = 0; i < db->npartitions; i++) {
        struct tsdb__partition *pa = db->partitions[i];
        for (size_t j = 0; j < pa->nparts; j++) {
            tsdb__part_ref(pa->parts[j]);
            v->parts[v->nparts++] = (struct tsdb__vpart){ .db_id = pa->db_id,
                                                          .rp_id = pa->rp_id,
                                                          .start = pa->start,
                                                          .end = pa->end,
                                                          .part = pa->parts[j] };
        }
    }
    return v;
}

static void publish(struct tsdb *db, uint64_t gen)
{
    struct tsdb__version *v = version_build(db, gen);
    pthread_mutex_lock(&db->ver_mu);
    struct tsdb__version *old = db->ver;
    db->ver = v;
    pthread_mutex_unlock(&db->ver_mu);
    tsdb__version_unref(old);
}

/* Oldest generation a live snapshot reads (the current one if none). */
static uint64_t min_live_gen(struct tsdb *db)
{
    pthread_mutex_lock(&db->ver_mu);
    uint64_t g = db->ver ? db->ver->gen : 0;
    for (size_t i = 0; i < db->nsnap_gens; i++)
        if (db->snap_gens[i] < g)
            g = db->snap_gens[i];
    pthread_mutex_unlock(&db->ver_mu);
    return g;
}

struct tsdb__version *tsdb__version_pin(struct tsdb *db)
{
    pthread_mutex_lock(&db->ver_mu);
    struct tsdb__version *v = db->ver;
    atomic_fetch_add(&v->refs, 1);
    if (db->nsnap_gens == db->cap_snap_gens) {
        db->cap_snap_gens = db->cap_snap_gens ? db->cap_snap_gens * 2 : 8;
        db->snap_gens = xrealloc(db->snap_gens, db->cap_snap_gens * sizeof *db->snap_gens);
    }
    db->snap_gens[db->nsnap_gens++] = v->gen;
    pthread_mutex_unlock(&db->ver_mu);
    return v;
}

void tsdb__version_unpin(struct tsdb *db, struct tsdb__version *v)
{
    pthread_mutex_lock(&db->ver_mu);
    for (size_t i = 0; i < db->nsnap_gens; i++)
        if (db->snap_gens[i] == v->gen) {
            db->snap_gens[i] = db->snap_gens[--db->nsnap_gens];
            break;
        }
    pthread_mutex_unlock(&db->ver_mu);
    tsdb__version_unref(v);
}

/* ---- partitions -------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0)) ? q - 1 : q;
}

void tsdb__partition_range(int64_t ts, int64_t shard_ns, int64_t *start, int64_t *end)
{
    if (shard_ns <= 0)
        shard_ns = 7LL * 24 * 3600 * 1000000000LL;
    int64_t q = floor_div(ts, shard_ns);
    *start = q * shard_ns;
    *end = *start > INT64_MAX - shard_ns ? INT64_MAX : *start + shard_ns;
}

static void partition_dirs(struct tsdb *db, uint64_t db_id, uint64_t rp_id, int64_t start,
                           char *abs, size_t abs_n, char *rel, size_t rel_n)
{
    pathf(rel, rel_n, "db/%" PRIu64 "/%" PRIu64 "/%" PRId64, db_id, rp_id, start);
    pathf(abs, abs_n, "%s/%s", db->dir, rel);
}

static struct tsdb__partition *partition_find(struct tsdb *db, uint64_t db_id, uint64_t rp_id,
                                              int64_t start)
{
    for (size_t i = 0; i < db->npartitions; i++) {
        struct tsdb__partition *pa = db->partitions[i];
        if (pa->db_id == db_id && pa->rp_id == rp_id && pa->start == start)
            return pa;
    }
    return NULL;
}

static int cmp_partition(const void *a, const void *b)
{
    const struct tsdb__partition *x = *(struct tsdb__partition *const *)a;
    const struct tsdb__partition *y = *(struct tsdb__partition *const *)b;
    if (x->db_id != y->db_id)
        return x->db_id < y->db_id ? -1 : 1;
    if (x->rp_id != y->rp_id)
        return x->rp_id < y->rp_id ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

static struct tsdb__partition *partition_add(struct tsdb *db, uint64_t db_id, uint64_t rp_id,
                                             int64_t start, int64_t end)
{
    struct tsdb__partition *pa = xcalloc(1, sizeof *pa);
    pa->db_id = db_id;
    pa->rp_id = rp_id;
    pa->start = start;
    pa->end = end;
    pa->next_seq = 1;
    partition_dirs(db, db_id, rp_id, start, pa->dir, sizeof pa->dir, pa->rel, sizeof pa->rel);
    db->partitions = xrealloc(db->partitions, (db->npartitions + 1) * sizeof *db->partitions);
    db->partitions[db->npartitions++] = pa;
    qsort(db->partitions, db->npartitions, sizeof *db->partitions, cmp_partition);
    return pa;
}

static void partition_free(struct tsdb__partition *pa)
{
    for (size_t i = 0; i < pa->nparts; i++)
        tsdb__part_unref(pa->parts[i]);
    free(pa->parts);
    free(pa);
}

void tsdb__storage_fini(struct tsdb *db)
{
    for (size_t i = 0; i < db->npartitions; i++)
        partition_free(db->partitions[i]);
    free(db->partitions);
    db->partitions = NULL;
    db->npartitions = 0;
    tsdb__version_unref(db->ver);
    db->ver = NULL;
    free(db->snap_gens);
    db->snap_gens = NULL;
}

/* ---- small framed files: MANIFEST, series, CHECKPOINT ------------------------ */

/* magic | version | body length | crc32c(body) | body */
static int frame(struct buf *out, uint32_t magic, uint32_t version, const struct buf *body)
{
    uint8_t h[FILE_HDR];
    tsdb__put_le32(h, magic);
    tsdb__put_le32(h + 4, version);
    tsdb__put_le32(h + 8, (uint32_t)body->len);
    tsdb__put_le32(h + 12, tsdb__crc32c(0, body->p, body->len));
    int rc = buf_append(out, h, sizeof h);
    return rc ? rc : buf_append(out, body->p, body->len);
}

int tsdb__unframe(const uint8_t *p, size_t len, uint32_t magic, uint32_t version,
                  const char *name, struct tsdb__dec *body, struct err *e)
{
    if (len < FILE_HDR || tsdb__le32(p) != magic)
        return err_set(e, ERR_CORRUPT, "%s: offset 0: bad magic", name);
    if (tsdb__le32(p + 4) != version)
        return err_set(e, ERR_CORRUPT, "%s: offset 4: unsupported version %u", name,
                       tsdb__le32(p + 4));
    if (tsdb__le32(p + 8) != len - FILE_HDR)
        return err_set(e, ERR_CORRUPT, "%s: offset 8: body length %u, file has %zu", name,
                       tsdb__le32(p + 8), len - FILE_HDR);
    if (tsdb__le32(p + 12) != tsdb__crc32c(0, p + FILE_HDR, len - FILE_HDR))
        return err_set(e, ERR_CORRUPT, "%s: offset 16: checksum mismatch", name);
    tsdb__dec_init(body, p + FILE_HDR, len - FILE_HDR);
    return 0;
}

static void part_name(char *out, size_t n, uint64_t seq, uint32_t level)
{
    pathf(out, n, "%016" PRIx64 "-%u.tsp", seq, level);
}

static int manifest_write(struct tsdb *db, struct tsdb__partition *pa, struct err *e)
{
    struct buf body, out;
    buf_init(&body, 0);
    buf_init(&out, 0);
    int rc = tsdb__put_uvarint(&body, pa->next_seq);
    rc = rc ? rc : tsdb__put_u64(&body, (uint64_t)pa->start);
    rc = rc ? rc : tsdb__put_u64(&body, (uint64_t)pa->end);
    rc = rc ? rc : tsdb__put_uvarint(&body, pa->nparts);
    for (size_t i = 0; i < pa->nparts && !rc; i++) {
        const struct tsdb__part *pt = pa->parts[i];
        rc = tsdb__put_uvarint(&body, pt->seq);
        rc = rc ? rc : tsdb__put_uvarint(&body, pt->level);
        rc = rc ? rc : tsdb__put_u64(&body, pt->len);
        rc = rc ? rc : tsdb__put_u64(&body, pt->info.max_lsn);
        rc = rc ? rc : tsdb__put_u64(&body, (uint64_t)pt->info.min_ts);
        rc = rc ? rc : tsdb__put_u64(&body, (uint64_t)pt->info.max_ts);
    }
    rc = rc ? rc : frame(&out, MAN_MAGIC, MAN_VERSION, &body);
    rc = rc ? err_set(e, rc, "%s/MANIFEST: out of memory", pa->rel)
            : tsdb__f_replace(&db->fio, pa->dir, "MANIFEST", out.p, out.len, e);
    buf_fini(&body);
    buf_fini(&out);
    return rc;
}

/* Parses a MANIFEST image into entries (tests and the fuzz target use it on
 * raw bytes).  *ents is malloc'd. */
int tsdb__manifest_decode(const uint8_t *p, size_t len, const char *name,
                          struct tsdb__mentry **ents, size_t *n, uint64_t *next_seq,
                          int64_t *start, int64_t *end, struct err *e)
{
    *ents = NULL;
    *n = 0;
    struct tsdb__dec d;
    int rc = tsdb__unframe(p, len, MAN_MAGIC, MAN_VERSION, name, &d, e);
    if (rc)
        return rc;
    *next_seq = tsdb__get_uvarint(&d);
    *start = (int64_t)tsdb__get_u64(&d);
    *end = (int64_t)tsdb__get_u64(&d);
    uint64_t cnt = tsdb__get_uvarint(&d);
    if (d.is_bad || cnt > tsdb__dec_left(&d) / 34 || *start >= *end)
        return err_set(e, ERR_CORRUPT, "%s: offset 16: bad manifest header", name);
    struct tsdb__mentry *v = cnt ? xcalloc((size_t)cnt, sizeof *v) : NULL;
    for (size_t i = 0; i < cnt; i++) {
        v[i].seq = tsdb__get_uvarint(&d);
        v[i].level = (uint32_t)tsdb__get_uvarint(&d);
        v[i].size = tsdb__get_u64(&d);
        v[i].max_lsn = tsdb__get_u64(&d);
        v[i].min_ts = (int64_t)tsdb__get_u64(&d);
        v[i].max_ts = (int64_t)tsdb__get_u64(&d);
        if (!d.is_bad && (v[i].seq == 0 || v[i].seq >= *next_seq || v[i].level > 9 ||
                          (i && v[i].seq <= v[i - 1].seq)))
            d.is_bad = true;
    }
    if (d.is_bad || tsdb__dec_left(&d)) {
        free(v);
        return err_set(e, ERR_CORRUPT, "%s: offset 16: bad manifest entry", name);
    }
    *ents = v;
    *n = (size_t)cnt;
    return 0;
}

/* Series file of a store: everything replay needs to resolve ids whose
 * defining WAL records are gone.  Store lock (read) held by the caller.
 * skip (may be NULL) leaves series and measurements out (delete.c). */
int tsdb__series_encode(struct tsdb__store *st, tsdb__series_skip_cb skip, void *arg,
                        struct buf *out)
{
    struct buf body;
    buf_init(&body, 0);
    int rc = tsdb__put_uvarint(&body, st->next_id);
    /* Measurements in a numbered order so series can refer to them. */
    size_t nm = st->meas.count, it = 0, k = 0;
    struct tsdb__meas **ms = xmalloc((nm ? nm : 1) * sizeof *ms);
    const struct htab_entry *en;
    while (htab_next(&st->meas, &it, &en)) {
        struct tsdb__meas *m = en->val;
        if (!skip || !skip(arg, NULL, m))
            ms[k++] = m;
        else
            m->ser_index = UINT32_MAX;
    }
    rc = rc ? rc : tsdb__put_uvarint(&body, k);
    for (size_t i = 0; i < k && !rc; i++) {
        ms[i]->ser_index = (uint32_t)i;
        rc = tsdb__put_bytes(&body, ms[i]->name, ms[i]->n);
        rc = rc ? rc : tsdb__put_uvarint(&body, ms[i]->nfields);
        for (uint32_t f = 0; f < ms[i]->nfields && !rc; f++) {
            rc = tsdb__put_bytes(&body, ms[i]->fieldv[f]->key, ms[i]->fieldv[f]->key_n);
            rc = rc ? rc : tsdb__put_u8(&body, (uint8_t)ms[i]->fieldv[f]->type);
        }
    }
    size_t ns = 0;
    for (uint64_t id = 1; id < st->next_id; id++) {
        struct tsdb__series *s = tsdb__series_get(st, id);
        ns += s && !(skip && skip(arg, s, s->meas));
    }
    rc = rc ? rc : tsdb__put_uvarint(&body, ns);
    for (uint64_t id = 1; id < st->next_id && !rc; id++) {
        struct tsdb__series *s = tsdb__series_get(st, id);
        if (!s || (skip && skip(arg, s, s->meas)))
            continue;
        rc = tsdb__put_uvarint(&body, id);
        rc = rc ? rc : tsdb__put_uvarint(&body, s->meas->ser_index);
        rc = rc ? rc : tsdb__put_uvarint(&body, s->ntags);
        for (size_t t = 0; t < s->ntags && !rc; t++) {
            rc = tsdb__put_bytes(&body, s->tags[t].key.p, s->tags[t].key.n);
            rc = rc ? rc : tsdb__put_bytes(&body, s->tags[t].value.p, s->tags[t].value.n);
        }
    }
    free(ms);
    rc = rc ? rc : frame(out, SER_MAGIC, SER_VERSION, &body);
    buf_fini(&body);
    return rc;
}

/* Loads a store's series file (open, before WAL replay; no other thread). */
static int series_load(struct tsdb *db, struct tsdb__store *st, struct err *e)
{
    char path[TSDB__PATH_MAX], rel[96];
    pathf(rel, sizeof rel, "db/%" PRIu64 "/%" PRIu64 "/series", st->db_id, st->rp_id);
    pathf(path, sizeof path, "%s/%s", db->dir, rel);
    struct buf raw;
    buf_init(&raw, 0);
    int rc = tsdb__f_read_all(path, &raw, e);
    if (rc == ERR_NOTFOUND) {
        buf_fini(&raw);
        err_clear(e);
        return 0;
    }
    struct tsdb__dec d;
    rc = rc ? rc
            : tsdb__unframe((const uint8_t *)raw.p, raw.len, SER_MAGIC, SER_VERSION, rel, &d, e);
    if (rc) {
        buf_fini(&raw);
        return rc;
    }
    uint64_t next_id = tsdb__get_uvarint(&d);
    uint64_t nm = tsdb__get_uvarint(&d);
    struct tsdb__meas **ms = NULL;
    if (!d.is_bad && nm <= tsdb__dec_left(&d))
        ms = xcalloc(nm ? nm : 1, sizeof *ms);
    else
        d.is_bad = true;
    struct buf key;
    buf_init(&key, TSDB_MAX_KEY_BYTES + 1);
    pthread_rwlock_wrlock(&st->lock);
    for (uint64_t i = 0; i < nm && !d.is_bad; i++) {
        struct sv name = tsdb__get_bytes(&d);
        uint64_t nf = tsdb__get_uvarint(&d);
        if (d.is_bad || !name.n)
            break;
        ms[i] = tsdb__meas_get(st, name);
        for (uint64_t f = 0; f < nf && !d.is_bad; f++) {
            struct sv fk = tsdb__get_bytes(&d);
            uint8_t ty = tsdb__get_u8(&d);
            if (d.is_bad || ty < TSDB_FLOAT || ty > TSDB_STRING || !fk.n) {
                d.is_bad = true;
                break;
            }
            struct tsdb__field *fd = tsdb__field_find(ms[i], fk);
            if (!fd)
                tsdb__field_create(ms[i], fk, (enum tsdb_type)ty);
            else if (fd->type != ty)
                d.is_bad = true;
        }
    }
    uint64_t ns = d.is_bad ? 0 : tsdb__get_uvarint(&d);
    struct tsdb_tag *tags = NULL;
    size_t cap_tags = 0;
    for (uint64_t i = 0; i < ns && !d.is_bad; i++) {
        uint64_t id = tsdb__get_uvarint(&d);
        uint64_t mi = tsdb__get_uvarint(&d);
        uint64_t nt = tsdb__get_uvarint(&d);
        if (d.is_bad || id == 0 || id >= next_id || mi >= nm || nt > tsdb__dec_left(&d) / 2) {
            d.is_bad = true;
            break;
        }
        if (nt > cap_tags) {
            cap_tags = nt;
            tags = xrealloc(tags, cap_tags * sizeof *tags);
        }
        for (uint64_t t = 0; t < nt; t++) {
            tags[t].key = tsdb__get_bytes(&d);
            tags[t].value = tsdb__get_bytes(&d);
        }
        struct sv mname = { ms[mi]->name, ms[mi]->n };
        if (d.is_bad || !tsdb__sort_tags(tags, nt)) {
            d.is_bad = true;
            break;
        }
        buf_reset(&key);
        if (tsdb__series_key(&key, mname, tags, nt) != 0) {
            d.is_bad = true;
            break;
        }
        struct sv ks = buf_sv(&key);
        uint64_t h = hash_sv(ks);
        struct tsdb__series *have = tsdb__series_find(st, ks, h);
        struct tsdb__series *byid = tsdb__series_get(st, id);
        if (have || byid) {
            if (have != byid)
                d.is_bad = true;
            continue;
        }
        struct tsdb__series *s = tsdb__series_create(st, id, ks, h, mname, tags, nt);
        atomic_store(&s->is_logged, true);
    }
    if (!d.is_bad && st->next_id < next_id)
        st->next_id = next_id;
    if (!d.is_bad)
        st->file_next_id = next_id;
    pthread_rwlock_unlock(&st->lock);
    bool is_bad = d.is_bad || tsdb__dec_left(&d);
    free(tags);
    free(ms);
    buf_fini(&key);
    buf_fini(&raw);
    return is_bad ? err_set(e, ERR_CORRUPT, "%s: bad series table", rel) : 0;
}

static int checkpoint_write(struct tsdb *db, uint64_t lsn, struct err *e)
{
    struct buf body, out;
    buf_init(&body, 0);
    buf_init(&out, 0);
    int rc = tsdb__put_u64(&body, lsn);
    rc = rc ? rc : frame(&out, CKP_MAGIC, CKP_VERSION, &body);
    rc = rc ? err_set(e, rc, "CHECKPOINT: out of memory")
            : tsdb__f_replace(&db->fio, db->dir, "CHECKPOINT", out.p, out.len, e);
    buf_fini(&body);
    buf_fini(&out);
    return rc;
}

static int checkpoint_load(struct tsdb *db, uint64_t *lsn, struct err *e)
{
    *lsn = 0;
    char path[TSDB__PATH_MAX];
    pathf(path, sizeof path, "%s/CHECKPOINT", db->dir);
    struct buf raw;
    buf_init(&raw, 0);
    int rc = tsdb__f_read_all(path, &raw, e);
    if (rc == ERR_NOTFOUND) {
        buf_fini(&raw);
        err_clear(e);
        return 0;
    }
    struct tsdb__dec d;
    rc = rc ? rc
            : tsdb__unframe((const uint8_t *)raw.p, raw.len, CKP_MAGIC, CKP_VERSION,
                            "CHECKPOINT", &d, e);
    if (!rc) {
        *lsn = tsdb__get_u64(&d);
        if (d.is_bad || tsdb__dec_left(&d))
            rc = err_set(e, ERR_CORRUPT, "CHECKPOINT: offset 16: bad body");
    }
    buf_fini(&raw);
    return rc;
}

/* ---- recovery ------------------------------------------------------------------ */

static bool is_digits(const char *s)
{
    if (*s == '-')
        s++;
    return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Removes a directory tree (trash, or an expired partition).  Bounded by
 * the directory's own entries: partitions have no subdirectories. */
static int remove_tree(struct tsdb *db, const char *path, struct err *e)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : err_set(e, ERR_IO, "opendir %s: %s", path, strerror(errno));
    struct dirent *de;
    int rc = 0;
    char p[TSDB__PATH_MAX];
    while (!rc && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        pathf(p, sizeof p, "%s/%s", path, de->d_name);
        rc = tsdb__f_unlink(&db->fio, p, e);
    }
    closedir(d);
    if (!rc && rmdir(path) != 0 && errno != ENOENT)
        rc = err_set(e, ERR_IO, "rmdir %s: %s", path, strerror(errno));
    return rc;
}

/* Removes a dropped database or policy tree: at most db/<id>/<rp>/<start>/
 * below path, so depth is bounded (depth 0 = files only). */
static int remove_tree_deep(struct tsdb *db, const char *path, int depth, struct err *e)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : err_set(e, ERR_IO, "opendir %s: %s", path, strerror(errno));
    struct dirent *de;
    int rc = 0;
    char p[TSDB__PATH_MAX];
    while (!rc && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        pathf(p, sizeof p, "%s/%s", path, de->d_name);
        struct stat sb;
        if (depth > 0 && lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = remove_tree_deep(db, p, depth - 1, e);
        else
            rc = tsdb__f_unlink(&db->fio, p, e);
    }
    closedir(d);
    if (!rc && rmdir(path) != 0 && errno != ENOENT)
        rc = err_set(e, ERR_IO, "rmdir %s: %s", path, strerror(errno));
    return rc;
}

/* Moves dir (a database or policy directory) to parent/.trash-<name>,
 * fsyncs parent, then removes the tree.  A crash after the rename leaves a
 * .trash-* that the next open removes (sweep_dropped). */
static int trash_tree(struct tsdb *db, const char *parent, const char *name, int depth,
                      struct err *e)
{
    char dir[TSDB__PATH_MAX], trash[TSDB__PATH_MAX];
    pathf(dir, sizeof dir, "%s/%s", parent, name);
    pathf(trash, sizeof trash, "%s/.trash-%s", parent, name);
    struct stat sb;
    if (lstat(dir, &sb) != 0)
        return errno == ENOENT ? 0 : err_set(e, ERR_IO, "stat %s: %s", dir, strerror(errno));
    int rc = tsdb__f_rename(&db->fio, dir, trash, e);
    rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, parent, e);
    rc = rc ? rc : remove_tree_deep(db, trash, depth, e);
    return rc;
}

int tsdb__storage_drop(struct tsdb *db, struct tsdb__store **sts, size_t nst, uint64_t db_id,
                       uint64_t rp_id, struct err *e)
{
    /* 1. Commits that found a store before the drop apply nothing now. */
    pthread_rwlock_wrlock(&db->apply_lock);
    for (size_t i = 0; i < nst; i++)
        atomic_store(&sts[i]->is_dropped, true);
    pthread_rwlock_unlock(&db->apply_lock);
    /* 2. Head rows go (marked as flushed by every generation, then purged);
     * series and index entries stay until close for readers holding them. */
    for (size_t i = 0; i < nst; i++) {
        struct tsdb__store *st = sts[i];
        int64_t freed = 0;
        pthread_rwlock_rdlock(&st->lock);
        for (uint64_t id = 1; id < st->next_id; id++) {
            struct tsdb__series *s = tsdb__series_get(st, id);
            if (!s)
                continue;
            pthread_mutex_t *mu = &st->stripes[id % TSDB__STRIPES];
            pthread_mutex_lock(mu);
            freed += tsdb__head_clear(&s->head);
            pthread_mutex_unlock(mu);
        }
        pthread_rwlock_unlock(&st->lock);
        atomic_fetch_sub(&db->head_bytes, freed);
    }
    tsdb__update_gauges(db);
    /* 3. Partitions out of the list; a new version stops showing them. */
    size_t n = 0, w = 0;
    struct tsdb__partition **dead = NULL;
    for (size_t i = 0; i < db->npartitions; i++) {
        struct tsdb__partition *pa = db->partitions[i];
        if (pa->db_id == db_id && (rp_id == 0 || pa->rp_id == rp_id)) {
            dead = xrealloc(dead, (n + 1) * sizeof *dead);
            dead[n++] = pa;
        } else {
            db->partitions[w++] = pa;
        }
    }
    db->npartitions = w;
    if (n) {
        uint64_t gen = db->gen_next++;
        db->gen_published = gen;
        publish(db, gen);
    }
    for (size_t k = 0; k < n; k++)
        partition_free(dead[k]);
    free(dead);
    /* 4. The directory: rename to trash, fsync parent, unlink. */
    char parent[TSDB__PATH_MAX], name[32];
    if (rp_id == 0) {
        pathf(parent, sizeof parent, "%s/db", db->dir);
        snprintf(name, sizeof name, "%" PRIu64, db_id);
        return trash_tree(db, parent, name, 2, e);
    }
    pathf(parent, sizeof parent, "%s/db/%" PRIu64, db->dir, db_id);
    snprintf(name, sizeof name, "%" PRIu64, rp_id);
    return trash_tree(db, parent, name, 1, e);
}

static bool cat_has(struct tsdb *db, uint64_t db_id, uint64_t rp_id)
{
    for (size_t i = 0; i < db->cat.ndbs; i++) {
        struct tsdb__db *d = db->cat.dbs[i];
        if (d->id != db_id)
            continue;
        if (rp_id == 0)
            return true;
        for (size_t j = 0; j < d->nrps; j++)
            if (d->rps[j]->id == rp_id)
                return true;
    }
    return false;
}

/* Reads the entry names of dir (including "." and "..") into *names (*n
 * of them; free with free_names).  A missing dir is empty; other errors are
 * ERR_IO naming it. */
static int read_names(const char *dir, char ***names, size_t *n, struct err *e)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : err_set(e, ERR_IO, "opendir %s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *names = xrealloc(*names, cap * sizeof **names);
        }
        (*names)[(*n)++] = xstrdup(de->d_name);
    }
    closedir(d);
    return 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* At open: removes .trash-* database and policy trees (a drop interrupted
 * after its rename) and numbered directories the catalog does not know (a
 * drop interrupted between the catalog write and the rename, or a create
 * before its catalog write).  Ids are never reused, so neither is live. */
static int sweep_dropped(struct tsdb *db, const char *dir, uint64_t db_id, struct err *e)
{
    char **names;
    size_t n;
    int rc = read_names(dir, &names, &n, e);
    if (rc)
        return rc;
    int depth = db_id == 0 ? 2 : 1;
    for (size_t i = 0; i < n && !rc; i++) {
        char p[TSDB__PATH_MAX];
        pathf(p, sizeof p, "%s/%s", dir, names[i]);
        bool is_num = names[i][0] != '-' && is_digits(names[i]);
        uint64_t id = is_num ? strtoull(names[i], NULL, 10) : 0;
        if (!strncmp(names[i], ".trash-", 7)) {
            rc = remove_tree_deep(db, p, depth, e);
        } else if (is_num && !(db_id == 0 ? cat_has(db, id, 0) : cat_has(db, db_id, id))) {
            rc = remove_tree_deep(db, p, depth, e);
        } else if (is_num && db_id == 0) {
            rc = sweep_dropped(db, p, id, e);
        }
    }
    free_names(names, n);
    return rc;
}

/* Loads one partition directory: MANIFEST, listed parts (verified), and
 * deletes what the MANIFEST does not list. */
static int partition_load(struct tsdb *db, uint64_t db_id, uint64_t rp_id, const char *name,
                          struct err *e)
{
    char *endp;
    errno = 0;
    long long start = strtoll(name, &endp, 10);
    if (errno || *endp)
        return 0;
    char dir[TSDB__PATH_MAX], rel[96], path[TSDB__PATH_MAX], prel[160];
    partition_dirs(db, db_id, rp_id, (int64_t)start, dir, sizeof dir, rel, sizeof rel);
    pathf(path, sizeof path, "%s/MANIFEST", dir);
    pathf(prel, sizeof prel, "%s/MANIFEST", rel);
    struct buf raw;
    buf_init(&raw, 0);
    int rc = tsdb__f_read_all(path, &raw, e);
    if (rc == ERR_NOTFOUND) {
        /* A flush died before its first MANIFEST: nothing here is live. */
        buf_fini(&raw);
        err_clear(e);
        return db->opts.read_only ? 0 : remove_tree(db, dir, e);
    }
    struct tsdb__mentry *ents = NULL;
    size_t n = 0;
    uint64_t next_seq = 0;
    int64_t s0 = 0, s1 = 0;
    rc = rc ? rc
            : tsdb__manifest_decode((const uint8_t *)raw.p, raw.len, prel, &ents, &n, &next_seq,
                                    &s0, &s1, e);
    buf_fini(&raw);
    if (!rc && s0 != start)
        rc = err_set(e, ERR_CORRUPT, "%s: offset 16: start %" PRId64 " in directory %lld", prel,
                     s0, start);
    if (rc) {
        free(ents);
        return rc;
    }
    struct tsdb__partition *pa = partition_add(db, db_id, rp_id, s0, s1);
    pa->next_seq = next_seq;
    for (size_t i = 0; i < n && !rc; i++) {
        char fn[64], fp[TSDB__PATH_MAX], fr[160];
        part_name(fn, sizeof fn, ents[i].seq, ents[i].level);
        pathf(fp, sizeof fp, "%s/%s", dir, fn);
        pathf(fr, sizeof fr, "%s/%s", rel, fn);
        struct tsdb__part *pt = NULL;
        rc = tsdb__part_open(fp, fr, &pt, e);
        if (!rc && (pt->len != ents[i].size || pt->info.max_lsn != ents[i].max_lsn)) {
            rc = err_set(e, ERR_CORRUPT, "%s: offset 0: size or LSN differs from the MANIFEST", fr);
            tsdb__part_unref(pt);
            pt = NULL;
        }
        if (rc == ERR_CORRUPT && db->opts.repair && !db->opts.read_only) {
            /* Quarantine: keep the bytes for inspection, drop the part. */
            char q[TSDB__PATH_MAX];
            pathf(q, sizeof q, "%s.corrupt", fp);
            err_clear(e);
            rc = tsdb__f_rename(&db->fio, fp, q, e);
            pa->is_dirty = true;
            continue;
        }
        if (rc)
            break;
        pt->seq = ents[i].seq;
        pt->level = ents[i].level;
        pa->parts = xrealloc(pa->parts, (pa->nparts + 1) * sizeof *pa->parts);
        pa->parts[pa->nparts++] = pt;
    }
    free(ents);
    if (rc || db->opts.read_only)
        return rc;
    if (pa->is_dirty) {
        rc = manifest_write(db, pa, e);
        pa->is_dirty = false;
        if (rc)
            return rc;
    }
    /* Delete unlisted files: *.tmp and parts of flushes that never made it
     * into the MANIFEST. */
    DIR *d = opendir(dir);
    if (!d)
        return err_set(e, ERR_IO, "opendir %s: %s", dir, strerror(errno));
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        bool is_live = !strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, "MANIFEST") ||
                       ends_with(nm, ".corrupt");
        for (size_t i = 0; i < pa->nparts && !is_live; i++) {
            char fn[64];
            part_name(fn, sizeof fn, pa->parts[i]->seq, pa->parts[i]->level);
            is_live = !strcmp(fn, nm);
        }
        if (is_live)
            continue;
        pathf(path, sizeof path, "%s/%s", dir, nm);
        rc = tsdb__f_unlink(&db->fio, path, e);
    }
    closedir(d);
    return rc;
}

static int rp_dir_load(struct tsdb *db, struct tsdb__store *st, struct err *e)
{
    char dir[TSDB__PATH_MAX];
    pathf(dir, sizeof dir, "%s/db/%" PRIu64 "/%" PRIu64, db->dir, st->db_id, st->rp_id);
    char **names;
    size_t n;
    int rc = read_names(dir, &names, &n, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char p[TSDB__PATH_MAX];
        pathf(p, sizeof p, "%s/%s", dir, names[i]);
        if (!rc && !strncmp(names[i], ".trash-", 7) && !db->opts.read_only)
            rc = remove_tree(db, p, e); /* retention interrupted: finish it */
        else if (!rc && ends_with(names[i], ".tmp") && !db->opts.read_only)
            rc = tsdb__f_unlink(&db->fio, p, e);
        else if (!rc && is_digits(names[i]))
            rc = partition_load(db, st->db_id, st->rp_id, names[i], e);
    }
    free_names(names, n);
    rc = rc ? rc : series_load(db, st, e);
    return rc;
}

int tsdb__storage_open(struct tsdb *db, struct err *e)
{
    pthread_mutex_init(&db->flush_mu, NULL);
    pthread_mutex_init(&db->ver_mu, NULL);
    pthread_rwlock_init(&db->apply_lock, NULL);
    db->has_storage_locks = true;
    int rc = checkpoint_load(db, &db->wal.ckpt_lsn, e);
    if (!rc && !db->opts.read_only) {
        char tmp[TSDB__PATH_MAX];
        pathf(tmp, sizeof tmp, "%s/CHECKPOINT.tmp", db->dir);
        rc = tsdb__f_unlink(&db->fio, tmp, e);
    }
    if (!rc && !db->opts.read_only) {
        char dbdir[TSDB__PATH_MAX];
        pathf(dbdir, sizeof dbdir, "%s/db", db->dir);
        rc = sweep_dropped(db, dbdir, 0, e);
    }
    for (size_t i = 0; i < db->cat.ndbs && !rc; i++) {
        struct tsdb__db *d = db->cat.dbs[i];
        for (size_t j = 0; j < d->nrps && !rc; j++)
            rc = rp_dir_load(db, d->rps[j]->store, e);
    }
    db->gen_published = 1;
    db->gen_next = 2;
    db->ver = version_build(db, 1);
    return rc;
}

/* ---- flush ------------------------------------------------------------------- */

/* The flush streams (storage-notes 5.6): it walks each store's series in id
 * order and, per series, copies at most FLUSH_PIECE_ROWS rows at a time out
 * of the head (decoding sealed chunks through the thread's views) into one
 * reusable piece, under the store lock (read) and the series' stripe only;
 * the piece goes to the part writer of its partition outside every lock,
 * and each writer hands its encoded bytes to its <seq>-0.tsp.tmp file
 * whenever FLUSH_DRAIN_BYTES have built up.  So the flush holds one piece,
 * one block and the block indexes of its open parts, whatever the size of
 * the head (the first cut copied the whole head into per-column arrays and
 * built every part image in memory: ~9 B per value on top of the head).
 * Commits go on meanwhile: apply_lock is held only while the watermark C
 * is noted.  Rows applied after that (LSN > C) may join the part; replay
 * puts them back into the head after a crash, where readers prefer them,
 * exactly as for records applied out of order.  A row rewritten after the
 * flush copied it reads from the head again (head_upsert clears its
 * generation), and a row inserted between two pieces stays in the head
 * (generation 0) for the next flush.
 *
 * At most FLUSH_OPEN_MAX writers are open at once: a row of another
 * partition waits for the next pass over the store, which starts once the
 * open parts are finished (rows of this flush carry its generation, so a
 * pass never takes a row twice). */

#define FLUSH_PIECE_ROWS CODEC_BLOCK_MAX /* the writer's block: pieces cut no block */
#define FLUSH_OPEN_MAX 8
#define FLUSH_DRAIN_BYTES (256u << 10)
/* A flush publishes (and purges) in steps of opts.flush_step_bytes of
 * head, by default the flush threshold (tsdb__flush_threshold) /
 * FLUSH_STEPS but at least FLUSH_STEP_MIN. */
#define FLUSH_STEPS 4
#define FLUSH_STEP_MIN (1u << 20)

/* One part being written: the rows of one store bound for one partition. */
struct pbuild {
    struct tsdb__store *st;
    struct tsdb__partition *pa; /* in db->partitions (added as the pass found it) */
    int64_t start, end;
    struct tsdb__pw w;
    bool has_w;      /* w initialised */
    bool is_renamed; /* the file is in place (a failed flush leaves it unlisted) */
    int fd;          /* the .tmp file, -1 until the first drain and after close */
    uint64_t seq;
    uint64_t max_lsn;
    char tmp[TSDB__PATH_MAX], path[TSDB__PATH_MAX], rel[160];
    struct tsdb__part *made;
};

/* Rows of one series for one writer, copied out of the head.  Column c's
 * presence and values are present[c * FLUSH_PIECE_ROWS ..] and u[..]; a
 * string column's values are views into strs (soff holds their offsets
 * while strs may still move). */
struct piece {
    size_t n;
    uint32_t ncols, cap_cols;
    int64_t ts[FLUSH_PIECE_ROWS];
    struct tsdb__pcol *cols;
    uint8_t *present;
    uint64_t *u;
    struct sv *s;
    size_t *soff;
    bool has_s; /* s and soff are allocated for cap_cols columns */
    struct buf strs;
};

struct flushjob {
    struct pbuild **pb;
    size_t npb;
    size_t npublished; /* pb[0 .. npublished) are listed and published */
    struct piece *pc;
    uint64_t gen, published; /* generation of the step, the one published */
    size_t step_bytes;       /* head bytes of the series walked in this step */
    size_t step_max;         /* a step ends past this */
};

static bool row_is_due(uint64_t g, uint64_t gen, uint64_t published)
{
    /* Not in a published part, and not taken by this flush already. */
    return !g || (g > published && g != gen);
}

static void piece_reserve(struct piece *pc, uint32_t ncols, bool has_s)
{
    if (ncols > pc->cap_cols || (has_s && !pc->has_s)) {
        uint32_t cap = ncols > pc->cap_cols ? ncols : pc->cap_cols;
        if (cap < 16)
            cap = 16;
        free(pc->cols);
        free(pc->present);
        free(pc->u);
        free(pc->s);
        free(pc->soff);
        pc->cols = xcalloc(cap, sizeof *pc->cols);
        pc->present = xmalloc((size_t)cap * FLUSH_PIECE_ROWS);
        pc->u = xmalloc((size_t)cap * FLUSH_PIECE_ROWS * sizeof *pc->u);
        pc->s = has_s ? xmalloc((size_t)cap * FLUSH_PIECE_ROWS * sizeof *pc->s) : NULL;
        pc->soff = has_s ? xmalloc((size_t)cap * FLUSH_PIECE_ROWS * sizeof *pc->soff) : NULL;
        pc->has_s = has_s;
        pc->cap_cols = cap;
    }
}

static void piece_free(struct piece *pc)
{
    if (!pc)
        return;
    free(pc->cols);
    free(pc->present);
    free(pc->u);
    free(pc->s);
    free(pc->soff);
    buf_fini(&pc->strs);
    free(pc);
}

static void pbuild_free(struct pbuild *pb)
{
    if (pb->fd >= 0) {
        close(pb->fd);
        unlink(pb->tmp); /* never listed: an unfinished part */
    }
    if (pb->has_w)
        tsdb__pw_fini(&pb->w);
    tsdb__part_unref(pb->made);
    free(pb);
}

static void job_fini(struct flushjob *j)
{
    for (size_t i = 0; i < j->npb; i++)
        pbuild_free(j->pb[i]);
    free(j->pb);
    piece_free(j->pc);
}

/* Copies the due rows of series s from row r on, while they lie before pe,
 * into pc (at most FLUSH_PIECE_ROWS), marking each with the flush's
 * generation.  Store lock (read) and stripe held.  *next is the first row
 * not looked at (h->n when none is left).  Returns the bytes the head grew
 * by (a sealed chunk may get an array of generations). */
static int64_t take_piece(struct flushjob *j, struct pbuild *pb, struct tsdb__series *s, size_t r,
                          int64_t pe, size_t *next)
{
    struct tsdb__head *h = &s->head;
    struct piece *pc = j->pc;
    bool has_s = false;
    for (uint32_t c = 0; c < h->ncols; c++)
        has_s |= h->cols[c].type == TSDB_STRING;
    piece_reserve(pc, h->ncols, has_s);
    pc->n = 0;
    pc->ncols = h->ncols;
    buf_reset(&pc->strs);
    int64_t grown = 0;
    for (; r < h->n && pc->n < FLUSH_PIECE_ROWS; r++) {
        int64_t t = tsdb__head_ts(h, r);
        if (t >= pe)
            break;
        if (!row_is_due(tsdb__head_fgen(h, r), j->gen, j->published))
            continue;
        size_t w = pc->n++;
        pc->ts[w] = t;
        uint64_t lsn = tsdb__head_lsn(h, r);
        if (lsn > pb->max_lsn)
            pb->max_lsn = lsn;
        grown += tsdb__head_set_fgen(h, r, j->gen);
        for (uint32_t c = 0; c < h->ncols; c++) {
            size_t at = (size_t)c * FLUSH_PIECE_ROWS + w;
            bool has = tsdb__col_has(h, c, r);
            pc->present[at] = has;
            if (h->cols[c].type != TSDB_STRING) {
                pc->u[at] = has ? tsdb__col_u(h, c, r) : 0;
                continue;
            }
            pc->s[at] = (struct sv){ NULL, 0 };
            if (has) {
                struct sv v = tsdb__col_s(h, c, r);
                pc->soff[at] = pc->strs.len;
                pc->s[at].n = v.n;
                if (v.n && buf_append(&pc->strs, v.p, v.n))
                    abort(); /* struct buf without a cap: only ERR_NOMEM, as xmalloc */
            }
        }
    }
    *next = r;
    for (uint32_t c = 0; c < h->ncols; c++) {
        const struct tsdb__field *fd = s->meas->fieldv[h->cols[c].field_id];
        size_t at = (size_t)c * FLUSH_PIECE_ROWS;
        pc->cols[c] = (struct tsdb__pcol){ .key = { fd->key, fd->key_n },
                                           .type = h->cols[c].type,
                                           .present = pc->present + at,
                                           .u = pc->u + at,
                                           .s = h->cols[c].type == TSDB_STRING ? pc->s + at
                                                                               : NULL };
        if (h->cols[c].type == TSDB_STRING)
            for (size_t w = 0; w < pc->n; w++)
                if (pc->present[at + w])
                    pc->s[at + w].p = pc->s[at + w].n ? pc->strs.p + pc->soff[at + w] : "";
    }
    return grown;
}

/* The writer of (st, partition start) among this pass's, or NULL. */
static struct pbuild *pbuild_find(struct flushjob *j, size_t first, struct tsdb__store *st,
                                  int64_t start)
{
    for (size_t i = first; i < j->npb; i++)
        if (j->pb[i]->st == st && j->pb[i]->start == start)
            return j->pb[i];
    return NULL;
}

/* A writer for partition [start, end) of st; the partition joins
 * db->partitions at once (flush_mu held), so later rows find its range. */
static struct pbuild *pbuild_new(struct tsdb *db, struct flushjob *j, struct tsdb__store *st,
                                 int64_t start, int64_t end)
{
    struct pbuild *pb = xcalloc(1, sizeof *pb);
    pb->st = st;
    pb->start = start;
    pb->end = end;
    pb->fd = -1;
    pb->pa = partition_find(db, st->db_id, st->rp_id, start);
    if (!pb->pa) {
        pb->pa = partition_add(db, st->db_id, st->rp_id, start, end);
        pb->pa->is_new = true;
    }
    j->pb = xrealloc(j->pb, (j->npb + 1) * sizeof *j->pb);
    j->pb[j->npb++] = pb;
    return pb;
}

/* Writes the bytes pb's writer holds to its .tmp file, creating the file
 * (and a new partition's directories) first. */
static int pbuild_drain(struct tsdb *db, struct pbuild *pb, struct err *e)
{
    struct tsdb__partition *pa = pb->pa;
    int rc = 0;
    if (pb->fd < 0) {
        if (pa->is_new) {
            /* db/<id>/<id>/ may not exist yet (nothing was flushed before). */
            char up[TSDB__PATH_MAX];
            pathf(up, sizeof up, "%s/db", db->dir);
            rc = tsdb__f_mkdir(&db->fio, up, e);
            pathf(up, sizeof up, "%s/db/%" PRIu64, db->dir, pa->db_id);
            rc = rc ? rc : tsdb__f_mkdir(&db->fio, up, e);
            pathf(up, sizeof up, "%s/db/%" PRIu64 "/%" PRIu64, db->dir, pa->db_id, pa->rp_id);
            rc = rc ? rc : tsdb__f_mkdir(&db->fio, up, e);
            rc = rc ? rc : tsdb__f_mkdir(&db->fio, pa->dir, e);
            rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, up, e);
            if (rc)
                return rc;
        }
        char fn[64];
        pb->seq = pa->next_seq++;
        part_name(fn, sizeof fn, pb->seq, 0);
        pathf(pb->path, sizeof pb->path, "%s/%s", pa->dir, fn);
        pathf(pb->tmp, sizeof pb->tmp, "%s.tmp", pb->path);
        pathf(pb->rel, sizeof pb->rel, "%s/%s", pa->rel, fn);
        rc = tsdb__f_open(&db->fio, pb->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &pb->fd, e);
        if (rc)
            return rc;
    }
    return tsdb__pw_drain(&pb->w, &db->fio, pb->fd, pb->tmp, e);
}

/* Hands pc (rows of series sid) to pb's writer. */
static int pbuild_add(struct tsdb *db, struct pbuild *pb, uint64_t sid, const struct piece *pc,
                      struct err *e)
{
    int rc = 0;
    if (!pb->has_w) {
        rc = tsdb__pw_init(&pb->w);
        pb->has_w = true;
        if (rc)
            return err_set(e, rc, "%s: out of memory", pb->pa->rel);
    }
    rc = tsdb__pw_add(&pb->w, sid, pc->ts, pc->n, pc->cols, pc->ncols, e);
    if (!rc && pb->w.out.len >= FLUSH_DRAIN_BYTES)
        rc = pbuild_drain(db, pb, e);
    return rc;
}

/* Drops the resident pages of part p's read-only mapping from the process
 * (they stay in the page cache; a later read maps them again).  Opening a
 * part verifies every block, which touches every page: without this a new
 * part counts in the process's RSS at its full size until memory runs
 * short. */
static void part_drop_pages(struct tsdb__part *p)
{
    if (p->len)
        (void)madvise((void *)(uintptr_t)p->map, p->len, MADV_DONTNEED);
}

/* Step 2 for one part: index and footer, fdatasync, rename, fsync the
 * directory, then open (verify) it.  The verification reads every page of
 * the file through the mapping; they are dropped from the process right
 * after (the page cache keeps them), so a flush does not leave the whole
 * part resident. */
static int pbuild_finish(struct tsdb *db, struct pbuild *pb, struct err *e)
{
    int rc = tsdb__pw_finish(&pb->w, pb->max_lsn, e);
    rc = rc ? rc : pbuild_drain(db, pb, e);
    rc = rc ? rc : tsdb__f_fdatasync(&db->fio, pb->fd, pb->tmp, e);
    tsdb__pw_fini(&pb->w);
    pb->has_w = false;
    if (rc)
        return rc; /* pbuild_free closes and removes the .tmp */
    close(pb->fd);
    pb->fd = -1;
    rc = tsdb__f_rename(&db->fio, pb->tmp, pb->path, e);
    if (rc) {
        unlink(pb->tmp);
        return rc;
    }
    pb->is_renamed = true;
    rc = tsdb__f_fsync_dir(&db->fio, pb->pa->dir, e);
    rc = rc ? rc : tsdb__part_open(pb->path, pb->rel, &pb->made, e);
    if (rc)
        return rc;
    pb->made->seq = pb->seq;
    pb->made->level = 0;
    part_drop_pages(pb->made);
    return 0;
}


/* The partition for ts in store (db_id, rp_id): an existing one that covers
 * ts (it keeps its range after ALTER RETENTION POLICY changed the shard
 * duration, as InfluxDB's shard groups do), else the shard duration's range
 * clipped so it overlaps no existing partition.  flush_mu held. */
static void range_for(struct tsdb *db, uint64_t db_id, uint64_t rp_id, int64_t ts, int64_t shard,
                      int64_t *ps, int64_t *pe)
{
    tsdb__partition_range(ts, shard, ps, pe);
    size_t lo = 0, hi = db->npartitions; /* first partition after (db, rp, ts) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct tsdb__partition *p = db->partitions[mid];
        bool is_le = p->db_id != db_id ? p->db_id < db_id
                     : p->rp_id != rp_id ? p->rp_id < rp_id
                                         : p->start <= ts;
        if (is_le)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        const struct tsdb__partition *p = db->partitions[lo - 1];
        if (p->db_id == db_id && p->rp_id == rp_id) {
            if (ts < p->end) {
                *ps = p->start;
                *pe = p->end;
                return;
            }
            if (p->end > *ps)
                *ps = p->end;
        }
    }
    if (lo < db->npartitions) {
        const struct tsdb__partition *p = db->partitions[lo];
        if (p->db_id == db_id && p->rp_id == rp_id && p->start < *pe)
            *pe = p->start;
    }
}

/* Steps 1-2 for series id of st: its due rows, piece by piece, to the
 * writers of their partitions (writers of this pass are pb[first ..]).
 * Sets *more when rows were left for a later pass (no writer free). */
static int flush_series(struct tsdb *db, struct flushjob *j, struct tsdb__store *st, int64_t shard,
                        uint64_t id, size_t first, bool *more, struct err *e)
{
    int64_t from = INT64_MIN;
    for (;;) {
        pthread_rwlock_rdlock(&st->lock);
        struct tsdb__series *s = tsdb__series_get(st, id);
        if (!s) {
            pthread_rwlock_unlock(&st->lock);
            return 0;
        }
        pthread_mutex_t *mu = &st->stripes[id % TSDB__STRIPES];
        pthread_mutex_lock(mu);
        struct tsdb__head *h = &s->head;
        if (from == INT64_MIN)
            j->step_bytes += h->bytes;
        size_t r = from == INT64_MIN ? 0 : tsdb__head_lower_bound(h, from);
        while (r < h->n && !row_is_due(tsdb__head_fgen(h, r), j->gen, j->published))
            r++;
        if (r == h->n) {
            pthread_mutex_unlock(mu);
            pthread_rwlock_unlock(&st->lock);
            return 0;
        }
        int64_t ps, pe;
        range_for(db, st->db_id, st->rp_id, tsdb__head_ts(h, r), shard, &ps, &pe);
        struct pbuild *pb = pbuild_find(j, first, st, ps);
        if (!pb && j->npb - first >= FLUSH_OPEN_MAX) {
            /* Every writer is busy: this partition waits for the next pass. */
            pthread_mutex_unlock(mu);
            pthread_rwlock_unlock(&st->lock);
            *more = true;
            if (pe == INT64_MAX)
                return 0;
            from = pe;
            continue;
        }
        if (!pb)
            pb = pbuild_new(db, j, st, ps, pe);
        size_t next;
        int64_t grown = take_piece(j, pb, s, r, pe, &next);
        bool is_last = next == h->n;
        if (!is_last)
            from = tsdb__head_ts(h, next);
        pthread_mutex_unlock(mu);
        pthread_rwlock_unlock(&st->lock);
        atomic_fetch_add(&db->head_bytes, grown);
        int rc = j->pc->n ? pbuild_add(db, pb, id, j->pc, e) : 0;
        if (rc || is_last)
            return rc;
    }
}

/* After a purge: hands the heap pages the freed sealed chunks left empty
 * back to the system (glibc keeps them otherwise; the next head fill
 * would reuse them, but until then they count as the process's memory). */
static void trim_heap(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Step 4 and 6 for the parts of pb[npublished ..] (finished): their
 * MANIFESTs, then one version of the step's generation, so readers find
 * those rows in the parts and the head can let them go; the next rows get
 * a new generation.  A flush publishes a step whenever its series held
 * step_max head bytes (storage-notes 5.6: the head shrinks while it is
 * flushed instead of after).  CHECKPOINT stays where it was until the
 * last step: a crash in between replays the WAL above it into the head,
 * where readers prefer it over the steps' parts.  On failure the caller
 * takes pb[npublished ..]'s parts out of the in-memory lists. */
static int step_publish(struct tsdb *db, struct flushjob *j, struct err *e)
{
    int rc = 0;
    for (size_t k = j->npublished; k < j->npb && !rc; k++) {
        struct pbuild *pb = j->pb[k];
        if (!pb->made)
            continue;
        struct tsdb__partition *pa = pb->pa;
        pa->parts = xrealloc(pa->parts, (pa->nparts + 1) * sizeof *pa->parts);
        tsdb__part_ref(pb->made);
        pa->parts[pa->nparts++] = pb->made;
        rc = manifest_write(db, pa, e);
        if (rc) {
            pa->nparts--;
            tsdb__part_unref(pb->made);
        } else {
            pa->is_new = false;
        }
    }
    if (rc)
        return rc;
    bool has_parts = false;
    for (size_t k = j->npublished; k < j->npb; k++)
        has_parts |= j->pb[k]->made != NULL;
    j->npublished = j->npb;
    if (!has_parts)
        return 0;
    db->gen_published = j->gen;
    publish(db, j->gen);
    j->published = j->gen;
    j->gen = db->gen_next++;
    return 0;
}

/* Purges series [a, b) of st (their rows of published generations up to
 * max_gen). */
static void purge_range(struct tsdb *db, struct tsdb__store *st, uint64_t a, uint64_t b,
                        uint64_t max_gen)
{
    int64_t freed = 0;
    for (uint64_t id = a; id < b; id++) {
        pthread_rwlock_rdlock(&st->lock);
        struct tsdb__series *s = tsdb__series_get(st, id);
        if (s) {
            pthread_mutex_t *mu = &st->stripes[id % TSDB__STRIPES];
            pthread_mutex_lock(mu);
            freed += tsdb__head_purge(&s->head, max_gen);
            pthread_mutex_unlock(mu);
        }
        pthread_rwlock_unlock(&st->lock);
    }
    atomic_fetch_sub(&db->head_bytes, freed);
    tsdb__update_gauges(db);
}

/* Steps 1-2 for every store: passes over its series until no due row is
 * left behind for want of a writer.  The parts made are in j->pb. */
static int flush_stores(struct tsdb *db, struct flushjob *j, struct err *e)
{
    pthread_mutex_lock(&db->cat_lock);
    size_t nst = 0;
    struct tsdb__store **sts = NULL;
    int64_t *shards = NULL; /* copied here: ALTER changes them under cat_lock */
    for (size_t i = 0; i < db->cat.ndbs; i++)
        for (size_t k = 0; k < db->cat.dbs[i]->nrps; k++) {
            sts = xrealloc(sts, (nst + 1) * sizeof *sts);
            shards = xrealloc(shards, (nst + 1) * sizeof *shards);
            shards[nst] = db->cat.dbs[i]->rps[k]->shard_duration_ns;
            sts[nst++] = db->cat.dbs[i]->rps[k]->store;
        }
    pthread_mutex_unlock(&db->cat_lock);
    int rc = 0;
    for (size_t i = 0; i < nst && !rc; i++) {
        struct tsdb__store *st = sts[i];
        /* Series made after the watermark was noted hold only rows above
         * it; the next flush takes them. */
        pthread_rwlock_rdlock(&st->lock);
        uint64_t next_id = st->next_id;
        pthread_rwlock_unlock(&st->lock);
        bool more = true;
        while (more && !rc) {
            more = false;
            size_t first = j->npb;
            uint64_t step_id = 1; /* first series of the step */
            for (uint64_t id = 1; id < next_id && !rc; id++) {
                rc = flush_series(db, j, st, shards[i], id, first, &more, e);
                if (rc || j->step_bytes < j->step_max || id + 1 == next_id)
                    continue;
                /* Step: what the writers hold becomes parts, is published,
                 * and leaves the head (a live older snapshot may keep it). */
                for (size_t k = first; k < j->npb && !rc; k++)
                    rc = pbuild_finish(db, j->pb[k], e);
                rc = rc ? rc : step_publish(db, j, e);
                if (!rc) {
                    purge_range(db, st, step_id, id + 1, min_live_gen(db));
                    trim_heap();
                }
                first = j->npb;
                step_id = id + 1;
                j->step_bytes = 0;
            }
            for (size_t k = first; k < j->npb && !rc; k++)
                rc = pbuild_finish(db, j->pb[k], e);
        }
    }
    free(sts);
    free(shards);
    return rc;
}

/* Deletes WAL segments all of whose records are at or below lsn: a segment
 * qualifies when the next segment's first record has an LSN <= lsn + 1.
 * Segments older than the writer's current one only. */
static int wal_trim(struct tsdb *db, uint64_t lsn, struct err *e)
{
    pthread_mutex_lock(&db->wal.mu);
    uint64_t cur = db->wal.seg_seq;
    pthread_mutex_unlock(&db->wal.mu);
    DIR *d = opendir(db->wal.dir);
    if (!d)
        return err_set(e, ERR_IO, "opendir %s: %s", db->wal.dir, strerror(errno));
    uint64_t *seqs = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (strlen(nm) == 20 && !strcmp(nm + 16, ".wal") && strspn(nm, "0123456789abcdef") == 16) {
            seqs = xrealloc(seqs, (n + 1) * sizeof *seqs);
            seqs[n++] = strtoull(nm, NULL, 16);
        }
    }
    closedir(d);
    /* Ascending order, then delete from the oldest while allowed. */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && seqs[k - 1] > seqs[k]; k--) {
            uint64_t t = seqs[k];
            seqs[k] = seqs[k - 1];
            seqs[k - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i + 1 < n && seqs[i] < cur && !rc; i++) {
        char p[TSDB__PATH_MAX];
        pathf(p, sizeof p, "%s/%016" PRIx64 ".wal", db->wal.dir, seqs[i + 1]);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        uint8_t h[TSDB__WAL_SEG_HDR + TSDB__WAL_REC_HDR];
        bool ok = fd >= 0 && pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h;
        if (fd >= 0)
            close(fd);
        const uint8_t *r = h + TSDB__WAL_SEG_HDR;
        if (!ok || tsdb__le32(r) != TSDB__WAL_REC_MAGIC ||
            tsdb__le32(r + 24) != tsdb__crc32c(0, r, 24) || tsdb__le64(r + 16) > lsn + 1)
            break;
        pathf(p, sizeof p, "%s/%016" PRIx64 ".wal", db->wal.dir, seqs[i]);
        rc = tsdb__f_unlink(&db->fio, p, e);
    }
    free(seqs);
    return rc;
}

/* A failed flush: rows it marked must read as head rows again, or a later
 * publication (another generation number above theirs) would hide them. */
static void unmark_head(struct tsdb *db, uint64_t gen)
{
    pthread_mutex_lock(&db->cat_lock);
    for (size_t i = 0; i < db->cat.ndbs; i++)
        for (size_t k = 0; k < db->cat.dbs[i]->nrps; k++) {
            struct tsdb__store *st = db->cat.dbs[i]->rps[k]->store;
            int64_t grown = 0;
            pthread_rwlock_rdlock(&st->lock);
            for (uint64_t id = 1; id < st->next_id; id++) {
                struct tsdb__series *s = tsdb__series_get(st, id);
                if (!s)
                    continue;
                pthread_mutex_t *mu = &st->stripes[id % TSDB__STRIPES];
                pthread_mutex_lock(mu);
                for (size_t r = 0; r < s->head.n; r++)
                    if (tsdb__head_fgen(&s->head, r) == gen)
                        grown += tsdb__head_set_fgen(&s->head, r, 0);
                pthread_mutex_unlock(mu);
            }
            pthread_rwlock_unlock(&st->lock);
            atomic_fetch_add(&db->head_bytes, grown);
        }
    pthread_mutex_unlock(&db->cat_lock);
}

static void purge_head(struct tsdb *db, uint64_t max_gen)
{
    pthread_mutex_lock(&db->cat_lock);
    for (size_t i = 0; i < db->cat.ndbs; i++)
        for (size_t k = 0; k < db->cat.dbs[i]->nrps; k++) {
            struct tsdb__store *st = db->cat.dbs[i]->rps[k]->store;
            /* series made later hold no row of a published generation */
            pthread_rwlock_rdlock(&st->lock);
            uint64_t next_id = st->next_id;
            pthread_rwlock_unlock(&st->lock);
            purge_range(db, st, 1, next_id, max_gen);
        }
    pthread_mutex_unlock(&db->cat_lock);
}

/* Totals for tsdb_storage_stats (the daemon logs each flush from them). */
static void count_flush(struct tsdb *db, const struct flushjob *j)
{
    uint64_t parts = 0, bytes = 0, rows = 0;
    for (size_t i = 0; i < j->npublished; i++)
        if (j->pb[i]->made) {
            parts++;
            bytes += j->pb[i]->made->len;
            rows += j->pb[i]->made->info.rows;
        }
    atomic_fetch_add(&db->n_flushes, 1);
    atomic_fetch_add(&db->n_flush_parts, parts);
    atomic_fetch_add(&db->n_flush_bytes, bytes);
    atomic_fetch_add(&db->n_flush_rows, rows);
}

uint64_t tsdb__flush_threshold(struct tsdb *db)
{
    uint64_t base = db->opts.flush_head_bytes;
    uint64_t per = (uint64_t)atomic_load(&db->head_series) * TSDB__FLUSH_SERIES_BYTES;
    uint64_t cap = base > UINT64_MAX / TSDB__FLUSH_SERIES_CAP ? UINT64_MAX
                                                               : base * TSDB__FLUSH_SERIES_CAP;
    if (per > cap)
        per = cap;
    return per > base ? per : base;
}

int tsdb_flush(struct tsdb *db, struct err *e)
{
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "tsdb: store is read-only");
    pthread_mutex_lock(&db->flush_mu);
    int rc = tsdb__flush_locked(db, e);
    pthread_mutex_unlock(&db->flush_mu);
    return rc;
}

int tsdb__flush_locked(struct tsdb *db, struct err *e)
{
    purge_head(db, min_live_gen(db));
    trim_heap();
    struct flushjob j;
    memset(&j, 0, sizeof j);
    j.gen = db->gen_next++;
    j.published = db->gen_published;
    j.step_max = db->opts.flush_step_bytes;
    if (!j.step_max) {
        j.step_max = tsdb__flush_threshold(db) / FLUSH_STEPS;
        if (j.step_max < FLUSH_STEP_MIN)
            j.step_max = FLUSH_STEP_MIN;
    }
    j.pc = xcalloc(1, sizeof *j.pc);
    buf_init(&j.pc->strs, 0);
    /* Between applies, so every record <= ckpt is wholly in the head. */
    pthread_rwlock_wrlock(&db->apply_lock);
    uint64_t ckpt = atomic_load(&db->wal.applied);
    pthread_rwlock_unlock(&db->apply_lock);

    int rc = flush_stores(db, &j, e);
    piece_free(j.pc);
    j.pc = NULL;
    /* Series files of the stores that have parts. */
    for (size_t i = 0; i < j.npb && !rc; i++) {
        struct tsdb__store *st = j.pb[i]->st;
        bool is_done = false;
        for (size_t k = 0; k < i; k++)
            is_done |= j.pb[k]->st == st;
        if (is_done)
            continue;
        struct buf out;
        buf_init(&out, 0);
        pthread_rwlock_rdlock(&st->lock);
        rc = tsdb__series_encode(st, NULL, NULL, &out);
        pthread_rwlock_unlock(&st->lock);
        char dir[TSDB__PATH_MAX];
        pathf(dir, sizeof dir, "%s/db/%" PRIu64 "/%" PRIu64, db->dir, st->db_id, st->rp_id);
        rc = rc ? err_set(e, rc, "series table: out of memory")
                : tsdb__f_replace(&db->fio, dir, "series", out.p, out.len, e);
        buf_fini(&out);
    }
    /* The last step's MANIFESTs and version. */
    rc = rc ? rc : step_publish(db, &j, e);
    rc = rc ? rc : checkpoint_write(db, ckpt, e);
    if (rc) {
        /* MANIFESTs already written stay valid (their parts are complete);
         * the head keeps every row not published by an earlier step, so
         * nothing is lost.  Drop the unpublished new parts from memory so
         * the next flush writes them again as one. */
        for (size_t i = j.npublished; i < j.npb; i++) {
            struct tsdb__partition *pa = j.pb[i]->pa;
            if (!pa || !j.pb[i]->made)
                continue;
            for (size_t k = 0; k < pa->nparts; k++)
                if (pa->parts[k] == j.pb[i]->made) {
                    tsdb__part_unref(pa->parts[k]);
                    memmove(pa->parts + k, pa->parts + k + 1,
                            (pa->nparts - k - 1) * sizeof *pa->parts);
                    pa->nparts--;
                    break;
                }
        }
        if (j.npublished)
            count_flush(db, &j);
        job_fini(&j);
        unmark_head(db, j.gen);
        return rc;
    }
    db->wal.ckpt_lsn = ckpt;
    count_flush(db, &j);
    job_fini(&j);
    purge_head(db, min_live_gen(db));
    trim_heap();
    return wal_trim(db, ckpt, e);
}

/* ---- retention ------------------------------------------------------------------ */

int tsdb_enforce_retention(struct tsdb *db, int64_t now_ns, struct err *e)
{
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "tsdb: store is read-only");
    pthread_mutex_lock(&db->flush_mu);
    /* Expiry of each partition by its policy (catalog read under cat_lock). */
    size_t n = 0;
    struct tsdb__partition **dead = NULL;
    pthread_mutex_lock(&db->cat_lock);
    for (size_t i = 0; i < db->npartitions; i++) {
        struct tsdb__partition *pa = db->partitions[i];
        int64_t dur = 0;
        for (size_t k = 0; k < db->cat.ndbs; k++)
            if (db->cat.dbs[k]->id == pa->db_id)
                for (size_t r = 0; r < db->cat.dbs[k]->nrps; r++)
                    if (db->cat.dbs[k]->rps[r]->id == pa->rp_id)
                        dur = db->cat.dbs[k]->rps[r]->duration_ns;
        /* A partition expires when its newest possible point is older than
         * now - duration (InfluxDB drops whole shard groups the same way). */
        if (dur != TSDB_DURATION_INF && now_ns - dur > pa->end - 1 &&
            now_ns > INT64_MIN + dur) {
            dead = xrealloc(dead, (n + 1) * sizeof *dead);
            dead[n++] = pa;
        }
    }
    pthread_mutex_unlock(&db->cat_lock);
    if (!n) {
        pthread_mutex_unlock(&db->flush_mu);
        return 0;
    }
    /* 1. Out of the in-memory list, so new snapshots stop seeing them. */
    size_t w = 0;
    for (size_t i = 0; i < db->npartitions; i++) {
        bool is_dead = false;
        for (size_t k = 0; k < n; k++)
            is_dead |= db->partitions[i] == dead[k];
        if (!is_dead)
            db->partitions[w++] = db->partitions[i];
    }
    db->npartitions = w;
    uint64_t gen = db->gen_next++;
    db->gen_published = gen;
    publish(db, gen);
    /* 2. Rename to .trash-<start>, fsync the parent; 3. unlink.  A crash
     * between leaves a .trash-* that the next open removes. */
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        char parent[TSDB__PATH_MAX], trash[TSDB__PATH_MAX];
        pathf(parent, sizeof parent, "%s/db/%" PRIu64 "/%" PRIu64, db->dir, dead[k]->db_id,
                 dead[k]->rp_id);
        pathf(trash, sizeof trash, "%s/.trash-%" PRId64, parent, dead[k]->start);
        if (!rc)
            rc = tsdb__f_rename(&db->fio, dead[k]->dir, trash, e);
        rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, parent, e);
        rc = rc ? rc : remove_tree(db, trash, e);
        partition_free(dead[k]);
    }
    free(dead);
    pthread_mutex_unlock(&db->flush_mu);
    return rc;
}

/* ---- compaction's hooks (compact.c) ---------------------------------------------- */

void tsdb__part_name(char *out, size_t n, uint64_t seq, uint32_t level)
{
    part_name(out, n, seq, level);
}

struct tsdb__partition *tsdb__partition_find(struct tsdb *db, uint64_t db_id, uint64_t rp_id,
                                             int64_t start)
{
    return partition_find(db, db_id, rp_id, start);
}

int tsdb__partition_swap(struct tsdb *db, struct tsdb__partition *pa, struct tsdb__part *const *old,
                         size_t n, struct tsdb__part *made, struct err *e)
{
    size_t at = 0;
    while (at < pa->nparts && pa->parts[at] != old[0])
        at++;
    if (!n || at + n > pa->nparts)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (pa->parts[at + i] != old[i])
            return 1;
    size_t nn = pa->nparts - n + 1;
    struct tsdb__part **nv = xmalloc(nn * sizeof *nv);
    memcpy(nv, pa->parts, at * sizeof *nv);
    nv[at] = made;
    memcpy(nv + at + 1, pa->parts + at + n, (pa->nparts - at - n) * sizeof *nv);
    struct tsdb__part **ov = pa->parts;
    size_t on = pa->nparts;
    pa->parts = nv;
    pa->nparts = nn;
    int rc = manifest_write(db, pa, e);
    if (rc) {
        pa->parts = ov;
        pa->nparts = on;
        free(nv);
        return rc;
    }
    tsdb__part_ref(made);
    for (size_t i = 0; i < n; i++)
        tsdb__part_unref(ov[at + i]);
    free(ov);
    /* Its verification read every page through the mapping: let them go
     * from the process (the page cache keeps them), as a flush does. */
    part_drop_pages(made);
    /* Same generation: the head rows parts stand for did not change. */
    publish(db, db->gen_published);
    return 0;
}

/* ---- delete's hooks (delete.c) ---------------------------------------------------- */

int tsdb__manifest_write(struct tsdb *db, struct tsdb__partition *pa, struct err *e)
{
    return manifest_write(db, pa, e);
}

void tsdb__publish(struct tsdb *db, uint64_t gen)
{
    publish(db, gen);
}
