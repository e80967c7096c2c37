// SPDX-License-Identifier: MIT
/*
 * The UDP line-protocol listener (influx-compat.md section 3.1; contract in
 * listen.h), InfluxDB's [[udp]] service.
 *
 * Wire format: each datagram (at most ING_UDP_MAX_DATAGRAM_BYTES) is a
 * line-protocol body, framed exactly like an HTTP /write body: lines end at
 * "\n", the last needs none, "\r" is not stripped.  Nothing is sent back.
 *
 * Each datagram becomes one job: a copy of its bytes written with
 * ing_write(..., ING_ALL_OR_NOTHING) on a pool thread, so a datagram with a
 * bad line stores nothing while storage rejections (type conflicts,
 * retention) drop only their points, as 1.6 does.  Datagrams are not merged
 * into bigger writes: merging would need a parse on the loop to keep the
 * per-datagram rule, and the engine's WAL group commit already merges
 * concurrent writes.
 *
 * Invariants:
 *   1. At most max_inflight jobs exist, and their bytes are reserved with
 *      ing_pending_acquire; a datagram that would break either is dropped
 *      (result="dropped_overload").  Memory is bounded by max_inflight
 *      datagrams plus the one receive buffer.
 *   2. The receive buffer (l->rbuf) is reused for every datagram: on_recv
 *      copies what it keeps before returning.
 *   3. Every job's reservation is released in after_write, on the loop.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "ingest/listen_int.h"

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
    size_t ninflight;
    int port;
    bool is_open;               /* the handle is not closed yet */
    bool is_listening, is_stopping, is_done_called;
    void (*done)(void *arg);
    void *done_arg;
    struct log_ratelimit rl;    /* one for all peers: UDP peers are many */
    struct metric *m_result[R_COUNT];
};

struct udp_job {
    uv_work_t req;
    struct ing_udp *l;
    char peer[64];
    char *body;
    size_t len;
    int rc;
    struct ing_result res;
};

static void maybe_done(struct ing_udp *l);

static void count(struct ing_udp *l, enum udp_result r)
{
    ing__metric_add(l->m_result[r], 1);
}

static void write_work(uv_work_t *req)
{
    struct udp_job *j = req->data;
    struct ing_udp *l = j->l;
    j->rc = ing_write(l->o.engine, ING_PROTO_UDP, sv_cstr(l->database), sv_cstr(l->rp),
                      l->o.precision, j->body, j->len, ING_ALL_OR_NOTHING, &j->res);
}

static void after_write(uv_work_t *req, int status)
{
    struct udp_job *j = req->data;
    struct ing_udp *l = j->l;
    const struct ing_result *r = &j->res;
    ing_pending_release(l->o.engine, j->len);
    if (status < 0)
        j->rc = ERR_CLOSED;

    enum udp_result res = R_STORED;
    if (j->rc < 0 || r->http_status >= 500 || r->http_status == 404)
        res = R_DROPPED_ERROR;
    else if (r->parse_errors)
        res = R_DROPPED_PARSE;
    count(l, res);
    uint32_t suppressed = 0;
    if ((res != R_STORED || r->dropped) &&
        log_ratelimit_allow(&l->rl, ing__mono_ns(l->o.clock), LOG_BURST, LOG_PER_NS,
                            &suppressed)) {
        char q[LOG_QUOTE_BYTES];
        log_quote(q, sizeof q, r->error.p ? r->error.p : "", r->error.len);
        const char *msg = res == R_DROPPED_PARSE ? "udp datagram dropped: a line failed to parse"
                          : res == R_DROPPED_ERROR ? "udp datagram not stored"
                                                   : "udp points dropped by storage";
        log_warn("ingest",
                 "msg=\"%s\" peer=%s db=%s bytes=%zu status=%d bad_lines=%zu "
                 "dropped_points=%zu err=%s suppressed=%" PRIu32,
                 msg, j->peer, l->database, j->len, r->http_status, r->parse_errors, r->dropped,
                 j->rc < 0 ? err_name(j->rc) : q, suppressed);
    }
    free(j->body);
    buf_fini(&j->res.error);
    free(j);
    l->ninflight--;
    maybe_done(l);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct ing_udp *l = h->data;
    *b = uv_buf_init(l->rbuf, ING_UDP_MAX_DATAGRAM_BYTES);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *addr,
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
    char peer[64];
    ing__format_peer(addr, peer, sizeof peer);
    if (flags & UV_UDP_PARTIAL) {
        /* Cannot happen with a 64 KiB buffer and IP's datagram limit; if it
         * does, the tail is gone and the body must not be stored. */
        count(l, R_DROPPED_PARSE);
        log_warn("ingest", "msg=\"udp datagram truncated, dropped\" peer=%s bytes=%zu", peer, n);
        return;
    }
    if (l->ninflight >= l->o.max_inflight || !ing_pending_acquire(l->o.engine, n)) {
        count(l, R_DROPPED_OVERLOAD);
        uint32_t suppressed = 0;
        if (log_ratelimit_allow(&l->rl, ing__mono_ns(l->o.clock), LOG_BURST, LOG_PER_NS,
                                &suppressed))
            log_warn("ingest",
                     "msg=\"udp datagram dropped: storage is behind\" peer=%s bytes=%zu "
                     "inflight=%zu suppressed=%" PRIu32,
                     peer, n, l->ninflight, suppressed);
        return;
    }
    struct udp_job *j = xcalloc(1, sizeof *j);
    j->req.data = j;
    j->l = l;
    memcpy(j->peer, peer, sizeof j->peer);
    j->body = xmalloc(n);
    memcpy(j->body, b->base, n);
    j->len = n;
    buf_init(&j->res.error, ERROR_MAX_BYTES);
    l->ninflight++;
    int rc = uv_queue_work(l->loop, &j->req, write_work, after_write);
    if (rc < 0) {
        j->rc = ERR_INVAL;
        after_write(&j->req, 0);
    }
}

int ing_udp_new(uv_loop_t *loop, const struct ing_listen_opts *o, struct ing_udp **out,
                struct err *e)
{
    *out = NULL;
    if (!o->listen || !*o->listen)
        return err_set(e, ERR_INVAL, "ingest.udp.listen: no address");
    if (!o->database || !*o->database)
        return err_set(e, ERR_INVAL, "ingest.udp.database: empty");
    if (!o->engine)
        return err_set(e, ERR_INVAL, "ingest.udp: no write engine");
    struct ing_udp *l = xcalloc(1, sizeof *l);
    l->loop = loop;
    l->o = *o;
    l->listen = xstrdup(o->listen);
    l->database = xstrdup(o->database);
    l->rp = xstrdup(o->retention_policy ? o->retention_policy : "");
    l->o.listen = l->listen;
    l->o.database = l->database;
    l->o.retention_policy = l->rp;
    if (!l->o.max_inflight)
        l->o.max_inflight = ING_UDP_DEFAULT_MAX_INFLIGHT;
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
    if (!l->is_stopping || l->is_done_called || l->is_open || l->ninflight)
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
