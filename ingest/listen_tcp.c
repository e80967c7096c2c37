// SPDX-License-Identifier: MIT
/*
 * The TCP line-protocol listener (influx-compat.md section 3.2; contract in
 * listen.h).
 *
 * Wire format: a byte stream of lines, each ended by "\n"; a "\r" just
 * before the "\n" is dropped; no framing and no response.  The last line may
 * lack its "\n" when the peer closes (EOF).  A "\n" inside a quoted string
 * field ends the line here, as in Telegraf's socket_listener; ing_write()
 * would keep such a newline only when both halves happen to land in one
 * batch, so senders must not rely on it.
 *
 * Per connection, bytes go through three places:
 *
 *   read buffer  one per listener (l->rbuf): every read is consumed in full
 *                by on_read before the loop reads again, so sharing it is safe
 *   c->line      the unfinished last line, at most max_line_bytes + 1 (the
 *                "\r"); past that the line is dropped and c->is_discarding
 *                skips input up to the next "\n"
 *   c->batch     complete lines, "\n"-terminated, "\r" stripped; becomes the
 *                body of one ing_write() when it is due
 *
 * A batch is due (c->is_due) when it reaches batch_bytes or batch_lines, when
 * its timer (started by its first line) fires, at EOF and at stop.  flush()
 * then writes it unless the connection's previous batch is still in flight
 * (one at a time, so a connection's points keep their order) or the engine's
 * pending budget refuses it; in the second case the connection is paused:
 * it joins l->paused (FIFO) and reading stops until retry_paused() gets the
 * reservation.  Invariants:
 *
 *   1. A connection reads only when it is not at EOF, not closing, the
 *      listener is not stopping, it is not paused, and its batch is below
 *      batch_bytes and batch_lines (update_reading).  One read adds at most
 *      one read buffer plus c->line to the batch, so the batch stays below
 *      batch_bytes + READ_CHUNK_BYTES + max_line_bytes + 2.
 *   2. A paused connection is not in flight and has a due, non-empty batch.
 *   3. A connection closes (conn_close) only when it has nothing in flight
 *      and an empty batch, after EOF or at stop; so a job's connection is
 *      alive in after_write.
 *   4. Bytes reserved with ing_pending_acquire are released in after_write,
 *      on the loop, exactly once per job (job->reserved; 0 at stop, where a
 *      batch is written even when the budget refuses it).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ingest/listen_int.h"

#define READ_CHUNK_BYTES (64u * 1024u)
#define RETRY_INTERVAL_MS 10
#define LOG_BURST 5
#define LOG_PER_NS (10 * NS_PER_SEC)
#define ERROR_MAX_BYTES (64u * 1024u)  /* ing_result.error cap */
#define LOG_QUOTE_BYTES 512

struct tcp_conn;

struct ing_tcp {
    uv_loop_t *loop;
    uv_tcp_t server;
    uv_timer_t retry_timer;
    struct ing_listen_opts o;     /* strings point at the copies below */
    char *listen, *database, *rp;
    char *rbuf;                   /* READ_CHUNK_BYTES, see the file comment */
    struct tcp_conn *conns;       /* open connections, doubly linked */
    size_t nconns;
    size_t nclosing;              /* connections whose handles are closing */
    struct tcp_conn *paused_head, *paused_tail;
    size_t ninflight;             /* jobs queued or running */
    uint64_t next_conn_id;
    int nhandles_open;            /* server and retry_timer */
    int port;
    bool is_listening, is_stopping, is_done_called;
    void (*done)(void *arg);
    void *done_arg;
    struct log_ratelimit accept_rl;

    struct metric *m_conns, *m_rejected, *m_received, *m_buffered, *m_too_long, *m_invalid,
        *m_paused;
};

struct tcp_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;             /* the batch's timeout */
    struct ing_tcp *l;
    struct tcp_conn *prev, *next; /* l->conns */
    struct tcp_conn *pnext;       /* l->paused */
    uint64_t id;
    char peer[64];
    struct buf line;
    struct buf batch;
    size_t nlines;                /* lines in batch */
    size_t held_bytes;            /* line.len + batch.len as last reported */
    int nhandles_open;
    bool is_discarding, is_reading, is_eof, is_due, is_inflight, is_paused, is_closing;
    struct log_ratelimit rl;
};

