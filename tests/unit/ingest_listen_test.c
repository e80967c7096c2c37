// SPDX-License-Identifier: MIT
/*
 * ingest listeners (listen.h): TCP and UDP against a fake write engine.
 *
 * Each test runs the listener on its own libuv loop in a background thread,
 * bound to 127.0.0.1:0, and talks to it over real sockets from the test
 * thread.  The loop is reached only through a uv_async_t (stop); what the
 * listener did is observed through the fake engine (under its mutex) and
 * through the metrics registry (atomics).  Every wait polls with a deadline
 * scaled by TEST_TIMEOUT_MULT; nothing sleeps to let something happen.
 *
 * The fake engine defines ing_write and ing_pending_* in this file, so the
 * linker never pulls the real engine out of nj_ingest.  A line fails when
 * the real parser (lp.h) rejects it or, so that a test can make the engine
 * disagree with the parser, when it starts with "bad".  It records every
 * call's arguments and the good lines it "stored", in order, and can hold
 * writers at a gate to test back-pressure.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
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

#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"
#include "ingest/listen.h"
#include "ingest/lp.h"

/* ---- fake engine ----------------------------------------------------------- */

struct ing_engine {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t pending;
    uint64_t max_pending;
    uint64_t max_pending_seen;
    bool is_gated;            /* writers wait while set */
    size_t nwaiting;          /* writers waiting at the gate */
    size_t ncalls;
    size_t max_body_len;
    struct buf stored;        /* good lines, "\n"-terminated, in call order */
    enum ing_proto proto;     /* of the last call */
    unsigned flags;
    char db[32], rp[32];
    enum lp_precision prec;
};

static void eng_init(struct ing_engine *g, uint64_t max_pending)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->max_pending = max_pending;
    buf_init(&g->stored, 0);
}

