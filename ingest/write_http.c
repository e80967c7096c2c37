// SPDX-License-Identifier: MIT
/*
 * The HTTP write endpoints: POST /write (InfluxDB 1.x) and POST
 * /api/v2/write (InfluxDB 1.8's compatibility endpoint), both thin layers
 * over ing_write() that turn query parameters into (db, rp, precision) and
 * an ing_result into the response (influx-compat.md sections 2.3 and 2.5).
 *
 * Both run on the thread pool (HTTP_ROUTE_WORKER): parsing and the WAL
 * commit block.  net/ has already de-chunked and inflated the body under
 * max_body_bytes (413 and gzip errors come from there).  Success is 204 with
 * Content-Type: application/json and no body, as 1.x sends it; every error
 * is http_response_error's {"error":"..."} body.
 *
 * Back-pressure: the request holds len(body) bytes of the engine's pending
 * budget while it parses and commits.  When the budget is spent the answer
 * is 503 + Retry-After: 1 at once, so memory held by in-flight writes stays
 * bounded by ingest.max_pending_bytes (plus one oversized request) and
 * clients such as Telegraf back off and retry.
 */
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "net/net.h"

/* Cap on the error text of one answer (the parse errors of a large bad
 * body can be long; InfluxDB sends all of them, we send the first MiB). */
#define MAX_ERROR_BYTES (1u << 20)

/* Answers an error found before ing_write() and counts the request. */
static void reject(struct ing_engine *g, struct http_response *resp, int status, const char *msg)
{
    http_response_error(resp, status, "%s", msg);
    ing_count_request(g, ING_PROTO_HTTP, status);
}

static void respond(struct ing_engine *g, struct http_response *resp, struct sv db, struct sv rp,
                    enum lp_precision prec, struct http_request *req)
{
    size_t n = req->body.len;
    if (!ing_pending_acquire(g, n)) {
        http_response_header(resp, "Retry-After", "1");
        reject(g, resp, 503,
               "write rejected: too many bytes pending (ingest.max_pending_bytes); retry later");
        return;
    }
    struct ing_result res;
    memset(&res, 0, sizeof res);
    buf_init(&res.error, MAX_ERROR_BYTES);
    (void)ing_write(g, ING_PROTO_HTTP, db, rp, prec, req->body.p, n, 0, &res);
    ing_pending_release(g, n);
    if (res.http_status == 204 || res.http_status == 0) {
        resp->status = 204;
        http_response_header(resp, "Content-Type", "application/json");
    } else {
        if (res.http_status == 503)
            http_response_header(resp, "Retry-After", "1");
        http_response_error(resp, res.http_status, "%.*s", (int)res.error.len,
                            res.error.p ? res.error.p : "");
    }
    buf_fini(&res.error);
}

/* 1.6's order: db missing (400), db unknown (404), then the body; 1.6 does
 * not validate precision (1.8's 400 is a deliberate difference) and checks
 * consistency after parsing, which only matters for bodies that fail
 * whole: we check it up front. */
static void handle_write_v1(struct http_request *req, struct http_response *resp, void *arg)
{
    struct ing_engine *g = arg;
    struct sv db = { 0 }, rp = { 0 }, ps = { 0 }, cons = { 0 };
    (void)http_request_param(req, "db", &db);
    (void)http_request_param(req, "rp", &rp);
    (void)http_request_param(req, "precision", &ps);
    struct ing_result res;
    memset(&res, 0, sizeof res);
    buf_init(&res.error, 1024);
    int rc = ing_check_database(g, db, &res);
    if (rc < 0) {
        reject(g, resp, res.http_status, res.error.p ? res.error.p : "");
        buf_fini(&res.error);
        return;
    }
    buf_fini(&res.error);
    enum lp_precision prec;
    struct err e;
    err_clear(&e);
    if (lp_precision_parse(ps, &prec, &e) < 0) {
        reject(g, resp, 400, e.msg);
        return;
    }
    if (http_request_param(req, "consistency", &cons) && cons.n &&
        !sv_eq_cstr(cons, "any") && !sv_eq_cstr(cons, "one") && !sv_eq_cstr(cons, "quorum") &&
        !sv_eq_cstr(cons, "all")) {
        reject(g, resp, 400, "invalid consistency level");
        return;
    }
    /* u and p are ignored while authentication is off. */
    respond(g, resp, db, rp, prec, req);
}

/* 1.8's order: precision, then the bucket, then /write's checks. */
static void handle_write_v2(struct http_request *req, struct http_response *resp, void *arg)
{
    struct ing_engine *g = arg;
    struct sv ps = { 0 }, bucket = { 0 };
    (void)http_request_param(req, "precision", &ps);
    enum lp_precision prec;
    char msg[512];
    if (ps.n == 0 || sv_eq_cstr(ps, "ns"))
        prec = LP_PREC_NS;
    else if (sv_eq_cstr(ps, "us"))
        prec = LP_PREC_US;
    else if (sv_eq_cstr(ps, "ms"))
        prec = LP_PREC_MS;
    else if (sv_eq_cstr(ps, "s"))
        prec = LP_PREC_S;
    else {
        char q[96];
        snprintf(msg, sizeof msg, "invalid precision \"%s\" (use ns, us, ms or s)",
                 err_quote(q, sizeof q, ps.p, ps.n, 64));
        reject(g, resp, 400, msg);
        return;
    }
    (void)http_request_param(req, "bucket", &bucket);
    if (bucket.n == 0) {
        reject(g, resp, 404,
               "bucket name \"\" is missing a slash; not in \"database/retention-policy\" format");
        return;
    }
    struct sv db = bucket, rp = { "", 0 };
    const char *slash = memchr(bucket.p, '/', bucket.n);
    if (slash) {
        db = sv_make(bucket.p, (size_t)(slash - bucket.p));
        rp = sv_make(slash + 1, bucket.n - db.n - 1);
        if (db.n == 0) {
            char q[160];
            snprintf(msg, sizeof msg,
                     "bucket name \"%s\" is in db/rp form but has an empty database",
                     err_quote(q, sizeof q, bucket.p, bucket.n, 128));
            reject(g, resp, 404, msg);
            return;
        }
    }
    /* org is ignored; Authorization: Token ... is accepted while auth is off.
     * An unknown database is ing_write's 404. */
    respond(g, resp, db, rp, prec, req);
}

int ing_http_register(struct http_server *s, struct ing_engine *g)
{
    int rc = http_server_route(s, "/write", "POST", HTTP_ROUTE_WORKER | HTTP_ROUTE_CORS,
                               handle_write_v1, g);
    if (rc == 0)
        rc = http_server_route(s, "/api/v2/write", "POST", HTTP_ROUTE_WORKER | HTTP_ROUTE_CORS,
                               handle_write_v2, g);
    return rc;
}