/* One batch on its way through ing_write().  Owns body. */
struct tcp_job {
    uv_work_t req;
    struct tcp_conn *c;
    struct ing_engine *engine;
    struct sv db, rp;             /* borrowed from the listener */
    enum lp_precision precision;
    char *body;
    size_t len;
    size_t reserved;              /* bytes to ing_pending_release */
    int rc;
    struct ing_result res;
};

static void flush(struct tcp_conn *c);
static void maybe_close(struct tcp_conn *c);
static void maybe_done(struct ing_tcp *l);

/* ---- bookkeeping --------------------------------------------------------- */

static void account(struct tcp_conn *c)
{
    size_t now = c->line.len + c->batch.len;
    if (now != c->held_bytes)
        ing__metric_add(c->l->m_buffered, (double)now - (double)c->held_bytes);
    c->held_bytes = now;
}

static bool batch_is_full(const struct tcp_conn *c)
{
    return c->batch.len >= c->l->o.batch_bytes || c->nlines >= c->l->o.batch_lines;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct tcp_conn *c = h->data;
    *b = uv_buf_init(c->l->rbuf, READ_CHUNK_BYTES);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

static void update_reading(struct tcp_conn *c)
{
    struct ing_tcp *l = c->l;
    bool want = !c->is_eof && !c->is_closing && !l->is_stopping && !c->is_paused &&
                !batch_is_full(c);
    if (want && !c->is_reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) == 0)
            c->is_reading = true;
    } else if (!want && c->is_reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->is_reading = false;
    }
}

/* ---- back-pressure --------------------------------------------------------- */

static void retry_paused(struct ing_tcp *l);

static void on_retry_timer(uv_timer_t *t)
{
    struct ing_tcp *l = t->data;
    retry_paused(l);
}

static void pause_conn(struct tcp_conn *c)
{
    struct ing_tcp *l = c->l;
    c->is_paused = true;
    c->pnext = NULL;
    if (l->paused_tail)
        l->paused_tail->pnext = c;
    else
        l->paused_head = c;
    l->paused_tail = c;
    ing__metric_add(l->m_paused, 1);
    log_debug("ingest", "msg=\"tcp connection paused: pending write budget exhausted\" "
                        "conn=%" PRIu64 " peer=%s batch_bytes=%zu",
              c->id, c->peer, c->batch.len);
    if (!uv_is_active((uv_handle_t *)&l->retry_timer) && !l->is_stopping)
        uv_timer_start(&l->retry_timer, on_retry_timer, RETRY_INTERVAL_MS, RETRY_INTERVAL_MS);
}

static void unpause_conn(struct tcp_conn *c)
{
    struct ing_tcp *l = c->l;
    struct tcp_conn **pp = &l->paused_head, *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->pnext;
    }
    if (*pp) {
        *pp = c->pnext;
        if (l->paused_tail == c)
            l->paused_tail = prev;
    }
    c->pnext = NULL;
    c->is_paused = false;
    if (!l->paused_head)
        uv_timer_stop(&l->retry_timer);
}

/* Flushes paused connections in the order they paused, stopping at the
 * first the budget still refuses so that none is overtaken. */
static void retry_paused(struct ing_tcp *l)
{
    while (l->paused_head) {
        struct tcp_conn *c = l->paused_head;
        flush(c);
        if (c->is_paused)
            break;
        update_reading(c);
        account(c);
    }
}


/* ---- writing batches ----------------------------------------------------- */

static void write_work(uv_work_t *req)
{
    struct tcp_job *j = req->data;
    j->rc = ing_write(j->engine, ING_PROTO_TCP, j->db, j->rp, j->precision, j->body, j->len, 0,
                      &j->res);
}

