// SPDX-License-Identifier: MIT
/*
 * Compaction: merges a partition's parts into one larger part
 * (storage-notes 5.6, 5.9).  Policy, publication order and crash cases are
 * in tsdb/FORMAT.md "Compaction"; this header says how the code is shaped.
 *
 * Policy (plan, under flush_mu, every call): per partition, in partition
 * order,
 *   - level run: the lowest level that has at least compact_min_parts
 *     consecutive parts (by seq) is merged into one part of level + 1;
 *   - cold: a partition with 2 or more parts whose part list no flush or
 *     rewrite has changed for compact_cold_ns of the caller's clock, or
 *     that ended compact_cold_ns ago and has not changed since open, is
 *     merged whole into one part (observe/pick).
 * At most compact_max_inputs parts per merge; the first due partition wins
 * and the rest is the backlog (re-planned from the MANIFESTs after a
 * restart, so the queue survives one).  A merge needs free disk space of
 * the inputs' size plus 10 %.
 *
 * Why the inputs are consecutive and the output takes the highest input
 * seq: readers resolve a duplicate (series, time, field) by part seq (the
 * later part wins, tsdb.c gather_parts/merge_head).  Replacing a run of
 * consecutive parts by one part with the run's highest seq keeps every
 * other part on the same side of it, so no answer changes.  The name stays
 * unique because the output's level differs from that input's.
 *
 * The merge is a streaming k-way merge (one merge per store, in slices):
 *   next_series   picks the lowest series id any input has left and
 *                 bounds each input's index entries of that series;
 *   merge_rows    repeatedly takes the lowest time among the inputs'
 *                 current rows (each input holds one decoded block, loaded
 *                 when its previous one is used up) and builds the output
 *                 row field by field, inputs in ascending seq, so a later
 *                 part's value overwrites an earlier one's, per field;
 *   emit          every CODEC_BLOCK_MAX rows (and at the end of a series)
 *                 hands the rows to the part writer (full-size blocks,
 *                 re-encoded) and streams its bytes to <name>.tmp;
 *   finish        index and footer, fdatasync, rename, fsync dir, verify
 *                 the file (tsdb__part_open), then under flush_mu
 *                 tsdb__partition_swap (MANIFEST, in-memory list, new
 *                 version) and unlink the inputs.
 * Memory: one decoded block per input, one output block, the output's
 * block index (about 25 B per block).  flush_mu is held only to plan and to
 * publish, never while merging.  Readers holding an older version keep the
 * input parts mapped through their refcounts; unlinking a mapped file is
 * fine on POSIX.
 *
 * Threads: tsdb_maybe_compact may be called from any thread; cmp_mu makes
 * calls take turns, so one merge at a time per store.  Lock order: cmp_mu,
 * then flush_mu (and what flush.c takes under it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

#define DEF_MIN_PARTS 8u
#define DEF_COLD_NS (2LL * 3600 * 1000000000LL)
#define DEF_MAX_INPUTS 64u
#define MAX_LEVEL 9u

/* One column of an input's decoded block, by row. */
struct icol {
    uint32_t slot;                  /* output column */
    uint8_t present[CODEC_BLOCK_MAX];
    uint64_t u[CODEC_BLOCK_MAX];    /* value bits; strings: offset into input strs */
    uint32_t slen[CODEC_BLOCK_MAX]; /* strings: length */
};

struct input {
    struct tsdb__part *pt; /* one ref held */
    size_t b;              /* next index entry to load */
    size_t b_end;          /* first entry past the current series */
    size_t nrows, r;       /* rows of the loaded block; next row */
    int64_t ts[CODEC_BLOCK_MAX];
    struct icol **cols;
    size_t ncols, cap_cols;
    struct buf strs;
};

/* One output column of the current series. */
struct oslot {
    struct sv key; /* borrowed from an input's mapping (alive for the merge) */
    enum tsdb_type type;
    uint8_t present[CODEC_BLOCK_MAX];
    uint64_t u[CODEC_BLOCK_MAX]; /* strings: offset into ostrs */
    uint32_t slen[CODEC_BLOCK_MAX];
    struct sv s[CODEC_BLOCK_MAX];
};

