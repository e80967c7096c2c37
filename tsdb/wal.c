// SPDX-License-Identifier: MIT
/*
 * Write-ahead log: segments, group commit, failure state, replay.
 *
 * Format (FORMAT.md "WAL"): <dir>/wal/<seq as 16 hex digits>.wal, each a
 * 16-byte segment header then records of a 28-byte header (magic, payload
 * length, type, flags, payload CRC32C, LSN, header CRC32C) and a payload.
 * Records never span segments; LSNs increase by one per record across all
 * segments.
 *
 * Group commit: one writer thread owns the open segment.  Committing
 * threads compute their payload CRC, queue a request and sleep on cv_done.
 * The writer takes everything queued, stamps LSNs and header CRCs, writes
 * the whole group with one writev and (fsync=always) one fdatasync, then
 * wakes the group.  So N concurrent commits share one fsync, and LSN order is
 * file order.  In interval mode the writer acknowledges after writev and
 * fdatasyncs when fsync_interval_ns has passed since the last sync.
 *
 * States:   OK --(write/fsync/rotate error: writer)--> FAILED
 *           FAILED is terminal until the store is reopened: tsdb__wal_submit
 *           and tsdb_batch_new return ERR_IO.  Never retry a failed fsync
 *           ("fsyncgate"): the kernel may have dropped the dirty pages.  On a
 *           failed group the writer truncates the segment back to where the
 *           group started (best effort), so a reopen without a crash does
 *           not resurrect batches that were never acknowledged.
 *
 * Replay (tsdb_open): segments in sequence order, records in file order,
 * each checked (magic, header CRC, bounds, payload CRC, LSN order) and
 * applied atomically.  The first bad record is a torn tail if it is in the
 * last segment and no valid record follows it (searched by record magic):
 * the file is truncated there and the cut reported.  Anything else is
 * corruption: ERR_CORRUPT naming file and offset, or with repair the WAL is
 * cut there and later segments removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "common/metrics.h"
#include "common/xalloc.h"
#include "tsdb/tsdb_int.h"

static void seg_path(const struct tsdb__wal *w, uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016" PRIx64 ".wal", w->dir, seq);
}

static int64_t mono_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- applied watermark ---------------------------------------------------- */

void tsdb__wal_applied(struct tsdb *db, uint64_t lsn)
{
    struct tsdb__wal *w = &db->wal;
    pthread_mutex_lock(&w->amu);
    uint64_t a = atomic_load(&w->applied);
    if (lsn == a + 1) {
        a = lsn;
        for (bool is_found = true; is_found;) {
            is_found = false;
            for (size_t i = 0; i < w->ndone; i++) {
                if (w->done[i] == a + 1) {
                    a++;
                    w->done[i] = w->done[--w->ndone];
                    is_found = true;
                    break;
                }
            }
        }
        atomic_store(&w->applied, a);
    } else if (lsn > a) {
        if (w->ndone == w->cap_done) {
            w->cap_done = w->cap_done ? w->cap_done * 2 : 16;
            w->done = xrealloc(w->done, w->cap_done * sizeof *w->done);
        }
        w->done[w->ndone++] = lsn;
    }
    pthread_mutex_unlock(&w->amu);
}

/* ---- writer ----------------------------------------------------------------- */

static void set_failed(struct tsdb__wal *w, const struct err *why)
{
    pthread_mutex_lock(&w->mu);
    if (!atomic_load(&w->failed)) {
        snprintf(w->failed_msg, sizeof w->failed_msg, "%s", why->msg);
        atomic_store(&w->failed, ERR_IO);
    }
    pthread_mutex_unlock(&w->mu);
}

/* Creates segment seq+1 and makes it current.  Writer thread or open. */
static int seg_create(struct tsdb *db, struct err *e)
{
    struct tsdb__wal *w = &db->wal;
    char path[TSDB__PATH_MAX];
    uint64_t seq = w->seg_seq + 1;
    seg_path(w, seq, path, sizeof path);
    int fd;
    int rc = tsdb__f_open(&db->fio, path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644, &fd, e);
    if (rc)
        return rc;
    uint8_t hdr[TSDB__WAL_SEG_HDR];
    tsdb__put_le32(hdr, TSDB__WAL_SEG_MAGIC);
    tsdb__put_le32(hdr + 4, TSDB__WAL_VERSION);
    tsdb__put_le64(hdr + 8, seq);
    rc = tsdb__f_write(&db->fio, fd, hdr, sizeof hdr, path, e);
    rc = rc ? rc : tsdb__f_fdatasync(&db->fio, fd, path, e);
    rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, w->dir, e);
    if (rc) {
        close(fd);
        unlink(path);
        return rc;
    }
    if (w->fd >= 0)
        close(w->fd);
    w->fd = fd;
    w->seg_seq = seq;
    w->seg_bytes = TSDB__WAL_SEG_HDR;
    return 0;
}

