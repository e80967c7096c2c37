// SPDX-License-Identifier: MIT
/*
 * The server context: the one struct main() creates and passes down to every
 * part of the daemon (STYLE.md section 11: no global mutable state beyond it
 * and the log sink).  Handles reach it through their data pointer, route
 * handlers through their arg.
 *
 * Life cycle (each step names the function that performs it):
 *
 *   server_init      config already loaded by main; raises RLIMIT_NOFILE,
 *                    creates and locks storage.dir, builds the metrics
 *                    registry, opens tsdb there (WAL replay, logged),
 *                    creates the configured databases, builds the write
 *                    engine and the HTTP server with its routes
 *   server_start     listens, installs the signal watchers
 *   server_run       runs the loop until shutdown has drained (or was forced)
 *   server_fini      frees everything (the write engine and tsdb only
 *                    after HTTP has drained), releases the storage lock
 *
 * Shutdown states (signals.c), driven by SIGTERM/SIGINT and a grace timer:
 *
 *   RUNNING --SIGTERM--> DRAINING --all connections closed--> DONE
 *                           |  ^
 *             grace expired |  | second SIGTERM
 *                           v  |
 *                         FORCED --connections closed--> DONE
 *
 * In FORCED, is_cancelled is set so cooperative worker handlers (the debug
 * sleep) return early, and http_server_close() cuts the connections.
 *
 * Threads: everything here runs on the loop thread, except reading
 * is_cancelled (any thread, atomically).
 */
#ifndef NJ_DAEMON_SERVER_H
#define NJ_DAEMON_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/metrics.h"
#include "daemon/config.h"
#include "ingest/ingest.h"
#include "net/net.h"
#include "tsdb/tsdb.h"

/* The InfluxDB version reported by default (X-Influxdb-Version, /ping
 * verbose, /health); http.version overrides it at run time. */
#define NJ_INFLUXDB_VERSION "1.8.10"

enum server_state {
    SERVER_RUNNING,
    SERVER_DRAINING, /* SIGTERM seen: no new connections, in-flight requests finish */
    SERVER_FORCED,   /* grace ran out or second SIGTERM: connections cut */
    SERVER_DONE,     /* every connection closed; the loop is winding down */
};

/* What main() decided from the command line. */
struct server_opts {
    const char *config_path;   /* file to load and to re-read on SIGHUP; NULL = defaults only */
    bool is_fake_clock;        /* --debug.fake-clock */
    int64_t fake_clock_start_ns; /* wall time the fake clock starts at */
    bool has_test_endpoints;   /* --debug.test-endpoints */
    bool repair;               /* --repair: cut a corrupt WAL instead of refusing */
    enum tsdb_fault_op fault_op; /* --debug.fault=<op>:<n> (tests only) */
    uint64_t fault_nth;        /* 0 = no fault armed */
};

/* housekeeping.c: one flush/retention pass, owned by the loop until queued,
 * then by the worker until its after-work callback runs. */
struct hk_job {
    struct server *server;     /* read on the loop only (after-work) */
    struct tsdb *db;
    const struct clk *real_clock; /* durations */
    int64_t now_ns;            /* s->clock wall time when queued */
    int flush_rc, ret_rc;      /* results of tsdb_maybe_flush / tsdb_enforce_retention */
    struct err flush_err, ret_err;
    int64_t flush_dur_ns, ret_dur_ns;
    struct tsdb_storage_stats st0, st1; /* flush totals before / after the pass */
};

/* housekeeping.c: one compaction slice, owned like hk_job. */
struct cmp_job {
    struct server *server;
    struct tsdb *db;
    int64_t now_ns;            /* s->clock wall time when queued (policy) */
    uint64_t max_bytes;        /* the slice's I/O budget; 0 = none */
    bool may_start;            /* the admission delay has passed */
    int rc;
    struct err err;
    struct tsdb_compact_result res;
};

struct server {
    uv_loop_t loop;
    struct server_opts opts;
    struct config cfg;         /* the running configuration (owned) */
    struct clk clock;          /* samples, alerting; fake under --debug.fake-clock */
    struct clk real_clock;     /* network timeouts always use real time */
    struct metrics_registry *metrics;
    struct http_server *http;
    struct tsdb *tsdb;         /* the store under storage.dir; closed after HTTP drained */
    struct ing_engine *ingest; /* the write engine (HTTP now, TCP/UDP listeners later) */
    struct ing_tcp *tcp_listener; /* ingest.tcp.listen; NULL = off (listeners.c) */
    struct ing_udp *udp_listener; /* ingest.udp.listen; NULL = off */
    bool are_listeners_stopped;
    int lock_fd;               /* storage.dir/LOCK, held with flock; -1 = none */
    double start_time_s;       /* wall time at start, Unix seconds */
    struct metric *reloads_ok, *reloads_failed; /* nightjar_config_reloads_total */
    struct metric *reload_last_ok;              /* nightjar_config_last_reload_successful */