static void report(struct tcp_conn *c, const struct tcp_job *j)
{
    struct ing_tcp *l = c->l;
    const struct ing_result *r = &j->res;
    if (r->parse_errors)
        ing__metric_add(l->m_invalid, (double)r->parse_errors);
    bool is_failed = j->rc < 0 || r->http_status >= 500 || r->http_status == 404;
    if (!is_failed && !r->parse_errors && !r->dropped)
        return;
    uint32_t suppressed = 0;
    if (!log_ratelimit_allow(&c->rl, ing__mono_ns(l->o.clock), LOG_BURST, LOG_PER_NS,
                             &suppressed))
        return;
    char q[LOG_QUOTE_BYTES];
    log_quote(q, sizeof q, r->error.p ? r->error.p : "", r->error.len);
    if (is_failed)
        log_warn("ingest",
                 "msg=\"tcp batch not stored\" conn=%" PRIu64 " peer=%s db=%s status=%d "
                 "lines=%zu err=%s suppressed=%" PRIu32,
                 c->id, c->peer, l->database, r->http_status, r->lines,
                 j->rc < 0 ? err_name(j->rc) : q, suppressed);
    else
        log_warn("ingest",
                 "msg=\"tcp lines rejected\" conn=%" PRIu64 " peer=%s db=%s bad_lines=%zu "
                 "dropped_points=%zu written_points=%zu err=%s suppressed=%" PRIu32,
                 c->id, c->peer, l->database, r->parse_errors, r->dropped, r->points_written, q,
                 suppressed);
}

static void after_write(uv_work_t *req, int status)
{
    struct tcp_job *j = req->data;
    struct tcp_conn *c = j->c;
    struct ing_tcp *l = c->l;
    if (j->reserved)
        ing_pending_release(j->engine, j->reserved);
    if (status < 0) /* never cancelled by us; keep the counts honest anyway */
        j->rc = ERR_CLOSED;
    report(c, j);
    free(j->body);
    buf_fini(&j->res.error);
    free(j);
    c->is_inflight = false;
    l->ninflight--;

    flush(c);
    retry_paused(l);
    update_reading(c);
    account(c);
    maybe_close(c);
    maybe_done(l);
}

/* Writes the batch if it is due and may go; see the file comment. */
static void flush(struct tcp_conn *c)
{
    struct ing_tcp *l = c->l;
    if (c->batch.len == 0) {
        c->is_due = false;
        return;
    }
    if (!c->is_due || c->is_inflight)
        return;
    size_t n = c->batch.len;
    size_t reserved = n;
    if (!ing_pending_acquire(l->o.engine, n)) {
        if (!l->is_stopping) {
            if (!c->is_paused)
                pause_conn(c);
            return;
        }
        reserved = 0; /* at stop the bytes are held already; write them */
    }
    if (c->is_paused)
        unpause_conn(c);

    struct tcp_job *j = xcalloc(1, sizeof *j);
    j->req.data = j;
    j->c = c;
    j->engine = l->o.engine;
    j->db = sv_cstr(l->database);
    j->rp = sv_cstr(l->rp);
    j->precision = l->o.precision;
    j->reserved = reserved;
    j->body = buf_detach(&c->batch, &j->len);
    buf_init(&j->res.error, ERROR_MAX_BYTES);
    buf_init(&c->batch, c->batch.max_bytes);
    c->nlines = 0;
    c->is_due = false;
    uv_timer_stop(&c->timer);
    c->is_inflight = true;
    l->ninflight++;
    int rc = uv_queue_work(l->loop, &j->req, write_work, after_write);
    if (rc < 0) {
        /* Only for invalid arguments; report the batch lost like a failure. */
        j->rc = ERR_INVAL;
        after_write(&j->req, 0);
    }
}

static void on_batch_timer(uv_timer_t *t)
{
    struct tcp_conn *c = t->data;
    c->is_due = true;
    flush(c);
    update_reading(c);
    account(c);
}

/* ---- framing ------------------------------------------------------------- */

