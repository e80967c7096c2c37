// SPDX-License-Identifier: MIT
/*
 * The daemon's storage: tsdb opened under storage.dir at start, its WAL
 * recovery logged, the configured databases created, and the write engine
 * built on top; at shutdown the engine is freed and tsdb closed only after
 * the HTTP server has drained, so no write is cut mid-commit.
 *
 * Recovery policy (storage-notes §5.2): a torn record at the tail of the
 * last WAL segment is what a crash leaves behind; tsdb cuts it and we log
 * the file, offset and bytes dropped.  Corruption anywhere else means lost
 * acknowledged data, so the daemon refuses to start unless --repair says
 * to cut the WAL there (also logged with everything that was dropped).
 */
#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "daemon/server.h"

static void log_recovery(const struct tsdb_recovery_report *r)
{
    log_info("storage",
             "msg=\"wal replayed\" segments=%" PRIu64 " records=%" PRIu64 " bytes=%" PRIu64
             " points=%" PRIu64 " records_skipped=%" PRIu64 " duration_ms=%.1f",
             r->segments, r->records, r->bytes, r->points, r->records_skipped,
             (double)r->duration_ns / 1e6);
    if (!r->truncated)
        return;
    char q[200];
    if (r->repaired)
        log_warn("storage",
                 "msg=\"wal repaired: corrupt data cut\" file=%s offset=%" PRIu64
                 " bytes_dropped=%" PRIu64 " segments_removed=%" PRIu32 " reason=%s",
                 r->file, r->offset, r->bytes_dropped, r->segments_removed,
                 log_quote(q, sizeof q, r->reason, strlen(r->reason)));
    else
        log_warn("storage",
                 "msg=\"wal torn tail cut\" file=%s offset=%" PRIu64 " bytes_dropped=%" PRIu64
                 " reason=%s",
                 r->file, r->offset, r->bytes_dropped,
                 log_quote(q, sizeof q, r->reason, strlen(r->reason)));
}

static int create_databases(struct server *s, struct err *e)
{
    int64_t dur = s->cfg.storage.retention_ns;
    if (dur == CFG_DURATION_INF)
        dur = TSDB_DURATION_INF;
    for (size_t i = 0; i < s->cfg.ndatabases; i++) {
        const char *name = s->cfg.databases[i];
        struct tsdb_rp_opts rp = {
            .name = sv_cstr(TSDB_DEFAULT_RP),
            .duration_ns = dur,
            .is_default = true,
        };
        struct err ce;
        err_clear(&ce);
        int rc = tsdb_create_database(s->tsdb, sv_cstr(name), &rp, &ce);
        if (rc == ERR_EXISTS)
            continue;
        if (rc < 0)
            return err_set(e, rc, "databases: cannot create \"%s\": %s", name, ce.msg);
        char q[300];
        log_info("storage", "msg=\"database created\" db=%s retention_ns=%lld",
                 log_quote(q, sizeof q, name, strlen(name)), (long long)dur);
    }
    return 0;
}

int storage_open(struct server *s, struct err *e)
{
    const char *dir = s->cfg.storage.dir ? s->cfg.storage.dir : "./data";
    struct tsdb_recovery_report rep;
    struct tsdb_opts o;
    tsdb_opts_init(&o, dir);
    o.fsync_mode =
        s->cfg.storage.fsync == CFG_FSYNC_INTERVAL ? TSDB_FSYNC_INTERVAL : TSDB_FSYNC_ALWAYS;
    if (s->cfg.storage.fsync_interval_ns > 0)
        o.fsync_interval_ns = s->cfg.storage.fsync_interval_ns;
    o.repair = s->opts.repair;
    o.flush_head_bytes = s->cfg.storage.flush_head_bytes;
    o.flush_age_ns = s->cfg.storage.flush_max_age_ns;
    o.compact_min_parts = s->cfg.storage.compaction_min_parts > UINT32_MAX
                              ? UINT32_MAX
                              : (uint32_t)s->cfg.storage.compaction_min_parts;
    o.compact_cold_ns = s->cfg.storage.compaction_cold_after_ns;
    o.metrics = s->metrics;
    o.report = &rep;
    struct err te;
    err_clear(&te);
    int rc = tsdb_open(&o, &s->tsdb, &te);
    if (rc == ERR_CORRUPT)
        return err_set(e, rc,
                       "storage: %s; the WAL is corrupt before its tail: start with --repair to "
                       "cut it there (the data after that point is lost)",
                       te.msg);
    if (rc < 0)
        return err_set(e, rc, "storage: cannot open %s: %s", dir, te.msg);
    log_recovery(&rep);
    rc = create_databases(s, e);
    if (rc < 0)
        return rc;
    /* Armed last, so the count starts with the first write a client makes. */
    if (s->opts.fault_nth) {
        tsdb_fault_arm(s->tsdb, s->opts.fault_op, s->opts.fault_nth, false);
        log_warn("storage", "msg=\"fault armed (--debug.fault)\" op=%d nth=%" PRIu64,
                 (int)s->opts.fault_op, s->opts.fault_nth);
    }
    struct ing_opts io = {
        .db = s->tsdb,
        .clock = &s->clock,
        .metrics = s->metrics,
        .max_pending_bytes = s->cfg.ingest_max_pending_bytes,
    };
    return ing_engine_new(&io, &s->ingest, e);
}

void storage_close(struct server *s)
{
    ing_engine_free(s->ingest);
    s->ingest = NULL;
    if (s->tsdb) {
        tsdb_close(&s->tsdb);
        log_info("storage", "msg=\"storage closed\"");
    }
}
