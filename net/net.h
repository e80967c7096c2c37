// SPDX-License-Identifier: MIT
/*
 * net: libuv glue.  An HTTP/1.1 server (http-parser for framing) with a route
 * table, and later the libcurl multi client on the same loop.
 *
 * What it does: accepts connections on one or more listeners, frames requests
 * (keep-alive, pipelining answered in order, chunked request bodies,
 * Content-Encoding: gzip request bodies inflated under the same cap), enforces
 * limits with status codes (body over max_body_bytes -> 413, headers over
 * max_header_bytes -> 431), cuts off slow clients (read_header_timeout while a
 * request's headers are incomplete, idle_timeout between requests), decodes
 * query strings and application/x-www-form-urlencoded bodies, adds the
 * InfluxDB common headers to every response (X-Influxdb-Version,
 * X-Influxdb-Build, Request-Id / X-Request-Id on routed responses), answers
 * unknown paths with 404 text/plain and wrong methods with 405, handles CORS
 * and OPTIONS, and records request counts, latency and open connections in the
 * metrics registry.
 *
 * What it leaves to others: what a route means.  Handlers are plain
 * functions; a route flagged HTTP_ROUTE_WORKER runs its handler on the libuv
 * thread pool so a slow handler never stalls other connections.  Responses on
 * one connection always go out in request order: a connection parses its next
 * pipelined request only after the current one's response is queued.
 *
 * The process must ignore SIGPIPE (the daemon's main() does): a client that
 * goes away mid-response must be an EPIPE for the server, not a signal.
 *
 * Threads: every function here runs on the loop thread, except the
 * http_request_* / http_response_* accessors, which a handler may call on
 * whichever thread it runs on (the request and response belong to it there).
 */
#ifndef NJ_NET_NET_H
#define NJ_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/metrics.h"
#include "common/sv.h"

#define HTTP_MAX_LISTEN 8
#define HTTP_MAX_HEADERS 64

struct http_server;

struct http_header {
    struct sv name;  /* as received; compare case-insensitively */
    struct sv value;
};

struct http_param {
    struct sv key;   /* percent- and '+'-decoded, in the request arena */
    struct sv value;
};

/* One request.  Everything it points to lives in req->arena and is valid
 * until the handler's response has been queued (the handler returns). */
struct http_request {
    struct arena *arena;
    struct sv method;         /* "GET", "POST", ... */
    struct sv target;         /* raw request target: "/query?q=..." */
    struct sv path;           /* decoded path, without the query string */
    struct sv raw_query;      /* undecoded query string, no '?' */
    struct sv raw_path;       /* undecoded path; routes match on it, as
                                 InfluxDB's router matches URL.EscapedPath() */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    struct http_param *params; /* decoded URL query parameters, in order */
    size_t nparams;
    struct http_param *form;   /* decoded x-www-form-urlencoded body params */
    size_t nform;
    struct buf body;          /* de-chunked and inflated; capped at max_body_bytes */
    int http_major, http_minor;
    bool keep_alive;
    uint64_t conn_id;
    char peer[64];            /* "127.0.0.1:51234" */
    char request_id[37];      /* UUID, also sent as Request-Id */
    struct mono_ns started;   /* when the request's first byte was parsed */
    bool is_on_loop;          /* HTTP_ROUTE_TRY_LOOP: this call is the try on the
                                 loop thread (http_response_defer moves it on) */
};

/* The handler fills this in.  status defaults to 200; body is capped only by
 * memory.  Headers added with http_response_header are copied.  The server
 * owns framing: Content-Length (omitted on 204 and 304), Date and Connection
 * set by a handler are ignored, and HEAD answers carry no body. */
struct http_response {
    int status;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    struct buf body;
    struct arena *arena;      /* the request's arena, for header copies */
    bool no_common_headers;   /* router 404/405: no Request-Id */
    void *stream;             /* server use: set for HTTP_ROUTE_STREAM handlers */
    bool is_deferred;         /* server use: see http_response_defer */
};

/* Finds a header by case-insensitive name; NULL if absent.  Any thread. */
const struct sv *http_request_header(const struct http_request *r, const char *name);
/* Finds a URL query parameter (first occurrence); false if absent. */
bool http_request_param(const struct http_request *r, const char *name, struct sv *out);
/* Finds a parameter in the form body, then in the URL query (InfluxDB's
 * r.FormValue order is body first for POST forms). */
bool http_request_form_value(const struct http_request *r, const char *name, struct sv *out);

