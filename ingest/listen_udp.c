// SPDX-License-Identifier: MIT
/*
 * The UDP line-protocol listener (influx-compat.md section 3.1; contract in
 * listen.h), InfluxDB's [[udp]] service.
 *
 * Wire format: each datagram (at most ING_UDP_MAX_DATAGRAM_BYTES) is a
 * line-protocol body, framed exactly like an HTTP /write body: lines end at
 * "\n", the last needs none, "\r" is not stripped.  Nothing is sent back.
 *
 * Batching.  One WAL commit per datagram would cap a fast sender at a few
 * thousand datagrams a second (measured: 97% dropped at 59k/s), so
 * datagrams are copied into a gathering batch (l->open) and a batch is
 * queued to the pool at once when fewer than max_inflight batches run, else
 * when one of them ends.  At low rates a batch is one datagram; under load
 * batches grow up to batch_bytes.  On the worker (write_work) each datagram
 * of a batch is first parsed alone (lp_next, nothing stored) and then:
 *
 *   parses, every line timestamped  appended, "\n"-terminated, to one body
 *                                   written with ING_ALL_OR_NOTHING
 *   a line fails to parse           written alone with ING_ALL_OR_NOTHING,
 *                                   so the engine stores nothing of it and
 *                                   reports it as it reports any datagram
 *   a line has no timestamp         written alone (after the body so far),
 *                                   so it gets its own server time as a
 *                                   datagram of its own would
 *
 * Pre-parsing each datagram alone keeps the per-datagram rules exact: two
 * bad datagrams can never join into one good line (an unterminated string
 * in one closed by the next).  Should the joint write still report a parse
 * error, nothing of it was stored (ING_ALL_OR_NOTHING) and its datagrams
 * are written again one by one.  Storage rejections (type conflicts,
 * retention) drop only their points in either case, as 1.6 does.
 *
 * Invariants:
 *   1. At most max_inflight batches are queued or running, plus l->open;
 *      l->open holds at most batch_bytes of datagrams (one datagram past
 *      that when it was empty), so memory is bounded by (max_inflight + 1)
 *      batches plus the receive buffer.  A datagram that would break this,
 *      or that ing_pending_acquire refuses, is dropped (dropped_overload).
 *   2. The receive buffer (l->rbuf) is reused for every datagram: on_recv
 *      copies what it keeps before returning.
 *   3. Each batch's reserved bytes are released in after_write, on the loop,
 *      exactly once.  Datagrams keep their arrival order inside a batch, and
 *      batches are queued in order (the pool may run them in parallel).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ingest/listen_int.h"
#include "ingest/lp.h"

#define LOG_BURST 5
#define LOG_PER_NS (10 * NS_PER_SEC)
#define ERROR_MAX_BYTES (64u * 1024u)
#define LOG_QUOTE_BYTES 512

enum udp_result { R_STORED, R_DROPPED_PARSE, R_DROPPED_OVERLOAD, R_DROPPED_ERROR, R_COUNT };

static const char *const result_names[R_COUNT] = {
    "stored", "dropped_parse", "dropped_overload", "dropped_error",
};

struct ing_udp {
    uv_loop_t *loop;
    uv_udp_t udp;
    struct ing_listen_opts o;
    char *listen, *database, *rp;
    char *rbuf;                 /* ING_UDP_MAX_DATAGRAM_BYTES */
    struct udp_batch *open;     /* gathering; NULL when empty */
    size_t ninflight;           /* batches queued or running */
    int port;
    bool is_open;               /* the handle is not closed yet */
    bool is_listening, is_stopping, is_done_called;
    void (*done)(void *arg);
    void *done_arg;
    struct log_ratelimit rl;    /* one for all peers: UDP peers are many */
    struct metric *m_result[R_COUNT];
};

/* One datagram inside a batch. */
struct udp_dgram {
    size_t off, len;            /* in batch->body */
    char peer[48];
};

/* Datagrams written by one job.  Owns body and d. */
struct udp_batch {
    uv_work_t req;
    struct ing_udp *l;
    struct buf body;            /* the datagrams back to back, as received */
    struct udp_dgram *d;
    size_t n, cap;
    size_t reserved;            /* bytes to ing_pending_release */
    /* Outcome, filled on the worker. */
    size_t count[R_COUNT];      /* datagrams by result */
    size_t dropped_points;      /* storage rejections */
    int first_status;           /* of the first datagram not fully stored */
    char first_peer[48];
    struct buf first_error;     /* its error text */
    struct buf joint;           /* worker scratch: the joint body */
};

static void maybe_done(struct ing_udp *l);

static void count(struct ing_udp *l, enum udp_result r, size_t n)
{
    ing__metric_add(l->m_result[r], (double)n);
}