static void eng_fini(struct ing_engine *g)
{
    buf_fini(&g->stored);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void eng_set_gate(struct ing_engine *g, bool on)
{
    pthread_mutex_lock(&g->mu);
    g->is_gated = on;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void copy_sv(char *out, size_t cap, struct sv s)
{
    snprintf(out, cap, "%.*s", SV_FMT(s));
}

/* The real parser's verdict on one line. */
static bool lp_valid(const char *line, size_t n)
{
    struct lp_parser p;
    struct lp_point pt;
    lp_parser_init(&p, line, n, LP_PREC_NS, 1, NULL);
    int rc = lp_next(&p, &pt, NULL);
    lp_parser_fini(&p);
    return rc == 1;
}

int ing_write(struct ing_engine *g, enum ing_proto proto, struct sv db, struct sv rp,
              enum lp_precision prec, const char *body, size_t len, unsigned flags,
              struct ing_result *res)
{
    pthread_mutex_lock(&g->mu);
    g->nwaiting++;
    while (g->is_gated)
        pthread_cond_wait(&g->cv, &g->mu);
    g->nwaiting--;
    g->ncalls++;
    g->proto = proto;
    g->flags = flags;
    copy_sv(g->db, sizeof g->db, db);
    copy_sv(g->rp, sizeof g->rp, rp);
    g->prec = prec;
    if (len > g->max_body_len)
        g->max_body_len = len;

    res->http_status = 204;
    res->lines = res->points_written = res->parse_errors = res->dropped = 0;
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0 counts; pass 1 stores, unless all-or-nothing found a bad line */
        if (pass == 1 && (flags & ING_ALL_OR_NOTHING) && res->parse_errors)
            break;
        size_t i = 0;
        while (i < len) {
            const char *nl = memchr(body + i, '\n', len - i);
            size_t n = nl ? (size_t)(nl - (body + i)) : len - i;
            if (n > 0) {
                bool is_bad = (n >= 3 && memcmp(body + i, "bad", 3) == 0) ||
                              !lp_valid(body + i, n);
                if (pass == 0) {
                    res->lines++;
                    if (is_bad) {
                        res->parse_errors++;
                        if (res->error.len == 0)
                            buf_appendf(&res->error, "unable to parse '%.*s': fake", (int)n,
                                        body + i);
                    }
                } else if (!is_bad) {
                    assert_int_equal(buf_append(&g->stored, body + i, n), 0);
                    assert_int_equal(buf_append_char(&g->stored, '\n'), 0);
                    res->points_written++;
                }
            }
            i += n + 1;
        }
    }
    if (res->parse_errors)
        res->http_status = 400;
    pthread_mutex_unlock(&g->mu);
    return 0;
}

bool ing_pending_acquire(struct ing_engine *g, size_t n)
{
    pthread_mutex_lock(&g->mu);
    bool ok = g->pending == 0 || g->pending + n <= g->max_pending;
    if (ok) {
        g->pending += n;
        if (g->pending > g->max_pending_seen)
            g->max_pending_seen = g->pending;
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void ing_pending_release(struct ing_engine *g, size_t n)
{
    pthread_mutex_lock(&g->mu);
    assert_true(g->pending >= n);
    g->pending -= n;
    pthread_mutex_unlock(&g->mu);
}

/* ---- loop fixture ---------------------------------------------------------- */

struct fixture {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t thread;
    struct ing_engine eng;
    struct metrics_registry *reg;
    struct ing_tcp *tcp;
    struct ing_udp *udp;
    int nrunning;             /* listeners not yet done (loop thread) */
    atomic_bool is_done;
    int port;
};

static int64_t timeout_mult(void)
{
    const char *m = getenv("TEST_TIMEOUT_MULT");
    int64_t v = m ? atoll(m) : 1;
    return v > 0 ? v : 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec ts = { 0, (long)ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Polls cond(arg) every millisecond until it holds or seconds (scaled) pass. */
static bool wait_for(bool (*cond)(void *), void *arg, int seconds)
{
    int64_t deadline = now_ms() + seconds * 1000 * timeout_mult();
    while (now_ms() < deadline) {
        if (cond(arg))
            return true;
        pause_ms(1);
    }
    return cond(arg);
}

static void on_listener_done(void *arg)
{
    struct fixture *f = arg;
    if (--f->nrunning == 0) {
        atomic_store(&f->is_done, true);
        uv_close((uv_handle_t *)&f->async, NULL);
    }
}

static void on_async(uv_async_t *a)
{
    struct fixture *f = a->data;
    f->nrunning = (f->tcp != NULL) + (f->udp != NULL);
    if (f->tcp)
        ing_tcp_stop(f->tcp, on_listener_done, f);
    if (f->udp)
        ing_udp_stop(f->udp, on_listener_done, f);
}

static void *loop_main(void *arg)
{
    struct fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* start() fills in the engine and the registry. */
static struct ing_listen_opts base_opts(void)
{
    return (struct ing_listen_opts){
        .listen = "127.0.0.1:0",
        .database = "tcpdb",
        .retention_policy = "rp1",
        .precision = LP_PREC_S,
        .batch_timeout_ns = 20 * NS_PER_MS,
    };
}

/* Starts a TCP (is_udp false) or UDP listener with o on a new loop thread. */
static struct fixture *start(const struct ing_listen_opts *o, bool is_udp, uint64_t max_pending)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    eng_init(&f->eng, max_pending);
    f->reg = metrics_registry_new();
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_async_init(&f->loop, &f->async, on_async);
    f->async.data = f;
    struct ing_listen_opts lo = *o;
    lo.engine = &f->eng;
    lo.metrics = f->reg;
    struct err e = { 0 };
    if (is_udp) {
        assert_int_equal(ing_udp_new(&f->loop, &lo, &f->udp, &e), 0);
        int rc = ing_udp_start(f->udp, &e);
        if (rc)
            fail_msg("ing_udp_start: %s", e.msg);
        f->port = ing_udp_port(f->udp);
    } else {
        assert_int_equal(ing_tcp_new(&f->loop, &lo, &f->tcp, &e), 0);
        int rc = ing_tcp_start(f->tcp, &e);
        if (rc)
            fail_msg("ing_tcp_start: %s", e.msg);
        f->port = ing_tcp_port(f->tcp);
    }
    assert_true(f->port > 0);
    assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
    return f;
}

static void stop(struct fixture *f)
{
    uv_async_send(&f->async);
    pthread_join(f->thread, NULL);
    assert_true(atomic_load(&f->is_done));
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ing_tcp_free(f->tcp);
    ing_udp_free(f->udp);
    assert_int_equal(f->eng.pending, 0);
    metrics_registry_free(f->reg);
    eng_fini(&f->eng);
    free(f);
}

static double counter(struct fixture *f, const char *name)
{
    return metric_value(metrics_counter(f->reg, name, ""));
}

static double gauge(struct fixture *f, const char *name)
{
    return metric_value(metrics_gauge(f->reg, name, ""));
}

static double udp_result(struct fixture *f, const char *result)
{
    struct metric_family *fam =
        metrics_family(f->reg, METRIC_COUNTER, "nightjar_udp_datagrams_total", "", "result",
                       NULL, 0);
    assert_non_null(fam);
    return metric_value(metrics_child1(fam, result));
}

/* A copy of what the engine stored so far; caller frees. */
static char *stored(struct fixture *f)
{
    pthread_mutex_lock(&f->eng.mu);
    char *s = strndup(f->eng.stored.p ? f->eng.stored.p : "", f->eng.stored.len);
    pthread_mutex_unlock(&f->eng.mu);
    return s;
}

struct want_stored {
    struct fixture *f;
    const char *want;
};

static bool stored_is(void *arg)
{
    struct want_stored *w = arg;
    char *s = stored(w->f);
    bool ok = strcmp(s, w->want) == 0;
    free(s);
    return ok;
}

static void wait_stored(struct fixture *f, const char *want)
{
    struct want_stored w = { f, want };
    if (!wait_for(stored_is, &w, 10)) {
        char *s = stored(f);
        fail_msg("stored:\n%s\nwant:\n%s", s, want);
    }
}

struct want_counter {
    struct fixture *f;
    const char *name;
    double want;
};

static bool counter_at_least(void *arg)
{
    struct want_counter *w = arg;
    return counter(w->f, w->name) >= w->want;
}

static void wait_counter(struct fixture *f, const char *name, double want)
{
    struct want_counter w = { f, name, want };
    if (!wait_for(counter_at_least, &w, 10))
        fail_msg("%s = %g, want >= %g", name, counter(f, name), want);
}

/* ---- client sockets -------------------------------------------------------- */

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        assert_true(w > 0);
        p += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

static void udp_send(int port, const char *p, size_t n)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(fd, p, n, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)n);
    close(fd);
}

/* ---- TCP ------------------------------------------------------------------- */

/* Every byte arrives in its own read (the test waits for the listener to
 * have read it before sending the next), with CRLF line ends, a lone "\r"
 * inside a line kept, and a last line without "\n" parsed at EOF. */
static void test_tcp_byte_by_byte_crlf_eof(void **state)
{
    struct ing_listen_opts o = base_opts();
    struct fixture *f = start(&o, false, 1 << 20);
    const char *in = "cpu v=1 1\r\ncpu,h=a\rb v=2 2\n\r\nmem x=3 3";
    int fd = tcp_connect(f->port);
    for (size_t i = 0; in[i]; i++) {
        send_all(fd, in + i, 1);
        wait_counter(f, "nightjar_tcp_received_bytes_total", (double)(i + 1));
    }
    /* Without EOF the last line is incomplete and must not be written. */
    wait_stored(f, "cpu v=1 1\ncpu,h=a\rb v=2 2\n");
    shutdown(fd, SHUT_WR);
    wait_stored(f, "cpu v=1 1\ncpu,h=a\rb v=2 2\nmem x=3 3\n");
    pthread_mutex_lock(&f->eng.mu);
    assert_int_equal(f->eng.proto, ING_PROTO_TCP);
    assert_int_equal(f->eng.flags, 0);
    assert_string_equal(f->eng.db, "tcpdb");
    assert_string_equal(f->eng.rp, "rp1");
    assert_int_equal(f->eng.prec, LP_PREC_S);
    pthread_mutex_unlock(&f->eng.mu);
    /* The listener closes its side after EOF: we read EOF. */
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    assert_true(counter(f, "nightjar_tcp_lines_too_long_total") == 0);
    stop(f);
}

/* Lines over max_line_bytes are dropped up to their "\n", whether they
 * arrive in one read or spill over many; a line of exactly the limit (plus
 * "\r") passes; the connection keeps working. */
static void test_tcp_line_too_long(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.max_line_bytes = 16;
    struct fixture *f = start(&o, false, 1 << 20);
    int fd = tcp_connect(f->port);
    /* exactly 16 bytes, then CRLF */
    send_str(fd, "m v=1 1234567890\r\n");
    /* 30 bytes in one read */
    send_str(fd, "long v=1 12345678901234567890\nok v=2\n");
    wait_stored(f, "m v=1 1234567890\nok v=2\n");
    assert_true(counter(f, "nightjar_tcp_lines_too_long_total") == 1);
    /* a long line spread over several reads: the first part fits */
    size_t base = (size_t)counter(f, "nightjar_tcp_received_bytes_total");
    const char *parts[] = { "spill v=", "1 1234567", "8901234567890", "123\nafter v=3\n" };
    for (size_t i = 0; i < 4; i++) {
        send_str(fd, parts[i]);
        base += strlen(parts[i]);
        wait_counter(f, "nightjar_tcp_received_bytes_total", (double)base);
    }
    wait_stored(f, "m v=1 1234567890\nok v=2\nafter v=3\n");
    assert_true(counter(f, "nightjar_tcp_lines_too_long_total") == 2);
    /* an over-long partial line at EOF is dropped too */
    send_str(fd, "tail v=1 12345678901234567890");
    shutdown(fd, SHUT_WR);
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    assert_true(counter(f, "nightjar_tcp_lines_too_long_total") == 3);
    char *s = stored(f);
    assert_string_equal(s, "m v=1 1234567890\nok v=2\nafter v=3\n");
    free(s);
    stop(f);
}

/* Bad lines are dropped and counted; the connection stays open and later
 * lines are still written. */
static void test_tcp_bad_lines_keep_connection(void **state)
{
    struct ing_listen_opts o = base_opts();
    struct fixture *f = start(&o, false, 1 << 20);
    int fd = tcp_connect(f->port);
    send_str(fd, "bad line\ngood v=1\n");
    wait_stored(f, "good v=1\n");
    wait_counter(f, "nightjar_tcp_lines_invalid_total", 1);
    send_str(fd, "good v=2\nbad again\n");
    wait_stored(f, "good v=1\ngood v=2\n");
    wait_counter(f, "nightjar_tcp_lines_invalid_total", 2);
    assert_true(gauge(f, "nightjar_tcp_connections") == 1);
    close(fd);
    stop(f);
}

#define NCONNS 24
#define NLINES 60

static bool conns_zero(void *arg)
{
    return gauge(arg, "nightjar_tcp_connections") == 0 &&
           gauge(arg, "nightjar_tcp_buffered_bytes") == 0;
}

/* Many connections interleave odd-sized chunks; every line is written once
 * and each connection's lines keep their order. */
static void test_tcp_many_connections(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.batch_lines = 7;
    struct fixture *f = start(&o, false, 1 << 20);
    int fds[NCONNS];
    char *text[NCONNS];
    size_t len[NCONNS], off[NCONNS];
    for (int c = 0; c < NCONNS; c++) {
        fds[c] = tcp_connect(f->port);
        struct buf b;
        buf_init(&b, 0);
        for (int i = 0; i < NLINES; i++)
            assert_int_equal(buf_appendf(&b, "m,c=%d v=%di %d\n", c, i, i + 1), 0);
        text[c] = buf_detach(&b, &len[c]);
        off[c] = 0;
    }
    size_t chunk = 1;
    for (bool more = true; more;) {
        more = false;
        for (int c = 0; c < NCONNS; c++) {
            size_t n = len[c] - off[c];
            if (n == 0)
                continue;
            if (n > chunk)
                n = chunk;
            send_all(fds[c], text[c] + off[c], n);
            off[c] += n;
            more = true;
            chunk = chunk % 37 + 3; /* 1, 4, 7, ... odd sizes that cut lines anywhere */
        }
    }
    for (int c = 0; c < NCONNS; c++)
        close(fds[c]);
    if (!wait_for(conns_zero, f, 20))
        fail_msg("connections %g buffered %g", gauge(f, "nightjar_tcp_connections"),
                 gauge(f, "nightjar_tcp_buffered_bytes"));
    char *s = stored(f);
    int next[NCONNS] = { 0 };
    size_t nlines = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        int c, i, t;
        assert_int_equal(sscanf(line, "m,c=%d v=%di %d", &c, &i, &t), 3);
        assert_true(c >= 0 && c < NCONNS);
        assert_int_equal(i, next[c]);
        assert_int_equal(t, i + 1);
        next[c]++;
        nlines++;
    }
    free(s);
    assert_int_equal(nlines, NCONNS * NLINES);
    for (int c = 0; c < NCONNS; c++)
        free(text[c]);
    stop(f);
}

/* More connections than max_connections: the extra one is closed at once
 * and counted; the others work. */
static void test_tcp_max_connections(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.max_connections = 2;
    struct fixture *f = start(&o, false, 1 << 20);
    int a = tcp_connect(f->port), b = tcp_connect(f->port), c = tcp_connect(f->port);
    char ch;
    assert_int_equal(recv(c, &ch, 1, 0), 0); /* closed by the listener */
    assert_true(counter(f, "nightjar_tcp_connections_rejected_total") == 1);
    send_str(a, "a v=1\n");
    send_str(b, "b v=1\n");
    shutdown(a, SHUT_WR);
    assert_int_equal(recv(a, &ch, 1, 0), 0);
    shutdown(b, SHUT_WR);
    assert_int_equal(recv(b, &ch, 1, 0), 0);
    char *s = stored(f);
    assert_true(strcmp(s, "a v=1\nb v=1\n") == 0 || strcmp(s, "b v=1\na v=1\n") == 0);
    free(s);
    close(a);
    close(b);
    close(c);
    stop(f);
}

/* Back-pressure: with the engine held and a budget far below what the
 * client sends, the connection pauses, its reads stop (the client's sends
 * stall while the listener holds a bounded amount), and once the engine
 * drains everything arrives, in order. */
struct sender {
    int fd;
    const char *p;
    size_t n;
    atomic_size_t sent;
    atomic_bool is_stalled;   /* a send waited 200 ms for room */
    atomic_bool is_finished;
};

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    size_t off = 0;
    int64_t deadline = now_ms() + 40000 * timeout_mult();
    while (off < s->n && now_ms() < deadline) {
        ssize_t w = send(s->fd, s->p + off, s->n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            atomic_store(&s->sent, off);
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break;
        struct pollfd p = { .fd = s->fd, .events = POLLOUT };
        if (poll(&p, 1, 200) == 0)
            atomic_store(&s->is_stalled, true);
    }
    shutdown(s->fd, SHUT_WR);
    atomic_store(&s->is_finished, true);
    return NULL;
}

static bool sender_stalled(void *arg)
{
    return atomic_load(&((struct sender *)arg)->is_stalled);
}

static bool sender_finished(void *arg)
{
    return atomic_load(&((struct sender *)arg)->is_finished);
}

static bool one_writer_waiting(void *arg)
{
    struct fixture *f = arg;
    pthread_mutex_lock(&f->eng.mu);
    bool ok = f->eng.nwaiting == 1;
    pthread_mutex_unlock(&f->eng.mu);
    return ok;
}

static void test_tcp_backpressure(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.batch_bytes = 4096;
    o.max_line_bytes = 256;
    o.read_buffer_bytes = 16 * 1024;
    o.batch_timeout_ns = 5 * NS_PER_MS;
    struct fixture *f = start(&o, false, 1024);
    eng_set_gate(&f->eng, true);

    /* Connection a's small batch holds part of the budget in a held write. */
    int a = tcp_connect(f->port);
    send_str(a, "a v=1\n");
    assert_true(wait_for(one_writer_waiting, f, 10));

    /* Connection b sends far more than the budget. */
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; b.len < 4u * 1024 * 1024; i++)
        assert_int_equal(buf_appendf(&b, "bp,host=h%d value=%di %d\n", i % 7, i, i), 0);
    int fd = tcp_connect(f->port);
    int sndbuf = 16 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    double received0 = counter(f, "nightjar_tcp_received_bytes_total");
    struct sender s = { .fd = fd, .p = b.p, .n = b.len };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender_main, &s), 0);

    wait_counter(f, "nightjar_tcp_paused_total", 1);
    if (!wait_for(sender_stalled, &s, 20))
        fail_msg("the sender never stalled: %zu of %zu bytes sent", atomic_load(&s.sent), b.len);
    /* Reading stopped: b holds at most one batch (batch_bytes, one read and
     * one line past it), and nothing of b went to the engine. */
    double bound = 4096 + 64 * 1024 + 256 + 2;
    double received = counter(f, "nightjar_tcp_received_bytes_total") - received0;
    if (received > bound)
        fail_msg("received %g bytes while paused, bound %g", received, bound);
    assert_true(gauge(f, "nightjar_tcp_buffered_bytes") <= bound);
    assert_false(atomic_load(&s.is_finished));
    pthread_mutex_lock(&f->eng.mu);
    assert_int_equal(f->eng.ncalls, 0);
    assert_int_equal(f->eng.nwaiting, 1);
    pthread_mutex_unlock(&f->eng.mu);

    /* Releasing a's bytes resumes b; everything arrives, in order. */
    eng_set_gate(&f->eng, false);
    if (!wait_for(sender_finished, &s, 40))
        fail_msg("sender did not finish");
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&s.sent), b.len);
    char ch;
    assert_int_equal(recv(fd, &ch, 1, 0), 0);
    close(fd);
    close(a);
    char *got = stored(f);
    assert_int_equal(strlen(got), b.len + 6);
    assert_true(memcmp(got, "a v=1\n", 6) == 0);
    assert_true(memcmp(got + 6, b.p, b.len) == 0);
    free(got);
    pthread_mutex_lock(&f->eng.mu);
    /* A batch over the budget is admitted only when nothing else is
     * pending, so two batches never were. */
    assert_true(f->eng.max_pending_seen <= bound);
    assert_true(f->eng.max_body_len <= bound);
    pthread_mutex_unlock(&f->eng.mu);
    buf_fini(&b);
    stop(f);
}

