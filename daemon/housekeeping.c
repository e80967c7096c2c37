// SPDX-License-Identifier: MIT
/*
 * Storage housekeeping: every storage.housekeeping_interval a loop timer
 * queues one worker job (uv_queue_work, STYLE.md section 5: flushes fsync
 * and compress, so never on the loop) that calls tsdb_maybe_flush and
 * tsdb_enforce_retention with the daemon's injectable wall clock.  At most
 * one job is in flight: a tick that finds the previous job still running is
 * skipped.  Errors are logged and the daemon keeps running; the next tick
 * tries again.
 *
 * tsdb's API returns 0 both when nothing was due and when it flushed or
 * dropped, so each pass is logged at debug with its durations; errors are
 * logged at error.
 *
 * Shutdown: housekeeping_stop closes the timer (on_drained, and again in
 * server_fini); a job still in flight keeps the loop alive until its
 * after-work callback ran, and server_fini runs the loop before
 * storage_close, so neither the timer nor the job outlives tsdb.
 *
 * Threads: start/stop and the callbacks named on_* run on the loop thread;
 * hk_work runs on a libuv worker and touches only the job's fields.
 */
#include <inttypes.h>
#include <string.h>

#include "common/log.h"
#include "common/strparse.h"
#include "daemon/server.h"

/* Worker: the store and the time come in, the results go out. */
static void hk_work(uv_work_t *w)
{
    struct hk_job *j = w->data;
    struct mono_ns t0 = clk_mono(j->real_clock);
    err_clear(&j->flush_err);
    j->flush_rc = tsdb_maybe_flush(j->db, j->now_ns, &j->flush_err);
    struct mono_ns t1 = clk_mono(j->real_clock);
    err_clear(&j->ret_err);
    j->ret_rc = tsdb_enforce_retention(j->db, j->now_ns, &j->ret_err);
    struct mono_ns t2 = clk_mono(j->real_clock);
    j->flush_dur_ns = mono_diff_ns(t1, t0);
    j->ret_dur_ns = mono_diff_ns(t2, t1);
}

static void on_hk_done(uv_work_t *w, int status)
{
    struct hk_job *j = w->data;
    struct server *s = j->server;
    s->is_hk_busy = false;
    if (status == UV_ECANCELED)
        return;
    char q[ERR_MSG_MAX + 64];
    if (j->flush_rc < 0)
        log_error("storage", "msg=\"head flush failed\" code=%s error=%s", err_str(j->flush_rc),
                  log_quote(q, sizeof q, j->flush_err.msg, strlen(j->flush_err.msg)));
    if (j->ret_rc < 0)
        log_error("storage", "msg=\"retention enforcement failed\" code=%s error=%s",
                  err_str(j->ret_rc),
                  log_quote(q, sizeof q, j->ret_err.msg, strlen(j->ret_err.msg)));
    log_debug("storage",
              "msg=\"housekeeping pass\" now_ns=%" PRId64 " flush_ms=%.1f retention_ms=%.1f",
              j->now_ns, (double)j->flush_dur_ns / 1e6, (double)j->ret_dur_ns / 1e6);
}

static void on_hk_tick(uv_timer_t *t)
{
    struct server *s = t->data;
    if (s->is_hk_busy || !s->tsdb || s->state == SERVER_DONE)
        return; /* the previous pass is still running: skip this tick */
    struct hk_job *j = &s->hk_job;
    memset(j, 0, sizeof *j);
    j->server = s;
    j->db = s->tsdb;
    j->real_clock = &s->real_clock;
    j->now_ns = clk_wall_ns(&s->clock);
    s->hk_work.data = j;
    int rc = uv_queue_work(&s->loop, &s->hk_work, hk_work, on_hk_done);
    if (rc < 0) {
        log_error("storage", "msg=\"cannot queue housekeeping\" error=%s", uv_strerror(rc));
        return;
    }
    s->is_hk_busy = true;
}

int housekeeping_start(struct server *s)
{
    int64_t ms = s->cfg.storage.housekeeping_interval_ns / 1000000;
    if (ms < 1)
        ms = 1;
    int rc = uv_timer_init(&s->loop, &s->hk_timer);
    if (rc < 0)
        return rc;
    s->hk_timer.data = s;
    s->is_hk_started = true;
    rc = uv_timer_start(&s->hk_timer, on_hk_tick, (uint64_t)ms, (uint64_t)ms);
    if (rc < 0)
        return rc;
    char q[32];
    strp_format_duration(s->cfg.storage.housekeeping_interval_ns, q, sizeof q);
    log_info("storage", "msg=\"housekeeping started\" interval=%s flush_head_bytes=%" PRIu64
                        " flush_max_age_ns=%" PRId64,
             q, s->cfg.storage.flush_head_bytes, s->cfg.storage.flush_max_age_ns);
    return 0;
}

void housekeeping_stop(struct server *s)
{
    if (!s->is_hk_started)
        return;
    s->is_hk_started = false;
    uv_timer_stop(&s->hk_timer);
    if (!uv_is_closing((uv_handle_t *)&s->hk_timer))
        uv_close((uv_handle_t *)&s->hk_timer, NULL);
}