struct tsdb__compactor {
    bool is_running;
    uint64_t db_id, rp_id;
    int64_t start;
    char rel[96];
    char dir[TSDB__PATH_MAX];
    struct input *in;
    size_t nin;
    uint64_t seq, max_lsn;
    uint32_t level;
    char name[64];
    char path[TSDB__PATH_MAX], tmp[TSDB__PATH_MAX];
    char prel[160], tmprel[168];
    int fd;
    struct tsdb__pw pw;
    bool has_pw;
    bool has_sid;
    uint64_t sid;
    struct oslot **slots;
    size_t nslots, cap_slots;
    size_t orows;
    int64_t ots[CODEC_BLOCK_MAX];
    struct buf ostrs;
    struct tsdb__pcol *pcols;
    size_t cap_pcols;
    struct codec_ctx *cc; /* decoding (the writer has its own) */
    struct tsdb__bscratch *sc;
    uint64_t bytes_in, bytes_out, rows_out, slice;

    struct metric *m_started, *m_finished, *m_failed, *m_discarded;
    struct metric *m_read, *m_written, *m_parts, *m_running, *m_backlog;
};

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

/* ---- set-up ---------------------------------------------------------------- */

void tsdb__compact_init(struct tsdb *db)
{
    pthread_mutex_init(&db->cmp_mu, NULL);
    db->has_cmp = true;
    struct tsdb__compactor *c = xcalloc(1, sizeof *c);
    c->fd = -1;
    buf_init(&c->ostrs, 0);
    db->cmp = c;
    if (!db->opts.compact_min_parts)
        db->opts.compact_min_parts = DEF_MIN_PARTS;
    if (db->opts.compact_min_parts < 2)
        db->opts.compact_min_parts = 2;
    if (db->opts.compact_cold_ns <= 0)
        db->opts.compact_cold_ns = DEF_COLD_NS;
    if (!db->opts.compact_max_inputs)
        db->opts.compact_max_inputs = DEF_MAX_INPUTS;
    if (db->opts.compact_max_inputs < 2)
        db->opts.compact_max_inputs = 2;
    struct metrics_registry *r = db->opts.metrics;
    if (!r)
        return;
    c->m_started = metrics_counter(r, "nightjar_compactions_started_total",
                                   "Part merges started.");
    c->m_finished = metrics_counter(r, "nightjar_compactions_finished_total",
                                    "Part merges published (MANIFEST replaced).");
    c->m_failed = metrics_counter(r, "nightjar_compactions_failed_total",
                                  "Part merges abandoned after an error (inputs kept).");
    c->m_discarded = metrics_counter(
        r, "nightjar_compactions_discarded_total",
        "Part merges whose inputs changed meanwhile (drop, retention): output deleted.");
    c->m_read = metrics_counter(r, "nightjar_compaction_bytes_read_total",
                                "Bytes of part files read by compaction.");
    c->m_written = metrics_counter(r, "nightjar_compaction_bytes_written_total",
                                   "Bytes of part files written by compaction.");
    c->m_parts = metrics_gauge(r, "nightjar_storage_parts",
                               "Live part files in all partitions.");
    c->m_running = metrics_gauge(r, "nightjar_compaction_running",
                                 "1 while a part merge is in progress.");
    c->m_backlog = metrics_gauge(r, "nightjar_compaction_backlog_partitions",
                                 "Partitions with a merge due, waiting for their turn.");
}

static void inputs_free(struct tsdb__compactor *c)
{
    for (size_t i = 0; i < c->nin; i++) {
        struct input *in = &c->in[i];
        tsdb__part_unref(in->pt);
        for (size_t k = 0; k < in->cap_cols; k++)
            free(in->cols[k]);
        free(in->cols);
        buf_fini(&in->strs);
    }
    free(c->in);
    c->in = NULL;
    c->nin = 0;
}

/* Drops the merge in progress and deletes its temporary file (once renamed,
 * the output is finish's business). */
static void abandon(struct tsdb__compactor *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->is_running)
        unlink(c->tmp);
    if (c->has_pw)
        tsdb__pw_fini(&c->pw);
    c->has_pw = false;
    inputs_free(c);
    codec_ctx_free(c->cc);
    c->cc = NULL;
    free(c->sc);
    c->sc = NULL;
    c->is_running = false;
    c->has_sid = false;
    c->orows = 0;
    c->nslots = 0;
    buf_reset(&c->ostrs);
    tsdb__metric_set(c->m_running, 0);
}