static int do_sync(struct tsdb *db, struct err *e)
{
    struct tsdb__wal *w = &db->wal;
    int64_t t0 = mono_now_ns();
    char what[64];
    snprintf(what, sizeof what, "wal/%016" PRIx64 ".wal", w->seg_seq);
    int rc = tsdb__f_fdatasync(&db->fio, w->fd, what, e);
    tsdb__metric_add(w->m_fsyncs, 1);
    tsdb__metric_observe(w->m_fsync_secs, (double)(mono_now_ns() - t0) / 1e9);
    if (!rc)
        w->unsynced_bytes = 0;
    return rc;
}

/* Writes one group; returns 0 or ERR_IO (e set). */
static int write_group(struct tsdb *db, struct tsdb__walreq *list, size_t count, uint64_t bytes,
                       struct err *e)
{
    struct tsdb__wal *w = &db->wal;
    int rc = 0;
    if (w->seg_bytes > TSDB__WAL_SEG_HDR && w->seg_bytes + bytes > w->seg_max) {
        if (w->unsynced_bytes)
            rc = do_sync(db, e);
        rc = rc ? rc : seg_create(db, e);
        if (rc)
            return rc;
    }
    struct iovec *iov = xmalloc(count * 2 * sizeof *iov);
    int n = 0;
    for (struct tsdb__walreq *r = list; r; r = r->next) {
        r->lsn = w->next_lsn++;
        tsdb__put_le64(r->hdr + 16, r->lsn);
        tsdb__put_le32(r->hdr + 24, tsdb__crc32c(0, r->hdr, 24));
        iov[n++] = (struct iovec){ r->hdr, TSDB__WAL_REC_HDR };
        if (r->payload_n)
            iov[n++] = (struct iovec){ (void *)r->payload, r->payload_n };
    }
    char what[64];
    snprintf(what, sizeof what, "wal/%016" PRIx64 ".wal", w->seg_seq);
    uint64_t start = w->seg_bytes;
    rc = tsdb__f_writev(&db->fio, w->fd, iov, n, what, e);
    free(iov);
    if (!rc) {
        w->seg_bytes += bytes;
        w->unsynced_bytes += bytes;
        tsdb__metric_add(w->m_bytes, (double)bytes);
        if (w->mode == TSDB_FSYNC_ALWAYS) {
            rc = do_sync(db, e);
            tsdb__metric_observe(w->m_group, (double)count);
        }
    }
    if (rc) {
        /* Best effort, not injected: do not let a reopen without a crash
         * replay batches whose commit failed. */
        if (ftruncate(w->fd, (off_t)start) == 0)
            w->seg_bytes = start;
    }
    return rc;
}

static void *writer_main(void *arg)
{
    struct tsdb *db = arg;
    struct tsdb__wal *w = &db->wal;
    int64_t last_sync = mono_now_ns();
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->q_head && !w->is_stopping) {
            if (w->mode == TSDB_FSYNC_INTERVAL && w->unsynced_bytes && !atomic_load(&w->failed)) {
                int64_t due = last_sync + w->interval_ns;
                if (mono_now_ns() >= due) {
                    pthread_mutex_unlock(&w->mu);
                    struct err e;
                    err_clear(&e);
                    if (do_sync(db, &e))
                        set_failed(w, &e);
                    last_sync = mono_now_ns();
                    pthread_mutex_lock(&w->mu);
                    continue;
                }
                struct timespec ts = { .tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL };
                pthread_cond_timedwait(&w->cv_work, &w->mu, &ts);
            } else {
                pthread_cond_wait(&w->cv_work, &w->mu);
            }
        }
        if (!w->q_head)
            break; /* stopping and drained */
        /* Take a group, bounded so it fits a segment. */
        struct tsdb__walreq *list = w->q_head, *last = list;
        size_t count = 1;
        uint64_t bytes = TSDB__WAL_REC_HDR + list->payload_n;
        while (last->next &&
               bytes + TSDB__WAL_REC_HDR + last->next->payload_n <= w->seg_max / 2) {
            last = last->next;
            bytes += TSDB__WAL_REC_HDR + last->payload_n;
            count++;
        }
        w->q_head = last->next;
        if (!w->q_head)
            w->q_tail = NULL;
        last->next = NULL;
        bool is_failed = atomic_load(&w->failed) != 0;
        pthread_mutex_unlock(&w->mu);

        int rc = ERR_IO;
        if (!is_failed) {
            struct err e;
            err_clear(&e);
            rc = write_group(db, list, count, bytes, &e);
            if (rc)
                set_failed(w, &e);
            else if (w->mode == TSDB_FSYNC_ALWAYS)
                last_sync = mono_now_ns();
        }
        pthread_mutex_lock(&w->mu);
        for (struct tsdb__walreq *r = list, *next; r; r = next) {
            next = r->next; /* r lives on its committer's stack */
            r->status = rc;
            r->is_done = true;
        }
        pthread_cond_broadcast(&w->cv_done);
    }
    pthread_mutex_unlock(&w->mu);
    if (w->unsynced_bytes && !atomic_load(&w->failed)) {
        struct err e;
        err_clear(&e);
        if (do_sync(db, &e))
            set_failed(w, &e);
    }
    return NULL;
}