/* Stopping the listener writes the complete lines still batched (a long
 * batch timeout keeps them there) and drops the unfinished line. */
static void test_tcp_stop_flushes(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.batch_timeout_ns = 3600 * NS_PER_SEC;
    struct fixture *f = start(&o, false, 1 << 20);
    int fd = tcp_connect(f->port);
    const char *in = "s v=1\ns v=2\npartial v=";
    send_str(fd, in);
    wait_counter(f, "nightjar_tcp_received_bytes_total", (double)strlen(in));
    char *s = stored(f);
    assert_string_equal(s, "");
    free(s);
    uv_async_send(&f->async);
    pthread_join(f->thread, NULL);
    s = stored(f);
    assert_string_equal(s, "s v=1\ns v=2\n");
    free(s);
    char ch;
    assert_int_equal(recv(fd, &ch, 1, 0), 0);
    close(fd);
    /* stop() again joins nothing: run its checks by hand */
    assert_true(atomic_load(&f->is_done));
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ing_tcp_free(f->tcp);
    assert_int_equal(f->eng.pending, 0);
    metrics_registry_free(f->reg);
    eng_fini(&f->eng);
    free(f);
}

/* ---- UDP ------------------------------------------------------------------- */

struct want_udp {
    struct fixture *f;
    double stored, parse;
};

