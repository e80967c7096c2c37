// SPDX-License-Identifier: MIT
/*
 * SIGHUP: re-read the configuration file and apply what can change while
 * running.  Today that is log.level (applied at once) and shutdown_grace
 * (read only when a shutdown starts).  Every other key is wired into
 * listeners, storage or limits at start, so a change to it is logged as
 * "needs a restart" and the running value stays.
 *
 * The running configuration stays the one loaded at start (the HTTP server
 * borrows strings from it); only the applied fields are copied over, and the
 * freshly loaded copy is freed.  A file that fails to load changes nothing.
 */
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/strparse.h"
#include "daemon/server.h"

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool listener_eq(const struct cfg_listener *a, const struct cfg_listener *b)
{
    return str_eq(a->listen, b->listen) && str_eq(a->database, b->database) &&
           str_eq(a->retention_policy, b->retention_policy) && a->precision == b->precision &&
           a->read_buffer_bytes == b->read_buffer_bytes &&
           a->max_line_bytes == b->max_line_bytes && a->max_connections == b->max_connections &&
           a->batch_bytes == b->batch_bytes && a->batch_timeout_ns == b->batch_timeout_ns;
}

static bool listen_eq(const struct cfg_http *a, const struct cfg_http *b)
{
    if (a->nlisten != b->nlisten)
        return false;
    for (size_t i = 0; i < a->nlisten; i++)
        if (!str_eq(a->listen[i], b->listen[i]))
            return false;
    return true;
}

static bool databases_eq(const struct config *a, const struct config *b)
{
    if (a->ndatabases != b->ndatabases)
        return false;
    for (size_t i = 0; i < a->ndatabases; i++)
        if (!str_eq(a->databases[i], b->databases[i]))
            return false;
    return true;
}

static void note(struct buf *b, bool is_same, const char *key)
{
    if (is_same)
        return;
    if (b->len)
        (void)buf_append_char(b, ',');
    (void)buf_append_str(b, key);
}

/* Appends to b the comma-separated keys that differ and need a restart. */
static void restart_keys(const struct config *o, const struct config *n, struct buf *b)
{
    note(b, listen_eq(&o->http, &n->http), "http.listen");
    note(b, o->http.max_body_bytes == n->http.max_body_bytes, "http.max_body_bytes");
    note(b, o->http.read_header_timeout_ns == n->http.read_header_timeout_ns,
         "http.read_header_timeout");
    note(b, o->http.idle_timeout_ns == n->http.idle_timeout_ns, "http.idle_timeout");
    note(b, str_eq(o->http.tls_cert_file, n->http.tls_cert_file) &&
                str_eq(o->http.tls_key_file, n->http.tls_key_file),
         "http.tls");
    note(b, str_eq(o->http.version, n->http.version), "http.version");
    note(b, str_eq(o->storage.dir, n->storage.dir), "storage.dir");
    note(b, o->storage.retention_ns == n->storage.retention_ns, "storage.retention");
    note(b, o->storage.partition_duration_ns == n->storage.partition_duration_ns,
         "storage.partition_duration");
    note(b, o->storage.fsync == n->storage.fsync &&
                o->storage.fsync_interval_ns == n->storage.fsync_interval_ns,
         "storage.wal.fsync");
    note(b, o->storage.compaction_max_bytes_per_sec == n->storage.compaction_max_bytes_per_sec,
         "storage.compaction.max_bytes_per_sec");
    note(b, o->storage.compaction_min_parts == n->storage.compaction_min_parts &&
                o->storage.compaction_cold_after_ns == n->storage.compaction_cold_after_ns &&
                o->storage.compaction_start_delay_ns == n->storage.compaction_start_delay_ns &&
                o->storage.compaction_stagger_ns == n->storage.compaction_stagger_ns,
         "storage.compaction");
    note(b, o->storage.flush_head_bytes == n->storage.flush_head_bytes, "storage.flush.head_bytes");
    note(b, o->storage.flush_max_age_ns == n->storage.flush_max_age_ns, "storage.flush.max_age");
    note(b, o->storage.housekeeping_interval_ns == n->storage.housekeeping_interval_ns,
         "storage.housekeeping_interval");
    note(b, databases_eq(o, n), "databases");
    note(b, o->ingest_max_pending_bytes == n->ingest_max_pending_bytes,
         "ingest.max_pending_bytes");
    note(b, listener_eq(&o->tcp, &n->tcp), "ingest.tcp");
    note(b, listener_eq(&o->udp, &n->udp), "ingest.udp");
    note(b, o->query.max_series == n->query.max_series, "query.max_series");
    note(b, o->query.max_points_scanned == n->query.max_points_scanned,
         "query.max_points_scanned");
    note(b, o->query.max_buckets == n->query.max_buckets, "query.max_buckets");
    note(b, o->query.timeout_ns == n->query.timeout_ns, "query.timeout");
    note(b, o->auth_enabled == n->auth_enabled, "auth.enabled");
    note(b, o->internal_enabled == n->internal_enabled &&
                o->internal_interval_ns == n->internal_interval_ns,
         "internal");
    note(b, str_eq(o->alerting_config, n->alerting_config), "alerting.config");
}

