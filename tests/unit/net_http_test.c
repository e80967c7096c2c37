// SPDX-License-Identifier: MIT
/*
 * net: socket-level tests.  Each test runs a real http_server on its own
 * libuv loop in a background thread, bound to 127.0.0.1:0, and talks raw TCP
 * to it from the test thread.  The loop thread is reached only through a
 * uv_async_t (commands) and the server's atomics-free state is read only on
 * the loop.  Every wait polls with a deadline (scaled by TEST_TIMEOUT_MULT);
 * nothing sleeps for a fixed time to let something happen.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <zlib.h>

#include "common/clock.h"
#include "common/metrics.h"
#include "net/net.h"

/* ---- harness ------------------------------------------------------------- */

/* CMD_FORCE: http_server_close; CMD_CLOSE: that, and let the loop exit. */
enum cmd { CMD_NONE, CMD_SHUTDOWN, CMD_FORCE, CMD_CLOSE };

struct fixture {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    struct http_server *srv;
    struct metrics_registry *reg;
    struct clk clock;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum cmd cmd;
    atomic_bool is_done;       /* shutdown's done callback ran */
    atomic_int gate_open;      /* slow handlers wait for this */
    atomic_int slow_started;   /* slow handlers that began running */
    atomic_size_t conns_seen;  /* http_server_connections, sampled on the loop */
    atomic_int stream_rc;      /* last http_response_flush result of h_stream_forever */
    atomic_bool is_stream_done;
    atomic_int plain_flush_rc; /* http_response_flush from a non-streaming handler */
    atomic_int tries;          /* h_try calls on the loop thread */
    pthread_t try_thread;      /* the thread of h_try's last try (the loop) */
};

