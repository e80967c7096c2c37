// SPDX-License-Identifier: MIT
/*
 * The server context's life cycle (see server.h for the states): turning the
 * loaded configuration into a running HTTP server with its routes, running
 * the loop, and tearing everything down in reverse order.
 *
 * Order matters at start: the storage lock is taken before anything listens,
 * so a second daemon on the same storage.dir fails before it could steal a
 * port or answer a request.  At teardown the HTTP server is freed only after
 * the loop has closed every handle (net.h's rule), and the lock is released
 * last.
 */
#include "daemon/server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* ---- query/: the /query route (owned by the query executor) ---------- */
#include "query/exec.h"

/* Hands /query requests to the executor with the server's tsdb, limits and
 * clock.  Loop thread (the try, req->is_on_loop) or worker thread: reads
 * only fields fixed after server_init. */
static void on_query(struct http_request *req, struct http_response *resp, void *arg)
{
    struct server *s = arg;
    struct qx_http_env env = {
        .ctx = {
            .db = s->tsdb,
            .default_retention_ns = s->cfg.storage.retention_ns,
            .default_shard_ns = s->cfg.storage.partition_duration_ns,
            .max_series = s->cfg.query.max_series,
            .max_points_scanned = s->cfg.query.max_points_scanned,
            .timeout_ns = s->cfg.query.timeout_ns,
            /* config: 0 = unlimited; qx_ctx: 0 = default, UINT64_MAX = unlimited */
            .max_buckets = s->cfg.query.max_buckets ? s->cfg.query.max_buckets : UINT64_MAX,
            .clock = &s->real_clock,
        },
        .now_ns = clk_wall_ns(&s->clock),
        .is_cancelled = &s->is_cancelled,
    };
    qx_http_handle(req, resp, &env);
}
/* ---- end of query/ ------------------------------------------------------ */

static void build_http_opts(struct server *s, struct http_server_opts *o)
{
    memset(o, 0, sizeof *o);
    size_t n = s->cfg.http.nlisten;
    if (n > HTTP_MAX_LISTEN)
        n = HTTP_MAX_LISTEN;
    for (size_t i = 0; i < n; i++)
        o->listen[i] = s->cfg.http.listen[i];
    o->nlisten = n;
    o->max_body_bytes = (size_t)s->cfg.http.max_body_bytes;
    o->max_header_bytes = 0; /* net's default, 1 MiB */
    o->read_header_timeout_ns = s->cfg.http.read_header_timeout_ns;
    o->idle_timeout_ns = s->cfg.http.idle_timeout_ns;
    o->version = s->cfg.http.version ? s->cfg.http.version : NJ_INFLUXDB_VERSION;
    o->metrics = s->metrics;
    /* Socket timeouts are about real clients, so they keep real time even
     * when samples and alerting run on the fake clock. */
    o->clock = &s->real_clock;
}

