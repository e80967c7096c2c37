// SPDX-License-Identifier: MIT
/*
 * ingest: the write path between the network and tsdb.
 *
 * What it does: turns a line-protocol body (from HTTP /write, /api/v2/write,
 * a TCP stream's complete lines, or a UDP datagram) into tsdb batches, with
 * InfluxDB's exact semantics for partial writes, type conflicts, retention and
 * parse errors; keeps a cache from raw series-key bytes to series refs so the
 * common case neither sorts tags nor rebuilds canonical keys; accounts pending
 * bytes for back-pressure; reports points and lines accepted/rejected by
 * protocol and reason into the metrics registry.
 *
 * What it leaves to others: the socket and HTTP framing (net/, and the
 * listeners in ingest/listen_*.c), durability and storage (tsdb/), the line
 * grammar (lp.h).
 *
 * Threads: ing_write() may be called from any number of threads at once
 * (HTTP worker handlers, the listeners' flush jobs); the engine is
 * thread-safe.  ing_engine_new/free run once, on the loop thread, before any
 * writer starts and after every writer stopped.
 */
#ifndef NJ_INGEST_INGEST_H
#define NJ_INGEST_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/metrics.h"
#include "common/sv.h"
#include "ingest/lp.h"

struct tsdb;
struct ing_engine;

struct ing_opts {
    struct tsdb *db;                  /* borrowed; outlives the engine */
    const struct clk *clock;          /* borrowed; server time for lines without one */
    struct metrics_registry *metrics; /* borrowed; may be NULL */
    uint64_t max_pending_bytes;       /* ingest.max_pending_bytes */
};

/* The protocol a write came in by, for metrics labels and error wording. */
enum ing_proto { ING_PROTO_HTTP, ING_PROTO_TCP, ING_PROTO_UDP };

enum ing_flags {
    /* UDP: if any line of the body fails to parse, store nothing (InfluxDB's
     * UDP service discards the whole datagram). */
    ING_ALL_OR_NOTHING = 1u,
};

/* Outcome of one ing_write().  http_status and error follow InfluxDB 1.x
 * /write (influx-compat.md §2.3): 204 and an empty error when everything was
 * stored; 400 "partial write: ... dropped=N"; 400 with the parse errors
 * joined by "\n" when every line failed; 404 "database not found: \"x\"";
 * 500 "retention policy not found: x"; 500 "write failed: ..." when the
 * WAL commit failed (nothing of the body is acknowledged) and 503 while
 * the WAL stays failed after that.  When storage rejects points, the text
 * names one reason as 1.6 does: the first "time" tag key, else the first
 * other rejection in line order; retention drops are named
 * (and counted) only when nothing else was dropped, but res->dropped counts
 * every rejected point.  The caller owns error (init it with a cap before
 * the call; fini after); texts longer than the cap are cut. */
struct ing_result {
    int http_status;
    struct buf error;       /* message without the JSON wrapping */
    size_t lines;           /* non-blank, non-comment lines seen */
    size_t points_written;  /* points made durable */
    size_t parse_errors;    /* lines that failed to parse */
    size_t dropped;         /* points rejected by storage (type conflict, retention, ...) */
};

int ing_engine_new(const struct ing_opts *o, struct ing_engine **out, struct err *e);
/* NULL is a no-op. */
void ing_engine_free(struct ing_engine *g);

/* Parses body (len bytes, borrowed for the call) as line protocol for
 * database db and retention policy rp (empty = the database's default) at
 * precision prec, stores the good points durably (returns after the WAL
 * commit), and fills *res.  Returns 0 when *res describes the outcome (any
 * status, including 4xx), or a negative ERR_* for internal failures (then
 * res->http_status is 500 or 503).  Any thread. */
int ing_write(struct ing_engine *g, enum ing_proto proto, struct sv db, struct sv rp,
              enum lp_precision prec, const char *body, size_t len, unsigned flags,
              struct ing_result *res);

/* Back-pressure.  Reserves n bytes against max_pending_bytes; false when the
 * reservation would exceed it (HTTP answers 503 + Retry-After; TCP stops
 * reading).  A single request larger than the whole budget is admitted when
 * nothing else is pending, so it cannot starve.  Any thread. */
bool ing_pending_acquire(struct ing_engine *g, size_t n);
void ing_pending_release(struct ing_engine *g, size_t n);
uint64_t ing_pending_bytes(const struct ing_engine *g);

/* Checks that database db exists, for endpoints that must answer 404
 * before validating their other parameters (1.x /write).  Returns 0, or
 * ERR_INVAL (empty name: res 400 "database is required") / ERR_NOTFOUND
 * (res 404 `database not found: "x"`); res->error must be initialised.
 * Any thread. */
int ing_check_database(struct ing_engine *g, struct sv db, struct ing_result *res);

/* Counts a write answered without ing_write() (parameter errors, 503
 * back-pressure) in nightjar_ingest_requests_total{proto,status}.  Any
 * thread. */
void ing_count_request(struct ing_engine *g, enum ing_proto proto, int status);

/* ---- HTTP endpoints (write_http.c) ---------------------------------------- */

struct http_server;

/* Registers POST /write (InfluxDB 1.x: db, rp, precision, consistency, u, p
 * from the URL query) and POST /api/v2/write (1.8: bucket = db or db/rp,
 * precision ns|us|ms|s, org ignored) as HTTP_ROUTE_WORKER | HTTP_ROUTE_CORS
 * routes writing through g (borrowed; must outlive the server).  Each
 * request holds its body length in pending bytes; when ing_pending_acquire
 * refuses, the answer is 503 with Retry-After: 1.  Returns 0 or the
 * router's ERR_INVAL.  Loop thread, before http_server_start. */
int ing_http_register(struct http_server *s, struct ing_engine *g);

#endif