static void line_too_long(struct tcp_conn *c)
{
    struct ing_tcp *l = c->l;
    ing__metric_add(l->m_too_long, 1);
    uint32_t suppressed = 0;
    if (log_ratelimit_allow(&c->rl, ing__mono_ns(l->o.clock), LOG_BURST, LOG_PER_NS,
                            &suppressed))
        log_warn("ingest",
                 "msg=\"tcp line too long, discarded up to its newline\" conn=%" PRIu64
                 " peer=%s max_line_bytes=%zu suppressed=%" PRIu32,
                 c->id, c->peer, l->o.max_line_bytes, suppressed);
}

/* Ends the line held in c->line plus tail[0..n): strips one "\r" before the
 * "\n" and appends the line to the batch. */
static void end_line(struct tcp_conn *c, const char *tail, size_t n)
{
    struct ing_tcp *l = c->l;
    if (n > 0 && tail[n - 1] == '\r') {
        n--;
    } else if (n == 0 && c->line.len > 0 && c->line.p[c->line.len - 1] == '\r') {
        c->line.len--;
        c->line.p[c->line.len] = '\0';
    }
    size_t total = c->line.len + n;
    if (total > l->o.max_line_bytes) {
        line_too_long(c);
    } else if (total > 0) {
        int rc = buf_append(&c->batch, c->line.p ? c->line.p : "", c->line.len);
        if (rc == 0)
            rc = buf_append(&c->batch, tail, n);
        if (rc == 0)
            rc = buf_append_char(&c->batch, '\n');
        if (rc == 0) {
            if (c->nlines++ == 0 && l->o.batch_timeout_ns > 0)
                uv_timer_start(&c->timer, on_batch_timer,
                               (uint64_t)((l->o.batch_timeout_ns + NS_PER_MS - 1) / NS_PER_MS), 0);
        } else {
            /* Cannot happen within invariant 1 short of ERR_NOMEM: drop the
             * line rather than the connection. */
            log_warn("ingest", "msg=\"tcp line dropped\" conn=%" PRIu64 " peer=%s err=%s", c->id,
                     c->peer, err_name(rc));
        }
    }
    buf_reset(&c->line);
}

/* Consumes one read. */
static void feed(struct tcp_conn *c, const char *p, size_t n)
{
    struct ing_tcp *l = c->l;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        if (!nl) {
            if (c->is_discarding)
                return;
            if (c->line.len + n > l->o.max_line_bytes + 1) {
                line_too_long(c);
                buf_reset(&c->line);
                c->is_discarding = true;
                return;
            }
            if (buf_append(&c->line, p, n) != 0) {
                line_too_long(c);
                buf_reset(&c->line);
                c->is_discarding = true;
            }
            return;
        }
        size_t seg = (size_t)(nl - p);
        if (c->is_discarding)
            c->is_discarding = false; /* the over-long line ends here */
        else
            end_line(c, p, seg);
        p = nl + 1;
        n -= seg + 1;
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct tcp_conn *c = s->data;
    struct ing_tcp *l = c->l;
    if (nread == 0)
        return;
    if (nread > 0) {
        ing__metric_add(l->m_received, (double)nread);
        feed(c, b->base, (size_t)nread);
        if (c->batch.len > 0 && batch_is_full(c))
            c->is_due = true;
        flush(c);
        update_reading(c);
        account(c);
        return;
    }
    if (nread == UV_EOF) {
        /* The last line may lack its "\n" (section 3.2). */
        if (!c->is_discarding && c->line.len > 0)
            end_line(c, "", 0);
    } else {
        log_debug("ingest", "msg=\"tcp read failed\" conn=%" PRIu64 " peer=%s err=%s", c->id,
                  c->peer, uv_err_name((int)nread));
    }
    buf_reset(&c->line);
    c->is_discarding = false;
    c->is_eof = true;
    c->is_due = true;
    flush(c);
    update_reading(c);
    account(c);
    maybe_close(c);
}