void tsdb__compact_fini(struct tsdb *db)
{
    if (!db->has_cmp)
        return;
    struct tsdb__compactor *c = db->cmp;
    abandon(c);
    for (size_t i = 0; i < c->cap_slots; i++)
        free(c->slots[i]);
    free(c->slots);
    free(c->pcols);
    buf_fini(&c->ostrs);
    free(c);
    db->cmp = NULL;
    pthread_mutex_destroy(&db->cmp_mu);
    db->has_cmp = false;
}

void tsdb_storage_stats(struct tsdb *db, struct tsdb_storage_stats *out)
{
    out->flushes = atomic_load(&db->n_flushes);
    out->flush_parts = atomic_load(&db->n_flush_parts);
    out->flush_bytes = atomic_load(&db->n_flush_bytes);
    out->flush_rows = atomic_load(&db->n_flush_rows);
}

/* ---- policy (flush_mu held) -------------------------------------------------- */

/* Records when pa's part list last changed, on the caller's clock. */
static void observe(struct tsdb__partition *pa, int64_t now_ns)
{
    uint64_t last = pa->nparts ? pa->parts[pa->nparts - 1]->seq : 0;
    if (!pa->has_cmp_seen) {
        pa->has_cmp_seen = true;
        pa->cmp_first_ns = now_ns;
        pa->cmp_changed_ns = INT64_MIN;
    } else if (pa->cmp_seen_nparts != pa->nparts || pa->cmp_seen_last_seq != last) {
        pa->cmp_changed_ns = now_ns;
    }
    pa->cmp_seen_nparts = pa->nparts;
    pa->cmp_seen_last_seq = last;
}

/* After our own merge: the new list is not a change by a writer. */
static void observe_ours(struct tsdb__partition *pa)
{
    pa->cmp_seen_nparts = pa->nparts;
    pa->cmp_seen_last_seq = pa->nparts ? pa->parts[pa->nparts - 1]->seq : 0;
}

/* a <= b - d without overflow. */
static bool is_older(int64_t a, int64_t b, int64_t d)
{
    int64_t lim;
    if (__builtin_sub_overflow(b, d, &lim))
        return false;
    return a <= lim;
}

/* The run of pa's parts due for a merge, if any: [*at, *at + *n). */
static bool pick(const struct tsdb *db, const struct tsdb__partition *pa, int64_t now_ns,
                 size_t *at, size_t *n)
{
    if (pa->nparts < 2)
        return false;
    size_t maxin = db->opts.compact_max_inputs;
    uint32_t best = UINT32_MAX;
    for (size_t i = 0; i < pa->nparts;) {
        size_t j = i;
        while (j < pa->nparts && pa->parts[j]->level == pa->parts[i]->level)
            j++;
        if (j - i >= db->opts.compact_min_parts && pa->parts[i]->level < best) {
            best = pa->parts[i]->level;
            *at = i;
            *n = j - i < maxin ? j - i : maxin;
        }
        i = j;
    }
    if (best != UINT32_MAX)
        return true;
    /* Cold: idle (no flush or rewrite changed the list) for cold_ns, or
     * ended cold_ns ago with no change seen since open.  A late flush into
     * an ended partition thus waits until the partition is idle again, so
     * trickling late data does not rewrite the whole partition each time. */
    int64_t cold = db->opts.compact_cold_ns, last = pa->cmp_changed_ns;
    bool is_idle = is_older(last == INT64_MIN ? pa->cmp_first_ns : last, now_ns, cold);
    bool is_cold = is_idle || (last == INT64_MIN && is_older(pa->end, now_ns, cold));
    if (!is_cold)
        return false;
    *at = 0;
    *n = pa->nparts < maxin ? pa->nparts : maxin;
    return true;
}

static bool has_room(const struct tsdb__partition *pa, size_t at, size_t n)
{
    uint64_t need = 0;
    for (size_t i = at; i < at + n; i++)
        need += pa->parts[i]->len;
    need += need / 10;
    struct statvfs sv;
    if (statvfs(pa->dir, &sv) != 0)
        return true; /* cannot tell: the write will fail cleanly if full */
    return (uint64_t)sv.f_bavail * sv.f_frsize >= need;
}