void reload_register_metrics(struct server *s)
{
    struct metric_family *f = metrics_family(s->metrics, METRIC_COUNTER,
                                             "nightjar_config_reloads_total",
                                             "Configuration reloads (SIGHUP), by result.", "result",
                                             NULL, 0);
    if (f) {
        s->reloads_ok = metrics_child1(f, "success");
        s->reloads_failed = metrics_child1(f, "failure");
    }
    s->reload_last_ok = metrics_gauge(s->metrics, "nightjar_config_last_reload_successful",
                                      "Whether the last configuration reload succeeded (1) or "
                                      "failed (0); 1 before any reload.");
    metric_set(s->reload_last_ok, 1);
}

static void count_reload(struct server *s, bool is_ok)
{
    struct metric *m = is_ok ? s->reloads_ok : s->reloads_failed;
    if (m)
        metric_inc(m);
    if (s->reload_last_ok)
        metric_set(s->reload_last_ok, is_ok ? 1 : 0);
}

void server_reload_config(struct server *s)
{
    const char *path = s->opts.config_path;
    if (!path) {
        log_warn("daemon", "msg=\"SIGHUP: no configuration file to reload (running on "
                           "defaults)\"");
        count_reload(s, false);
        return;
    }
    log_info("daemon", "msg=\"SIGHUP: reloading config\" file=%s", path);

    struct config n;
    struct err e = { 0 };
    config_defaults(&n);
    if (config_load(&n, path, &e) < 0) {
        char q[300];
        log_error("daemon", "msg=\"config reload failed; keeping the running config\" err=%s",
                  log_quote(q, sizeof q, e.msg, strlen(e.msg)));
        config_fini(&n);
        count_reload(s, false);
        return;
    }
    count_reload(s, true);

    bool is_changed = false;
    if (n.log_level != s->cfg.log_level) {
        enum log_level old = s->cfg.log_level;
        s->cfg.log_level = n.log_level;
        /* Logged under the more verbose of the two levels, so the line
         * shows whenever either level shows info. */
        if (n.log_level > old)
            log_set_level(n.log_level);
        log_info("daemon", "msg=\"config reloaded\" changed=log.level old=%s new=%s",
                 log_level_name(old), log_level_name(n.log_level));
        log_set_level(n.log_level);
        is_changed = true;
    }
    if (n.shutdown_grace_ns != s->cfg.shutdown_grace_ns) {
        char old[32], nw[32];
        strp_format_duration(s->cfg.shutdown_grace_ns, old, sizeof old);
        strp_format_duration(n.shutdown_grace_ns, nw, sizeof nw);
        s->cfg.shutdown_grace_ns = n.shutdown_grace_ns;
        log_info("daemon", "msg=\"config reloaded\" changed=shutdown_grace old=%s new=%s", old,
                 nw);
        is_changed = true;
    }

    struct buf keys;
    buf_init(&keys, 4096);
    restart_keys(&s->cfg, &n, &keys);
    if (keys.len) {
        log_warn("daemon", "msg=\"config keys changed that need a restart; running values kept\" "
                           "keys=%s",
                 keys.p);
        is_changed = true;
    }
    buf_fini(&keys);
    if (!is_changed)
        log_info("daemon", "msg=\"config reloaded\" changed=none");
    config_fini(&n);
}
