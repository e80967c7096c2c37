// SPDX-License-Identifier: MIT
/*
 * The HTTP/1.1 server: listeners, connections, timers, routing, worker
 * dispatch and shutdown.  Framing lives in http_frame.c.
 *
 * Connection states (conn->state) and the functions behind each transition:
 *
 *            accept (on_connection)
 *                  |
 *                  v
 *   +-------> READING --------- framer DONE (dispatch) ----> HANDLING
 *   |           |   |                                          |
 *   |           |   +-- framer ERROR (answer_frame_error) --+  | handler returns
 *   |           |                                           |  | (finish_request)
 *   |           +-- EOF / timeout / forced (conn_close) --+ |  |
 *   |                                                     | |  |
 *   +------ response queued, keep-alive (finish_request) -|-|--+
 *                                                         | |  | response queued, closing
 *                                                         | v  v
 *                                                         | DRAINING  (writes in flight)
 *                                                         |    | last write done (on_write)
 *                                                         |    v
 *                                                         | LINGER    (FIN sent, input discarded
 *                                                         |    |       until EOF or linger timer)
 *                                                         v    v
 *                                                         CLOSED (conn_close: uv_close both handles;
 *                                                                 freed in on_handle_close)
 *
 * Invariants:
 *  1. At most one request per connection exists at a time (conn->job).  The
 *     next pipelined request is parsed only after the current response has
 *     been handed to uv_write, so responses go out in request order.
 *  2. While a request is HANDLING the connection does not read (uv_read_stop),
 *     and while more than HTTP__MAX_WRITE_QUEUE_BYTES of responses wait to
 *     be sent it does not parse or read either, so one client cannot make us
 *     buffer without bound.  inbuf holds at most one read's worth of bytes.
 *  3. A job (request + response + arena) is owned by the connection while
 *     on the loop and by the worker between uv_queue_work and the after-work
 *     callback (a streaming job shares only pending/is_gone, under mu).  A
 *     connection force-closed meanwhile detaches the job (job->conn = NULL,
 *     is_gone = true) and after_work frees it.
 *  4. A connection's memory is freed only once both of its handles (tcp,
 *     timer) have run their close callbacks (STYLE.md section 4).
 *  5. The shutdown `done` callback runs once no connection, listener or job
 *     is left.
 *
 * The connection's one timer, by state: READING between requests
 * TIMER_IDLE (idle_timeout); READING from a request's first byte
 * TIMER_HEADER (read_header_timeout); READING after its headers TIMER_BODY
 * (idle_timeout without a byte); HANDLING and DRAINING none; LINGER
 * TIMER_LINGER (HTTP__LINGER_NS).  Expiry closes the connection without an
 * answer, as Go's server does.
 *
 * Timeouts are deadlines on the injectable clock's monotonic time; the uv
 * timer only wakes us up, and on_timer re-arms itself when the clock says
 * the deadline has not passed (a fake clock moves only when a test says so).
 *
 * Streamed responses (HTTP_ROUTE_STREAM): the worker frames output into
 * job->pending under job->mu and wakes the loop with the job's uv_async_t;
 * the loop writes it (stream_pump) while the socket's write queue is short,
 * and the worker blocks in http_response_flush while pending is long, so
 * memory stays bounded by the two caps.  The connection stays HANDLING until
 * the handler returns (finish_stream), so pipelining order is kept.
 *
 * Left for later: a 503 + Retry-After back-pressure answer belongs where the
 * headers are complete (conn_process), before any body is read, as a
 * per-route admission callback.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/strparse.h"
#include "common/xalloc.h"
#include "net/net_int.h"

#define HTTP__READ_BUF_BYTES (32 * 1024)
#define HTTP__MAX_WRITE_QUEUE_BYTES (4 * 1024 * 1024)
#define HTTP__LINGER_NS (2 * NS_PER_SEC)
#define HTTP__MAX_METHODS 16
#define HTTP__WARN_BUCKETS 64

struct http_route {
    char *path;
    char *methods[HTTP__MAX_METHODS];
    size_t nmethods;
    char allow[160]; /* "OPTIONS, POST": sorted, for 405 answers */
    unsigned flags;
    http_handler_cb fn;
    void *arg;
    struct metric *duration; /* may be NULL */
};

struct http_listener {
    uv_tcp_t tcp;
    struct http_server *srv; /* NULL when detached (start failed) */
    char addr[96];
};

enum conn_state { CONN_READING, CONN_HANDLING, CONN_DRAINING, CONN_LINGER, CONN_CLOSED };
enum timer_kind { TIMER_NONE, TIMER_IDLE, TIMER_HEADER, TIMER_BODY, TIMER_WRITE, TIMER_LINGER };
/* How a streamed body is framed, decided when its head is queued. */
enum stream_framing { STREAM_CHUNKED, STREAM_UNFRAMED, STREAM_NO_BODY };

struct http_job;

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    struct http_server *srv;
    struct http_conn *prev, *next;
    uint64_t id;
    char peer[64];
    enum conn_state state;
    struct http__framer fr;
    struct buf inbuf;        /* read but not yet parsed */
    struct http_job *job;    /* the request being read or handled */
    int nhandles_open;
    size_t nwrites_pending;
    bool is_reading;
    bool is_write_blocked;   /* too much queued output: not parsing */
    bool is_continue_sent;
    enum timer_kind timer_kind;
    struct mono_ns deadline;
};

struct http_job {
    uv_work_t work;
    struct http_server *srv;
    struct http_conn *conn;  /* NULL once a forced close detached the job */
    const struct http_route *route;
    bool is_queued;          /* on the thread pool */
    uint64_t body_wire_bytes; /* request body bytes as received (for metrics) */
    struct arena arena;
    struct http_request req;
    struct http_response resp;
    /* HTTP_ROUTE_STREAM jobs only (has_stream): the worker queues framed
     * output in pending and wakes the loop through async; the loop takes it
     * (stream_pump) when the socket keeps up.  mu guards pending,
     * is_head_queued, is_gone and framing.  A streaming job is freed in the
     * async handle's close callback. */
    bool has_stream;
    bool is_head_queued;
    bool is_gone;            /* the connection closed: flush says ERR_CLOSED */
    bool is_closing_hint;    /* decided at dispatch: Connection: close */
    bool is_closing_final;   /* decided with the head */
    int head_status;         /* the status that went out */
    enum stream_framing framing;
    uv_async_t async;
    uv_mutex_t mu;
    uv_cond_t cv;
    struct buf pending;
    /* Direct answer (stream jobs whose connection had no output queued at
     * dispatch): when the handler returns without having streamed, the
     * worker sends head and body on the socket itself, under mu, so the
     * client does not wait for the loop to wake up first.  The loop cannot
     * close the fd meanwhile: conn_close takes mu to set is_gone before
     * uv_close.  What the socket did not take waits in direct_head/_body
     * from the offsets for the loop (finish_direct). */
    int fd;                  /* -1: no direct answer */
    bool is_direct_done;
    bool is_direct_failed;   /* the send failed: close */
    bool is_direct_closing;  /* the head said Connection: close */
    char *direct_head, *direct_body;
    size_t direct_head_off, direct_head_n, direct_body_off, direct_body_n;
};