/* Adds a response header; value is formatted and copied.  Any thread. */
void http_response_header(struct http_response *resp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets status and an InfluxDB-style JSON error body {"error":"msg"}\n with
 * Content-Type: application/json and X-Influxdb-Error (first 1024 bytes;
 * omitted for 401 and 2xx).  msg is Go-JSON escaped.  A previous body is
 * replaced.  For 401 the caller adds WWW-Authenticate itself.  Any thread. */
void http_response_error(struct http_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Output a streaming handler may have waiting for a slow client before
 * http_response_flush blocks. */
#define HTTP_STREAM_MAX_PENDING_BYTES (1024 * 1024)

/* Sends what a HTTP_ROUTE_WORKER | HTTP_ROUTE_STREAM handler has so far.  The
 * first call sends the status line and headers, with Transfer-Encoding:
 * chunked instead of Content-Length (HTTP/1.0 clients get the bytes
 * unframed and the connection closes after them); status and headers set
 * later are ignored.  Each call sends resp->body as one chunk and empties
 * it.  When the handler returns, what is left in body goes out and the
 * response ends.  Blocks while more than HTTP_STREAM_MAX_PENDING_BYTES wait
 * for a slow client; a client that takes nothing for idle_timeout is cut
 * off.  Returns 0; ERR_CLOSED once the connection is gone (stop producing;
 * nothing more is sent); ERR_INVAL when resp is not a streaming handler's.
 * Worker thread only. */
int http_response_flush(struct http_response *resp);

/* Called by a HTTP_ROUTE_TRY_LOOP handler during its try on the loop thread
 * (req->is_on_loop): "this one is not quick; run me on a worker".  The
 * server then drops what the handler put in resp (status, headers and body;
 * the server's own CORS headers stay) and calls the handler again on the
 * thread pool with is_on_loop false.  The handler must not have caused
 * side effects in its try.  Loop thread only. */
void http_response_defer(struct http_response *resp);

typedef void (*http_handler_cb)(struct http_request *req, struct http_response *resp, void *arg);

enum http_route_flags {
    HTTP_ROUTE_LOOP = 0,    /* handler runs on the loop thread: must be quick */
    HTTP_ROUTE_WORKER = 1,  /* handler runs on the libuv thread pool */
    HTTP_ROUTE_CORS = 2,    /* OPTIONS answers 200 empty (InfluxDB /query, /write) */
    HTTP_ROUTE_STREAM = 4,  /* with WORKER: the handler may http_response_flush */
    HTTP_ROUTE_TRY_LOOP = 8, /* with WORKER: the handler is first called on the
                              * loop thread (req->is_on_loop) and answers there
                              * when it can do so quickly, saving the hand-off
                              * to a pool thread and back; otherwise it calls
                              * http_response_defer and runs on the pool */
};

struct http_server_opts {
    const char *listen[HTTP_MAX_LISTEN]; /* "127.0.0.1:8086", "[::1]:8086" */
    size_t nlisten;
    size_t max_body_bytes;          /* 413 above; also the inflated-gzip cap */
    size_t max_header_bytes;        /* 431 above; default 1 MiB when 0 */
    int64_t read_header_timeout_ns; /* headers must complete within this after
                                       the request's first byte (0 = none) */
    int64_t idle_timeout_ns;        /* keep-alive idle limit; also cuts off a
                                       body that stalls this long (0 = none) */
    const char *version;            /* X-Influxdb-Version value, borrowed */
    struct metrics_registry *metrics; /* borrowed; may be NULL */
    const struct clk *clock;        /* borrowed; monotonic time for timeouts
                                       (NULL: a real clock) */
};

/* Creates a server on loop.  Nothing listens until http_server_start.  *o
 * is copied, including the listen and version strings; metrics and clock
 * must outlive the server.  Returns 0, or ERR_INVAL (too many listeners). */
int http_server_new(uv_loop_t *loop, const struct http_server_opts *o, struct http_server **out,
                    struct err *e);
/* Registers a handler for an exact path.  methods: comma-separated list
 * ("GET,HEAD"); a request with another method gets 405 with Allow (the
 * methods sorted, plus OPTIONS on HTTP_ROUTE_CORS routes).  Returns 0, or
 * ERR_INVAL for a path not starting with '/', a duplicate path or more than
 * 16 methods.  arg is borrowed for the server's lifetime; a WORKER handler
 * gets it on a pool thread, so it must be safe to share.  Call before
 * http_server_start. */
int http_server_route(struct http_server *s, const char *path, const char *methods,
                      unsigned flags, http_handler_cb fn, void *arg);
/* Binds and listens on every address; ERR_IO with e naming the address. */
int http_server_start(struct http_server *s, struct err *e);
/* The port listener i (in opts.listen order) is bound to, e.g. after
 * listening on port 0; -1 if i is out of range or the server is not
 * listening.  Loop thread. */
int http_server_port(const struct http_server *s, size_t i);
/* Stops accepting, closes idle connections, and lets in-flight requests
 * finish; connections close after their current response.  done(arg) is
 * called on the loop once every connection has closed (or at once if none).
 * A second call, or the caller's grace timer, may call http_server_close. */
void http_server_shutdown(struct http_server *s, void (*done)(void *arg), void *arg);
/* Closes everything now (after shutdown's grace ran out). */
void http_server_close(struct http_server *s);
/* Number of open connections and of requests being handled. */
size_t http_server_connections(const struct http_server *s);
size_t http_server_inflight(const struct http_server *s);
/* Frees the server; only after every handle has closed (run the loop until
 * shutdown's done callback). NULL is a no-op. */
void http_server_free(struct http_server *s);

/* Parses a listen address: "127.0.0.1:8086", "localhost:8086", "[::1]:8086"
 * or ":8086" (all IPv4 interfaces) into *ss; *is_v6 tells the family.  Host
 * names other than localhost are refused (resolving would block the loop).
 * ERR_IO with e naming the address.  Any thread. */
int net_parse_listen_addr(const char *a, struct sockaddr_storage *ss, bool *is_v6,
                          struct err *e);

/* Percent-decoding of one query component ('+' as space when plus_is_space).
 * Writes into out (capacity >= n); returns the decoded length.  Invalid %
 * escapes are kept literally, as Go's url.ParseQuery rejects them: returns
 * -1 then. */
long http_url_decode(const char *in, size_t n, char *out, bool plus_is_space);
/* Parses "a=1&b=2" into params allocated from arena; returns the count or
 * ERR_LIMIT past max. */
int http_parse_query(struct arena *a, struct sv q, struct http_param **out, size_t max);

#endif