int tsdb__wal_submit(struct tsdb *db, uint8_t type, uint8_t flags, const void *payload, size_t n,
                     uint64_t *lsn, struct err *e)
{
    struct tsdb__wal *w = &db->wal;
    if (n > UINT32_MAX || n > db->opts.max_batch_bytes + 64)
        return err_set(e, ERR_LIMIT, "wal record of %zu bytes is too large", n);
    struct tsdb__walreq r;
    memset(&r, 0, sizeof r);
    tsdb__put_le32(r.hdr, TSDB__WAL_REC_MAGIC);
    tsdb__put_le32(r.hdr + 4, (uint32_t)n);
    r.hdr[8] = type;
    r.hdr[9] = flags;
    tsdb__put_le32(r.hdr + 12, tsdb__crc32c(0, payload, n));
    r.payload = payload;
    r.payload_n = n;
    pthread_mutex_lock(&w->mu);
    if (atomic_load(&w->failed)) {
        pthread_mutex_unlock(&w->mu);
        return err_set(e, ERR_IO, "wal failed earlier: %s", w->failed_msg);
    }
    if (w->is_stopping || !w->has_thread) {
        pthread_mutex_unlock(&w->mu);
        return err_set(e, ERR_CLOSED, "wal is closed");
    }
    if (w->q_tail)
        w->q_tail->next = &r;
    else
        w->q_head = &r;
    w->q_tail = &r;
    pthread_cond_signal(&w->cv_work);
    while (!r.is_done)
        pthread_cond_wait(&w->cv_done, &w->mu);
    int rc = r.status;
    if (rc)
        rc = err_set(e, ERR_IO, "wal write failed: %s", w->failed_msg);
    pthread_mutex_unlock(&w->mu);
    *lsn = r.lsn;
    return rc;
}

int tsdb__wal_start(struct tsdb *db, struct err *e)
{
    struct tsdb__wal *w = &db->wal;
    int rc;
    if (w->seg_seq == 0 || w->seg_bytes < TSDB__WAL_SEG_HDR || w->seg_bytes >= w->seg_max) {
        rc = seg_create(db, e);
    } else {
        char path[TSDB__PATH_MAX];
        seg_path(w, w->seg_seq, path, sizeof path);
        rc = tsdb__f_open(&db->fio, path, O_WRONLY | O_APPEND, 0644, &w->fd, e);
    }
    if (rc)
        return rc;
    if (pthread_create(&w->thread, NULL, writer_main, db) != 0)
        return err_set(e, ERR_NOMEM, "cannot start the wal thread");
    w->has_thread = true;
    return 0;
}