struct write_req {
    uv_write_t req;
    struct http_conn *conn;
    char *head;              /* freed when written (the bytes may start later) */
    char *body;
};

struct http_server {
    uv_loop_t *loop;
    struct http_server_opts opts;
    char *listen[HTTP_MAX_LISTEN];
    char *version;
    struct clk real_clock;   /* used when opts.clock is NULL */
    const struct clk *clock;
    struct http_listener *listeners[HTTP_MAX_LISTEN];
    size_t nlisteners;
    size_t nlisteners_open;
    int ports[HTTP_MAX_LISTEN];
    struct http_route *routes;
    size_t nroutes, routes_cap;
    struct http_conn *conns;
    size_t nconns;
    size_t ninflight;
    uint64_t next_conn_id;
    uint64_t rng;
    bool is_started;
    bool is_shutting_down;
    void (*done)(void *arg);
    void *done_arg;
    struct log_ratelimit warn_rl[HTTP__WARN_BUCKETS];
    struct log_ratelimit accept_rl;
    struct metric_family *m_requests;
    struct metric_family *m_duration;
    struct metric *m_open;
    struct metric *m_body_bytes;
};

#define CONTAINER_OF(ptr, type, field) ((type *)(void *)((char *)(ptr)-offsetof(type, field)))

static void conn_process(struct http_conn *c);
static void conn_close(struct http_conn *c);

/* ---- small helpers ------------------------------------------------------- */

static struct mono_ns now_mono(const struct http_server *s)
{
    return clk_mono(s->clock);
}

static uint64_t next_random(struct http_server *s)
{
    /* splitmix64: request ids need uniqueness, not secrecy. */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void make_request_id(struct http_server *s, char out[37])
{
    uint64_t a = next_random(s), b = next_random(s);
    a = (a & ~0xf000ULL) | 0x4000ULL;                              /* version 4 */
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;       /* RFC 4122 variant */
    snprintf(out, 37, "%08" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff, (uint32_t)a & 0xffff,
             (uint32_t)(b >> 48), (uint64_t)(b & 0xffffffffffffULL));
}

/* Client-caused warnings are rate-limited per client address: the peer's
 * IP (port stripped) picks one of HTTP__WARN_BUCKETS limiters, so one noisy
 * client cannot flood the log and, collisions aside, cannot silence others. */
static bool client_warn_allowed(struct http_conn *c)
{
    const char *end = strrchr(c->peer, ':');
    size_t n = end ? (size_t)(end - c->peer) : strlen(c->peer);
    struct log_ratelimit *rl = &c->srv->warn_rl[hash_bytes(c->peer, n) % HTTP__WARN_BUCKETS];
    return log_ratelimit_allow(rl, now_mono(c->srv).ns, 5, 10 * NS_PER_SEC, NULL);
}

static void maybe_done(struct http_server *s)
{
    if (!s->is_shutting_down || !s->done || s->nconns || s->nlisteners_open || s->ninflight)
        return;
    void (*done)(void *) = s->done;
    s->done = NULL;
    done(s->done_arg);
}

/* ---- timers -------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void timer_arm_at(struct http_conn *c, struct mono_ns deadline)
{
    int64_t left_ns = mono_diff_ns(deadline, now_mono(c->srv));
    uint64_t ms = left_ns <= 0 ? 0 : (uint64_t)((left_ns + NS_PER_MS - 1) / NS_PER_MS);
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* Sets a deadline timeout_ns from now; timeout_ns <= 0 disables it. */
static void timer_set(struct http_conn *c, enum timer_kind kind, int64_t timeout_ns)
{
    if (c->state == CONN_CLOSED)
        return;
    if (timeout_ns <= 0 || kind == TIMER_NONE) {
        c->timer_kind = TIMER_NONE;
        uv_timer_stop(&c->timer);
        return;
    }
    c->timer_kind = kind;
    c->deadline = mono_add_ns(now_mono(c->srv), timeout_ns);
    timer_arm_at(c, c->deadline);
}

static const char *timer_name(enum timer_kind k)
{
    switch (k) {
    case TIMER_IDLE: return "idle";
    case TIMER_HEADER: return "read header";
    case TIMER_BODY: return "read body";
    case TIMER_WRITE: return "write";
    case TIMER_LINGER: return "linger";
    default: return "none";
    }
}

static void on_timer(uv_timer_t *t)
{
    struct http_conn *c = CONTAINER_OF(t, struct http_conn, timer);
    if (c->timer_kind == TIMER_NONE || c->state == CONN_CLOSED)
        return;
    if (mono_diff_ns(c->deadline, now_mono(c->srv)) > 0) {
        timer_arm_at(c, c->deadline);
        return;
    }
    if (c->timer_kind == TIMER_HEADER && client_warn_allowed(c))
        log_warn("net", "msg=\"read header timeout\" conn=%" PRIu64 " peer=%s", c->id, c->peer);
    else
        log_debug("net", "msg=\"%s timeout\" conn=%" PRIu64 " peer=%s", timer_name(c->timer_kind),
                  c->id, c->peer);
    conn_close(c);
}

/* ---- jobs ---------------------------------------------------------------- */

static struct http_job *job_new(struct http_conn *c)
{
    struct http_job *j = xcalloc(1, sizeof *j);
    j->srv = c->srv;
    j->conn = c;
    arena_init(&j->arena, 0, 0);
    j->req.arena = &j->arena;
    j->req.conn_id = c->id;
    snprintf(j->req.peer, sizeof j->req.peer, "%s", c->peer);
    j->req.started = now_mono(c->srv);
    j->fd = -1;
    http__response_init(&j->resp, &j->arena);
    return j;
}

static void job_free_now(struct http_job *j)
{
    free(j->direct_head);
    free(j->direct_body);
    buf_fini(&j->req.body);
    http__response_fini(&j->resp);
    arena_fini(&j->arena);
    free(j);
}

static void on_stream_closed(uv_handle_t *h)
{
    struct http_job *j = h->data;
    uv_mutex_destroy(&j->mu);
    uv_cond_destroy(&j->cv);
    buf_fini(&j->pending);
    job_free_now(j);
}

/* Loop thread.  A streaming job lives until its async handle has closed. */
static void job_free(struct http_job *j)
{
    if (!j)
        return;
    if (j->has_stream) {
        uv_close((uv_handle_t *)&j->async, on_stream_closed);
        return;
    }
    job_free_now(j);
}

/* ---- writing ------------------------------------------------------------- */

static void start_linger(struct http_conn *c);
static void stream_pump(struct http_conn *c, struct http_job *j);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

static void update_reading(struct http_conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    bool want = (c->state == CONN_READING && !c->is_write_blocked) || c->state == CONN_LINGER;
    if (want == c->is_reading)
        return;
    if (want) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            conn_close(c);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    c->is_reading = want;
}

static void on_write(uv_write_t *req, int status)
{
    struct write_req *w = CONTAINER_OF(req, struct write_req, req);
    struct http_conn *c = w->conn;
    free(w->head);
    free(w->body);
    free(w);
    c->nwrites_pending--;
    if (c->state == CONN_CLOSED)
        return;
    if (status < 0) {
        log_debug("net", "msg=\"write failed\" conn=%" PRIu64 " peer=%s err=%s", c->id, c->peer,
                  uv_err_name(status));
        conn_close(c);
        return;
    }
    if (c->state == CONN_DRAINING && c->nwrites_pending == 0) {
        start_linger(c);
        return;
    }
    if (c->state == CONN_HANDLING && c->job && c->job->has_stream) {
        if (c->timer_kind == TIMER_WRITE) /* the client is taking bytes */
            c->deadline = mono_add_ns(now_mono(c->srv), c->srv->opts.idle_timeout_ns);
        stream_pump(c, c->job);
        return;
    }
    if (c->is_write_blocked &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= HTTP__MAX_WRITE_QUEUE_BYTES / 2) {
        c->is_write_blocked = false;
        conn_process(c);
    }
}

/* Queues head[head_off, head_n) and body[body_off, body_n) (body may be
 * NULL) for writing; takes ownership of both allocations. */
static void conn_write_at(struct http_conn *c, char *head, size_t head_off, size_t head_n,
                          char *body, size_t body_off, size_t body_n)
{
    struct write_req *w = xcalloc(1, sizeof *w);
    w->conn = c;
    w->head = head;
    w->body = body;
    if (head_n > UINT32_MAX || body_n > UINT32_MAX) {
        free(head);
        free(body);
        free(w);
        conn_close(c);
        return;
    }
    uv_buf_t bufs[2];
    unsigned nbufs = 0;
    if (head_n > head_off)
        bufs[nbufs++] = uv_buf_init(head + head_off, (unsigned)(head_n - head_off));
    if (body_n > body_off)
        bufs[nbufs++] = uv_buf_init(body + body_off, (unsigned)(body_n - body_off));
    if (nbufs == 0) {
        free(head);
        free(body);
        free(w);
        return;
    }
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, nbufs, on_write);
    if (rc < 0) {
        free(head);
        free(body);
        free(w);
        conn_close(c);
        return;
    }
    c->nwrites_pending++;
}