static bool udp_counts(void *arg)
{
    struct want_udp *w = arg;
    return udp_result(w->f, "stored") == w->stored && udp_result(w->f, "dropped_parse") == w->parse;
}

/* One ing_write per datagram with ING_ALL_OR_NOTHING; several lines per
 * datagram; a datagram with a bad line is counted dropped_parse. */
static void test_udp_datagrams(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.database = "udpdb";
    o.retention_policy = NULL;
    o.precision = LP_PREC_NS;
    o.read_buffer_bytes = 256 * 1024;
    struct fixture *f = start(&o, true, 1 << 20);

    const char *d1 = "u1 v=1 1\nu1 v=2 2\nu1 v=3 3";
    udp_send(f->port, d1, strlen(d1));
    struct want_udp w = { f, 1, 0 };
    assert_true(wait_for(udp_counts, &w, 10));
    const char *d2 = "u2 v=1 1\nbad v= 2\nu2 v=3 3\n";
    udp_send(f->port, d2, strlen(d2));
    w.parse = 1;
    assert_true(wait_for(udp_counts, &w, 10));
    const char *d3 = "u3 v=1 1\n";
    udp_send(f->port, d3, strlen(d3));
    w.stored = 2;
    assert_true(wait_for(udp_counts, &w, 10));

    pthread_mutex_lock(&f->eng.mu);
    assert_int_equal(f->eng.ncalls, 3);
    assert_int_equal(f->eng.proto, ING_PROTO_UDP);
    assert_int_equal(f->eng.flags, ING_ALL_OR_NOTHING);
    assert_string_equal(f->eng.db, "udpdb");
    assert_string_equal(f->eng.rp, "");
    assert_int_equal(f->eng.prec, LP_PREC_NS);
    pthread_mutex_unlock(&f->eng.mu);
    char *s = stored(f);
    assert_string_equal(s, "u1 v=1 1\nu1 v=2 2\nu1 v=3 3\nu3 v=1 1\n");
    free(s);
    assert_true(udp_result(f, "dropped_overload") == 0);
    stop(f);
}

