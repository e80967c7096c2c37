// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: WAL replay.  The input becomes the only WAL segment of a
 * store whose catalog holds database "d" (id 1, policy autogen id 1), and
 * the store is opened.  Opening must never crash, leak or trip a sanitizer:
 * it either fails cleanly (ERR_CORRUPT, ...) or recovers, after which the
 * head is scanned and, in one mode, a new batch is committed and the store
 * reopened to check that recovery left an appendable log.
 *
 * Byte 0 selects the mode: bit 0 set = the rest is the whole segment file
 * (header included); clear = the harness writes a valid segment header and
 * the rest follows it.  Bit 1 = open with repair.  Bit 2 = append after a
 * successful open and reopen.  Bit 3 = recompute the checksums of every record
 * (found by walking the lengths) so mutations reach the record decoder
 * instead of stopping at a CRC mismatch.  Seeds (tests/fuzz/corpus/tsdb_wal_replay/) come
 * from tests/unit/tsdb_wal_test.c (BENCH_TSDB_SEEDS=<dir>).
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "tsdb/tsdb.h"
#include "tsdb/tsdb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[512];
static char store[600];
static struct buf catalog;

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void cleanup(void)
{
    if (root[0])
        nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    buf_fini(&catalog);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void init_once(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/nj-fuzz-wal-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(root))
        abort();
    atexit(cleanup);
    snprintf(store, sizeof store, "%s/s", root);
    /* A template store with database d; keep its catalog bytes. */
    struct tsdb_opts o;
    tsdb_opts_init(&o, store);
    struct tsdb *db = NULL;
    struct err e;
    if (tsdb_open(&o, &db, &e) || tsdb_create_database(db, SV_LIT("d"), NULL, &e))
        abort();
    tsdb_close(&db);
    char p[700];
    snprintf(p, sizeof p, "%s/catalog", store);
    buf_init(&catalog, 0);
    if (tsdb__f_read_all(p, &catalog, &e))
        abort();
}

static int scan_cb(void *arg, const struct tsdb_series_info *s, size_t nf,
                   const struct tsdb_field_points *f)
{
    size_t *n = arg;
    for (size_t i = 0; i < nf; i++)
        *n += f[i].n + s->ntags;
    return 0;
}

static void exercise(struct tsdb *db)
{
    struct tsdb_snapshot *s = tsdb_snapshot_new(db);
    size_t n = 0;
    struct err e;
    tsdb_snapshot_scan(s, SV_LIT("d"), SV_NULL, SV_NULL, INT64_MIN, INT64_MAX, scan_cb, &n, &e);
    tsdb_snapshot_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0])
        init_once();
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;

    nftw(store, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    char p[700];
    mkdir(store, 0755);
    snprintf(p, sizeof p, "%s/catalog", store);
    write_file(p, catalog.p, catalog.len);
    snprintf(p, sizeof p, "%s/wal", store);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/wal/0000000000000001.wal", store);
    struct buf seg;
    buf_init(&seg, 0);
    if (!(mode & 1)) {
        uint8_t hdr[TSDB__WAL_SEG_HDR];
        tsdb__put_le32(hdr, TSDB__WAL_SEG_MAGIC);
        tsdb__put_le32(hdr + 4, TSDB__WAL_VERSION);
        tsdb__put_le64(hdr + 8, 1);
        if (buf_append(&seg, hdr, sizeof hdr))
            abort();
    }
    if (buf_append(&seg, data, size))
        abort();
    if (mode & 8) {
        uint8_t *q = (uint8_t *)seg.p;
        size_t off = TSDB__WAL_SEG_HDR;
        while (off + TSDB__WAL_REC_HDR <= seg.len) {
            uint32_t n = tsdb__le32(q + off + 4);
            if (n > seg.len - off - TSDB__WAL_REC_HDR)
                break;
            tsdb__put_le32(q + off + 12, tsdb__crc32c(0, q + off + TSDB__WAL_REC_HDR, n));
            tsdb__put_le32(q + off + 24, tsdb__crc32c(0, q + off, 24));
            off += TSDB__WAL_REC_HDR + n;
        }
    }
    write_file(p, seg.p, seg.len);
    buf_fini(&seg);

    struct tsdb_opts o;
    tsdb_opts_init(&o, store);
    o.repair = (mode & 2) != 0;
    struct tsdb_recovery_report r;
    o.report = &r;
    struct tsdb *db = NULL;
    struct err e;
    if (tsdb_open(&o, &db, &e) != 0)
        return 0;
    exercise(db);
    if (mode & 4) {
        struct tsdb_batch *b = NULL;
        if (tsdb_batch_new(db, SV_LIT("d"), SV_NULL, 0, &b, &e) == 0) {
            struct tsdb_field f = { SV_LIT("fz"), TSDB_FLOAT, { .f = 1 } };
            struct tsdb_point pt = { SV_LIT("fuzz"), NULL, 0, &f, 1, 1 };
            tsdb_batch_add(b, NULL, &pt, &e);
            tsdb_batch_commit(b, &e);
            tsdb_batch_free(&b);
        }
        tsdb_close(&db);
        o.repair = false;
        /* The log recovery left must reopen cleanly. */
        if (tsdb_open(&o, &db, &e) != 0) {
            fprintf(stderr, "reopen after recovery failed: %s\n", e.msg);
            abort();
        }
        exercise(db);
    }
    tsdb_close(&db);
    return 0;
}