void tsdb__wal_stop(struct tsdb *db)
{
    struct tsdb__wal *w = &db->wal;
    if (w->has_thread) {
        pthread_mutex_lock(&w->mu);
        w->is_stopping = true;
        pthread_cond_broadcast(&w->cv_work);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->has_thread = false;
    }
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

/* ---- replay ------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Checks the record at off; returns NULL if valid, else the reason.  On
 * success *plen gets the payload length. */
static const char *check_record(const uint8_t *p, size_t len, size_t off, uint64_t prev_lsn,
                                uint32_t *plen)
{
    if (len - off < TSDB__WAL_REC_HDR)
        return "short record header";
    const uint8_t *h = p + off;
    if (tsdb__le32(h) != TSDB__WAL_REC_MAGIC)
        return "bad record magic";
    if (tsdb__crc32c(0, h, 24) != tsdb__le32(h + 24))
        return "bad header checksum";
    uint32_t n = tsdb__le32(h + 4);
    if (n > len - off - TSDB__WAL_REC_HDR)
        return "short record";
    if (tsdb__crc32c(0, h + TSDB__WAL_REC_HDR, n) != tsdb__le32(h + 12))
        return "bad checksum";
    if (tsdb__le64(h + 16) <= prev_lsn)
        return "lsn out of order";
    if (h[8] != TSDB__REC_BATCH || (h[9] & ~TSDB__REC_FLAG_ZSTD) || h[10] || h[11])
        return "unknown record type or flags";
    *plen = n;
    return NULL;
}

/* Whether a valid record starts anywhere after off (a bad record followed by
 * good ones is corruption, not a torn tail). */
static bool valid_record_after(const uint8_t *p, size_t len, size_t off, uint64_t prev_lsn)
{
    uint8_t magic[4];
    tsdb__put_le32(magic, TSDB__WAL_REC_MAGIC);
    for (size_t i = off + 1; i + TSDB__WAL_REC_HDR <= len;) {
        const uint8_t *hit = memmem(p + i, len - i, magic, 4);
        if (!hit)
            return false;
        size_t at = (size_t)(hit - p);
        uint32_t n;
        if (!check_record(p, len, at, prev_lsn, &n))
            return true;
        i = at + 1;
    }
    return false;
}

struct replay {
    struct tsdb *db;
    const struct tsdb_opts *o;
    struct tsdb_recovery_report *r;
    const uint8_t *data; /* the mapped segment */
    size_t len;
    struct buf unz;
    ZSTD_DCtx *zd;                     /* one context for every record */
    struct tsdb__apply_helper *helpers; /* the replay threads (tsdb_int.h) */
    size_t nhelpers;                    /* 0: serial */
    uint64_t prev_lsn;
    uint64_t bytes_done, bytes_total;
};

/* Applies records of one segment from offset 16.  Returns 0 when the whole
 * segment was good, else sets *cut_off and *reason (and e for decode errors) and
 * returns 1 (bad record, checksum class) or 2 (valid record that does not
 * decode). */
static int replay_segment(struct replay *rp, size_t *cut_off, const char **reason, struct err *e)
{
    const uint8_t *p = rp->data;
    size_t len = rp->len;
    size_t off = TSDB__WAL_SEG_HDR;
    uint64_t next_report = 16u << 20;
    while (off < len) {
        uint32_t n = 0;
        const char *why = check_record(p, len, off, rp->prev_lsn, &n);
        if (why) {
            *cut_off = off;
            *reason = why;
            return 1;
        }
        const uint8_t *h = p + off;
        const uint8_t *pay = h + TSDB__WAL_REC_HDR;
        size_t pay_n = n;
        uint64_t lsn = tsdb__le64(h + 16);
        size_t points = 0;
        int rc = 0;
        /* Records at or below the checkpoint are in published parts: their
         * checksums were verified above, and they are neither decompressed
         * nor decoded (after a flush, restart reads the rest of the current
         * segment at checksum speed). */
        if (lsn > rp->db->wal.ckpt_lsn) {
            if (h[9] & TSDB__REC_FLAG_ZSTD) {
                uint64_t raw = n >= 8 ? tsdb__le64(pay) : 0;
                /* Bound the allocation by what the record could hold, not
                 * by today's max_batch_bytes (it may have been lowered
                 * since). */
                rp->unz.len = 0;
                if (n < 8 || raw > TSDB__MAX_RAW_RECORD || raw / 4096 > n ||
                    buf_reserve(&rp->unz, raw + 1) != 0) {
                    *cut_off = off;
                    *reason = "bad compressed size";
                    err_set(e, ERR_CORRUPT, "bad compressed size");
                    return 2;
                }
                size_t got = ZSTD_decompressDCtx(rp->zd, rp->unz.p, raw, pay + 8, n - 8);
                if (ZSTD_isError(got) || got != raw) {
                    *cut_off = off;
                    *reason = "bad compressed payload";
                    err_set(e, ERR_CORRUPT, "bad compressed payload");
                    return 2;
                }
                rp->unz.len = raw;
                pay = (const uint8_t *)rp->unz.p;
                pay_n = raw;
            }
            /* The decompression buffer may be handed to the record (the
             * helper threads apply it later); replay gets another. */
            rc = tsdb__record_apply(rp->db, NULL, pay, pay_n, lsn, true, rp->helpers,
                                    rp->nhelpers, &rp->unz, &points, e);
        }
        if (rc < 0) {
            *cut_off = off;
            *reason = "record does not decode";
            return 2;
        }
        if (rc == 1)
            rp->r->records_skipped++;
        rp->prev_lsn = lsn;
        rp->r->records++;
        rp->r->points += points;
        off += TSDB__WAL_REC_HDR + n;
        if (rp->o->progress && off >= next_report) {
            rp->o->progress(rp->o->progress_arg, rp->bytes_done + off, rp->bytes_total);
            next_report = off + (16u << 20);
        }
    }
    return 0;
}

/* Maps a whole segment read-only (MAP_POPULATE: one fault pass instead of a
 * fault per page, and no copy through read(2)). */
static int map_segment(const char *path, struct replay *rp, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, ERR_IO, "open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int saved = errno;
        close(fd);
        return err_set(e, ERR_IO, "stat %s: %s", path, strerror(saved));
    }
    rp->len = (size_t)st.st_size;
    rp->data = (const uint8_t *)"";
    if (rp->len) {
        void *m = mmap(NULL, rp->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m == MAP_FAILED) {
            int saved = errno;
            close(fd);
            rp->len = 0;
            return err_set(e, ERR_IO, "mmap %s: %s", path, strerror(saved));
        }
        rp->data = m;
    }
    close(fd);
    return 0;
}