static int timeout_mult(void)
{
    const char *m = getenv("TEST_TIMEOUT_MULT");
    int v = m ? atoi(m) : 1;
    return v > 0 ? v : 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_ms(int64_t ms)
{
    return now_ms() + ms * timeout_mult();
}

/* The poll interval of loops that wait for a condition with a deadline. */
static void poll_pause(void)
{
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
}

static void on_done(void *arg)
{
    struct fixture *fx = arg;
    atomic_store(&fx->is_done, true);
}

static void on_async(uv_async_t *a)
{
    struct fixture *fx = a->data;
    pthread_mutex_lock(&fx->mu);
    enum cmd c = fx->cmd;
    fx->cmd = CMD_NONE;
    pthread_mutex_unlock(&fx->mu);
    if (c == CMD_SHUTDOWN)
        http_server_shutdown(fx->srv, on_done, fx);
    if (c == CMD_FORCE)
        http_server_close(fx->srv);
    if (c == CMD_CLOSE) {
        /* http_server_close is idempotent: CMD_FORCE may have run it. */
        http_server_close(fx->srv);
        uv_close((uv_handle_t *)&fx->async, NULL);
    }
    atomic_store(&fx->conns_seen, http_server_connections(fx->srv));
}

static void send_cmd(struct fixture *fx, enum cmd c)
{
    pthread_mutex_lock(&fx->mu);
    fx->cmd = c;
    pthread_mutex_unlock(&fx->mu);
    uv_async_send(&fx->async);
}

static void *loop_main(void *arg)
{
    struct fixture *fx = arg;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- handlers ------------------------------------------------------------ */

static void h_echo(struct http_request *req, struct http_response *resp, void *arg)
{
    struct sv v;
    http_response_header(resp, "Content-Type", "text/plain");
    buf_appendf(&resp->body, "method=%.*s path=%.*s", SV_FMT(req->method), SV_FMT(req->path));
    if (http_request_form_value(req, "q", &v))
        buf_appendf(&resp->body, " q=%.*s", SV_FMT(v));
    buf_appendf(&resp->body, " body=%.*s", (int)req->body.len, req->body.p ? req->body.p : "");
}

static void h_slow(struct http_request *req, struct http_response *resp, void *arg)
{
    struct fixture *fx = arg;
    atomic_fetch_add(&fx->slow_started, 1);
    /* Bounded: the test opens the gate well before this runs out. */
    int64_t end = deadline_ms(20000);
    while (!atomic_load(&fx->gate_open) && now_ms() < end) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    resp->status = 200;
    buf_appendf(&resp->body, "slow");
}

static void h_fast(struct http_request *req, struct http_response *resp, void *arg)
{
    resp->status = 200;
    buf_appendf(&resp->body, "fast%.*s", SV_FMT(req->raw_query));
}

/* HTTP_ROUTE_TRY_LOOP: "?loop" answers in the try on the loop thread;
 * anything else defers after leaving a status, a header and body bytes in
 * resp that must not reach the client.  The body says which threads ran
 * the handler (the try records the loop thread's id for the second call). */
static void h_try(struct http_request *req, struct http_response *resp, void *arg)
{
    struct fixture *fx = arg;
    if (req->is_on_loop) {
        fx->try_thread = pthread_self();
        atomic_fetch_add(&fx->tries, 1);
        if (sv_eq_cstr(req->raw_query, "loop")) {
            buf_appendf(&resp->body, "on loop");
            return;
        }
        resp->status = 418;
        http_response_header(resp, "X-Try", "dropped");
        buf_appendf(&resp->body, "junk from the try");
        http_response_defer(resp);
        return;
    }
    http_response_header(resp, "Content-Type", "text/plain");
    buf_appendf(&resp->body, "on worker, %s thread",
                pthread_equal(fx->try_thread, pthread_self()) ? "same" : "another");
}

static void h_write(struct http_request *req, struct http_response *resp, void *arg)
{
    struct fixture *fx = arg;
    atomic_store(&fx->plain_flush_rc, http_response_flush(resp));
    resp->status = 204;
    http_response_header(resp, "Content-Type", "application/json");
}

#define BIG_BODY_BYTES (1 << 20)

/* 1 MiB of a repeated sequence number taken from the query ("?7"). */
static void h_big(struct http_request *req, struct http_response *resp, void *arg)
{
    char c = req->raw_query.n ? req->raw_query.p[0] : '-';
    if (buf_reserve(&resp->body, BIG_BODY_BYTES) != 0)
        abort(); /* not a cmocka assert: this runs on the loop thread */
    memset(resp->body.p, c, BIG_BODY_BYTES);
    resp->body.len = BIG_BODY_BYTES;
    resp->body.p[resp->body.len] = '\0';
}

static void wait_gate(struct fixture *fx)
{
    int64_t end = deadline_ms(20000);
    while (!atomic_load(&fx->gate_open) && now_ms() < end) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
}

/* Streams "a", then (after the gate opens) "bb", and leaves "ccc" for the
 * server to send when it returns. */
static void h_stream(struct http_request *req, struct http_response *resp, void *arg)
{
    struct fixture *fx = arg;
    http_response_header(resp, "Content-Type", "application/json");
    /* Handlers run off the test thread: cmocka asserts cannot be used here;
     * a wrong answer shows in what the client receives. */
    buf_append_str(&resp->body, "a");
    if (http_response_flush(resp) != 0)
        return;
    resp->status = 500; /* too late: the head went out with 200 */
    wait_gate(fx);
    buf_append_str(&resp->body, "bb");
    if (http_response_flush(resp) != 0)
        return;
    buf_append_str(&resp->body, "ccc");
}

/* Streams 64 KiB pieces until the client goes away (bounded). */
static void h_stream_forever(struct http_request *req, struct http_response *resp, void *arg)
{
    struct fixture *fx = arg;
    int rc = 0;
    int64_t end = deadline_ms(10000);
    while (rc == 0 && now_ms() < end) {
        if (buf_reserve(&resp->body, 65536) != 0)
            abort();
        memset(resp->body.p, 'z', 65536);
        resp->body.len = 65536;
        rc = http_response_flush(resp);
    }
    atomic_store(&fx->stream_rc, rc);
    atomic_store(&fx->is_stream_done, true);
}

struct fx_opts {
    size_t max_body_bytes;
    size_t max_header_bytes;
    int64_t read_header_timeout_ns;
    int64_t idle_timeout_ns;
    bool is_fake_clock;
};

static struct fixture *fx_start(const struct fx_opts *fo)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    pthread_mutex_init(&fx->mu, NULL);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    if (fo && fo->is_fake_clock)
        clk_init_fake(&fx->clock, 1700000000LL * NS_PER_SEC);
    else
        clk_init_real(&fx->clock);
    fx->reg = metrics_registry_new();
    struct http_server_opts o = {
        .listen = { "127.0.0.1:0" },
        .nlisten = 1,
        .max_body_bytes = fo && fo->max_body_bytes ? fo->max_body_bytes : 1 << 20,
        .max_header_bytes = fo ? fo->max_header_bytes : 0,
        .read_header_timeout_ns = fo && fo->read_header_timeout_ns ? fo->read_header_timeout_ns
                                                                   : 10 * NS_PER_SEC,
        .idle_timeout_ns = fo && fo->idle_timeout_ns ? fo->idle_timeout_ns : 10 * NS_PER_SEC,
        .version = "1.8.10",
        .metrics = fx->reg,
        .clock = &fx->clock,
    };
    struct err e = { 0 };
    assert_int_equal(http_server_new(&fx->loop, &o, &fx->srv, &e), 0);
    assert_int_equal(http_server_route(fx->srv, "/echo", "GET,POST", HTTP_ROUTE_LOOP, h_echo, fx), 0);
    assert_int_equal(http_server_route(fx->srv, "/slow", "GET", HTTP_ROUTE_WORKER, h_slow, fx), 0);
    assert_int_equal(http_server_route(fx->srv, "/fast", "GET", HTTP_ROUTE_LOOP, h_fast, fx), 0);
    assert_int_equal(http_server_route(fx->srv, "/fastw", "GET", HTTP_ROUTE_WORKER, h_fast, fx), 0);
    assert_int_equal(http_server_route(fx->srv, "/big", "GET,HEAD", HTTP_ROUTE_LOOP, h_big, fx), 0);
    assert_int_equal(http_server_route(fx->srv, "/stream", "GET",
                                       HTTP_ROUTE_WORKER | HTTP_ROUTE_STREAM, h_stream, fx),
                     0);
    assert_int_equal(http_server_route(fx->srv, "/stream/forever", "GET",
                                       HTTP_ROUTE_WORKER | HTTP_ROUTE_STREAM, h_stream_forever,
                                       fx),
                     0);
    assert_int_equal(http_server_route(fx->srv, "/try", "GET",
                                       HTTP_ROUTE_WORKER | HTTP_ROUTE_STREAM | HTTP_ROUTE_CORS |
                                           HTTP_ROUTE_TRY_LOOP,
                                       h_try, fx),
                     0);
    assert_int_equal(http_server_route(fx->srv, "/write", "POST", HTTP_ROUTE_WORKER | HTTP_ROUTE_CORS,
                                       h_write, fx),
                     0);
    assert_int_equal(http_server_start(fx->srv, &e), 0);
    fx->port = http_server_port(fx->srv, 0);
    assert_true(fx->port > 0);
    assert_int_equal(uv_async_init(&fx->loop, &fx->async, on_async), 0);
    fx->async.data = fx;
    assert_int_equal(pthread_create(&fx->thread, NULL, loop_main, fx), 0);
    return fx;
}

static void fx_stop(struct fixture *fx)
{
    atomic_store(&fx->gate_open, 1);
    send_cmd(fx, CMD_CLOSE);
    pthread_join(fx->thread, NULL);
    http_server_free(fx->srv);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    metrics_registry_free(fx->reg);
    pthread_mutex_destroy(&fx->mu);
    free(fx);
}

/* ---- client -------------------------------------------------------------- */

struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static void client_open(struct client *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Like client_open with a small receive buffer, so that unread responses
 * back up into the server quickly. */
static void client_open_rcvbuf(struct client *c, int port, int rcvbuf)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
}

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static void client_send(struct client *c, const void *p, size_t n)
{
    const char *q = p;
    while (n > 0) {
        ssize_t k = send(c->fd, q, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        assert_true(k > 0);
        q += k;
        n -= (size_t)k;
    }
}

static void client_sends(struct client *c, const char *s)
{
    client_send(c, s, strlen(s));
}

/* Reads more bytes until the deadline; returns bytes read, 0 on EOF, -1 on
 * timeout, -2 on error (ECONNRESET). */
static ssize_t client_fill(struct client *c, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -1;
        if (c->len == sizeof c->buf)
            return -2;
        ssize_t k = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -2;
        c->len += (size_t)k;
        return k;
    }
}

struct response {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
};

/* Finds a header's value in resp->head (case-sensitive name as we send). */
static const char *resp_header(const struct response *r, const char *name, char *out, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strstr(r->head, key);
    if (!p)
        return NULL;
    p += strlen(key);
    const char *e = strstr(p, "\r\n");
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Reads one response (Content-Length framed, or none for 204/HEAD). */
static void client_read_response(struct client *c, struct response *r, bool is_head_req)
{
    memset(r, 0, sizeof *r);
    int64_t dl = deadline_ms(5000);
    char *end;
    for (;;) {
        c->buf[c->len < sizeof c->buf ? c->len : sizeof c->buf - 1] = '\0';
        end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end)
            break;
        ssize_t k = client_fill(c, dl);
        if (k <= 0)
            fail_msg("no complete response head (rc %zd): %.*s", k, (int)c->len, c->buf);
    }
    size_t head_n = (size_t)(end - c->buf) + 4;
    assert_true(head_n < sizeof r->head);
    memcpy(r->head, c->buf, head_n);
    r->head[head_n] = '\0';
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    char cl[32];
    size_t body_n = 0;
    if (!is_head_req && resp_header(r, "Content-Length", cl, sizeof cl))
        body_n = (size_t)strtoul(cl, NULL, 10);
    assert_true(body_n < sizeof r->body);
    while (c->len < head_n + body_n) {
        ssize_t k = client_fill(c, dl);
        if (k <= 0)
            fail_msg("short body (rc %zd)", k);
    }
    memcpy(r->body, c->buf + head_n, body_n);
    r->body[body_n] = '\0';
    r->body_len = body_n;
    memmove(c->buf, c->buf + head_n + body_n, c->len - head_n - body_n);
    c->len -= head_n + body_n;
}

/* True once the server closed the connection (EOF or reset) before the
 * deadline; bytes that arrive first are kept in c->buf. */
static bool client_wait_closed(struct client *c, int64_t ms)
{
    int64_t dl = deadline_ms(ms);
    for (;;) {
        ssize_t k = client_fill(c, dl);
        if (k == 0 || k == -2)
            return true;
        if (k == -1)
            return false;
    }
}

/* ---- tests --------------------------------------------------------------- */

static void test_keep_alive(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    client_sends(&c, "GET /echo?q=one HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "method=GET path=/echo q=one body=");
    char v[128];
    assert_non_null(resp_header(&r, "X-Influxdb-Version", v, sizeof v));
    assert_string_equal(v, "1.8.10");
    assert_non_null(resp_header(&r, "X-Influxdb-Build", v, sizeof v));
    assert_string_equal(v, "OSS");
    assert_non_null(resp_header(&r, "Date", v, sizeof v));
    char rid[128], xrid[128];
    assert_non_null(resp_header(&r, "Request-Id", rid, sizeof rid));
    assert_non_null(resp_header(&r, "X-Request-Id", xrid, sizeof xrid));
    assert_string_equal(rid, xrid);
    assert_int_equal(strlen(rid), 36);
    assert_null(resp_header(&r, "Connection", v, sizeof v));

    client_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "method=POST path=/echo body=hello");
    char rid2[128];
    assert_non_null(resp_header(&r, "Request-Id", rid2, sizeof rid2));
    assert_string_not_equal(rid, rid2);

    /* HTTP/1.0 closes unless asked to keep alive. */
    client_sends(&c, "GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_non_null(resp_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "keep-alive");
    client_sends(&c, "GET /fast HTTP/1.0\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_non_null(resp_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "close");
    assert_true(client_wait_closed(&c, 3000));
    client_close(&c);
    fx_stop(fx);
}

static void test_not_found(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    char v[256];
    client_sends(&c, "GET /nope HTTP/1.1\r\nOrigin: http://x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "text/plain; charset=utf-8");
    assert_string_equal(resp_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
    assert_string_equal(resp_header(&r, "X-Influxdb-Version", v, sizeof v), "1.8.10");
    assert_null(resp_header(&r, "Request-Id", v, sizeof v));
    assert_null(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    /* Routes match the path as sent (InfluxDB's router uses EscapedPath). */
    client_sends(&c, "GET /f%61st HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 404);
    client_sends(&c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 404);
    client_close(&c);
    fx_stop(fx);
}


static void wait_slow_started(struct fixture *fx, int n)
{
    int64_t dl = deadline_ms(5000);
    while (atomic_load(&fx->slow_started) < n) {
        assert_true(now_ms() < dl);
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
}

/* Nothing readable right now (no response has been sent). */
static void assert_no_data(struct client *c)
{
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 0), 0);
}

static void test_pipelining_in_order(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    client_sends(&c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /fast?2 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /fastw?3 HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_slow_started(fx, 1);
    /* The fast requests behind the slow one must not have been answered. */
    assert_no_data(&c);
    atomic_store(&fx->gate_open, 1);
    struct response r;
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "slow");
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "fast2");
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "fast3");
    assert_int_equal(c.len, 0);
    client_close(&c);
    fx_stop(fx);
}

/* HTTP_ROUTE_TRY_LOOP: a handler answers in its try on the loop thread, or
 * defers and runs again on a pool thread with what the try put in the
 * response dropped (the server's CORS headers kept); keep-alive and
 * pipelining order hold across both. */
static void test_try_on_loop(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    char v[128];
    client_sends(&c, "GET /try?loop HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "on loop");
    assert_int_equal(atomic_load(&fx->tries), 1);

    client_sends(&c, "GET /try?pool HTTP/1.1\r\nHost: x\r\nOrigin: http://g\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "on worker, another thread");
    assert_null(resp_header(&r, "X-Try", v, sizeof v));
    assert_non_null(resp_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "text/plain");
    assert_non_null(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    assert_string_equal(v, "http://g");
    assert_non_null(resp_header(&r, "Request-Id", v, sizeof v));
    assert_int_equal(atomic_load(&fx->tries), 2);

    /* Pipelined: a deferred request, then one answered on the loop. */
    client_sends(&c, "GET /try?pool HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /try?loop HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "on worker, another thread");
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "on loop");
    assert_int_equal(c.len, 0);
    client_close(&c);
    fx_stop(fx);
}

static void test_chunked_and_continue(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    client_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    client_sends(&c, "4;ext=1\r\ndefg\r\n");
    client_sends(&c, "0\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "method=POST path=/echo body=abcdefg");

    /* Expect: 100-continue gets the interim answer before the body is sent. */
    client_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    int64_t dl = deadline_ms(5000);
    while (c.len < sizeof cont - 1)
        assert_true(client_fill(&c, dl) > 0);
    assert_memory_equal(c.buf, cont, sizeof cont - 1);
    memmove(c.buf, c.buf + sizeof cont - 1, c.len - (sizeof cont - 1));
    c.len -= sizeof cont - 1;
    client_sends(&c, "hello");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "method=POST path=/echo body=hello");
    client_close(&c);
    fx_stop(fx);
}

static void check_413(struct client *c)
{
    struct response r;
    char v[256];
    client_read_response(c, &r, false);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "{\"error\":\"Request Entity Too Large\"}\n");
    assert_string_equal(resp_header(&r, "X-Influxdb-Error", v, sizeof v), "Request Entity Too Large");
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    assert_string_equal(resp_header(&r, "Connection", v, sizeof v), "close");
    assert_string_equal(resp_header(&r, "X-Influxdb-Version", v, sizeof v), "1.8.10");
    assert_true(client_wait_closed(c, 5000));
}

static size_t gzip_buf(const void *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (unsigned char *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t len = zs.total_out;
    deflateEnd(&zs);
    return len;
}

static void test_limits(void **state)
{
    struct fx_opts fo = { .max_body_bytes = 1000, .max_header_bytes = 4096 };
    struct fixture *fx = fx_start(&fo);
    struct client c;
    char big[2000];
    memset(big, 'x', sizeof big);

    /* Content-Length over the cap. */
    client_open(&c, fx->port);
    client_sends(&c, "POST /write?db=x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n");
    client_send(&c, big, sizeof big);
    check_413(&c);
    client_close(&c);

    /* Chunked body growing over the cap. */
    client_open(&c, fx->port);
    client_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        client_sends(&c, "1f4\r\n");
        client_send(&c, big, 500);
        client_sends(&c, "\r\n");
    }
    client_sends(&c, "0\r\n\r\n");
    check_413(&c);
    client_close(&c);

    /* A small gzip bomb: 512 KiB of zeros in about 500 bytes, so only the
     * inflated size can exceed the 1000-byte cap. */
    size_t plain_n = 512u << 10;
    unsigned char *zeros = calloc(1, plain_n);
    unsigned char *gz = malloc(64 << 10);
    assert_non_null(zeros);
    assert_non_null(gz);
    size_t gzn = gzip_buf(zeros, plain_n, gz, 64 << 10);
    assert_true(gzn < 1000);
    char head[256];
    snprintf(head, sizeof head,
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
             gzn);
    client_open(&c, fx->port);
    client_sends(&c, head);
    client_send(&c, gz, gzn);
    check_413(&c);
    client_close(&c);
    free(zeros);
    free(gz);

    /* Expect: 100-continue with a Content-Length over the cap: straight to
     * 413, no interim 100. */
    client_open(&c, fx->port);
    client_sends(&c, "POST /write HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     "Content-Length: 5000\r\n\r\n");
    {
        struct response r413;
        client_read_response(&c, &r413, false);
        assert_int_equal(r413.status, 413);
    }
    assert_true(client_wait_closed(&c, 5000));
    client_close(&c);

    /* Headers over max_header_bytes. */
    client_open(&c, fx->port);
    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\n");
    char line[1100];
    memset(line, 'v', sizeof line);
    memcpy(line, "X-Filler: ", 10);
    line[sizeof line - 2] = '\r';
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 5; i++)
        client_send(&c, line, sizeof line);
    client_sends(&c, "\r\n");
    struct response r;
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 431);
    char v[64];
    assert_string_equal(resp_header(&r, "Connection", v, sizeof v), "close");
    assert_true(client_wait_closed(&c, 5000));
    client_close(&c);

    /* Still serving. */
    client_open(&c, fx->port);
    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    client_close(&c);
    fx_stop(fx);
}

static void test_gzip_bodies(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    static const char text[] = "cpu,host=a value=1 1\ncpu,host=b value=2 2\n";
    unsigned char gz[512];
    size_t gzn = gzip_buf(text, sizeof text - 1, gz, sizeof gz);
    char head[256];
    snprintf(head, sizeof head,
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
             gzn);
    client_sends(&c, head);
    client_send(&c, gz, gzn);
    struct response r;
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "method=POST path=/echo body=cpu,host=a value=1 1\ncpu,host=b value=2 2\n");

    /* Corrupt gzip on the same connection: 400 JSON, then closed. */
    gz[gzn / 2] ^= 0xff;
    gz[gzn / 2 + 1] ^= 0xff;
    client_sends(&c, head);
    client_send(&c, gz, gzn);
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 400);
    char v[256];
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    assert_non_null(resp_header(&r, "X-Influxdb-Error", v, sizeof v));
    assert_true(strncmp(r.body, "{\"error\":\"", 10) == 0);
    assert_true(client_wait_closed(&c, 5000));
    client_close(&c);
    fx_stop(fx);
}

static void test_read_header_timeout(void **state)
{
    struct fx_opts fo = { .read_header_timeout_ns = 200 * NS_PER_MS };
    struct fixture *fx = fx_start(&fo);
    struct client c;
    client_open(&c, fx->port);
    int64_t t0 = now_ms();
    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\n");
    /* Trickle one header byte per poll period; the server must cut us off
     * about 200 ms after the first byte anyway. */
    bool closed = false;
    int64_t end = deadline_ms(5000);
    while (!closed && now_ms() < end) {
        if (send(c.fd, "X", 1, MSG_NOSIGNAL) != 1) {
            closed = true;
            break;
        }
        closed = client_wait_closed(&c, 20);
    }
    int64_t elapsed = now_ms() - t0;
    assert_true(closed);
    assert_true(elapsed >= 190);
    assert_int_equal(c.len, 0); /* no response, just closed */
    client_close(&c);
    fx_stop(fx);
}

static void test_idle_timeout(void **state)
{
    struct fx_opts fo = { .idle_timeout_ns = 200 * NS_PER_MS };
    struct fixture *fx = fx_start(&fo);
    struct client c;
    client_open(&c, fx->port);
    /* Taken before the request, so the idle period (which starts after the
     * response) lies entirely after t0. */
    int64_t t0 = now_ms();
    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    struct response r;
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_true(client_wait_closed(&c, 5000));
    assert_true(now_ms() - t0 >= 190);
    client_close(&c);

    /* A body that stalls for idle_timeout is cut off too (no response). */
    client_open(&c, fx->port);
    t0 = now_ms();
    client_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    assert_true(client_wait_closed(&c, 5000));
    assert_true(now_ms() - t0 >= 190);
    assert_int_equal(c.len, 0);
    client_close(&c);
    fx_stop(fx);
}

/* Polls until the server holds n connections (sampled on the loop). */
static void wait_conns(struct fixture *fx, size_t n)
{
    int64_t end = deadline_ms(5000);
    for (;;) {
        send_cmd(fx, CMD_NONE);
        poll_pause();
        if (atomic_load(&fx->conns_seen) == n)
            return;
        if (now_ms() > end)
            fail_msg("server holds %zu connections, want %zu", atomic_load(&fx->conns_seen), n);
    }
}

/* A new connection's first bytes are read right after accept (read_now)
 * when they are there, else by the loop later; EOF before any byte, a
 * request that comes late, and a pipelined pair sent with the connect all
 * behave as before. */
static void test_first_read(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    struct response r;
    for (int i = 0; i < 20; i++) { /* connect and close at once */
        client_open(&c, fx->port);
        client_close(&c);
    }
    wait_conns(fx, 0);
    for (int i = 0; i < 20; i++) { /* request sent with the connect */
        char req[64];
        client_open(&c, fx->port);
        snprintf(req, sizeof req, "GET /fast?%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        client_sends(&c, req);
        client_read_response(&c, &r, false);
        assert_int_equal(r.status, 200);
        char want[32];
        snprintf(want, sizeof want, "fast%d", i);
        assert_string_equal(r.body, want);
        client_close(&c);
    }
    client_open(&c, fx->port); /* the request comes after the accept */
    wait_conns(fx, 1);
    client_sends(&c, "GET /fastw?late HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /fast?next HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "fastlate");
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "fastnext");
    client_close(&c);
    wait_conns(fx, 0);
    fx_stop(fx);
}

static void test_405_options_cors(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    char v[512];

    client_sends(&c, "POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "Method Not Allowed\n");
    assert_string_equal(resp_header(&r, "Allow", v, sizeof v), "GET");
    assert_string_equal(resp_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "text/plain; charset=utf-8");
    assert_null(resp_header(&r, "Request-Id", v, sizeof v));
    assert_string_equal(resp_header(&r, "X-Influxdb-Version", v, sizeof v), "1.8.10");

    client_sends(&c, "GET /write HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 405);
    assert_string_equal(resp_header(&r, "Allow", v, sizeof v), "OPTIONS, POST");

    client_sends(&c, "OPTIONS /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 405);

    client_sends(&c, "OPTIONS /write HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(resp_header(&r, "Content-Length", v, sizeof v), "0");
    assert_null(resp_header(&r, "Content-Type", v, sizeof v));
    assert_null(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    assert_non_null(resp_header(&r, "Request-Id", v, sizeof v));

    client_sends(&c, "OPTIONS /write HTTP/1.1\r\nHost: x\r\nOrigin: http://g:3000\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "http://g:3000");

    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\nOrigin: http://g:3000\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "http://g:3000");
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Methods", v, sizeof v),
                        "DELETE, GET, OPTIONS, POST, PUT");
    assert_string_equal(resp_header(&r, "Access-Control-Allow-Headers", v, sizeof v),
                        "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, "
                        "X-CSRF-Token, X-HTTP-Method-Override");
    assert_string_equal(resp_header(&r, "Access-Control-Expose-Headers", v, sizeof v),
                        "Date, X-InfluxDB-Version, X-InfluxDB-Build");

    /* HEAD: headers only, Content-Length of the GET body. */
    client_sends(&c, "HEAD /write HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, true);
    assert_int_equal(r.status, 405);

    /* 204 from a worker route carries no Content-Length and no body. */
    client_sends(&c, "POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nm=1");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 204);
    assert_null(resp_header(&r, "Content-Length", v, sizeof v));
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    assert_non_null(resp_header(&r, "Request-Id", v, sizeof v));
    client_close(&c);
    fx_stop(fx);
}

static void test_slow_worker_does_not_block(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client a, b;
    client_open(&a, fx->port);
    client_sends(&a, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_slow_started(fx, 1);
    client_open(&b, fx->port);
    struct response r;
    for (int i = 0; i < 3; i++) {
        client_sends(&b, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
        client_read_response(&b, &r, false);
        assert_int_equal(r.status, 200);
        client_sends(&b, "GET /fastw HTTP/1.1\r\nHost: x\r\n\r\n");
        client_read_response(&b, &r, false);
        assert_int_equal(r.status, 200);
    }
    /* The slow one is still running: its gate is closed. */
    assert_no_data(&a);
    atomic_store(&fx->gate_open, 1);
    client_read_response(&a, &r, false);
    assert_string_equal(r.body, "slow");
    client_close(&a);
    client_close(&b);
    fx_stop(fx);
}

static bool try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static void test_shutdown_drains(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client busy, idle;
    struct response r;
    client_open(&idle, fx->port);
    client_sends(&idle, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&idle, &r, false);
    client_open(&busy, fx->port);
    client_sends(&busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_slow_started(fx, 1);

    send_cmd(fx, CMD_SHUTDOWN);
    /* The idle keep-alive connection is closed, the busy one is not. */
    assert_true(client_wait_closed(&idle, 5000));
    int64_t dl = deadline_ms(5000);
    while (try_connect(fx->port)) {
        assert_true(now_ms() < dl);
        poll_pause();
    }
    assert_false(atomic_load(&fx->is_done));
    assert_no_data(&busy);

    atomic_store(&fx->gate_open, 1);
    client_read_response(&busy, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "slow");
    char v[64];
    assert_string_equal(resp_header(&r, "Connection", v, sizeof v), "close");
    assert_true(client_wait_closed(&busy, 5000));
    dl = deadline_ms(5000);
    while (!atomic_load(&fx->is_done)) {
        assert_true(now_ms() < dl);
        poll_pause();
    }
    client_close(&busy);
    client_close(&idle);
    fx_stop(fx);
}

static void test_force_close_detaches_worker_job(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    client_sends(&c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_slow_started(fx, 1);
    send_cmd(fx, CMD_FORCE);
    /* Closed at once although the handler still runs; the job is freed
     * when the worker finishes (ASan checks for leaks and use after free). */
    assert_true(client_wait_closed(&c, 5000));
    assert_int_equal(c.len, 0);
    client_close(&c);
    fx_stop(fx);
}

static void test_fake_clock_timeouts(void **state)
{
    struct fx_opts fo = { .read_header_timeout_ns = 100 * NS_PER_MS, .is_fake_clock = true };
    struct fixture *fx = fx_start(&fo);
    struct client c;
    client_open(&c, fx->port);
    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\n");
    /* Real time passes, the server's clock does not: still open. */
    assert_false(client_wait_closed(&c, 300));
    assert_true(clk_advance(&fx->clock, 150 * NS_PER_MS));
    assert_true(client_wait_closed(&c, 5000));
    client_close(&c);
    fx_stop(fx);
}

static void test_close_after_connection_close(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    /* The request after "Connection: close" is never answered. */
    client_sends(&c, "GET /fast?1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                     "GET /fast?2 HTTP/1.1\r\nHost: x\r\n\r\n");
    struct response r;
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "fast1");
    char v[64];
    assert_string_equal(resp_header(&r, "Connection", v, sizeof v), "close");
    assert_true(client_wait_closed(&c, 5000));
    assert_int_equal(c.len, 0);
    client_close(&c);

    /* A malformed request gets Go's plain 400 and the connection closes. */
    client_open(&c, fx->port);
    client_sends(&c, "BLAH\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "400 Bad Request");
    assert_null(resp_header(&r, "Request-Id", v, sizeof v));
    assert_true(client_wait_closed(&c, 5000));
    client_close(&c);
    fx_stop(fx);
}

/* Reads one response whose body may exceed struct response; checks every
 * body byte equals want.  Returns the body length. */
static size_t client_read_big(struct client *c, char want)
{
    int64_t dl = deadline_ms(10000);
    char *end;
    while (!(end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL))
        assert_true(client_fill(c, dl) > 0);
    size_t head_n = (size_t)(end - c->buf) + 4;
    char *cl = memmem(c->buf, head_n, "Content-Length: ", 16);
    assert_non_null(cl);
    size_t left = (size_t)strtoul(cl + 16, NULL, 10), total = left;
    memmove(c->buf, c->buf + head_n, c->len - head_n);
    c->len -= head_n;
    while (left > 0) {
        if (c->len == 0)
            assert_true(client_fill(c, dl) > 0);
        size_t k = c->len < left ? c->len : left;
        for (size_t i = 0; i < k; i++)
            assert_int_equal(c->buf[i], want);
        memmove(c->buf, c->buf + k, c->len - k);
        c->len -= k;
        left -= k;
    }
    return total;
}

static void test_write_backpressure(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open_rcvbuf(&c, fx->port, 64 << 10);
    /* 20 MiB of responses asked for at once, read only afterwards (more than
     * the kernel buffers hold): the server stops parsing while its write
     * queue is full and resumes as the client drains it, answering
     * everything in order. */
    char reqs[20 * 64];
    size_t n = 0;
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(reqs + n, sizeof reqs - n, "GET /big?%c HTTP/1.1\r\nHost: x\r\n\r\n",
                              'a' + i);
    client_send(&c, reqs, n);
    for (int i = 0; i < 20; i++)
        assert_int_equal(client_read_big(&c, (char)('a' + i)), BIG_BODY_BYTES);
    struct response r;
    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 200);
    /* HEAD: the GET's Content-Length, no body (the next answer parses). */
    client_sends(&c, "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /fast?after HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, true);
    assert_int_equal(r.status, 200);
    char cl[32];
    assert_string_equal(resp_header(&r, "Content-Length", cl, sizeof cl), "1048576");
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "fastafter");
    client_close(&c);
    fx_stop(fx);
}

/* Reads until want (exact bytes) has arrived at the start of c->buf, then
 * consumes it. */
static void client_expect(struct client *c, const char *want)
{
    size_t n = strlen(want);
    int64_t dl = deadline_ms(5000);
    while (c->len < n)
        assert_true(client_fill(c, dl) > 0);
    c->buf[c->len < sizeof c->buf ? c->len : sizeof c->buf - 1] = '\0';
    if (memcmp(c->buf, want, n) != 0)
        fail_msg("got %.*s, want %s", (int)c->len, c->buf, want);
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void read_head(struct client *c, struct response *r)
{
    memset(r, 0, sizeof *r);
    int64_t dl = deadline_ms(5000);
    char *end;
    while (!(end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL))
        assert_true(client_fill(c, dl) > 0);
    size_t head_n = (size_t)(end - c->buf) + 4;
    memcpy(r->head, c->buf, head_n);
    r->head[head_n] = '\0';
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    memmove(c->buf, c->buf + head_n, c->len - head_n);
    c->len -= head_n;
}

static void test_streamed_response(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    char v[128];
    client_sends(&c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /fast?next HTTP/1.1\r\nHost: x\r\n\r\n");
    /* Head and first chunk arrive while the handler still runs. */
    read_head(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Transfer-Encoding", v, sizeof v), "chunked");
    assert_null(resp_header(&r, "Content-Length", v, sizeof v));
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    assert_non_null(resp_header(&r, "Request-Id", v, sizeof v));
    client_expect(&c, "1\r\na\r\n");
    assert_no_data(&c);
    atomic_store(&fx->gate_open, 1);
    client_expect(&c, "2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n");
    /* The pipelined request behind it is answered next, same connection. */
    client_read_response(&c, &r, false);
    assert_string_equal(r.body, "fastnext");
    client_close(&c);

    /* HTTP/1.0: no chunked encoding; the close ends the body. */
    client_open(&c, fx->port);
    client_sends(&c, "GET /stream HTTP/1.0\r\n\r\n");
    read_head(&c, &r);
    assert_null(resp_header(&r, "Transfer-Encoding", v, sizeof v));
    assert_null(resp_header(&r, "Content-Length", v, sizeof v));
    assert_string_equal(resp_header(&r, "Connection", v, sizeof v), "close");
    assert_true(client_wait_closed(&c, 5000));
    c.buf[c.len] = '\0';
    assert_string_equal(c.buf, "abbccc");
    client_close(&c);

    /* Flushing from a handler that is not a streaming one is refused. */
    client_open(&c, fx->port);
    client_sends(&c, "POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    client_read_response(&c, &r, false);
    assert_int_equal(r.status, 204);
    assert_int_equal(atomic_load(&fx->plain_flush_rc), ERR_INVAL);
    client_close(&c);
    fx_stop(fx);
}

static void test_streamed_client_gone(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    client_sends(&c, "GET /stream/forever HTTP/1.1\r\nHost: x\r\n\r\n");
    read_head(&c, &r);
    assert_int_equal(r.status, 200);
    client_close(&c);
    /* The handler learns the client is gone and stops. */
    int64_t dl = deadline_ms(10000);
    while (!atomic_load(&fx->is_stream_done)) {
        assert_true(now_ms() < dl);
        poll_pause();
    }
    assert_int_equal(atomic_load(&fx->stream_rc), ERR_CLOSED);
    fx_stop(fx);
}

static void test_streamed_client_stalls(void **state)
{
    struct fx_opts fo = { .idle_timeout_ns = 300 * NS_PER_MS };
    struct fixture *fx = fx_start(&fo);
    struct client c;
    /* A client that asks and then never reads: the server's queue fills,
     * the write timer cuts the client off, and the handler (blocked in
     * flush) is told ERR_CLOSED instead of waiting forever. */
    client_open_rcvbuf(&c, fx->port, 16 << 10);
    client_sends(&c, "GET /stream/forever HTTP/1.1\r\nHost: x\r\n\r\n");
    int64_t dl = deadline_ms(10000);
    while (!atomic_load(&fx->is_stream_done)) {
        assert_true(now_ms() < dl);
        poll_pause();
    }
    assert_int_equal(atomic_load(&fx->stream_rc), ERR_CLOSED);
    client_close(&c);
    fx_stop(fx);
}

static void test_metrics(void **state)
{
    struct fixture *fx = fx_start(NULL);
    struct client c;
    client_open(&c, fx->port);
    struct response r;
    client_sends(&c, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    client_sends(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd");
    client_read_response(&c, &r, false);
    client_sends(&c, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
    client_read_response(&c, &r, false);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(metrics_write_prometheus(fx->reg, &out), 0);
    assert_non_null(strstr(out.p, "nightjar_http_requests_total{route=\"/fast\",status=\"200\"} 1\n"));
    assert_non_null(strstr(out.p, "nightjar_http_requests_total{route=\"/echo\",status=\"200\"} 1\n"));
    assert_non_null(strstr(out.p, "nightjar_http_requests_total{route=\"other\",status=\"404\"} 1\n"));
    assert_non_null(strstr(out.p, "nightjar_http_request_duration_seconds_count{route=\"/fast\"} 1\n"));
    assert_non_null(strstr(out.p, "nightjar_http_open_connections 1\n"));
    assert_non_null(strstr(out.p, "nightjar_http_request_body_bytes_total 4\n"));
    /* For checking the exposition with promtool by hand. */
    const char *dump = getenv("NJ_NET_METRICS_DUMP");
    if (dump) {
        FILE *f = fopen(dump, "w");
        assert_non_null(f);
        fwrite(out.p, 1, out.len, f);
        fclose(f);
    }
    buf_fini(&out);
    client_close(&c);
    fx_stop(fx);
}

static void test_listeners(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct http_server_opts o = {
        .listen = { "127.0.0.1:0", "[::1]:0" },
        .nlisten = 2,
        .version = "1.8.10",
    };
    struct http_server *s = NULL;
    struct err e = { 0 };
    assert_int_equal(http_server_new(&loop, &o, &s, &e), 0);
    assert_int_equal(http_server_route(s, "/fast", "GET", HTTP_ROUTE_LOOP, h_fast, NULL), 0);
    assert_int_equal(http_server_route(s, "/fast", "POST", HTTP_ROUTE_LOOP, h_fast, NULL), ERR_INVAL);
    assert_int_equal(http_server_route(s, "fast", "GET", HTTP_ROUTE_LOOP, h_fast, NULL), ERR_INVAL);
    int rc = http_server_start(s, &e);
    bool has_v6 = rc == 0;
    if (rc != 0) {
        /* No IPv6 loopback on this machine: the error names the address. */
        assert_int_equal(rc, ERR_IO);
        assert_non_null(strstr(e.msg, "[::1]:0"));
        http_server_free(s);
        o.nlisten = 1;
        assert_int_equal(http_server_new(&loop, &o, &s, &e), 0);
        assert_int_equal(http_server_start(s, &e), 0);
    }
    int port4 = http_server_port(s, 0);
    assert_true(port4 > 0);
    assert_int_equal(http_server_port(s, 5), -1);
    if (has_v6)
        assert_true(http_server_port(s, 1) > 0);

    /* A second server on the same IPv4 port fails with ERR_IO naming it. */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port4);
    struct http_server_opts o2 = { .listen = { addr }, .nlisten = 1, .version = "1.8.10" };
    struct http_server *s2 = NULL;
    assert_int_equal(http_server_new(&loop, &o2, &s2, &e), 0);
    err_clear(&e);
    assert_int_equal(http_server_start(s2, &e), ERR_IO);
    assert_int_equal(e.code, ERR_IO);
    assert_non_null(strstr(e.msg, addr));
    /* Freed at once after a failed start; its handles close on the loop. */
    http_server_free(s2);

    static const char *const bad[] = { "nonsense", "127.0.0.1:99999", "[::1", "host.example:80" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_server_opts ob = { .listen = { bad[i] }, .nlisten = 1 };
        assert_int_equal(http_server_new(&loop, &ob, &s2, &e), 0);
        err_clear(&e);
        assert_int_equal(http_server_start(s2, &e), ERR_IO);
        assert_non_null(strstr(e.msg, bad[i]));
        http_server_free(s2);
    }

    http_server_close(s);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(http_server_connections(s), 0);
    http_server_free(s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void on_done_flag(void *arg)
{
    *(bool *)arg = true;
}

static void test_shutdown_without_connections(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct http_server_opts o = { .listen = { "127.0.0.1:0" }, .nlisten = 1 };
    struct http_server *s = NULL;
    assert_int_equal(http_server_new(&loop, &o, &s, NULL), 0);
    assert_int_equal(http_server_start(s, NULL), 0);
    bool is_done = false;
    http_server_shutdown(s, on_done_flag, &is_done);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_true(is_done);
    http_server_free(s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    /* As in the daemon's main(): a write to a client that has gone must be
     * an EPIPE for the server, not the end of the process. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listeners),
        cmocka_unit_test(test_shutdown_without_connections),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_pipelining_in_order),
        cmocka_unit_test(test_try_on_loop),
        cmocka_unit_test(test_first_read),
        cmocka_unit_test(test_chunked_and_continue),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_gzip_bodies),
        cmocka_unit_test(test_read_header_timeout),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_405_options_cors),
        cmocka_unit_test(test_slow_worker_does_not_block),
        cmocka_unit_test(test_shutdown_drains),
        cmocka_unit_test(test_force_close_detaches_worker_job),
        cmocka_unit_test(test_fake_clock_timeouts),
        cmocka_unit_test(test_close_after_connection_close),
        cmocka_unit_test(test_write_backpressure),
        cmocka_unit_test(test_streamed_response),
        cmocka_unit_test(test_streamed_client_gone),
        cmocka_unit_test(test_streamed_client_stalls),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
