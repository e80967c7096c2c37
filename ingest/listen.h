// SPDX-License-Identifier: MIT
/*
 * ingest listeners: line protocol over plain TCP and UDP sockets
 * (influx-compat.md section 3), feeding the write engine (ingest.h).
 *
 * What they do: own the sockets on the loop thread, cut the byte stream
 * (TCP) or the datagrams (UDP) into bodies, hand each body to ing_write() on
 * a libuv pool thread, and count what happened.  Nothing is ever sent back
 * to a client.
 *
 *   TCP  newline-delimited lines; a "\r" before "\n" is stripped (section
 *        3.2, unlike HTTP); a line longer than max_line_bytes is discarded
 *        up to its "\n"; a partial last line is parsed at EOF.  Complete
 *        lines are gathered per connection into a batch, written when it
 *        holds batch_bytes or batch_lines or has waited batch_timeout.  Bad
 *        lines are dropped (ing_write's partial-write rule) and logged, rate
 *        limited per connection; the connection stays open.  One batch per
 *        connection is in flight at a time, so a connection's points are
 *        stored in the order they were sent.
 *   UDP  one datagram (up to 64 KiB) is one body under ING_ALL_OR_NOTHING:
 *        a datagram with any bad line stores nothing, storage rejections
 *        drop only their points.  Datagrams that arrive while max_inflight
 *        writes are running are gathered (up to batch_bytes) and written
 *        together when a write ends, so a fast sender is not limited to one
 *        WAL commit per datagram; the per-datagram rules still hold (see
 *        listen_udp.c).  A datagram that finds the gathering batch full, or
 *        the engine's pending budget spent, is dropped and counted.
 *
 * Back-pressure (TCP): before a batch is queued, its bytes are reserved with
 * ing_pending_acquire().  When the reservation fails, the connection stops
 * reading (the kernel's window then slows the sender) and is retried in
 * arrival order whenever one of our writes completes, and on a short timer
 * (the bytes may be released by HTTP writers we hear nothing from).  A
 * connection holds at most one batch being filled (batch_bytes, plus at most
 * one read and one max_line_bytes line past it) and one batch in flight.
 *
 * Metrics (in opts.metrics, when set):
 *   nightjar_tcp_connections                 gauge, open connections
 *   nightjar_tcp_connections_rejected_total  over max_connections
 *   nightjar_tcp_received_bytes_total        bytes read from connections
 *   nightjar_tcp_buffered_bytes              gauge, bytes held by connections
 *   nightjar_tcp_lines_too_long_total        lines discarded for max_line_bytes
 *   nightjar_tcp_lines_invalid_total         lines ing_write could not parse
 *   nightjar_tcp_paused_total                back-pressure pauses
 *   nightjar_udp_datagrams_total{result}     stored, dropped_parse,
 *                                            dropped_overload, dropped_error
 * Points and lines by protocol are counted by the engine (proto label).
 *
 * Life cycle, for each of ing_tcp and ing_udp:
 *   _new    copies the options; nothing is bound
 *   _start  binds and starts receiving
 *   _stop   closes the socket; pending batches are written; done(arg) runs
 *           on the loop once every handle is closed and every write ended
 *   _free   after done
 * _stop must be called even when _start failed or was never called (the
 * handles exist from _new), and the loop run until done.
 *
 * The UDP database is created at start when missing, as InfluxDB does; that
 * is the daemon's job (it owns the storage handle): create
 * ingest.udp.database before ing_udp_start.
 *
 * Threads: every function here runs on the loop thread.  The engine must
 * outlive the listener's done callback.
 */
#ifndef NJ_INGEST_LISTEN_H
#define NJ_INGEST_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/metrics.h"
#include "ingest/ingest.h"

#define ING_TCP_DEFAULT_MAX_LINE_BYTES (64u * 1024u)
#define ING_TCP_DEFAULT_BATCH_BYTES (1024u * 1024u)
#define ING_TCP_DEFAULT_BATCH_LINES 5000u
#define ING_TCP_DEFAULT_BATCH_TIMEOUT_NS (100 * NS_PER_MS)
#define ING_TCP_DEFAULT_MAX_CONNECTIONS 1024u
#define ING_UDP_MAX_DATAGRAM_BYTES 65536u
#define ING_UDP_DEFAULT_MAX_INFLIGHT 4u
#define ING_UDP_DEFAULT_BATCH_BYTES (1024u * 1024u)

struct ing_tcp;
struct ing_udp;

/* Options of both listeners.  Strings are copied by _new.  Zero numbers
 * take the defaults above. */
struct ing_listen_opts {
    const char *listen;              /* "host:port", "[v6]:port", ":port" */
    const char *database;            /* required */
    const char *retention_policy;    /* NULL or "" = the database's default */
    enum lp_precision precision;
    struct ing_engine *engine;       /* borrowed; outlives the listener */
    struct metrics_registry *metrics;/* borrowed; may be NULL */
    const struct clk *clock;         /* borrowed; monotonic time for log rate
                                        limits (NULL: a real clock) */
    size_t batch_bytes;              /* TCP: write a batch once it holds this
                                        much; UDP: a gathering batch's cap */
    size_t read_buffer_bytes;        /* SO_RCVBUF (TCP: of the listening
                                        socket, which accepted connections
                                        inherit); 0 = the OS default */
    /* TCP only */
    size_t max_line_bytes;           /* longer lines are discarded */
    size_t batch_lines;              /* write a batch at this many lines ... */
    int64_t batch_timeout_ns;        /* ... or once its first line waited this long */
    size_t max_connections;          /* more are accepted and closed at once */
    /* UDP only */
    size_t max_inflight;             /* writes (batches) running at once */
};

/* Creates a TCP listener on loop.  Returns 0, or ERR_INVAL (no listen
 * address or database) with e saying which. */
int ing_tcp_new(uv_loop_t *loop, const struct ing_listen_opts *o, struct ing_tcp **out,
                struct err *e);
/* Binds and listens.  Returns 0 or ERR_IO with e naming the address. */
int ing_tcp_start(struct ing_tcp *l, struct err *e);
/* The bound port (after listening on port 0), or -1 when not listening. */
int ing_tcp_port(const struct ing_tcp *l);
/* Stops accepting and reading; each connection's complete lines are
 * written (a partial line without its "\n" is dropped, unlike at EOF), then
 * it closes.  done(arg) runs on the loop when everything has closed.  Call
 * once. */
void ing_tcp_stop(struct ing_tcp *l, void (*done)(void *arg), void *arg);
/* Frees the listener.  NULL is a no-op.  Only after stop's done callback
 * (stop is needed even when start failed). */
void ing_tcp_free(struct ing_tcp *l);

/* Creates a UDP listener on loop.  Returns 0, or ERR_INVAL. */
int ing_udp_new(uv_loop_t *loop, const struct ing_listen_opts *o, struct ing_udp **out,
                struct err *e);
/* Binds, sets SO_RCVBUF when asked, and starts receiving.  Returns 0 or
 * ERR_IO with e naming the address. */
int ing_udp_start(struct ing_udp *l, struct err *e);
int ing_udp_port(const struct ing_udp *l);
/* Stops receiving; datagrams already queued are written; done(arg) runs on
 * the loop when the socket is closed and every write ended.  Call once. */
void ing_udp_stop(struct ing_udp *l, void (*done)(void *arg), void *arg);
void ing_udp_free(struct ing_udp *l);

#endif