/* ---- connections --------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    struct tcp_conn *c = h->data;
    if (--c->nhandles_open > 0)
        return;
    struct ing_tcp *l = c->l;
    l->nclosing--;
    free(c);
    maybe_done(l);
}

static void conn_close(struct tcp_conn *c)
{
    struct ing_tcp *l = c->l;
    if (c->is_closing)
        return;
    c->is_closing = true;
    if (c->is_paused)
        unpause_conn(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->nconns--;
    l->nclosing++;
    ing__metric_add(l->m_conns, -1);
    buf_fini(&c->line);
    buf_fini(&c->batch);
    c->nlines = 0;
    account(c);
    log_debug("ingest", "msg=\"tcp connection closed\" conn=%" PRIu64 " peer=%s", c->id, c->peer);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void maybe_close(struct tcp_conn *c)
{
    if (c->is_closing || c->is_inflight || c->batch.len > 0)
        return;
    if (c->is_eof || c->l->is_stopping)
        conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct ing_tcp *l = server->data;
    if (l->is_stopping)
        return;
    if (status < 0) {
        uint32_t suppressed = 0;
        if (log_ratelimit_allow(&l->accept_rl, ing__mono_ns(l->o.clock), 1, LOG_PER_NS,
                                &suppressed))
            log_warn("ingest", "msg=\"tcp accept failed\" listen=%s err=%s suppressed=%" PRIu32,
                     l->listen, uv_err_name(status), suppressed);
        return;
    }
    struct tcp_conn *c = xcalloc(1, sizeof *c);
    c->l = l;
    c->id = ++l->next_conn_id;
    buf_init(&c->line, l->o.max_line_bytes + 1);
    buf_init(&c->batch, l->o.batch_bytes + READ_CHUNK_BYTES + l->o.max_line_bytes + 16);
    uv_tcp_init(l->loop, &c->tcp);
    uv_timer_init(l->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->nhandles_open = 2;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->nconns++;
    ing__metric_add(l->m_conns, 1);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        ing__format_peer((struct sockaddr *)&ss, c->peer, sizeof c->peer);
    else
        snprintf(c->peer, sizeof c->peer, "unknown");
    if (l->nconns > l->o.max_connections) {
        ing__metric_add(l->m_rejected, 1);
        uint32_t suppressed = 0;
        if (log_ratelimit_allow(&l->accept_rl, ing__mono_ns(l->o.clock), 1, LOG_PER_NS,
                                &suppressed))
            log_warn("ingest",
                     "msg=\"tcp connection refused: ingest.tcp.max_connections reached\" "
                     "peer=%s max_connections=%zu suppressed=%" PRIu32,
                     c->peer, l->o.max_connections, suppressed);
        conn_close(c);
        return;
    }
    log_debug("ingest", "msg=\"tcp connection opened\" conn=%" PRIu64 " peer=%s", c->id, c->peer);
    update_reading(c);
}

/* ---- the listener -------------------------------------------------------- */

static void register_metrics(struct ing_tcp *l, struct metrics_registry *r)
{
    if (!r)
        return;
    l->m_conns = metrics_gauge(r, "nightjar_tcp_connections",
                               "Open connections on the TCP line-protocol listener.");
    l->m_rejected = metrics_counter(r, "nightjar_tcp_connections_rejected_total",
                                    "TCP connections closed at once: "
                                    "ingest.tcp.max_connections reached.");
    l->m_received = metrics_counter(r, "nightjar_tcp_received_bytes_total",
                                    "Bytes read from TCP line-protocol connections.");
    l->m_buffered = metrics_gauge(r, "nightjar_tcp_buffered_bytes",
                                  "Bytes held by TCP connections: unfinished lines and "
                                  "batches not yet handed to storage.");
    l->m_too_long = metrics_counter(r, "nightjar_tcp_lines_too_long_total",
                                    "TCP lines discarded for exceeding "
                                    "ingest.tcp.max_line_bytes.");
    l->m_invalid = metrics_counter(r, "nightjar_tcp_lines_invalid_total",
                                   "TCP lines dropped because they failed to parse.");
    l->m_paused = metrics_counter(r, "nightjar_tcp_paused_total",
                                  "Times a TCP connection stopped reading because "
                                  "ingest.max_pending_bytes was reached.");
}