static void batch_free(struct udp_batch *b)
{
    buf_fini(&b->body);
    buf_fini(&b->first_error);
    buf_fini(&b->joint);
    free(b->d);
    free(b);
}

/* ---- the worker ---------------------------------------------------------- */

static enum udp_result classify(int rc, const struct ing_result *r)
{
    if (rc < 0 || r->http_status >= 500 || r->http_status == 404)
        return R_DROPPED_ERROR;
    if (r->parse_errors)
        return R_DROPPED_PARSE;
    return R_STORED;
}

/* Records the outcome of one ing_write covering ndg datagrams (the first
 * is d, for the log). */
static void note(struct udp_batch *b, const struct udp_dgram *d, size_t ndg, int rc,
                 const struct ing_result *r)
{
    enum udp_result res = classify(rc, r);
    b->count[res] += ndg;
    b->dropped_points += r->dropped;
    if ((res != R_STORED || r->dropped) && b->first_status == 0) {
        b->first_status = rc < 0 ? -1 : r->http_status;
        memcpy(b->first_peer, d->peer, sizeof b->first_peer);
        if (rc < 0)
            (void)buf_append_str(&b->first_error, err_name(rc));
        else
            (void)buf_append(&b->first_error, r->error.p ? r->error.p : "", r->error.len);
    }
}

static int write_body(struct udp_batch *b, const char *p, size_t n, struct ing_result *r)
{
    struct ing_udp *l = b->l;
    buf_reset(&r->error);
    return ing_write(l->o.engine, ING_PROTO_UDP, sv_cstr(l->database), sv_cstr(l->rp),
                     l->o.precision, p, n, ING_ALL_OR_NOTHING, r);
}

static void write_alone(struct udp_batch *b, const struct udp_dgram *d, struct ing_result *r)
{
    int rc = write_body(b, b->body.p + d->off, d->len, r);
    note(b, d, 1, rc, r);
}

/* Writes the joint body b->joint, made of the datagrams idx[0..nidx). */
static void write_joint(struct udp_batch *b, const size_t *idx, size_t nidx,
                        struct ing_result *r)
{
    if (nidx == 0)
        return;
    if (nidx == 1) {
        write_alone(b, &b->d[idx[0]], r);
        return;
    }
    int rc = write_body(b, b->joint.p, b->joint.len, r);
    if (rc == 0 && r->parse_errors) {
        /* Not expected after the pre-parse; nothing was stored, so the
         * datagrams can go one by one. */
        for (size_t i = 0; i < nidx; i++)
            write_alone(b, &b->d[idx[i]], r);
        return;
    }
    note(b, &b->d[idx[0]], nidx, rc, r);
}

/* 1 when every line of the datagram parses and has a timestamp, 0 when one
 * lacks a timestamp, -1 when one fails (or the parser ran out of memory). */
static int preparse(struct lp_parser *p, const char *s, size_t n)
{
    lp_parser_reset(p, s, n, 0);
    struct lp_point pt;
    int all_ts = 1;
    for (;;) {
        int rc = lp_next(p, &pt, NULL);
        if (rc == 0)
            return all_ts;
        if (rc < 0)
            return -1;
        if (!pt.has_ts)
            all_ts = 0;
    }
}

static void write_work(uv_work_t *req)
{
    struct udp_batch *b = req->data;
    struct ing_result r;
    memset(&r, 0, sizeof r);
    buf_init(&r.error, ERROR_MAX_BYTES);
    if (b->n == 1) {
        write_alone(b, &b->d[0], &r);
        buf_fini(&r.error);
        return;
    }
    struct lp_parser p;
    lp_parser_init(&p, "", 0, b->l->o.precision, 0, NULL);
    size_t *idx = xmalloc(b->n * sizeof *idx);
    size_t nidx = 0;
    buf_init(&b->joint, 0);
    for (size_t i = 0; i < b->n; i++) {
        const struct udp_dgram *d = &b->d[i];
        const char *s = b->body.p + d->off;
        int kind = preparse(&p, s, d->len);
        if (kind < 0) {
            write_alone(b, d, &r);
            continue;
        }
        if (kind == 0) {
            write_joint(b, idx, nidx, &r);
            nidx = 0;
            buf_reset(&b->joint);
            write_alone(b, d, &r);
            continue;
        }
        if (buf_reserve(&b->joint, d->len + 1) != 0) {
            write_alone(b, d, &r);
            continue;
        }
        (void)buf_append(&b->joint, s, d->len);
        if (d->len == 0 || s[d->len - 1] != '\n')
            (void)buf_append_char(&b->joint, '\n');
        idx[nidx++] = i;
    }
    write_joint(b, idx, nidx, &r);
    free(idx);
    lp_parser_fini(&p);
    buf_fini(&r.error);
}

