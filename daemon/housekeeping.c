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
 * A flush that wrote parts is logged at info (parts, bytes, rows,
 * duration), from tsdb_storage_stats before and after the pass.
 *
 * The head's size is also polled on the compaction timer (every
 * CMP_TICK_MS, two atomic loads): once it reaches storage.flush.head_bytes
 * a pass is queued at once instead of at the next tick, so a fast writer
 * cannot run the head far past its budget between ticks.
 *
 * Compaction runs beside it on its own timer (every CMP_TICK_MS) and its
 * own worker job, one slice of tsdb_maybe_compact at a time, so a long
 * merge never delays a flush:
 *   - throttle: a token bucket on the real monotonic clock fills at
 *     storage.compaction.max_bytes_per_sec (burst: one second's worth);
 *     each slice gets the tokens as its byte budget and pays back what it
 *     used, so a slice that overran (one block more, or the read-back
 *     verification of a finished part) is a debt later ticks wait out.
 *     0 = unlimited (slices of CMP_MAX_SLICE bytes).
 *   - ingest first: no slice runs while ingest holds more than half of
 *     ingest.max_pending_bytes (writes are backing up); the merge resumes
 *     where it stopped.
 *   - admission: a new merge may start only after a random delay: up to
 *     storage.compaction.start_delay after start, up to
 *     storage.compaction.stagger after each merge ends.  With tsdb's one
 *     merge at a time this is the queue after a restart: a backlog of
 *     unmerged parts is admitted one merge at a time, never all at once.
 *   - logs: started / finished (partition, inputs, level, bytes in/out,
 *     rows, duration) at info, discarded at warn, failed at error.
 * While nothing is running the timer only looks for due merges once a
 * second.
 *
 * Threads: start/stop and the callbacks named on_* run on the loop thread;
 * hk_work and cmp_work run on a libuv worker and touch only their job's
 * fields.
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
    tsdb_storage_stats(j->db, &j->st0);
    j->flush_rc = tsdb_maybe_flush(j->db, j->now_ns, &j->flush_err);
    tsdb_storage_stats(j->db, &j->st1);
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
    else if (j->st1.flush_parts > j->st0.flush_parts)
        log_info("storage",
                 "msg=\"head flushed\" parts=%" PRIu64 " bytes=%" PRIu64 " rows=%" PRIu64
                 " duration_ms=%.1f",
                 j->st1.flush_parts - j->st0.flush_parts, j->st1.flush_bytes - j->st0.flush_bytes,
                 j->st1.flush_rows - j->st0.flush_rows, (double)j->flush_dur_ns / 1e6);
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

/* ---- compaction slices -------------------------------------------------------- */

#define CMP_TICK_MS 200
#define CMP_IDLE_POLL_NS 1000000000LL
#define CMP_MAX_SLICE (64u << 20)

static uint64_t rng_next(struct server *s)
{
    uint64_t x = s->cmp_rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->cmp_rng = x;
    return x;
}

/* Uniform in [0, max_ns]. */
static int64_t rand_delay(struct server *s, int64_t max_ns)
{
    return max_ns > 0 ? (int64_t)(rng_next(s) % ((uint64_t)max_ns + 1)) : 0;
}

static void cmp_work(uv_work_t *w)
{
    struct cmp_job *j = w->data;
    err_clear(&j->err);
    j->rc = tsdb_maybe_compact(j->db, j->now_ns, j->max_bytes, j->may_start, &j->res, &j->err);
}

static void on_cmp_done(uv_work_t *w, int status)
{
    struct cmp_job *j = w->data;
    struct server *s = j->server;
    s->is_cmp_busy = false;
    if (status == UV_ECANCELED)
        return;
    const struct tsdb_compact_result *r = &j->res;
    struct mono_ns now = clk_mono(&s->real_clock);
    if (s->cfg.storage.compaction_max_bytes_per_sec)
        s->cmp_tokens -= (double)r->slice_bytes;
    char q[ERR_MSG_MAX + 64];
    if (r->has_started) {
        s->cmp_began = s->cmp_queued;
        log_info("compaction",
                 "msg=\"compaction started\" partition=%s inputs=%u level=%u backlog=%zu parts=%zu",
                 r->partition, r->inputs, r->level, r->backlog, r->parts);
    }
    bool is_over = j->rc < 0 || r->has_finished || r->was_discarded;
    double ms = (double)mono_diff_ns(now, s->cmp_began) / 1e6;
    if (j->rc < 0)
        log_error("compaction",
                  "msg=\"compaction failed\" partition=%s inputs=%u code=%s error=%s "
                  "duration_ms=%.1f",
                  r->partition, r->inputs, err_str(j->rc),
                  log_quote(q, sizeof q, j->err.msg, strlen(j->err.msg)), ms);
    else if (r->was_discarded)
        log_warn("compaction",
                 "msg=\"compaction discarded: inputs changed\" partition=%s inputs=%u "
                 "duration_ms=%.1f",
                 r->partition, r->inputs, ms);
    else if (r->has_finished)
        log_info("compaction",
                 "msg=\"compaction finished\" partition=%s inputs=%u level=%u bytes_in=%" PRIu64
                 " bytes_out=%" PRIu64 " rows=%" PRIu64 " duration_ms=%.1f backlog=%zu parts=%zu",
                 r->partition, r->inputs, r->level, r->bytes_in, r->bytes_out, r->rows_out, ms,
                 r->backlog, r->parts);
    if (is_over)
        s->cmp_admit = mono_add_ns(now, rand_delay(s, s->cfg.storage.compaction_stagger_ns));
    if (!r->is_running && !r->has_started && !is_over) {
        /* Idle: look again in a while. */
        s->cmp_next_poll = mono_add_ns(now, CMP_IDLE_POLL_NS);
        if (r->backlog && !s->has_cmp_logged_backlog) {
            s->has_cmp_logged_backlog = true;
            log_info("compaction",
                     "msg=\"compaction backlog waiting for admission\" backlog=%zu parts=%zu "
                     "admit_in_ms=%.0f",
                     r->backlog, r->parts, (double)mono_diff_ns(s->cmp_admit, now) / 1e6);
        }
    }
}

static void on_cmp_tick(uv_timer_t *t)
{
    struct server *s = t->data;
    /* A full head does not wait for the next housekeeping tick (a writer
     * at full speed fills storage.flush.head_bytes in seconds). */
    if (!s->is_hk_busy && s->tsdb && s->state != SERVER_DONE && tsdb_head_is_full(s->tsdb))
        on_hk_tick(&s->hk_timer);
    if (s->is_cmp_busy || !s->tsdb || s->state == SERVER_DONE)
        return;
    struct mono_ns now = clk_mono(&s->real_clock);
    uint64_t rate = s->cfg.storage.compaction_max_bytes_per_sec;
    if (rate) {
        double add = (double)rate * (double)mono_diff_ns(now, s->cmp_last) / 1e9;
        s->cmp_tokens += add;
        if (s->cmp_tokens > (double)rate)
            s->cmp_tokens = (double)rate;
    }
    s->cmp_last = now;
    bool is_running = s->cmp_job.res.is_running;
    if (!is_running && mono_diff_ns(now, s->cmp_next_poll) < 0)
        return;
    /* Ingest first: while writes hold more than half their pending budget,
     * merges pause between slices (tokens keep accruing up to the burst). */
    if (s->ingest && ing_pending_bytes(s->ingest) > s->cfg.ingest_max_pending_bytes / 2)
        return;
    if (rate && s->cmp_tokens < 1)
        return; /* paying back an overrun */
    struct cmp_job *j = &s->cmp_job;
    memset(j, 0, sizeof *j);
    j->server = s;
    j->db = s->tsdb;
    j->now_ns = clk_wall_ns(&s->clock);
    j->max_bytes = rate ? (uint64_t)s->cmp_tokens : CMP_MAX_SLICE;
    if (j->max_bytes > CMP_MAX_SLICE || !j->max_bytes)
        j->max_bytes = CMP_MAX_SLICE;
    j->may_start = mono_diff_ns(now, s->cmp_admit) >= 0;
    s->cmp_work.data = j;
    s->cmp_queued = now;
    int rc = uv_queue_work(&s->loop, &s->cmp_work, cmp_work, on_cmp_done);
    if (rc < 0) {
        log_error("compaction", "msg=\"cannot queue compaction\" error=%s", uv_strerror(rc));
        return;
    }
    s->is_cmp_busy = true;
}

static int compaction_start(struct server *s)
{
    int rc = uv_timer_init(&s->loop, &s->cmp_timer);
    if (rc < 0)
        return rc;
    s->cmp_timer.data = s;
    s->is_cmp_started = true;
    struct mono_ns now = clk_mono(&s->real_clock);
    s->cmp_rng = (uint64_t)clk_wall_ns(&s->real_clock) ^ ((uint64_t)uv_os_getpid() << 32) ^
                 (uint64_t)(uintptr_t)s;
    if (!s->cmp_rng)
        s->cmp_rng = 0x9E3779B97F4A7C15ull;
    s->cmp_last = now;
    s->cmp_next_poll = now;
    s->cmp_tokens = 0;
    int64_t delay = rand_delay(s, s->cfg.storage.compaction_start_delay_ns);
    s->cmp_admit = mono_add_ns(now, delay);
    rc = uv_timer_start(&s->cmp_timer, on_cmp_tick, CMP_TICK_MS, CMP_TICK_MS);
    if (rc < 0)
        return rc;
    char d[32], c[32];
    strp_format_duration(s->cfg.storage.compaction_stagger_ns, d, sizeof d);
    strp_format_duration(s->cfg.storage.compaction_cold_after_ns, c, sizeof c);
    log_info("compaction",
             "msg=\"compaction scheduler started\" first_admission_in_ms=%" PRId64
             " stagger_max=%s max_bytes_per_sec=%" PRIu64 " min_parts=%" PRIu64 " cold_after=%s",
             delay / 1000000, d, s->cfg.storage.compaction_max_bytes_per_sec,
             s->cfg.storage.compaction_min_parts, c);
    return 0;
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
    return compaction_start(s);
}

void housekeeping_stop(struct server *s)
{
    if (!s->is_hk_started)
        return;
    s->is_hk_started = false;
    uv_timer_stop(&s->hk_timer);
    if (!uv_is_closing((uv_handle_t *)&s->hk_timer))
        uv_close((uv_handle_t *)&s->hk_timer, NULL);
    if (!s->is_cmp_started)
        return;
    s->is_cmp_started = false;
    uv_timer_stop(&s->cmp_timer);
    if (!uv_is_closing((uv_handle_t *)&s->cmp_timer))
        uv_close((uv_handle_t *)&s->cmp_timer, NULL);
}