/* A datagram of the largest size IPv4 carries arrives whole. */
static void test_udp_large_datagram(void **state)
{
    struct ing_listen_opts o = base_opts();
    struct fixture *f = start(&o, true, 1 << 20);
    size_t n = 65507;
    char *d = malloc(n);
    assert_non_null(d);
    memset(d, 'x', n);
    memcpy(d, "big s=\"", 7);
    d[n - 1] = '"';
    udp_send(f->port, d, n);
    struct want_udp w = { f, 1, 0 };
    assert_true(wait_for(udp_counts, &w, 10));
    pthread_mutex_lock(&f->eng.mu);
    assert_int_equal(f->eng.max_body_len, n);
    pthread_mutex_unlock(&f->eng.mu);
    free(d);
    stop(f);
}

struct want_overload {
    struct fixture *f;
    double n;
};

static bool udp_overload_seen(void *arg)
{
    struct want_overload *w = arg;
    return udp_result(w->f, "dropped_overload") >= w->n;
}

static bool engine_has_waiters(void *arg)
{
    struct fixture *f = arg;
    pthread_mutex_lock(&f->eng.mu);
    bool ok = f->eng.nwaiting == 2;
    pthread_mutex_unlock(&f->eng.mu);
    return ok;
}

struct want_pending {
    struct fixture *f;
    uint64_t bytes;
};