/* ---- the loop ------------------------------------------------------------ */

static void queue_open(struct ing_udp *l);

static void after_write(uv_work_t *req, int status)
{
    struct udp_batch *b = req->data;
    struct ing_udp *l = b->l;
    if (b->reserved)
        ing_pending_release(l->o.engine, b->reserved);
    if (status < 0) { /* never cancelled by us; count the batch lost */
        memset(b->count, 0, sizeof b->count);
        b->count[R_DROPPED_ERROR] = b->n;
    }
    for (int i = 0; i < R_COUNT; i++)
        if (b->count[i])
            count(l, (enum udp_result)i, b->count[i]);
    uint32_t suppressed = 0;
    if (b->first_status != 0 &&
        log_ratelimit_allow(&l->rl, ing__mono_ns(l->o.clock), LOG_BURST, LOG_PER_NS,
                            &suppressed)) {
        char q[LOG_QUOTE_BYTES];
        log_quote(q, sizeof q, b->first_error.p ? b->first_error.p : "", b->first_error.len);
        log_warn("ingest",
                 "msg=\"udp datagrams not stored in full\" db=%s datagrams=%zu "
                 "dropped_parse=%zu dropped_error=%zu dropped_points=%zu first_peer=%s "
                 "first_status=%d first_err=%s suppressed=%" PRIu32,
                 l->database, b->n, b->count[R_DROPPED_PARSE], b->count[R_DROPPED_ERROR],
                 b->dropped_points, b->first_peer, b->first_status, q, suppressed);
    }
    batch_free(b);
    l->ninflight--;
    if (l->open)
        queue_open(l);
    maybe_done(l);
}