/* Queues head (and body, may be NULL) for writing; takes ownership of both. */
static void conn_write(struct http_conn *c, char *head, size_t head_n, char *body, size_t body_n)
{
    conn_write_at(c, head, 0, head_n, body, 0, body_n);
}

/* ---- responses ----------------------------------------------------------- */

static void add_cors(const struct http_request *req, struct http_response *resp)
{
    const struct sv *origin = http_request_header(req, "Origin");
    if (!origin)
        return;
    http_response_header(resp, "Access-Control-Allow-Origin", "%.*s", SV_FMT(*origin));
    http_response_header(resp, "Access-Control-Allow-Methods", "DELETE, GET, OPTIONS, POST, PUT");
    http_response_header(resp, "Access-Control-Allow-Headers",
                         "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, "
                         "X-CSRF-Token, X-HTTP-Method-Override");
    http_response_header(resp, "Access-Control-Expose-Headers",
                         "Date, X-InfluxDB-Version, X-InfluxDB-Build");
}

static void record_metrics(struct http_server *s, const struct http_job *j, double dur_s)
{
    const char *route = j->route ? j->route->path : "other";
    if (s->m_requests) {
        char status[16];
        snprintf(status, sizeof status, "%d", j->resp.status);
        metric_inc(metrics_child2(s->m_requests, route, status));
    }
    if (j->route && j->route->duration)
        metric_observe(j->route->duration, dur_s);
    else if (!j->route && s->m_duration)
        metric_observe(metrics_child1(s->m_duration, "other"), dur_s);
    if (s->m_body_bytes)
        metric_add(s->m_body_bytes, (double)j->body_wire_bytes);
}

/* The last bytes of a response are queued: back to READING (keep-alive) or
 * on to DRAINING (closing). */
static void conn_after_response(struct http_conn *c, bool is_closing)
{
    if (c->state == CONN_CLOSED)
        return;
    if (is_closing) {
        c->state = CONN_DRAINING;
        timer_set(c, TIMER_NONE, 0);
        update_reading(c);
        if (c->nwrites_pending == 0)
            start_linger(c);
        return;
    }
    c->state = CONN_READING;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > HTTP__MAX_WRITE_QUEUE_BYTES)
        c->is_write_blocked = true;
}

static void log_request(const struct http_conn *c, const struct http_job *j, double dur_s)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    const struct http_request *req = &j->req;
    char path[256];
    log_quote(path, sizeof path, req->path.p ? req->path.p : "", req->path.n);
    log_debug("net",
              "msg=\"request\" conn=%" PRIu64 " peer=%s method=%.*s path=%s status=%d "
              "dur_ms=%.3f body_bytes=%zu",
              c->id, c->peer, SV_FMT(req->method), path, j->resp.status, dur_s * 1e3,
              req->body.len);
}

/* Hands the finished response of c's current job to uv_write and moves the
 * connection on: back to READING (keep-alive) or to DRAINING (closing). */
static void finish_request(struct http_conn *c, struct http_job *j, bool is_force_close)
{
    struct http_server *s = c->srv;
    struct http_request *req = &j->req;
    struct http_response *resp = &j->resp;
    bool is_closing = is_force_close || !req->keep_alive || s->is_shutting_down;
    bool is_head = sv_eq_cstr(req->method, "HEAD");
    bool has_body = !is_head && resp->status >= 200 && resp->status != 204 && resp->status != 304;
    struct http__head_opts o = {
        .version = s->version,
        .request_id = req->request_id,
        .wall_ns = clk_wall_ns(s->clock),
        .is_head = is_head,
        .is_closing = is_closing,
        .is_http10_keep_alive = !is_closing && req->http_major == 1 && req->http_minor == 0,
    };
    struct buf head;
    buf_init(&head, 0);
    int rc = http__write_head(&head, resp, &o);
    double dur_s = (double)mono_diff_ns(now_mono(s), req->started) / 1e9;
    record_metrics(s, j, dur_s);
    log_request(c, j, dur_s);
    size_t head_n = 0, body_n = 0;
    char *body = NULL;
    if (has_body && resp->body.len)
        body = buf_detach(&resp->body, &body_n);
    char *hp = buf_detach(&head, &head_n);
    c->job = NULL;
    job_free(j);
    if (rc || !hp) {
        free(hp);
        free(body);
        conn_close(c);
        return;
    }
    conn_write(c, hp, head_n, body, body_n);
    conn_after_response(c, is_closing);
}