    enum server_state state;
    int is_cancelled;          /* atomic: set in FORCED for cooperative handlers */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t grace_timer;    /* DRAINING -> FORCED */
    uv_timer_t hard_timer;     /* FORCED but the loop still will not finish */
    bool are_signals_started;
    bool are_timers_inited;
    uv_timer_t hk_timer;       /* storage.housekeeping_interval (housekeeping.c) */
    uv_work_t hk_work;
    struct hk_job hk_job;
    bool is_hk_started;        /* hk_timer initialised and not yet closed */
    bool is_hk_busy;           /* a pass is queued or running */
    /* Compaction slices (housekeeping.c): a token bucket of
     * storage.compaction.max_bytes_per_sec on the real monotonic clock,
     * and a random admission delay before each new merge. */
    uv_timer_t cmp_timer;
    uv_work_t cmp_work;
    struct cmp_job cmp_job;
    bool is_cmp_started;
    bool is_cmp_busy;
    double cmp_tokens;         /* bytes the next slice may use (may go negative: debt) */
    struct mono_ns cmp_last;   /* when tokens were last added */
    struct mono_ns cmp_admit;  /* no new merge before this */
    struct mono_ns cmp_began;  /* when the running merge started */
    struct mono_ns cmp_queued; /* when the slice in flight was queued */
    struct mono_ns cmp_next_poll; /* idle: next look for due merges */
    uint64_t cmp_rng;          /* xorshift state for the delays */
    bool has_cmp_logged_backlog;
};

/* Prepares s (caller-owned memory, zeroed by this call) with the loaded
 * configuration cfg, whose contents it takes over (cfg is left empty).
 * o is copied; o->config_path is borrowed for the server's lifetime.
 * Returns 0, or ERR_IO / ERR_BUSY / ERR_NOMEM with e saying what failed
 * (storage dir, lock held by another process, HTTP setup).  On error
 * server_fini must still be called.  Loop thread (before the loop runs). */
int server_init(struct server *s, const struct server_opts *o, struct config *cfg, struct err *e);
/* Binds the listeners, logs each address and installs the signal watchers.
 * Returns 0 or ERR_IO with e naming the address. */
int server_start(struct server *s, struct err *e);
/* Runs the loop until shutdown completes.  Returns the exit status (0). */
int server_run(struct server *s);
/* Frees everything server_init made and releases the storage lock.  Safe
 * after a failed server_init. */
void server_fini(struct server *s);

/* True once shutdown was forced; worker-thread handlers that may run long
 * poll it and stop early.  Any thread. */
static inline bool server_is_cancelled(const struct server *s)
{
    return __atomic_load_n(&s->is_cancelled, __ATOMIC_ACQUIRE) != 0;
}

/* signals.c: installs SIGTERM/SIGINT/SIGHUP watchers (SIGPIPE is ignored in
 * main).  Returns 0 or a negative libuv error. */
int signals_start(struct server *s);
/* Closes the watchers and timers (idempotent). */
void signals_stop(struct server *s);

/* reload.c: re-reads the configuration file and applies what can change at
 * run time (log.level, shutdown_grace); logs keys that need a restart.  A
 * file that fails to load is logged and the old configuration stays. */
void server_reload_config(struct server *s);
/* Registers the reload metrics in s->metrics. */
void reload_register_metrics(struct server *s);

/* datadir.c: mkdir -p of dir (mode 0755).  Returns 0 or ERR_IO with e
 * naming the component that failed. */
int datadir_mkdirs(const char *dir, struct err *e);
/* Creates dir/LOCK and takes an exclusive flock on it, writing our pid
 * into it.  *fd_out gets the descriptor (keep it open to hold the lock).
 * ERR_BUSY when another process holds it (e names the pid written there),
 * ERR_IO otherwise. */
int datadir_lock(const char *dir, int *fd_out, struct err *e);
/* Releases the lock taken by datadir_lock (the file stays). */
void datadir_unlock(int *fd);
/* The daemon's lock file inside the data dir (tsdb keeps its own LOCK). */
#define DATADIR_LOCK_NAME "nightjar.lock"

/* storage.c: opens tsdb under storage.dir with the configured fsync mode,
 * logs what WAL recovery did, arms --debug.fault, creates the configured
 * databases and builds the write engine.  Returns 0 or an error in e
 * (ERR_CORRUPT names the file and offset and points at --repair). */
int storage_open(struct server *s, struct err *e);
/* Frees the write engine and closes tsdb (after HTTP drained). */
void storage_close(struct server *s);

/* housekeeping.c: starts the storage.housekeeping_interval timer that queues
 * tsdb_maybe_flush and tsdb_enforce_retention on a worker, one pass at a
 * time.  Returns 0 or a negative libuv error.  stop (idempotent) closes the
 * timer; a pass in flight finishes when the loop runs again, which
 * server_fini does before closing tsdb. */
int housekeeping_start(struct server *s);
void housekeeping_stop(struct server *s);

/* listeners.c: the TCP and UDP line-protocol listeners.  start creates
 * their databases when missing and binds them (ERR_INVAL / ERR_IO with e
 * naming the key or address); stop (idempotent) closes them, writing what
 * they hold, and the loop runs until that is done; free after that run. */
int listeners_start(struct server *s, struct err *e);
void listeners_stop(struct server *s);
void listeners_free(struct server *s);

/* dump.c: `nightjar dump ...`, the offline export.  Returns the exit status. */
int dump_main(int argc, char **argv);

/* procmetrics.c: raises the open-files soft limit to the hard limit and
 * logs the outcome. */
void procmetrics_raise_nofile(void);
/* Registers process and build metrics in s->metrics. */
void procmetrics_register(struct server *s);

/* routes_status.c: /ping, /status, /health, /metrics. */
int routes_status_register(struct server *s);
/* routes_debug.c: /debug/clock (fake clock only) and, with
 * --debug.test-endpoints, /debug/sleep and /debug/echo. */
int routes_debug_register(struct server *s);

#endif