/* Queues the gathering batch; at stop, even past max_inflight. */
static void queue_open(struct ing_udp *l)
{
    struct udp_batch *b = l->open;
    if (!b || (l->ninflight >= l->o.max_inflight && !l->is_stopping))
        return;
    l->open = NULL;
    l->ninflight++;
    int rc = uv_queue_work(l->loop, &b->req, write_work, after_write);
    if (rc < 0) { /* only for invalid arguments */
        b->count[R_DROPPED_ERROR] = b->n;
        after_write(&b->req, 0);
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct ing_udp *l = h->data;
    *b = uv_buf_init(l->rbuf, ING_UDP_MAX_DATAGRAM_BYTES);
}

static void drop_overload(struct ing_udp *l, const char *peer, size_t n)
{
    count(l, R_DROPPED_OVERLOAD, 1);
    uint32_t suppressed = 0;
    if (log_ratelimit_allow(&l->rl, ing__mono_ns(l->o.clock), LOG_BURST, LOG_PER_NS,
                            &suppressed))
        log_warn("ingest",
                 "msg=\"udp datagram dropped: storage is behind\" peer=%s bytes=%zu "
                 "batches_running=%zu suppressed=%" PRIu32,
                 peer, n, l->ninflight, suppressed);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    struct ing_udp *l = h->data;
    if (nread < 0) {
        uint32_t suppressed = 0;
        if (log_ratelimit_allow(&l->rl, ing__mono_ns(l->o.clock), LOG_BURST, LOG_PER_NS,
                                &suppressed))
            log_warn("ingest", "msg=\"udp receive failed\" listen=%s err=%s suppressed=%" PRIu32,
                     l->listen, uv_err_name((int)nread), suppressed);
        return;
    }
    /* nread == 0: no datagram (addr NULL) or an empty one, which holds no
     * line and so stores nothing. */
    if (nread == 0 || !addr || l->is_stopping)
        return;
    size_t n = (size_t)nread;
    char peer[48];
    ing__format_peer(addr, peer, sizeof peer);
    if (flags & UV_UDP_PARTIAL) {
        /* Cannot happen with a 64 KiB buffer and IP's datagram limit; if it
         * does, the tail is gone and the body must not be stored. */
        count(l, R_DROPPED_PARSE, 1);
        log_warn("ingest", "msg=\"udp datagram truncated, dropped\" peer=%s bytes=%zu", peer, n);
        return;
    }
    struct udp_batch *b = l->open;
    if (b && b->body.len + n > l->o.batch_bytes && l->ninflight >= l->o.max_inflight) {
        drop_overload(l, peer, n); /* invariant 1 */
        return;
    }
    if (!ing_pending_acquire(l->o.engine, n)) {
        drop_overload(l, peer, n);
        return;
    }
    if (b && b->body.len + n > l->o.batch_bytes) {
        queue_open(l); /* a slot is free (checked above) */
        b = NULL;
    }
    if (!b) {
        b = xcalloc(1, sizeof *b);
        b->req.data = b;
        b->l = l;
        buf_init(&b->body, 0);
        buf_init(&b->first_error, ERROR_MAX_BYTES);
        l->open = b;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->d = xrealloc(b->d, b->cap * sizeof *b->d);
    }
    struct udp_dgram *d = &b->d[b->n++];
    d->off = b->body.len;
    d->len = n;
    memcpy(d->peer, peer, sizeof d->peer);
    if (buf_append(&b->body, buf->base, n) != 0) {
        /* ERR_NOMEM only (the buffer has no cap): give the bytes back */
        b->n--;
        ing_pending_release(l->o.engine, n);
        drop_overload(l, peer, n);
        return;
    }
    b->reserved += n;
    queue_open(l);
}

int ing_udp_new(uv_loop_t *loop, const struct ing_listen_opts *o, struct ing_udp **out,
                struct err *e)
{
    *out = NULL;
    int rc0 = ing__listen_opts_check("ingest.udp", o, e);
    if (rc0)
        return rc0;
    struct ing_udp *l = xcalloc(1, sizeof *l);
    l->loop = loop;
    ing__listen_opts_adopt(o, &l->o, &l->listen, &l->database, &l->rp);
    if (!l->o.max_inflight)
        l->o.max_inflight = ING_UDP_DEFAULT_MAX_INFLIGHT;
    if (!l->o.batch_bytes)
        l->o.batch_bytes = ING_UDP_DEFAULT_BATCH_BYTES;
    l->rbuf = xmalloc(ING_UDP_MAX_DATAGRAM_BYTES);
    l->port = -1;
    uv_udp_init(loop, &l->udp);
    l->udp.data = l;
    l->is_open = true;
    if (o->metrics) {
        struct metric_family *f = metrics_family(
            o->metrics, METRIC_COUNTER, "nightjar_udp_datagrams_total",
            "Datagrams received by the UDP line-protocol listener, by outcome: stored, "
            "dropped_parse (a line failed to parse, so none was stored), dropped_overload "
            "(storage behind: ingest.max_pending_bytes or the in-flight limit), "
            "dropped_error (storage failed or the database is missing).",
            "result", NULL, 0);
        for (int i = 0; f && i < R_COUNT; i++)
            l->m_result[i] = metrics_child1(f, result_names[i]);
    }
    *out = l;
    return 0;
}

int ing_udp_start(struct ing_udp *l, struct err *e)
{
    struct sockaddr_storage ss;
    int rc = ing__listen_addr(l->listen, &ss, e);
    if (rc < 0)
        return rc;
    rc = uv_udp_bind(&l->udp, (const struct sockaddr *)&ss, 0);
    if (rc < 0)
        return err_set(e, ERR_IO, "ingest.udp.listen %s: %s", l->listen, uv_strerror(rc));
    if (l->o.read_buffer_bytes) {
        int v = l->o.read_buffer_bytes > INT32_MAX ? INT32_MAX : (int)l->o.read_buffer_bytes;
        rc = uv_recv_buffer_size((uv_handle_t *)&l->udp, &v);
        if (rc < 0)
            return err_set(e, ERR_IO, "ingest.udp.read_buffer_bytes %zu: %s",
                           l->o.read_buffer_bytes, uv_strerror(rc));
    }
    rc = uv_udp_recv_start(&l->udp, alloc_cb, on_recv);
    if (rc < 0)
        return err_set(e, ERR_IO, "ingest.udp.listen %s: %s", l->listen, uv_strerror(rc));
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if (uv_udp_getsockname(&l->udp, (struct sockaddr *)&bound, &len) == 0)
        l->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    l->is_listening = true;
    return 0;
}

int ing_udp_port(const struct ing_udp *l)
{
    return l && l->is_listening ? l->port : -1;
}

static void maybe_done(struct ing_udp *l)
{
    if (!l->is_stopping || l->is_done_called || l->is_open || l->ninflight || l->open)
        return;
    l->is_done_called = true;
    if (l->done)
        l->done(l->done_arg);
}

static void on_closed(uv_handle_t *h)
{
    struct ing_udp *l = h->data;
    l->is_open = false;
    maybe_done(l);
}

void ing_udp_stop(struct ing_udp *l, void (*done)(void *arg), void *arg)
{
    if (l->is_stopping)
        return;
    l->is_stopping = true;
    l->is_listening = false;
    l->done = done;
    l->done_arg = arg;
    queue_open(l); /* datagrams already received are written */
    uv_close((uv_handle_t *)&l->udp, on_closed);
}

void ing_udp_free(struct ing_udp *l)
{
    if (!l)
        return;
    free(l->rbuf);
    free(l->listen);
    free(l->database);
    free(l->rp);
    free(l);
}
