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

enum cmd { CMD_NONE, CMD_SHUTDOWN, CMD_CLOSE };

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
    if (c == CMD_CLOSE) {
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

static void h_write(struct http_request *req, struct http_response *resp, void *arg)
{
    resp->status = 204;
    http_response_header(resp, "Content-Type", "application/json");
}

struct fx_opts {
    size_t max_body_bytes;
    size_t max_header_bytes;
    int64_t read_header_timeout_ns;
    int64_t idle_timeout_ns;
};

static struct fixture *fx_start(const struct fx_opts *fo)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    pthread_mutex_init(&fx->mu, NULL);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
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
    client_close(&c);
    fx_stop(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