/* ---- streamed responses (HTTP_ROUTE_STREAM) ------------------------------ */

/* Queues the status line and headers; mu held, worker thread. */
static int stream_queue_head(struct http_job *j)
{
    const struct http_request *req = &j->req;
    const struct http_response *resp = &j->resp;
    bool is_head = sv_eq_cstr(req->method, "HEAD");
    bool is_body_allowed =
        !is_head && resp->status >= 200 && resp->status != 204 && resp->status != 304;
    bool is_http11 = req->http_major > 1 || (req->http_major == 1 && req->http_minor >= 1);
    j->framing = !is_body_allowed ? STREAM_NO_BODY : is_http11 ? STREAM_CHUNKED : STREAM_UNFRAMED;
    /* HTTP/1.0 has no chunked encoding: the close ends the body. */
    j->is_closing_final = j->is_closing_hint || !is_http11;
    j->head_status = resp->status;
    struct http__head_opts o = {
        .version = j->srv->version,
        .request_id = req->request_id,
        .wall_ns = clk_wall_ns(j->srv->clock),
        .is_head = is_head,
        .is_closing = j->is_closing_final,
        .is_chunked = j->framing == STREAM_CHUNKED,
        .is_unframed = j->framing != STREAM_CHUNKED,
    };
    int rc = http__write_head(&j->pending, resp, &o);
    if (rc == 0)
        j->is_head_queued = true;
    return rc;
}

/* Moves resp->body into pending as one chunk; mu held. */
static int stream_queue_body(struct http_job *j)
{
    struct buf *b = &j->resp.body;
    int rc = 0;
    if (b->len && j->framing == STREAM_CHUNKED) {
        rc = buf_appendf(&j->pending, "%zx\r\n", b->len);
        if (!rc)
            rc = buf_append(&j->pending, b->p, b->len);
        if (!rc)
            rc = buf_append_str(&j->pending, "\r\n");
    } else if (b->len && j->framing == STREAM_UNFRAMED) {
        rc = buf_append(&j->pending, b->p, b->len);
    }
    buf_reset(b);
    return rc;
}

int http_response_flush(struct http_response *resp)
{
    struct http_job *j = resp->stream;
    if (!j)
        return ERR_INVAL;
    uv_mutex_lock(&j->mu);
    while (!j->is_gone && j->pending.len > HTTP_STREAM_MAX_PENDING_BYTES)
        uv_cond_wait(&j->cv, &j->mu);
    int rc = j->is_gone ? ERR_CLOSED : 0;
    if (!rc && !j->is_head_queued)
        rc = stream_queue_head(j);
    if (!rc)
        rc = stream_queue_body(j);
    uv_mutex_unlock(&j->mu);
    /* The async handle stays open until after the handler has returned. */
    if (rc != ERR_CLOSED)
        uv_async_send(&j->async);
    return rc;
}

/* Loop thread: writes what the worker queued, unless the client is already
 * behind; then it gets idle_timeout to make progress (on_write pushes the
 * deadline) before it is cut off, which also unblocks the worker. */
static void stream_pump(struct http_conn *c, struct http_job *j)
{
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > HTTP__MAX_WRITE_QUEUE_BYTES) {
        if (c->timer_kind != TIMER_WRITE)
            timer_set(c, TIMER_WRITE, c->srv->opts.idle_timeout_ns);
        return;
    }
    if (c->timer_kind == TIMER_WRITE)
        timer_set(c, TIMER_NONE, 0);
    size_t n = 0;
    uv_mutex_lock(&j->mu);
    char *p = j->pending.len ? buf_detach(&j->pending, &n) : NULL;
    uv_cond_broadcast(&j->cv);
    uv_mutex_unlock(&j->mu);
    if (p)
        conn_write(c, p, n, NULL, 0);
}

static void on_stream_async(uv_async_t *a)
{
    struct http_job *j = a->data;
    struct http_conn *c = j->conn;
    if (c && c->state == CONN_HANDLING && c->job == j)
        stream_pump(c, j);
}

/* Loop thread, before uv_queue_work.  Without it the handler's flush says
 * ERR_INVAL and the response is buffered as usual. */
static void stream_init(struct http_conn *c, struct http_job *j)
{
    if (uv_async_init(c->srv->loop, &j->async, on_stream_async) != 0)
        return;
    j->async.data = j;
    uv_mutex_init(&j->mu);
    uv_cond_init(&j->cv);
    buf_init(&j->pending, 0);
    j->is_closing_hint = !j->req.keep_alive || c->srv->is_shutting_down;
    j->has_stream = true;
    j->resp.stream = j;
}

/* The handler of a streamed response returned: the rest of the body and
 * the end of the chunked encoding go out. */
static void finish_stream(struct http_conn *c, struct http_job *j)
{
    struct http_server *s = c->srv;
    uv_mutex_lock(&j->mu);
    int rc = stream_queue_body(j);
    if (!rc && j->framing == STREAM_CHUNKED)
        rc = buf_append_str(&j->pending, "0\r\n\r\n");
    size_t n = 0;
    char *p = j->pending.len ? buf_detach(&j->pending, &n) : NULL;
    uv_mutex_unlock(&j->mu);
    bool is_closing = j->is_closing_final || s->is_shutting_down;
    j->resp.status = j->head_status;
    double dur_s = (double)mono_diff_ns(now_mono(s), j->req.started) / 1e9;
    record_metrics(s, j, dur_s);
    log_request(c, j, dur_s);
    c->job = NULL;
    job_free(j);
    if (rc) {
        free(p);
        conn_close(c);
        return;
    }
    if (p)
        conn_write(c, p, n, NULL, 0);
    if (c->state != CONN_CLOSED)
        timer_set(c, TIMER_NONE, 0);
    conn_after_response(c, is_closing);
}

static const struct http_route *find_route(const struct http_server *s, struct sv path)
{
    for (size_t i = 0; i < s->nroutes; i++)
        if (sv_eq_cstr(path, s->routes[i].path))
            return &s->routes[i];
    return NULL;
}

