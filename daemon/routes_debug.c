// SPDX-License-Identifier: MIT
/*
 * Routes for tests, registered only when a test asks for them on the command
 * line; a production daemon never exposes them.
 *
 * --debug.fake-clock:
 *   GET  /debug/clock               {"wall_ns":N,"mono_ns":N}
 *   POST /debug/clock?advance=DUR   moves the fake clock forward, same answer
 *   POST /debug/clock?set=NS        sets wall time (Unix ns), same answer
 * --debug.test-endpoints:
 *   GET  /debug/sleep?d=DUR         (worker thread) sleeps, then 200
 *                                   {"slept_ms":N}; returns early with
 *                                   {"slept_ms":N,"cancelled":true} when a
 *                                   shutdown is forced.  DUR at most 10m.
 *   POST /debug/echo                (worker thread, CORS like /write) 200 {"bytes":N,"fnv1a64":"hex"}
 *                                   over the body as the handler received it
 *                                   (de-chunked, inflated); the hash is FNV-1a
 *                                   64-bit, easy to recompute in a test.
 */
#include <inttypes.h>
#include <time.h>

#include "common/json.h"
#include "common/log.h"
#include "common/strparse.h"
#include "daemon/server.h"

#define SLEEP_MAX_NS (10LL * 60 * NS_PER_SEC)
#define SLEEP_STEP_NS (10 * NS_PER_MS)

static void clock_answer(struct server *s, struct http_response *resp)
{
    resp->status = 200;
    http_response_header(resp, "Content-Type", "application/json");
    if (buf_appendf(&resp->body, "{\"wall_ns\":%" PRId64 ",\"mono_ns\":%" PRId64 "}",
                    clk_wall_ns(&s->clock), clk_mono(&s->clock).ns) < 0)
        http_response_error(resp, 500, "out of memory");
}

static void on_clock(struct http_request *req, struct http_response *resp, void *arg)
{
    struct server *s = arg;
    struct sv v;
    if (sv_eq_cstr(req->method, "POST")) {
        if (http_request_param(req, "advance", &v)) {
            int64_t d;
            if (strp_duration(v, &d) < 0 || d < 0) {
                http_response_error(resp, 400, "advance: \"%.*s\" is not a duration",
                                    SV_FMT(v));
                return;
            }
            clk_advance(&s->clock, d);
        } else if (http_request_param(req, "set", &v)) {
            int64_t ns;
            if (strp_i64(v, &ns) < 0) {
                http_response_error(resp, 400, "set: \"%.*s\" is not Unix nanoseconds",
                                    SV_FMT(v));
                return;
            }
            clk_set_wall(&s->clock, ns);
        } else {
            http_response_error(resp, 400, "missing parameter advance or set");
            return;
        }
    }
    clock_answer(s, resp);
}

static void on_sleep(struct http_request *req, struct http_response *resp, void *arg)
{
    struct server *s = arg;
    struct sv v;
    int64_t d;
    if (!http_request_param(req, "d", &v) || strp_duration(v, &d) < 0 || d < 0 ||
        d > SLEEP_MAX_NS) {
        http_response_error(resp, 400, "d: want a duration up to 10m");
        return;
    }
    /* Tests wait for this line to know the request is in flight. */
    log_info("debug", "msg=\"debug sleep started\" conn=%llu d_ms=%lld",
             (unsigned long long)req->conn_id, (long long)(d / NS_PER_MS));
    /* Sleep in steps so a forced shutdown is noticed within one step. */
    struct mono_ns start = clk_mono(&s->real_clock);
    bool is_cancelled = false;
    for (;;) {
        int64_t left = d - mono_diff_ns(clk_mono(&s->real_clock), start);
        if (left <= 0)
            break;
        if (server_is_cancelled(s)) {
            is_cancelled = true;
            break;
        }
        int64_t step = left < SLEEP_STEP_NS ? left : SLEEP_STEP_NS;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)step };
        nanosleep(&ts, NULL);
    }
    int64_t slept_ms = mono_diff_ns(clk_mono(&s->real_clock), start) / NS_PER_MS;
    resp->status = 200;
    http_response_header(resp, "Content-Type", "application/json");
    if (buf_appendf(&resp->body, "{\"slept_ms\":%" PRId64 "%s}", slept_ms,
                    is_cancelled ? ",\"cancelled\":true" : "") < 0)
        http_response_error(resp, 500, "out of memory");
}

static void on_echo(struct http_request *req, struct http_response *resp, void *arg)
{
    (void)arg;
    /* At debug level on purpose: tests use it to see a log.level change. */
    log_debug("debug", "msg=\"debug echo\" conn=%llu bytes=%zu", (unsigned long long)req->conn_id,
              req->body.len);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < req->body.len; i++) {
        h ^= (unsigned char)req->body.p[i];
        h *= 0x100000001b3ULL;
    }
    resp->status = 200;
    http_response_header(resp, "Content-Type", "application/json");
    if (buf_appendf(&resp->body, "{\"bytes\":%zu,\"fnv1a64\":\"%016" PRIx64 "\"}", req->body.len,
                    h) < 0)
        http_response_error(resp, 500, "out of memory");
}

int routes_debug_register(struct server *s)
{
    int rc = 0;
    if (s->opts.is_fake_clock)
        rc = http_server_route(s->http, "/debug/clock", "GET,POST", HTTP_ROUTE_LOOP, on_clock, s);
    if (rc == 0 && s->opts.has_test_endpoints) {
        rc = http_server_route(s->http, "/debug/sleep", "GET", HTTP_ROUTE_WORKER, on_sleep, s);
        /* CORS-flagged like /write, so tests can check OPTIONS handling. */
        if (rc == 0)
            rc = http_server_route(s->http, "/debug/echo", "POST",
                                   HTTP_ROUTE_WORKER | HTTP_ROUTE_CORS, on_echo, s);
    }
    return rc;
}