/* Takes refs on the run and fills c (flush_mu held). */
static void begin(struct tsdb *db, struct tsdb__compactor *c, struct tsdb__partition *pa,
                  size_t at, size_t n)
{
    c->db_id = pa->db_id;
    c->rp_id = pa->rp_id;
    c->start = pa->start;
    pathf(c->rel, sizeof c->rel, "%s", pa->rel);
    pathf(c->dir, sizeof c->dir, "%s", pa->dir);
    c->in = xcalloc(n, sizeof *c->in);
    c->nin = n;
    uint32_t lvl = 0;
    c->max_lsn = 0;
    for (size_t i = 0; i < n; i++) {
        struct tsdb__part *pt = pa->parts[at + i];
        tsdb__part_ref(pt);
        c->in[i].pt = pt;
        buf_init(&c->in[i].strs, 0);
        if (pt->level > lvl)
            lvl = pt->level;
        if (pt->info.max_lsn > c->max_lsn)
            c->max_lsn = pt->info.max_lsn;
    }
    const struct tsdb__part *last = pa->parts[at + n - 1];
    c->seq = last->seq;
    c->level = lvl + 1 > MAX_LEVEL ? MAX_LEVEL : lvl + 1;
    if (c->level == last->level) /* only when both are MAX_LEVEL: keep names unique */
        c->level = MAX_LEVEL - 1;
    tsdb__part_name(c->name, sizeof c->name, c->seq, c->level);
    pathf(c->path, sizeof c->path, "%s/%s", c->dir, c->name);
    pathf(c->tmp, sizeof c->tmp, "%s.tmp", c->path);
    pathf(c->prel, sizeof c->prel, "%s/%s", c->rel, c->name);
    pathf(c->tmprel, sizeof c->tmprel, "%s.tmp", c->prel);
    c->bytes_in = c->bytes_out = c->rows_out = 0;
    c->has_sid = false;
    c->orows = 0;
    c->nslots = 0;
    c->is_running = true;
    (void)db;
}

/* Opens the temporary file and the coders (no lock held). */
static int begin_io(struct tsdb *db, struct tsdb__compactor *c, struct err *e)
{
    c->cc = codec_ctx_new();
    c->sc = xmalloc(sizeof *c->sc);
    int rc = tsdb__pw_init(&c->pw);
    c->has_pw = true;
    if (rc || !c->cc)
        return err_set(e, ERR_NOMEM, "%s: out of memory", c->tmprel);
    return tsdb__f_open(&db->fio, c->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &c->fd, e);
}

/* ---- the merge ----------------------------------------------------------------- */

static uint32_t slot_for(struct tsdb__compactor *c, struct sv key, enum tsdb_type type)
{
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slots[i]->type == type && sv_eq(c->slots[i]->key, key))
            return (uint32_t)i;
    if (c->nslots == c->cap_slots) {
        size_t nc = c->cap_slots ? c->cap_slots * 2 : 8;
        c->slots = xrealloc(c->slots, nc * sizeof *c->slots);
        for (size_t i = c->cap_slots; i < nc; i++)
            c->slots[i] = xmalloc(sizeof *c->slots[i]);
        c->cap_slots = nc;
    }
    struct oslot *o = c->slots[c->nslots];
    o->key = key;
    o->type = type;
    memset(o->present, 0, sizeof o->present);
    return (uint32_t)c->nslots++;
}

struct load_ctx {
    struct tsdb__compactor *c;
    struct input *in;
    int rc;
};

static int on_col(void *arg, const int64_t *ts, size_t nrows, const struct tsdb__bcol *col)
{
    (void)ts;
    struct load_ctx *lc = arg;
    struct input *in = lc->in;
    if (in->ncols == in->cap_cols) {
        size_t nc = in->cap_cols ? in->cap_cols * 2 : 8;
        in->cols = xrealloc(in->cols, nc * sizeof *in->cols);
        for (size_t i = in->cap_cols; i < nc; i++)
            in->cols[i] = xmalloc(sizeof *in->cols[i]);
        in->cap_cols = nc;
    }
    struct icol *ic = in->cols[in->ncols++];
    ic->slot = slot_for(lc->c, col->key, col->type);
    size_t k = 0;
    for (size_t r = 0; r < nrows; r++) {
        ic->present[r] = col->present ? col->present[r] != 0 : 1;
        if (!ic->present[r])
            continue;
        const union tsdb_value *v = &col->vals[k++];
        switch (col->type) {
        case TSDB_FLOAT:
            memcpy(&ic->u[r], &v->f, 8);
            break;
        case TSDB_INT:
            ic->u[r] = (uint64_t)v->i;
            break;
        case TSDB_UINT:
            ic->u[r] = v->u;
            break;
        case TSDB_BOOL:
            ic->u[r] = v->b ? 1 : 0;
            break;
        case TSDB_STRING:
            ic->u[r] = in->strs.len;
            ic->slen[r] = (uint32_t)v->s.n;
            if (v->s.n && buf_append(&in->strs, v->s.p, v->s.n) != 0)
                return lc->rc = ERR_NOMEM;
            break;
        }
    }
    return 0;
}