static bool pending_is(void *arg)
{
    struct want_pending *w = arg;
    pthread_mutex_lock(&w->f->eng.mu);
    bool ok = w->f->eng.pending == w->bytes;
    pthread_mutex_unlock(&w->f->eng.mu);
    return ok;
}

/* Sends each datagram and waits until the listener has taken it (its bytes
 * are reserved), so they reach it in order and the test knows they did. */
static void udp_send_all(struct fixture *f, const char *const *d, size_t n, uint64_t *pending)
{
    for (size_t i = 0; i < n; i++) {
        udp_send(f->port, d[i], strlen(d[i]));
        *pending += strlen(d[i]);
        struct want_pending w = { f, *pending };
        if (!wait_for(pending_is, &w, 10))
            fail_msg("datagram %zu not taken (pending %" PRIu64 ")", i, f->eng.pending);
    }
}

/* With the engine held, datagrams past max_inflight batches and a full
 * gathering batch are dropped and counted; the others are written once the
 * engine moves. */
static void test_udp_overload(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.max_inflight = 2;
    o.batch_bytes = 8;
    struct fixture *f = start(&o, true, 1 << 20);
    eng_set_gate(&f->eng, true);
    uint64_t pending = 0;
    const char *held[] = { "o v=1 1", "o v=2 2" };
    udp_send_all(f, held, 2, &pending);
    assert_true(wait_for(engine_has_waiters, f, 10));
    const char *gathered[] = { "o v=3 3" };
    udp_send_all(f, gathered, 1, &pending);
    udp_send(f->port, "o v=4 4", 7); /* the gathering batch is full */
    struct want_overload wo = { f, 1 };
    assert_true(wait_for(udp_overload_seen, &wo, 10));
    eng_set_gate(&f->eng, false);
    struct want_udp w = { f, 3, 0 };
    assert_true(wait_for(udp_counts, &w, 10));
    /* Batches run in parallel on the pool: any order. */
    char *s = stored(f);
    assert_int_equal(strlen(s), 24);
    assert_non_null(strstr(s, "o v=1 1\n"));
    assert_non_null(strstr(s, "o v=2 2\n"));
    assert_non_null(strstr(s, "o v=3 3\n"));
    free(s);
    stop(f);
}

