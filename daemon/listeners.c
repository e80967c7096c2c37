// SPDX-License-Identifier: MIT
/*
 * The daemon's TCP and UDP line-protocol listeners (ingest/listen.h): turns
 * ingest.tcp.* and ingest.udp.* into listener options, creates each
 * listener's database when missing (InfluxDB's UDP service does that at
 * start; the TCP listener is configured like it), and starts and stops them.
 *
 * Life cycle: listeners_start from server_start, after HTTP listens;
 * listeners_stop on the first SIGTERM/SIGINT (signals.c) and again, as a
 * no-op or for a failed start, in server_fini before its last loop run;
 * listeners_free after that run, before storage_close, so every batch the
 * listeners still held has been written when tsdb closes.  The listeners
 * need no done callback: once their handles are closed and their writes
 * ended, the loop has nothing of theirs left and uv_run returns.
 */
#include <string.h>

#include "common/log.h"
#include "daemon/server.h"
#include "ingest/listen.h"

static enum lp_precision to_lp_precision(enum cfg_precision p)
{
    switch (p) {
    case CFG_PREC_US:
        return LP_PREC_US;
    case CFG_PREC_MS:
        return LP_PREC_MS;
    case CFG_PREC_S:
        return LP_PREC_S;
    case CFG_PREC_M:
        return LP_PREC_M;
    case CFG_PREC_H:
        return LP_PREC_H;
    case CFG_PREC_NS:
    default:
        return LP_PREC_NS;
    }
}

/* Creates db with storage.retention unless it exists. */
static int ensure_database(struct server *s, const char *key, const char *db, struct err *e)
{
    int64_t dur = s->cfg.storage.retention_ns;
    if (dur == CFG_DURATION_INF)
        dur = TSDB_DURATION_INF;
    struct tsdb_rp_opts rp = {
        .name = sv_cstr(TSDB_DEFAULT_RP),
        .duration_ns = dur,
        .is_default = true,
    };
    struct err ce;
    err_clear(&ce);
    int rc = tsdb_create_database(s->tsdb, sv_cstr(db), &rp, &ce);
    if (rc == ERR_EXISTS)
        return 0;
    if (rc < 0)
        return err_set(e, rc, "%s: cannot create database \"%s\": %s", key, db, ce.msg);
    char q[300];
    log_info("storage", "msg=\"database created\" db=%s for=%s retention_ns=%lld",
             log_quote(q, sizeof q, db, strlen(db)), key, (long long)dur);
    return 0;
}

static int opts_from(struct server *s, const char *key, const struct cfg_listener *c,
                     struct ing_listen_opts *o, struct err *e)
{
    if (!c->database)
        return err_set(e, ERR_INVAL, "%s.database: a database is needed when %s.listen is set",
                       key, key);
    int rc = ensure_database(s, key, c->database, e);
    if (rc < 0)
        return rc;
    *o = (struct ing_listen_opts){
        .listen = c->listen,
        .database = c->database,
        .retention_policy = c->retention_policy,
        .precision = to_lp_precision(c->precision),
        .engine = s->ingest,
        .metrics = s->metrics,
        .clock = &s->real_clock,
        .max_line_bytes = (size_t)c->max_line_bytes,
        .batch_bytes = (size_t)c->batch_bytes,
        .batch_timeout_ns = c->batch_timeout_ns,
        .max_connections = (size_t)c->max_connections,
        .read_buffer_bytes = (size_t)c->read_buffer_bytes,
    };
    return 0;
}

int listeners_start(struct server *s, struct err *e)
{
    struct ing_listen_opts o;
    int rc;
    if (s->cfg.tcp.listen) {
        rc = opts_from(s, "ingest.tcp", &s->cfg.tcp, &o, e);
        if (rc == 0)
            rc = ing_tcp_new(&s->loop, &o, &s->tcp_listener, e);
        if (rc == 0)
            rc = ing_tcp_start(s->tcp_listener, e);
        if (rc < 0)
            return rc;
        log_info("daemon", "msg=\"listening\" proto=tcp addr=%s port=%d db=%s", s->cfg.tcp.listen,
                 ing_tcp_port(s->tcp_listener), s->cfg.tcp.database);
    }
    if (s->cfg.udp.listen) {
        rc = opts_from(s, "ingest.udp", &s->cfg.udp, &o, e);
        if (rc == 0)
            rc = ing_udp_new(&s->loop, &o, &s->udp_listener, e);
        if (rc == 0)
            rc = ing_udp_start(s->udp_listener, e);
        if (rc < 0)
            return rc;
        log_info("daemon", "msg=\"listening\" proto=udp addr=%s port=%d db=%s", s->cfg.udp.listen,
                 ing_udp_port(s->udp_listener), s->cfg.udp.database);
    }
    return 0;
}

void listeners_stop(struct server *s)
{
    if (s->tcp_listener && !s->are_listeners_stopped)
        ing_tcp_stop(s->tcp_listener, NULL, NULL);
    if (s->udp_listener && !s->are_listeners_stopped)
        ing_udp_stop(s->udp_listener, NULL, NULL);
    s->are_listeners_stopped = true;
}

void listeners_free(struct server *s)
{
    ing_tcp_free(s->tcp_listener);
    s->tcp_listener = NULL;
    ing_udp_free(s->udp_listener);
    s->udp_listener = NULL;
}