static int load_block(struct tsdb__compactor *c, struct input *in, struct err *e)
{
    const struct tsdb__part *pt = in->pt;
    const struct tsdb__bent *be = &pt->info.ents[in->b++];
    in->ncols = 0;
    in->nrows = 0;
    in->r = 0;
    buf_reset(&in->strs);
    struct load_ctx lc = { c, in, 0 };
    int rc = tsdb__block_read(c->cc, c->sc, pt->map + be->off, be->len, pt->rel, be->off, on_col,
                              &lc, e);
    if (lc.rc)
        return err_set(e, lc.rc, "%s: offset %" PRIu64 ": out of memory", pt->rel, be->off);
    if (rc)
        return rc;
    memcpy(in->ts, c->sc->ts, be->nrows * sizeof *in->ts);
    in->nrows = be->nrows;
    c->bytes_in += be->len;
    c->slice += be->len;
    return 0;
}

/* Starts the lowest series id left in any input; false when all are done. */
static bool next_series(struct tsdb__compactor *c)
{
    bool any = false;
    uint64_t sid = UINT64_MAX;
    for (size_t i = 0; i < c->nin; i++) {
        const struct input *in = &c->in[i];
        if (in->b < in->pt->info.nents && in->pt->info.ents[in->b].sid <= sid) {
            sid = in->pt->info.ents[in->b].sid;
            any = true;
        }
    }
    if (!any)
        return false;
    for (size_t i = 0; i < c->nin; i++) {
        struct input *in = &c->in[i];
        in->b_end = in->b;
        while (in->b_end < in->pt->info.nents && in->pt->info.ents[in->b_end].sid == sid)
            in->b_end++;
        in->nrows = in->r = 0;
        in->ncols = 0;
    }
    c->sid = sid;
    c->has_sid = true;
    c->nslots = 0;
    c->orows = 0;
    buf_reset(&c->ostrs);
    return true;
}

/* Hands the output rows to the part writer and streams its bytes out. */
static int emit(struct tsdb *db, struct tsdb__compactor *c, struct err *e)
{
    if (!c->orows)
        return 0;
    if (c->nslots > c->cap_pcols) {
        c->cap_pcols = c->nslots;
        c->pcols = xrealloc(c->pcols, c->cap_pcols * sizeof *c->pcols);
    }
    for (size_t i = 0; i < c->nslots; i++) {
        struct oslot *o = c->slots[i];
        if (o->type == TSDB_STRING)
            for (size_t r = 0; r < c->orows; r++)
                o->s[r] = o->present[r] ? (struct sv){ c->ostrs.p + o->u[r], o->slen[r] }
                                        : (struct sv){ NULL, 0 };
        c->pcols[i] = (struct tsdb__pcol){ .key = o->key,
                                           .type = o->type,
                                           .present = o->present,
                                           .u = o->u,
                                           .s = o->s };
    }
    int rc = tsdb__pw_add(&c->pw, c->sid, c->ots, c->orows, c->pcols, c->nslots, e);
    size_t n = c->pw.out.len;
    rc = rc ? rc : tsdb__pw_drain(&c->pw, &db->fio, c->fd, c->tmprel, e);
    if (rc)
        return rc;
    c->bytes_out += n;
    c->slice += n;
    c->rows_out += c->orows;
    c->orows = 0;
    buf_reset(&c->ostrs);
    for (size_t i = 0; i < c->nslots; i++)
        memset(c->slots[i]->present, 0, sizeof c->slots[i]->present);
    return 0;
}

/* Merges rows of the current series until an output block is full (1) or
 * the series is done (0, its last rows emitted), or an error. */