/* Datagrams that arrive while a write runs are written together in one
 * ing_write, in arrival order. */
static void test_udp_batches_while_busy(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.max_inflight = 1;
    struct fixture *f = start(&o, true, 1 << 20);
    eng_set_gate(&f->eng, true);
    uint64_t pending = 0;
    const char *first[] = { "a v=0 1" };
    udp_send_all(f, first, 1, &pending);
    const char *rest[] = { "b v=1 2\n", "b v=2 3\nb v=3 4", "b v=4 5" };
    udp_send_all(f, rest, 3, &pending);
    eng_set_gate(&f->eng, false);
    struct want_udp w = { f, 4, 0 };
    assert_true(wait_for(udp_counts, &w, 10));
    pthread_mutex_lock(&f->eng.mu);
    assert_int_equal(f->eng.ncalls, 2); /* the first datagram, then the other three */
    pthread_mutex_unlock(&f->eng.mu);
    char *s = stored(f);
    assert_string_equal(s, "a v=0 1\nb v=1 2\nb v=2 3\nb v=3 4\nb v=4 5\n");
    free(s);
    stop(f);
}

/* In a batch, a datagram with a bad line is written alone and stores
 * nothing; one with a line without timestamp is written alone, after the
 * datagrams before it; when the engine rejects the joint body anyway, its
 * datagrams are written one by one. */