int ing_tcp_new(uv_loop_t *loop, const struct ing_listen_opts *o, struct ing_tcp **out,
                struct err *e)
{
    *out = NULL;
    int rc0 = ing__listen_opts_check("ingest.tcp", o, e);
    if (rc0)
        return rc0;
    struct ing_tcp *l = xcalloc(1, sizeof *l);
    l->loop = loop;
    ing__listen_opts_adopt(o, &l->o, &l->listen, &l->database, &l->rp);
    if (!l->o.max_line_bytes)
        l->o.max_line_bytes = ING_TCP_DEFAULT_MAX_LINE_BYTES;
    if (!l->o.batch_bytes)
        l->o.batch_bytes = ING_TCP_DEFAULT_BATCH_BYTES;
    if (!l->o.batch_lines)
        l->o.batch_lines = ING_TCP_DEFAULT_BATCH_LINES;
    if (!l->o.batch_timeout_ns)
        l->o.batch_timeout_ns = ING_TCP_DEFAULT_BATCH_TIMEOUT_NS;
    if (!l->o.max_connections)
        l->o.max_connections = ING_TCP_DEFAULT_MAX_CONNECTIONS;
    l->rbuf = xmalloc(READ_CHUNK_BYTES);
    l->port = -1;
    uv_tcp_init(loop, &l->server);
    uv_timer_init(loop, &l->retry_timer);
    l->server.data = l;
    l->retry_timer.data = l;
    l->nhandles_open = 2;
    register_metrics(l, o->metrics);
    *out = l;
    return 0;
}

int ing_tcp_start(struct ing_tcp *l, struct err *e)
{
    struct sockaddr_storage ss;
    int rc = ing__listen_addr(l->listen, &ss, e);
    if (rc < 0)
        return rc;
    rc = uv_tcp_bind(&l->server, (const struct sockaddr *)&ss, 0);
    if (rc == 0 && l->o.read_buffer_bytes) {
        /* Set before listen so that accepted sockets inherit it (and keep
         * the kernel from growing their window past it). */
        int v = l->o.read_buffer_bytes > INT32_MAX ? INT32_MAX : (int)l->o.read_buffer_bytes;
        rc = uv_recv_buffer_size((uv_handle_t *)&l->server, &v);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->server, 511, on_connection);
    if (rc < 0)
        return err_set(e, ERR_IO, "ingest.tcp.listen %s: %s", l->listen, uv_strerror(rc));
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if (uv_tcp_getsockname(&l->server, (struct sockaddr *)&bound, &len) == 0)
        l->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    l->is_listening = true;
    return 0;
}

int ing_tcp_port(const struct ing_tcp *l)
{
    return l && l->is_listening ? l->port : -1;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct ing_tcp *l = h->data;
    l->nhandles_open--;
    maybe_done(l);
}

static void maybe_done(struct ing_tcp *l)
{
    if (!l->is_stopping || l->is_done_called || l->nconns || l->nclosing || l->ninflight ||
        l->nhandles_open)
        return;
    l->is_done_called = true;
    if (l->done)
        l->done(l->done_arg);
}

void ing_tcp_stop(struct ing_tcp *l, void (*done)(void *arg), void *arg)
{
    if (l->is_stopping)
        return;
    l->is_stopping = true;
    l->is_listening = false;
    l->done = done;
    l->done_arg = arg;
    uv_close((uv_handle_t *)&l->server, on_listener_closed);
    uv_close((uv_handle_t *)&l->retry_timer, on_listener_closed);
    for (struct tcp_conn *c = l->conns, *next; c; c = next) {
        next = c->next;
        if (c->line.len > 0 || c->is_discarding)
            log_debug("ingest", "msg=\"tcp partial line dropped at shutdown\" conn=%" PRIu64
                                " peer=%s bytes=%zu",
                      c->id, c->peer, c->line.len);
        buf_reset(&c->line);
        c->is_discarding = false;
        c->is_due = true;
        flush(c);
        update_reading(c);
        account(c);
        maybe_close(c);
    }
    maybe_done(l);
}

void ing_tcp_free(struct ing_tcp *l)
{
    if (!l)
        return;
    free(l->rbuf);
    free(l->listen);
    free(l->database);
    free(l->rp);
    free(l);
}