static int merge_rows(struct tsdb *db, struct tsdb__compactor *c, struct err *e)
{
    for (;;) {
        bool any = false;
        int64_t mn = INT64_MAX;
        for (size_t i = 0; i < c->nin; i++) {
            struct input *in = &c->in[i];
            while (in->r == in->nrows && in->b < in->b_end) {
                int rc = load_block(c, in, e);
                if (rc)
                    return rc;
            }
            if (in->r < in->nrows && (!any || in->ts[in->r] < mn)) {
                mn = in->ts[in->r];
                any = true;
            }
        }
        if (!any) {
            int rc = emit(db, c, e);
            c->has_sid = false;
            return rc;
        }
        size_t row = c->orows;
        c->ots[row] = mn;
        /* Inputs in ascending seq: a later part's value replaces an
         * earlier one's, field by field (last write wins). */
        for (size_t i = 0; i < c->nin; i++) {
            struct input *in = &c->in[i];
            if (in->r >= in->nrows || in->ts[in->r] != mn)
                continue;
            size_t r = in->r++;
            for (size_t k = 0; k < in->ncols; k++) {
                const struct icol *ic = in->cols[k];
                if (!ic->present[r])
                    continue;
                struct oslot *o = c->slots[ic->slot];
                o->present[row] = 1;
                if (o->type == TSDB_STRING) {
                    o->u[row] = c->ostrs.len;
                    o->slen[row] = ic->slen[r];
                    if (ic->slen[r] &&
                        buf_append(&c->ostrs, in->strs.p + ic->u[r], ic->slen[r]) != 0)
                        return err_set(e, ERR_NOMEM, "%s: out of memory", c->tmprel);
                } else {
                    o->u[row] = ic->u[r];
                }
            }
        }
        if (++c->orows == CODEC_BLOCK_MAX) {
            int rc = emit(db, c, e);
            return rc ? rc : 1;
        }
    }
}

/* Index, footer, fsync, rename, verify, publish, delete the inputs.
 * Returns 0 published, 1 discarded, or an error. */
static int finish(struct tsdb *db, struct tsdb__compactor *c, struct err *e)
{
    int rc = tsdb__pw_finish(&c->pw, c->max_lsn, e);
    size_t n = c->pw.out.len;
    rc = rc ? rc : tsdb__pw_drain(&c->pw, &db->fio, c->fd, c->tmprel, e);
    if (!rc) {
        c->bytes_out += n;
        c->slice += n;
    }
    rc = rc ? rc : tsdb__f_fdatasync(&db->fio, c->fd, c->tmprel, e);
    close(c->fd);
    c->fd = -1;
    rc = rc ? rc : tsdb__f_rename(&db->fio, c->tmp, c->path, e);
    if (rc)
        return rc; /* abandon() removes the temporary file */
    rc = tsdb__f_fsync_dir(&db->fio, c->dir, e);
    struct tsdb__part *made = NULL;
    rc = rc ? rc : tsdb__part_open(c->path, c->prel, &made, e);
    if (rc) {
        /* Not listed anywhere yet: safe to delete. */
        unlink(c->path);
        return rc;
    }
    made->seq = c->seq;
    made->level = c->level;
    c->bytes_in += made->len; /* verification read it all */
    c->slice += made->len;

    pthread_mutex_lock(&db->flush_mu);
    struct tsdb__partition *pa = tsdb__partition_find(db, c->db_id, c->rp_id, c->start);
    struct tsdb__part **old = xmalloc(c->nin * sizeof *old);
    for (size_t i = 0; i < c->nin; i++)
        old[i] = c->in[i].pt;
    rc = pa ? tsdb__partition_swap(db, pa, old, c->nin, made, e) : 1;
    free(old);
    if (rc == 0) {
        observe_ours(pa);
        /* Unlisted now; a crash before these unlinks leaves files that
         * open deletes. */
        for (size_t i = 0; i < c->nin; i++) {
            char p[TSDB__PATH_MAX];
            pathf(p, sizeof p, "%s/%s", db->dir, c->in[i].pt->rel);
            unlink(p);
        }
    } else if (rc == 1) {
        unlink(c->path);
    }
    /* On ERR_IO the new MANIFEST may or may not be on disk: keep the
     * output file either way (unlisted files go at the next open). */
    pthread_mutex_unlock(&db->flush_mu);
    tsdb__part_unref(made);
    c->fd = -1;
    return rc;
}

/* Whether the merge's partition and inputs are still live.  Best effort
 * (skipped while a flush holds flush_mu); finish checks for certain. */