static void unmap_segment(struct replay *rp)
{
    if (rp->len)
        munmap((void *)rp->data, rp->len);
    rp->data = NULL;
    rp->len = 0;
}

static int truncate_file(struct tsdb *db, const char *path, uint64_t size, struct err *e)
{
    int fd;
    int rc = tsdb__f_open(&db->fio, path, O_WRONLY, 0644, &fd, e);
    if (rc)
        return rc;
    rc = tsdb__f_truncate(&db->fio, fd, size, path, e);
    rc = rc ? rc : tsdb__f_fdatasync(&db->fio, fd, path, e);
    close(fd);
    return rc;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int tsdb__wal_replay(struct tsdb *db, const struct tsdb_opts *o, struct tsdb_recovery_report *r,
                     struct err *e)
{
    struct tsdb__wal *w = &db->wal;
    snprintf(w->dir, sizeof w->dir, "%s/wal", db->dir);
    int rc = 0;
    if (!o->read_only) {
        rc = tsdb__f_mkdir(&db->fio, w->dir, e);
        rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, db->dir, e);
    }
    if (rc)
        return rc;
    /* Replay time: reading and applying, not the directory fsync above. */
    int64_t t0 = mono_now_ns();
    DIR *d = opendir(w->dir);
    if (!d && o->read_only && errno == ENOENT)
        return 0;
    if (!d)
        return err_set(e, ERR_IO, "opendir %s: %s", w->dir, strerror(errno));
    uint64_t *seqs = NULL;
    size_t nseqs = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t nl = strlen(nm);
        if (nl == 20 && strcmp(nm + 16, ".wal") == 0 && strspn(nm, "0123456789abcdef") == 16) {
            if (nseqs == cap) {
                cap = cap ? cap * 2 : 16;
                seqs = xrealloc(seqs, cap * sizeof *seqs);
            }
            seqs[nseqs++] = strtoull(nm, NULL, 16);
        }
    }
    closedir(d);
    if (nseqs)
        qsort(seqs, nseqs, sizeof *seqs, cmp_u64);

    struct replay rp = { .db = db, .o = o, .r = r };
    struct tsdb__apply_helper helpers[2];
    rp.helpers = helpers;
    while (nseqs && rp.nhelpers < 2 && tsdb__helper_start(&helpers[rp.nhelpers], (int)rp.nhelpers))
        rp.nhelpers++;
    if (rp.nhelpers == 1) {
        /* One helper: it takes the odd ids, this thread the even ones. */
        helpers[0].part = 1;
    }
    buf_init(&rp.unz, 0);
    rp.zd = ZSTD_createDCtx();
    if (!rp.zd) {
        free(seqs);
        for (size_t i = 0; i < rp.nhelpers; i++)
            tsdb__helper_stop(&helpers[i]);
        return err_set(e, ERR_NOMEM, "wal replay: cannot create a zstd context");
    }
    char path[TSDB__PATH_MAX];
    for (size_t i = 0; i < nseqs; i++) {
        seg_path(w, seqs[i], path, sizeof path);
        rp.bytes_total += file_size(path);
    }
    w->seg_seq = 0;
    w->seg_bytes = 0;
    rc = 0;
    for (size_t i = 0; i < nseqs && !rc; i++) {
        seg_path(w, seqs[i], path, sizeof path);
        char rel[64];
        snprintf(rel, sizeof rel, "wal/%016" PRIx64 ".wal", seqs[i]);
        rc = map_segment(path, &rp, e);
        if (rc)
            break;
        bool is_last = i + 1 == nseqs;
        const uint8_t *p = rp.data;
        size_t len = rp.len;
        size_t cut = 0;
        const char *reason = NULL;
        int kind = 0;
        struct err derr;
        err_clear(&derr);
        if (len < TSDB__WAL_SEG_HDR || tsdb__le32(p) != TSDB__WAL_SEG_MAGIC ||
            tsdb__le32(p + 4) != TSDB__WAL_VERSION || tsdb__le64(p + 8) != seqs[i]) {
            kind = 1;
            cut = 0;
            reason = len < TSDB__WAL_SEG_HDR ? "short segment header" : "bad segment header";
        } else {
            kind = replay_segment(&rp, &cut, &reason, &derr);
        }
        r->segments++;
        bool is_tail = is_last && kind == 1 && !valid_record_after(p, len, cut, rp.prev_lsn);
        unmap_segment(&rp);
        if (kind == 0) {
            rp.bytes_done += len;
            r->bytes += len;
            w->seg_seq = seqs[i];
            w->seg_bytes = len;
            continue;
        }
        if (!is_tail && !o->repair) {
            rc = err_set(e, ERR_CORRUPT, "%s: offset %zu: %s%s%s", rel, cut, reason,
                         derr.code ? ": " : "", derr.msg);
            break;
        }
        /* Cut here: truncate this file, remove later segments. */
        r->truncated = true;
        r->repaired = !is_tail;
        snprintf(r->file, sizeof r->file, "%s", rel);
        r->offset = cut;
        snprintf(r->reason, sizeof r->reason, "%s", reason);
        r->bytes_dropped = len - cut;
        r->bytes += cut;
        if (o->read_only)
            break; /* report the cut, leave the files alone */
        if (cut < TSDB__WAL_SEG_HDR) {
            /* Not even a header: remove the file. */
            rc = tsdb__f_unlink(&db->fio, path, e);
        } else {
            rc = truncate_file(db, path, cut, e);
            w->seg_seq = seqs[i];
            w->seg_bytes = cut;
        }
        for (size_t j = i + 1; j < nseqs && !rc; j++) {
            char later[TSDB__PATH_MAX];
            seg_path(w, seqs[j], later, sizeof later);
            r->bytes_dropped += file_size(later);
            rc = tsdb__f_unlink(&db->fio, later, e);
            r->segments_removed++;
        }
        rc = rc ? rc : tsdb__f_fsync_dir(&db->fio, w->dir, e);
        if (!rc && w->seg_seq == 0 && i > 0) {
            /* The cut file is gone; the previous one is the last. */
            w->seg_seq = seqs[i - 1];
            seg_path(w, seqs[i - 1], path, sizeof path);
            w->seg_bytes = file_size(path);
        }
        break;
    }
    if (!rc && w->seg_seq == 0 && nseqs)
        w->seg_seq = seqs[nseqs - 1]; /* everything cut: continue numbering */
    if (!rc && o->progress)
        o->progress(o->progress_arg, rp.bytes_total, rp.bytes_total);
    free(seqs);
    unmap_segment(&rp);
    for (size_t i = 0; i < rp.nhelpers; i++)
        tsdb__helper_stop(&helpers[i]);
    buf_fini(&rp.unz);
    ZSTD_freeDCtx(rp.zd);
    /* Segments below the checkpoint may all be gone: LSNs continue above it. */
    if (rp.prev_lsn < w->ckpt_lsn)
        rp.prev_lsn = w->ckpt_lsn;
    w->next_lsn = rp.prev_lsn + 1;
    atomic_store(&w->applied, rp.prev_lsn);
    r->duration_ns = mono_now_ns() - t0;
    return rc;
}
