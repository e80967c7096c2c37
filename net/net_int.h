// SPDX-License-Identifier: MIT
/*
 * net internals shared by the files of the module (not public).
 *
 * http_frame.c   request framing: http-parser driven, one request at a time,
 *                limits (431/413), chunked and gzip bodies, query/form
 *                decoding.  No sockets, so the fuzz target drives it directly.
 * http_url.c     percent-decoding, query strings, header/param lookup.
 * http_resp.c    response helpers for handlers and serialisation of the
 *                status line and headers.
 * http_server.c  listeners, connections, timers, routing, workers, shutdown.
 */
#ifndef NJ_NET_NET_INT_H
#define NJ_NET_NET_INT_H

#include <http_parser.h>
#include <zlib.h>

#include "net/net.h"

#define HTTP__DEFAULT_MAX_HEADER_BYTES (1024 * 1024)
/* Upper bound on query/form parameters per request (each costs arena memory). */
#define HTTP__MAX_PARAMS 10000

/* Result of http__framer_feed. */
enum http__frame_rc {
    HTTP__FRAME_MORE = 0,  /* all input consumed; the request is not complete yet */
    HTTP__FRAME_DONE = 1,  /* one request is complete; *used may be < n (pipelining) */
    HTTP__FRAME_ERROR = 2, /* answer err_status and close the connection */
};

/*
 * Request framer.  States of one request:
 *
 *   begin() --> [headers] --(on_headers_complete)--> [body] --(on_message_complete)--> DONE
 *                  |                                    |
 *                  +--> ERROR 400 / 431                 +--> ERROR 400 (bad chunk/gzip) / 413
 *
 * The parser is paused at the end of each message, so feed() never consumes
 * a byte of the next pipelined request: the caller keeps the rest and calls
 * begin() + feed() again once the current response is queued.
 * Invariant: header_bytes <= max_header_bytes and req->body.len <=
 * max_body_bytes at every return of feed().
 */
struct http__framer {
    http_parser parser;
    struct http_request *req; /* borrowed between begin() and the next begin() */
    size_t max_header_bytes;
    size_t max_body_bytes;
    size_t header_bytes;      /* request line + header bytes seen so far */
    uint64_t raw_body_bytes;  /* body bytes on the wire, after de-chunking */
    struct buf url;           /* request target, accumulated across reads */
    struct buf field;         /* header name being accumulated */
    struct buf value;         /* header value being accumulated */
    bool in_value;
    bool is_started;          /* saw the first byte of this request */
    bool is_headers_done;
    bool is_done;
    bool expect_continue;     /* Expect: 100-continue on an HTTP/1.1 request */
    bool is_gzip;
    bool gz_active;           /* zs initialised */
    bool gz_member_done;      /* the last gzip member ended (Z_STREAM_END) */
    bool gz_bad_header_short; /* bad header within the first 10 bytes of the current
                               * gzip member (zs.total_in counts them once inflate failed) */
    z_stream zs;
    int err_status;           /* on ERROR: 400, 413 or 431 */
    bool err_is_json;         /* JSON {"error":...} body rather than Go's plain text */
    char err_msg[256];
};

/* The framer functions run on any thread; one framer has one owner (a
 * connection on the loop, or the fuzz target). */

/* Makes http-parser's own header limit (a process global, 80 KiB by default)
 * large enough that ours decides.  Idempotent; any thread before parsing. */
void http__framer_global_init(void);
/* Sets the limits (max_header_bytes 0 = 1 MiB, max_body_bytes 0 = no cap). */
void http__framer_init(struct http__framer *f, size_t max_header_bytes, size_t max_body_bytes);
void http__framer_fini(struct http__framer *f);
/* Starts a new request.  req must be zeroed except req->arena, which must be
 * set; req is filled in by feed() and borrowed until the next begin() or
 * fini().  req->body is initialised here with the body cap. */
void http__framer_begin(struct http__framer *f, struct http_request *req);
/* Feeds bytes; *used gets how many were consumed.  Returns an
 * enum http__frame_rc.  After ERROR the framer must not be fed again until
 * the next begin(). */
int http__framer_feed(struct http__framer *f, const char *p, size_t n, size_t *used);

/* Serialises the status line and headers of resp plus the common headers
 * (X-Influxdb-*, Date, Content-Length except on 1xx/204/304, Connection, and
 * Request-Id/X-Request-Id unless resp->no_common_headers) into out.  The
 * body is not written.  Returns 0 or ERR_NOMEM.  Any thread. */
struct http__head_opts {
    const char *version;   /* X-Influxdb-Version */
    const char *request_id; /* NULL: no Request-Id headers */
    int64_t wall_ns;       /* for Date */
    bool is_head;          /* HEAD request (the caller drops the body) */
    bool is_closing;       /* Connection: close */
    bool is_http10_keep_alive; /* HTTP/1.0 keep-alive: Connection: keep-alive */
    bool is_chunked;       /* Transfer-Encoding: chunked, no Content-Length */
    bool is_unframed;      /* neither (body ends when the connection closes) */
};
int http__write_head(struct buf *out, const struct http_response *resp,
                     const struct http__head_opts *o);
/* Reason phrase for a status ("Not Found"); "" when unknown. */
const char *http__reason(int status);
/* Formats an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into out (cap >= 30). */
void http__format_date(int64_t wall_ns, char *out, size_t cap);
/* Fills resp the way Go's http.Error does: text/plain body "msg\n" and
 * X-Content-Type-Options: nosniff. */
void http__response_plain(struct http_response *resp, int status, const char *msg);
/* Initialises an empty response bound to arena a (status 200). */
void http__response_init(struct http_response *resp, struct arena *a);
void http__response_fini(struct http_response *resp);
/* Finds a response header by case-insensitive name; NULL if absent. */
const struct sv *http__response_header_find(const struct http_response *resp, const char *name);

/* Finds a header value in an array; NULL if absent. */
const struct sv *http__header_find(const struct http_header *h, size_t n, const char *name);
/* ASCII case-insensitive: does list (comma-separated tokens) contain tok? */
bool http__token_list_has(struct sv list, const char *tok);

#endif
