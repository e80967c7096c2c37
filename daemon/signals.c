// SPDX-License-Identifier: MIT
/*
 * Signals, through uv_signal_t so the work happens on the loop thread rather
 * than in an async-signal context: SIGTERM/SIGINT drain and exit, SIGHUP
 * reloads the configuration.  SIGPIPE is ignored process-wide by main().
 *
 * Shutdown follows the state diagram in server.h:
 *   on_term (first)   RUNNING -> DRAINING: http_server_shutdown, grace timer
 *   on_grace/on_term  DRAINING -> FORCED:  is_cancelled, http_server_close
 *   on_drained        -> DONE: close our handles so uv_run returns
 * The exit status is 0 in every case: a forced shutdown is what the operator
 * asked for, and the log says how many requests it cut.  If the loop still
 * has not finished HARD_EXIT_MS after forcing (a handler that ignores
 * cancellation), the process exits without cleanup rather than hang.
 */
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strparse.h"
#include "daemon/server.h"

#define HARD_EXIT_MS 10000

static void on_hard_timeout(uv_timer_t *t)
{
    struct server *s = t->data;
    log_error("daemon", "msg=\"shutdown did not finish; exiting without cleanup\" "
                        "connections=%zu inflight=%zu",
              s->http ? http_server_connections(s->http) : 0,
              s->http ? http_server_inflight(s->http) : 0);
    _exit(0);
}

static void on_drained(void *arg)
{
    struct server *s = arg;
    if (s->state == SERVER_DONE)
        return;
    log_info("daemon", "msg=\"all connections closed\" forced=%s",
             s->state == SERVER_FORCED ? "true" : "false");
    s->state = SERVER_DONE;
    /* With every listener and connection closed, closing our own handles
     * leaves the loop empty and server_run returns once pending work (a
     * worker handler finishing) is done.  The hard timer stays, unreferenced,
     * to bound that wait after a forced shutdown; server_fini closes it. */
    if (s->are_signals_started) {
        uv_close((uv_handle_t *)&s->sig_term, NULL);
        uv_close((uv_handle_t *)&s->sig_int, NULL);
        uv_close((uv_handle_t *)&s->sig_hup, NULL);
        s->are_signals_started = false;
    }
    uv_timer_stop(&s->grace_timer);
    uv_unref((uv_handle_t *)&s->grace_timer);
    housekeeping_stop(s); /* a pass in flight keeps the loop until it ends */
}

static void force_shutdown(struct server *s, const char *why)
{
    if (s->state != SERVER_DRAINING)
        return;
    s->state = SERVER_FORCED;
    __atomic_store_n(&s->is_cancelled, 1, __ATOMIC_RELEASE);
    log_warn("daemon", "msg=\"forcing shutdown\" reason=%s requests_cut=%zu connections=%zu", why,
             http_server_inflight(s->http), http_server_connections(s->http));
    uv_timer_stop(&s->grace_timer);
    uv_timer_start(&s->hard_timer, on_hard_timeout, HARD_EXIT_MS, 0);
    uv_unref((uv_handle_t *)&s->hard_timer);
    http_server_close(s->http);
}

static void on_grace(uv_timer_t *t)
{
    force_shutdown(t->data, "grace_expired");
}

static void on_term(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
    if (s->state == SERVER_DRAINING) {
        log_warn("daemon", "msg=\"second signal\" signal=%s", name);
        force_shutdown(s, "second_signal");
        return;
    }
    if (s->state != SERVER_RUNNING)
        return;
    char grace[32];
    strp_format_duration(s->cfg.shutdown_grace_ns, grace, sizeof grace);
    log_info("daemon", "msg=\"shutting down\" signal=%s grace=%s connections=%zu inflight=%zu",
             name, grace, http_server_connections(s->http), http_server_inflight(s->http));
    s->state = SERVER_DRAINING;
    int64_t ms = s->cfg.shutdown_grace_ns / 1000000;
    uv_timer_start(&s->grace_timer, on_grace, ms > 0 ? (uint64_t)ms : 0, 0);
    /* May call on_drained at once when nothing is open. */
    http_server_shutdown(s->http, on_drained, s);
    listeners_stop(s); /* they write what they hold, then close */
    /* The listeners are closed by now (libuv closes the fd in uv_close);
     * tests wait for this line before checking that connects fail. */
    if (s->state == SERVER_DRAINING)
        log_info("daemon", "msg=\"draining\" connections=%zu inflight=%zu",
                 http_server_connections(s->http), http_server_inflight(s->http));
}

static void on_hup(uv_signal_t *h, int signum)
{
    (void)signum;
    struct server *s = h->data;
    if (s->state == SERVER_RUNNING)
        server_reload_config(s);
}

int signals_start(struct server *s)
{
    uv_timer_init(&s->loop, &s->grace_timer);
    uv_timer_init(&s->loop, &s->hard_timer);
    s->grace_timer.data = s->hard_timer.data = s;
    s->are_timers_inited = true;

    uv_signal_init(&s->loop, &s->sig_term);
    uv_signal_init(&s->loop, &s->sig_int);
    uv_signal_init(&s->loop, &s->sig_hup);
    s->sig_term.data = s->sig_int.data = s->sig_hup.data = s;
    s->are_signals_started = true;
    int rc = uv_signal_start(&s->sig_term, on_term, SIGTERM);
    if (rc == 0)
        rc = uv_signal_start(&s->sig_int, on_term, SIGINT);
    if (rc == 0)
        rc = uv_signal_start(&s->sig_hup, on_hup, SIGHUP);
    return rc;
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void signals_stop(struct server *s)
{
    if (s->are_signals_started) {
        close_handle((uv_handle_t *)&s->sig_term);
        close_handle((uv_handle_t *)&s->sig_int);
        close_handle((uv_handle_t *)&s->sig_hup);
        s->are_signals_started = false;
    }
    if (s->are_timers_inited) {
        close_handle((uv_handle_t *)&s->grace_timer);
        close_handle((uv_handle_t *)&s->hard_timer);
        s->are_timers_inited = false;
    }
}