int server_init(struct server *s, const struct server_opts *o, struct config *cfg, struct err *e)
{
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->opts = *o;
    s->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg); /* the server owns the contents now */
    s->state = SERVER_RUNNING;

    clk_init_real(&s->real_clock);
    if (o->is_fake_clock) {
        int64_t start = o->fake_clock_start_ns ? o->fake_clock_start_ns
                                               : clk_wall_ns(&s->real_clock);
        clk_init_fake(&s->clock, start);
        log_warn("daemon", "msg=\"fake clock: time moves only through POST /debug/clock\" "
                           "wall_ns=%lld",
                 (long long)start);
    } else {
        clk_init_real(&s->clock);
    }
    s->start_time_s = (double)clk_wall_ns(&s->real_clock) / 1e9;

    int rc = uv_loop_init(&s->loop);
    if (rc < 0)
        return err_set(e, ERR_IO, "uv_loop_init: %s", uv_strerror(rc));
    s->loop.data = s;

    if (s->cfg.http.tls_cert_file || s->cfg.http.tls_key_file)
        return err_set(e, ERR_UNSUPPORTED,
                       "http.tls: TLS listeners are not implemented yet; remove "
                       "http.tls.cert_file/key_file");
    if (s->cfg.http.nlisten == 0)
        return err_set(e, ERR_INVAL, "http.listen: no address to listen on");
    if (s->cfg.http.nlisten > HTTP_MAX_LISTEN)
        return err_set(e, ERR_LIMIT, "http.listen: %zu addresses, at most %d", s->cfg.http.nlisten,
                       HTTP_MAX_LISTEN);

    procmetrics_raise_nofile();

    const char *dir = s->cfg.storage.dir ? s->cfg.storage.dir : "./data";
    rc = datadir_mkdirs(dir, e);
    if (rc < 0)
        return rc;
    rc = datadir_lock(dir, &s->lock_fd, e);
    if (rc < 0)
        return rc;
    log_info("daemon", "msg=\"storage dir locked\" dir=%s", dir);

    s->metrics = metrics_registry_new();
    if (!s->metrics)
        return err_set(e, ERR_NOMEM, "cannot create the metrics registry");
    procmetrics_register(s);
    reload_register_metrics(s);

    rc = storage_open(s, e);
    if (rc < 0)
        return rc;

    struct http_server_opts ho;
    build_http_opts(s, &ho);
    rc = http_server_new(&s->loop, &ho, &s->http, e);
    if (rc < 0)
        return rc;
    rc = routes_status_register(s);
    if (rc == 0)
        rc = routes_debug_register(s);
    if (rc == 0) /* query/ */
        rc = http_server_route(s->http, "/query", "GET,POST",
                               HTTP_ROUTE_WORKER | HTTP_ROUTE_STREAM | HTTP_ROUTE_CORS |
                                   HTTP_ROUTE_TRY_LOOP, on_query, s);
    if (rc == 0)
        rc = ing_http_register(s->http, s->ingest);
    if (rc < 0)
        return err_set(e, rc, "cannot register routes: %s", err_str(rc));
    return 0;
}

int server_start(struct server *s, struct err *e)
{
    int rc = http_server_start(s->http, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->cfg.http.nlisten; i++)
        log_info("daemon", "msg=\"listening\" addr=%s port=%d", s->cfg.http.listen[i],
                 http_server_port(s->http, i));
    rc = listeners_start(s, e);
    if (rc < 0)
        return rc;
    rc = signals_start(s);
    if (rc < 0)
        return err_set(e, ERR_IO, "cannot install signal handlers: %s", uv_strerror(rc));
    rc = housekeeping_start(s);
    if (rc < 0)
        return err_set(e, ERR_IO, "cannot start storage housekeeping: %s", uv_strerror(rc));
    log_info("daemon", "msg=\"ready\"");
    return 0;
}

int server_run(struct server *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return 0;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void server_fini(struct server *s)
{
    signals_stop(s);
    housekeeping_stop(s); /* the loop run below waits for a pass in flight */
    if (s->loop.data == s) {
        /* After a failed start, handles the HTTP server opened may still be
         * open; a normal shutdown has closed them all already. */
        if (s->http && s->state != SERVER_DONE)
            http_server_close(s->http);
        listeners_stop(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        listeners_free(s);
        http_server_free(s->http);
        s->http = NULL;
        if (uv_loop_close(&s->loop) == UV_EBUSY) {
            uv_walk(&s->loop, close_walk_cb, NULL);
            uv_run(&s->loop, UV_RUN_DEFAULT);
            if (uv_loop_close(&s->loop) < 0)
                log_warn("daemon", "msg=\"event loop still busy at exit\"");
        }
        s->loop.data = NULL;
    }
    /* Every HTTP worker has finished: no writer is left. */
    storage_close(s);
    metrics_registry_free(s->metrics);
    s->metrics = NULL;
    datadir_unlock(&s->lock_fd);
    config_fini(&s->cfg);
    memset(&s->cfg, 0, sizeof s->cfg);
}