static bool route_has_method(const struct http_route *r, struct sv method)
{
    for (size_t i = 0; i < r->nmethods; i++)
        if (sv_eq_cstr(method, r->methods[i]))
            return true;
    return false;
}

/* Worker thread, the handler returned: sends the answer on j->fd (see
 * struct http_job) unless it was streamed or the connection is gone. */
static void direct_answer(struct http_job *j)
{
    uv_mutex_lock(&j->mu);
    if (j->is_gone || j->is_head_queued) {
        uv_mutex_unlock(&j->mu);
        return;
    }
    const struct http_request *req = &j->req;
    struct http_response *resp = &j->resp;
    bool is_head = sv_eq_cstr(req->method, "HEAD");
    bool has_body = !is_head && resp->status >= 200 && resp->status != 204 && resp->status != 304;
    /* A shutdown that starts meanwhile closes after this answer (finish_direct). */
    bool is_closing = j->is_closing_hint;
    struct http__head_opts o = {
        .version = j->srv->version,
        .request_id = req->request_id,
        .wall_ns = clk_wall_ns(j->srv->clock),
        .is_head = is_head,
        .is_closing = is_closing,
        .is_http10_keep_alive = !is_closing && req->http_major == 1 && req->http_minor == 0,
    };
    struct buf head;
    buf_init(&head, 0);
    if (http__write_head(&head, resp, &o) != 0 || !head.p) {
        buf_fini(&head); /* the loop answers the usual way */
        uv_mutex_unlock(&j->mu);
        return;
    }
    size_t head_n = 0, body_n = 0;
    char *hp = buf_detach(&head, &head_n);
    char *body = has_body && resp->body.len ? buf_detach(&resp->body, &body_n) : NULL;
    size_t head_off = 0, body_off = 0;
    while (head_off < head_n || body_off < body_n) {
        struct iovec iov[2];
        int n = 0;
        if (head_off < head_n)
            iov[n++] = (struct iovec){ hp + head_off, head_n - head_off };
        if (body_off < body_n)
            iov[n++] = (struct iovec){ body + body_off, body_n - body_off };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t sent = sendmsg(j->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0) {
            j->is_direct_failed = errno != EAGAIN && errno != EWOULDBLOCK;
            break;
        }
        size_t k = (size_t)sent, h = head_n - head_off < k ? head_n - head_off : k;
        head_off += h;
        body_off += k - h;
    }
    j->direct_head = hp;
    j->direct_head_off = head_off;
    j->direct_head_n = head_n;
    j->direct_body = body;
    j->direct_body_off = body_off;
    j->direct_body_n = body_n;
    j->is_direct_closing = is_closing;
    j->head_status = resp->status;
    j->is_direct_done = true;
    uv_mutex_unlock(&j->mu);
}

static void work_cb(uv_work_t *w)
{
    struct http_job *j = CONTAINER_OF(w, struct http_job, work);
    j->route->fn(&j->req, &j->resp, j->route->arg);
    if (j->fd >= 0)
        direct_answer(j);
}

/* Loop thread: the worker sent the answer (or its start); queue the rest
 * and move the connection on, as finish_request does. */
static void finish_direct(struct http_conn *c, struct http_job *j)
{
    struct http_server *s = c->srv;
    double dur_s = (double)mono_diff_ns(now_mono(s), j->req.started) / 1e9;
    record_metrics(s, j, dur_s);
    log_request(c, j, dur_s);
    bool is_closing = j->is_direct_closing || s->is_shutting_down;
    bool is_failed = j->is_direct_failed;
    char *hp = j->direct_head, *body = j->direct_body;
    size_t head_off = j->direct_head_off, head_n = j->direct_head_n;
    size_t body_off = j->direct_body_off, body_n = j->direct_body_n;
    j->direct_head = j->direct_body = NULL;
    c->job = NULL;
    job_free(j);
    if (is_failed) {
        free(hp);
        free(body);
        conn_close(c);
        return;
    }
    conn_write_at(c, hp, head_off, head_n, body, body_off, body_n);
    conn_after_response(c, is_closing);
}

static void after_work_cb(uv_work_t *w, int status)
{
    struct http_job *j = CONTAINER_OF(w, struct http_job, work);
    struct http_server *s = j->srv;
    struct http_conn *c = j->conn;
    j->is_queued = false;
    s->ninflight--;
    if (!c) {
        job_free(j);
        maybe_done(s);
        return;
    }
    if (status < 0)
        http_response_error(&j->resp, 503, "request cancelled");
    bool is_streamed = false, is_direct = false;
    if (j->has_stream) {
        uv_mutex_lock(&j->mu);
        is_streamed = j->is_head_queued;
        is_direct = j->is_direct_done;
        uv_mutex_unlock(&j->mu);
    }
    if (is_direct)
        finish_direct(c, j);
    else if (is_streamed)
        finish_stream(c, j);
    else
        finish_request(c, j, false);
    conn_process(c);
}

/* HTTP_ROUTE_TRY_LOOP: calls the handler here on the loop thread.  True
 * when it answered (the response is queued); false when it deferred, with
 * the response as it was before the call, for the thread pool. */
static bool try_on_loop(struct http_conn *c, struct http_job *j)
{
    struct http_request *req = &j->req;
    struct http_response *resp = &j->resp;
    size_t nheaders = resp->nheaders;
    req->is_on_loop = true;
    j->route->fn(req, resp, j->route->arg);
    req->is_on_loop = false;
    if (!resp->is_deferred) {
        c->srv->ninflight--;
        finish_request(c, j, false);
        return true;
    }
    resp->is_deferred = false;
    resp->status = 200;
    resp->nheaders = nheaders;
    resp->no_common_headers = false;
    buf_reset(&resp->body);
    return false;
}