static void test_udp_batch_keeps_datagram_rules(void **state)
{
    struct ing_listen_opts o = base_opts();
    o.max_inflight = 1;
    struct fixture *f = start(&o, true, 1 << 20);
    eng_set_gate(&f->eng, true);
    uint64_t pending = 0;
    const char *first[] = { "a v=0 1" };
    udp_send_all(f, first, 1, &pending);
    const char *rest[] = {
        "c v=1 1",
        "c v=1.5 15\nc v= 2",       /* the parser rejects the second line */
        "c v=3",                    /* no timestamp */
        "c v=4 4",
        "bad,x=1 v=5 5",            /* parses, but the engine refuses it */
        "c v=6 6\n",
        "c s=\"open 7\n",           /* these two would join into one good line */
        "c s=close\" 8\n",
    };
    udp_send_all(f, rest, sizeof rest / sizeof rest[0], &pending);
    eng_set_gate(&f->eng, false);
    struct want_udp w = { f, 5, 4 };
    if (!wait_for(udp_counts, &w, 10))
        fail_msg("stored %g dropped_parse %g", udp_result(f, "stored"),
                 udp_result(f, "dropped_parse"));
    char *s = stored(f);
    assert_string_equal(s, "a v=0 1\nc v=1 1\nc v=3\nc v=4 4\nc v=6 6\n");
    free(s);
    stop(f);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_byte_by_byte_crlf_eof),
        cmocka_unit_test(test_tcp_line_too_long),
        cmocka_unit_test(test_tcp_bad_lines_keep_connection),
        cmocka_unit_test(test_tcp_many_connections),
        cmocka_unit_test(test_tcp_max_connections),
        cmocka_unit_test(test_tcp_backpressure),
        cmocka_unit_test(test_tcp_stop_flushes),
        cmocka_unit_test(test_udp_datagrams),
        cmocka_unit_test(test_udp_large_datagram),
        cmocka_unit_test(test_udp_overload),
        cmocka_unit_test(test_udp_batches_while_busy),
        cmocka_unit_test(test_udp_batch_keeps_datagram_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