static bool still_live(struct tsdb *db, struct tsdb__compactor *c)
{
    if (pthread_mutex_trylock(&db->flush_mu) != 0)
        return true;
    struct tsdb__partition *pa = tsdb__partition_find(db, c->db_id, c->rp_id, c->start);
    bool ok = pa != NULL;
    for (size_t i = 0; i < c->nin && ok; i++) {
        bool found = false;
        for (size_t k = 0; k < pa->nparts && !found; k++)
            found = pa->parts[k] == c->in[i].pt;
        ok = found;
    }
    pthread_mutex_unlock(&db->flush_mu);
    return ok;
}

/* ---- the entry point ------------------------------------------------------------- */

static void describe(const struct tsdb__compactor *c, struct tsdb_compact_result *r)
{
    r->has_merge = true;
    pathf(r->partition, sizeof r->partition, "%s", c->rel);
    r->inputs = (uint32_t)c->nin;
    r->level = c->level;
    r->bytes_in = c->bytes_in;
    r->bytes_out = c->bytes_out;
    r->rows_out = c->rows_out;
}

int tsdb_maybe_compact(struct tsdb *db, int64_t now_ns, uint64_t max_bytes, bool may_start,
                       struct tsdb_compact_result *r, struct err *e)
{
    memset(r, 0, sizeof *r);
    if (db->opts.read_only)
        return err_set(e, ERR_IO, "tsdb: store is read-only");
    if (!db->has_cmp)
        return 0;
    pthread_mutex_lock(&db->cmp_mu);
    struct tsdb__compactor *c = db->cmp;

    /* Plan: every partition's state, the backlog, maybe a new merge. */
    pthread_mutex_lock(&db->flush_mu);
    for (size_t i = 0; i < db->npartitions; i++) {
        struct tsdb__partition *pa = db->partitions[i];
        r->parts += pa->nparts;
        observe(pa, now_ns);
        size_t at = 0, n = 0;
        bool is_mine = c->is_running && pa->db_id == c->db_id && pa->rp_id == c->rp_id &&
                       pa->start == c->start;
        if (is_mine || !pick(db, pa, now_ns, &at, &n))
            continue;
        if (c->is_running || !may_start || !has_room(pa, at, n)) {
            r->backlog++;
            continue;
        }
        begin(db, c, pa, at, n);
        r->has_started = true;
    }
    pthread_mutex_unlock(&db->flush_mu);
    tsdb__metric_set(c->m_parts, (double)r->parts);
    tsdb__metric_set(c->m_backlog, (double)r->backlog);
    if (!c->is_running) {
        pthread_mutex_unlock(&db->cmp_mu);
        return 0;
    }
    int rc = 0;
    c->slice = 0;
    uint64_t in0 = c->bytes_in, out0 = c->bytes_out;
    if (r->has_started) {
        tsdb__metric_add(c->m_started, 1);
        tsdb__metric_set(c->m_running, 1);
        rc = begin_io(db, c, e);
    } else if (!still_live(db, c)) {
        rc = 1;
    }
    /* Work until the slice's byte budget is used (at least one block). */
    while (!rc) {
        if (!c->has_sid && !next_series(c)) {
            rc = finish(db, c, e);
            if (!rc)
                r->has_finished = true;
            break;
        }
        int m = merge_rows(db, c, e);
        if (m < 0) {
            rc = m;
            break;
        }
        if (max_bytes && c->slice >= max_bytes)
            break;
    }
    describe(c, r);
    tsdb__metric_add(c->m_read, (double)(c->bytes_in - in0));
    tsdb__metric_add(c->m_written, (double)(c->bytes_out - out0));
    r->slice_bytes = c->slice;
    if (rc == 1) {
        r->was_discarded = true;
        tsdb__metric_add(c->m_discarded, 1);
        rc = 0;
    } else if (rc < 0) {
        tsdb__metric_add(c->m_failed, 1);
    } else if (r->has_finished) {
        tsdb__metric_add(c->m_finished, 1);
        r->parts -= c->nin - 1;
        tsdb__metric_set(c->m_parts, (double)r->parts);
    }
    if (rc < 0 || r->has_finished || r->was_discarded)
        abandon(c); /* deletes <name>.tmp if it is still there, never the output */
    r->is_running = c->is_running;
    pthread_mutex_unlock(&db->cmp_mu);
    return rc;
}