/* Routes the complete request in c->job and runs (or queues) its handler. */
static void dispatch(struct http_conn *c)
{
    struct http_server *s = c->srv;
    struct http_job *j = c->job;
    struct http_request *req = &j->req;
    struct http_response *resp = &j->resp;
    j->body_wire_bytes = c->fr.raw_body_bytes;
    const struct http_route *r = find_route(s, req->raw_path);
    j->route = r;
    if (!r) {
        http__response_plain(resp, 404, "404 page not found");
        resp->no_common_headers = true;
        finish_request(c, j, false);
        return;
    }
    if (!route_has_method(r, req->method)) {
        if ((r->flags & HTTP_ROUTE_CORS) && sv_eq_cstr(req->method, "OPTIONS")) {
            add_cors(req, resp);
            resp->status = 200;
        } else {
            http__response_plain(resp, 405, "Method Not Allowed");
            http_response_header(resp, "Allow", "%s", r->allow);
            resp->no_common_headers = true;
        }
        finish_request(c, j, false);
        return;
    }
    add_cors(req, resp);
    s->ninflight++;
    if ((r->flags & HTTP_ROUTE_WORKER) && (r->flags & HTTP_ROUTE_TRY_LOOP) && try_on_loop(c, j))
        return;
    if (r->flags & HTTP_ROUTE_WORKER) {
        c->state = CONN_HANDLING;
        timer_set(c, TIMER_NONE, 0);
        update_reading(c);
        if (r->flags & HTTP_ROUTE_STREAM)
            stream_init(c, j);
        uv_os_fd_t fd;
        if (j->has_stream && c->nwrites_pending == 0 &&
            uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0 &&
            uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            j->fd = fd;
        j->is_queued = true;
        if (uv_queue_work(s->loop, &j->work, work_cb, after_work_cb) == 0)
            return;
        j->is_queued = false;
        s->ninflight--;
        http_response_error(resp, 500, "cannot queue request");
        finish_request(c, j, false);
        return;
    }
    r->fn(req, resp, r->arg);
    s->ninflight--;
    finish_request(c, j, false);
}

/* Answers the framer's error (400/413/431) and closes after the response. */
static void answer_frame_error(struct http_conn *c)
{
    struct http_server *s = c->srv;
    struct http__framer *f = &c->fr;
    struct http_job *j = c->job;
    struct http_request *req = &j->req;
    struct http_response *resp = &j->resp;
    j->body_wire_bytes = f->raw_body_bytes;
    if (f->is_headers_done)
        j->route = find_route(s, req->raw_path);
    if (f->err_is_json) {
        http_response_error(resp, f->err_status, "%s", f->err_msg);
    } else {
        resp->status = f->err_status;
        if (buf_append_str(&resp->body, f->err_msg))
            buf_reset(&resp->body);
        http_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    }
    if (j->route)
        add_cors(req, resp);
    else
        resp->no_common_headers = true;
    if (client_warn_allowed(c))
        log_warn("net", "msg=\"bad request\" conn=%" PRIu64 " peer=%s status=%d err=\"%s\"", c->id,
                 c->peer, f->err_status, f->err_msg);
    finish_request(c, j, true);
}

static void start_request(struct http_conn *c)
{
    struct http_server *s = c->srv;
    c->job = job_new(c);
    make_request_id(s, c->job->req.request_id);
    http__framer_begin(&c->fr, &c->job->req);
    c->is_continue_sent = false;
    timer_set(c, TIMER_HEADER, s->opts.read_header_timeout_ns);
}

/* Parses buffered bytes while the connection may take a request. */
static void conn_process(struct http_conn *c)
{
    struct http_server *s = c->srv;
    while (c->state == CONN_READING && !c->is_write_blocked && c->inbuf.len > 0) {
        if (!c->job)
            start_request(c);
        size_t used = 0;
        int rc = http__framer_feed(&c->fr, c->inbuf.p, c->inbuf.len, &used);
        buf_consume(&c->inbuf, used);
        if (rc == HTTP__FRAME_ERROR) {
            answer_frame_error(c);
            break;
        }
        /* Headers complete: from now on only a stalled body is cut off
         * (TIMER_BODY, pushed back by every read in on_read). */
        if (c->fr.is_headers_done && c->timer_kind != TIMER_BODY)
            timer_set(c, TIMER_BODY, s->opts.idle_timeout_ns);
        if (rc == HTTP__FRAME_MORE) {
            if (c->fr.expect_continue && c->fr.is_headers_done && !c->is_continue_sent) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                c->is_continue_sent = true;
                conn_write(c, xstrdup(cont), sizeof cont - 1, NULL, 0);
            }
            break;
        }
        dispatch(c);
    }
    if (c->state == CONN_READING && !c->job && c->inbuf.len == 0) {
        buf_fini(&c->inbuf);
        if (c->timer_kind != TIMER_IDLE)
            timer_set(c, TIMER_IDLE, s->opts.idle_timeout_ns);
    }
    update_reading(c);
}

/* ---- reading and closing ------------------------------------------------- */

/* Reads land directly in inbuf's spare room.  An idle connection holds no
 * buffer (conn_process frees it), so thousands of idle keep-alive clients
 * cost little. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct http_conn *c = h->data;
    if (buf_reserve(&c->inbuf, HTTP__READ_BUF_BYTES) != 0) {
        *b = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS: we close */
        return;
    }
    *b = uv_buf_init(c->inbuf.p + c->inbuf.len, (unsigned)(c->inbuf.cap - c->inbuf.len - 1));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct http_conn *c = st->data;
    if (nread == 0 || c->state == CONN_CLOSED)
        return;
    if (c->state == CONN_LINGER) {
        if (nread < 0)
            conn_close(c);
        return; /* discarded: the client is still sending what we refused */
    }
    if (nread < 0) {
        /* No further request can arrive.  Let queued responses go out first. */
        if (c->state == CONN_READING && !c->job && c->nwrites_pending > 0) {
            c->state = CONN_DRAINING;
            timer_set(c, TIMER_NONE, 0);
            update_reading(c);
        } else {
            conn_close(c);
        }
        return;
    }
    if (c->state != CONN_READING)
        return;
    /* on_alloc handed out inbuf's spare room; the bytes are already there. */
    c->inbuf.len += (size_t)nread;
    c->inbuf.p[c->inbuf.len] = '\0';
    if (c->timer_kind == TIMER_BODY)
        c->deadline = mono_add_ns(now_mono(c->srv), c->srv->opts.idle_timeout_ns);
    conn_process(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct http_conn *c = CONTAINER_OF(req, struct http_conn, shutdown_req);
    if (status < 0 && c->state != CONN_CLOSED)
        conn_close(c);
}

/* Sends FIN and reads (discarding) until the client closes, so unread
 * request bytes do not turn our close into a RST that destroys the
 * response before the client reads it. */
static void start_linger(struct http_conn *c)
{
    c->state = CONN_LINGER;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    timer_set(c, TIMER_LINGER, HTTP__LINGER_NS);
    update_reading(c);
}

static void on_handle_close(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    if (--c->nhandles_open > 0)
        return;
    struct http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    if (s->m_open)
        metric_add(s->m_open, -1);
    http__framer_fini(&c->fr);
    buf_fini(&c->inbuf);
    free(c);
    maybe_done(s);
}

static void conn_close(struct http_conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_CLOSED;
    c->timer_kind = TIMER_NONE;
    if (c->job) {
        struct http_job *j = c->job;
        if (j->is_queued) {
            if (j->has_stream) {
                /* Wakes a flush blocked on a full queue: ERR_CLOSED. */
                uv_mutex_lock(&j->mu);
                j->is_gone = true;
                uv_cond_broadcast(&j->cv);
                uv_mutex_unlock(&j->mu);
            }
            j->conn = NULL; /* after_work_cb frees it */
        } else {
            job_free(j);
        }
        c->job = NULL;
    }
    uv_close((uv_handle_t *)&c->tcp, on_handle_close);
    uv_close((uv_handle_t *)&c->timer, on_handle_close);
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[64] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%d", ip, port);
    } else {
        snprintf(out, cap, "unknown");
    }
}

/* A new connection's first request is usually in the socket already when
 * it is accepted: read it at once instead of after another trip through
 * epoll (uv_read_start only registers the fd for the next poll).  Only
 * bytes are taken here; EOF and errors are left for libuv's own read. */
static void read_now(struct http_conn *c)
{
    uv_os_fd_t fd;
    if (c->state != CONN_READING || !c->is_reading || uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
        return;
    uv_buf_t b;
    on_alloc((uv_handle_t *)&c->tcp, HTTP__READ_BUF_BYTES, &b);
    if (!b.base || b.len == 0)
        return;
    ssize_t n;
    do
        n = recv(fd, b.base, b.len, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        on_read((uv_stream_t *)&c->tcp, n, &b);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct http_listener *l = server->data;
    struct http_server *s = l->srv;
    if (!s)
        return;
    if (status < 0) {
        /* EMFILE and friends repeat for every pending connection: rate-limit. */
        uint32_t dropped = 0;
        if (log_ratelimit_allow(&s->accept_rl, now_mono(s).ns, 1, 10 * NS_PER_SEC, &dropped))
            log_warn("net", "msg=\"accept failed\" listen=%s err=%s suppressed=%" PRIu32, l->addr,
                     uv_err_name(status), dropped);
        return;
    }
    struct http_conn *c = xcalloc(1, sizeof *c);
    c->srv = s;
    c->id = ++s->next_conn_id;
    c->state = CONN_READING;
    http__framer_init(&c->fr, s->opts.max_header_bytes, s->opts.max_body_bytes);
    buf_init(&c->inbuf, 4 * HTTP__READ_BUF_BYTES);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->nhandles_open = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (s->m_open)
        metric_add(s->m_open, 1);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        format_peer(&ss, c->peer, sizeof c->peer);
    else
        snprintf(c->peer, sizeof c->peer, "unknown");
    log_debug("net", "msg=\"connection opened\" conn=%" PRIu64 " peer=%s", c->id, c->peer);
    timer_set(c, TIMER_IDLE, s->opts.idle_timeout_ns);
    update_reading(c);
    read_now(c);
}

/* ---- listeners ----------------------------------------------------------- */

static void on_listener_close(uv_handle_t *h)
{
    struct http_listener *l = h->data;
    struct http_server *s = l->srv;
    free(l);
    if (s) {
        s->nlisteners_open--;
        maybe_done(s);
    }
}

static void close_listeners(struct http_server *s)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        uv_close((uv_handle_t *)&s->listeners[i]->tcp, on_listener_close);
        s->listeners[i] = NULL;
        s->ports[i] = -1;
    }
    s->nlisteners = 0;
}

int net_parse_listen_addr(const char *a, struct sockaddr_storage *ss, bool *is_v6,
                          struct err *e)
{
    struct sv s = sv_cstr(a);
    char host[64];
    struct sv port;
    *is_v6 = false;
    if (s.n && s.p[0] == '[') {
        const char *close = memchr(s.p, ']', s.n);
        if (!close || (size_t)(close - s.p) + 1 >= s.n || close[1] != ':')
            return err_set(e, ERR_IO, "listen %s: bad address (want [ipv6]:port)", a);
        size_t hn = (size_t)(close - s.p) - 1;
        if (hn >= sizeof host)
            return err_set(e, ERR_IO, "listen %s: bad address", a);
        memcpy(host, s.p + 1, hn);
        host[hn] = '\0';
        port = sv_make(close + 2, s.n - (size_t)(close + 2 - s.p));
        *is_v6 = true;
    } else {
        const char *colon = s.n ? memrchr(s.p, ':', s.n) : NULL;
        if (!colon)
            return err_set(e, ERR_IO, "listen %s: bad address (want host:port)", a);
        size_t hn = (size_t)(colon - s.p);
        if (hn >= sizeof host)
            return err_set(e, ERR_IO, "listen %s: bad address", a);
        memcpy(host, s.p, hn);
        host[hn] = '\0';
        if (hn == 0)
            snprintf(host, sizeof host, "0.0.0.0");
        else if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        port = sv_make(colon + 1, s.n - hn - 1);
    }
    uint64_t pn;
    char pbuf[16];
    if (port.n == 0 || port.n >= sizeof pbuf)
        return err_set(e, ERR_IO, "listen %s: bad port", a);
    memcpy(pbuf, port.p, port.n);
    pbuf[port.n] = '\0';
    if (strp_u64(port, &pn) || pn > 65535)
        return err_set(e, ERR_IO, "listen %s: bad port \"%s\"", a, pbuf);
    int rc = *is_v6 ? uv_ip6_addr(host, (int)pn, (struct sockaddr_in6 *)ss)
                    : uv_ip4_addr(host, (int)pn, (struct sockaddr_in *)ss);
    if (rc)
        return err_set(e, ERR_IO, "listen %s: not an IP address: %s", a, host);
    return 0;
}

static void drop_listeners_after_failure(struct http_server *s)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        /* Detached: the close callback frees the listener without touching
         * the server, so http_server_free may run before the loop does. */
        s->listeners[i]->srv = NULL;
        s->nlisteners_open--;
    }
    close_listeners(s);
}

/* ---- public API ---------------------------------------------------------- */

int http_server_new(uv_loop_t *loop, const struct http_server_opts *o, struct http_server **out,
                    struct err *e)
{
    *out = NULL;
    if (o->nlisten > HTTP_MAX_LISTEN)
        return err_set(e, ERR_INVAL, "http: %zu listen addresses, at most %d", o->nlisten,
                       HTTP_MAX_LISTEN);
    http__framer_global_init();
    struct http_server *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->opts = *o;
    for (size_t i = 0; i < o->nlisten; i++) {
        s->listen[i] = xstrdup(o->listen[i] ? o->listen[i] : "");
        s->opts.listen[i] = s->listen[i];
    }
    s->version = xstrdup(o->version ? o->version : "");
    s->opts.version = s->version;
    if (!s->opts.max_header_bytes)
        s->opts.max_header_bytes = HTTP__DEFAULT_MAX_HEADER_BYTES;
    if (o->clock) {
        s->clock = o->clock;
    } else {
        clk_init_real(&s->real_clock);
        s->clock = &s->real_clock;
    }
    for (size_t i = 0; i < HTTP_MAX_LISTEN; i++)
        s->ports[i] = -1;
    if (getrandom(&s->rng, sizeof s->rng, 0) != (ssize_t)sizeof s->rng)
        s->rng = (uint64_t)clk_wall_ns(s->clock) ^ (uint64_t)(uintptr_t)s;
    if (o->metrics) {
        s->m_requests = metrics_family(o->metrics, METRIC_COUNTER, "nightjar_http_requests_total",
                                       "HTTP requests answered, by route and status code.",
                                       "route,status", NULL, 0);
        s->m_duration = metrics_family(
            o->metrics, METRIC_HISTOGRAM, "nightjar_http_request_duration_seconds",
            "Time from the first byte of a request until its response is queued.", "route", NULL,
            0);
        s->m_open = metrics_gauge(o->metrics, "nightjar_http_open_connections",
                                  "Open HTTP client connections.");
        s->m_body_bytes = metrics_counter(o->metrics, "nightjar_http_request_body_bytes_total",
                                          "Request body bytes received, before gzip inflation.");
    }
    *out = s;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int http_server_route(struct http_server *s, const char *path, const char *methods,
                      unsigned flags, http_handler_cb fn, void *arg)
{
    if (!path || path[0] != '/' || !fn || find_route(s, sv_cstr(path)))
        return ERR_INVAL;
    if (s->nroutes == s->routes_cap) {
        s->routes_cap = s->routes_cap ? 2 * s->routes_cap : 8;
        s->routes = xrealloc(s->routes, s->routes_cap * sizeof *s->routes);
    }
    struct http_route *r = &s->routes[s->nroutes];
    memset(r, 0, sizeof *r);
    struct sv rest = sv_cstr(methods ? methods : "");
    while (rest.p && rest.n) {
        struct sv m;
        rest = sv_cut(rest, ',', &m);
        m = sv_trim(m);
        if (m.n == 0)
            continue;
        if (r->nmethods == HTTP__MAX_METHODS) {
            for (size_t i = 0; i < r->nmethods; i++)
                free(r->methods[i]);
            return ERR_INVAL;
        }
        char *dup = sv_dup(m);
        for (char *q = dup; *q; q++)
            if (*q >= 'a' && *q <= 'z')
                *q = (char)(*q - 'a' + 'A');
        r->methods[r->nmethods++] = dup;
    }
    /* Allow lists what the route answers, sorted, as Go's pat router does. */
    const char *allow[HTTP__MAX_METHODS + 1];
    size_t na = 0;
    bool has_options = false;
    for (size_t i = 0; i < r->nmethods; i++) {
        allow[na++] = r->methods[i];
        has_options |= strcmp(r->methods[i], "OPTIONS") == 0;
    }
    if ((flags & HTTP_ROUTE_CORS) && !has_options)
        allow[na++] = "OPTIONS";
    qsort(allow, na, sizeof allow[0], cmp_str);
    size_t off = 0;
    for (size_t i = 0; i < na && off < sizeof r->allow; i++) {
        int n = snprintf(r->allow + off, sizeof r->allow - off, "%s%s", i ? ", " : "", allow[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    r->path = xstrdup(path);
    r->flags = flags;
    r->fn = fn;
    r->arg = arg;
    if (s->m_duration)
        r->duration = metrics_child1(s->m_duration, r->path);
    s->nroutes++;
    return 0;
}

int http_server_start(struct http_server *s, struct err *e)
{
    if (s->is_started || s->is_shutting_down)
        return err_set(e, ERR_INVAL, "http: server already started");
    for (size_t i = 0; i < s->opts.nlisten; i++) {
        const char *a = s->listen[i];
        struct http_listener *l = xcalloc(1, sizeof *l);
        l->srv = s;
        snprintf(l->addr, sizeof l->addr, "%s", a);
        uv_tcp_init(s->loop, &l->tcp);
        l->tcp.data = l;
        s->listeners[s->nlisteners++] = l;
        s->nlisteners_open++;
        struct sockaddr_storage ss;
        bool is_v6;
        int rc = net_parse_listen_addr(a, &ss, &is_v6, e);
        if (rc) {
            drop_listeners_after_failure(s);
            return rc;
        }
        rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&ss, is_v6 ? UV_TCP_IPV6ONLY : 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&l->tcp, 511, on_connection);
        if (rc) {
            err_set(e, ERR_IO, "listen %s: %s", a, uv_strerror(rc));
            drop_listeners_after_failure(s);
            return ERR_IO;
        }
        struct sockaddr_storage bound;
        int len = sizeof bound;
        if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len) == 0)
            s->ports[s->nlisteners - 1] = ntohs(bound.ss_family == AF_INET6
                                                    ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
        /* The daemon logs the "listening" line; this one is for debugging. */
        log_debug("net", "msg=\"listener bound\" addr=%s port=%d", a, s->ports[s->nlisteners - 1]);
    }
    s->is_started = true;
    return 0;
}

int http_server_port(const struct http_server *s, size_t i)
{
    if (i >= HTTP_MAX_LISTEN || i >= s->nlisteners)
        return -1;
    return s->ports[i];
}

void http_server_shutdown(struct http_server *s, void (*done)(void *arg), void *arg)
{
    s->done = done;
    s->done_arg = arg;
    s->is_shutting_down = true;
    close_listeners(s);
    struct http_conn *next;
    for (struct http_conn *c = s->conns; c; c = next) {
        next = c->next;
        /* Idle keep-alive connections go now; the others after their
         * current response (finish_request sees is_shutting_down). */
        if (c->state != CONN_READING || c->job || c->inbuf.len > 0)
            continue;
        if (c->nwrites_pending > 0) {
            /* Its last response is still being sent: close after it. */
            c->state = CONN_DRAINING;
            timer_set(c, TIMER_NONE, 0);
            update_reading(c);
        } else {
            conn_close(c);
        }
    }
    maybe_done(s);
}

void http_server_close(struct http_server *s)
{
    s->is_shutting_down = true;
    close_listeners(s);
    struct http_conn *next;
    for (struct http_conn *c = s->conns; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    maybe_done(s);
}

size_t http_server_connections(const struct http_server *s)
{
    return s->nconns;
}

size_t http_server_inflight(const struct http_server *s)
{
    return s->ninflight;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nroutes; i++) {
        struct http_route *r = &s->routes[i];
        free(r->path);
        for (size_t k = 0; k < r->nmethods; k++)
            free(r->methods[k]);
    }
    free(s->routes);
    for (size_t i = 0; i < s->opts.nlisten; i++)
        free(s->listen[i]);
    free(s->version);
    free(s);
}
