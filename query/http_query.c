// SPDX-License-Identifier: MIT
/*
 * GET|POST /query: InfluxDB 1.x's query endpoint (spec influx-compat §4).
 *
 * Parameters come from the URL and, for POST forms, the body (body first,
 * like Go's r.FormValue); `pretty` is read from the URL only, as 1.6 does
 * (observed: pretty=true in a POST body is ignored).  The answer is
 * JSON, or CSV when Accept is exactly application/csv or text/csv.
 * Status: 400 for a missing q, bad params JSON or a parse error (nothing
 * runs); 200 otherwise, with statement errors inside the results.
 *
 * The handler is first tried on the server's loop thread
 * (HTTP_ROUTE_TRY_LOOP, req->is_on_loop): a small read-only query answers
 * there (qx_run's is_trial), which saves the hand-off to a pool thread and
 * back (several context switches, most of a one-series query's time).
 * Anything else, or a try that outgrows its budget, is deferred and runs on
 * a worker thread as a streaming route: with chunked=true every piece is
 * flushed to the client as it is produced (bounded by the server's
 * pending-output cap); buffered answers are sent whole when the handler
 * returns.  200 answers are gzip-compressed when
 * Accept-Encoding lists gzip, as 1.6 does (a streamed answer is one gzip
 * stream, sync-flushed at every piece); 400s never are.
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "net/net.h"
#include "query/exec.h"

/* A trial on the loop thread (qx_run's is_trial) answers only what is
 * quick to compress; a larger gzip answer is made again on a pool thread. */
#define TRIAL_MAX_GZIP_BYTES (64 * 1024)

/* Output state of one response: optional gzip over everything sent. */
struct out {
    struct http_response *resp;
    bool is_gzip;
    bool is_z_open;
    z_stream z;
};

/* Compresses resp->body in place (mode Z_SYNC_FLUSH or Z_FINISH). */
static int gzip_body(struct out *o, int mode)
{
    struct buf *b = &o->resp->body;
    if (!o->is_z_open) {
        memset(&o->z, 0, sizeof o->z);
        if (deflateInit2(&o->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return ERR_NOMEM;
        o->is_z_open = true;
    }
    struct buf zb;
    buf_init(&zb, 0);
    o->z.next_in = (Bytef *)(b->p ? b->p : "");
    o->z.avail_in = (uInt)b->len;
    int zrc;
    do {
        if (buf_reserve(&zb, 16384) < 0) {
            buf_fini(&zb);
            return ERR_NOMEM;
        }
        o->z.next_out = (Bytef *)zb.p + zb.len;
        o->z.avail_out = (uInt)(zb.cap - zb.len - 1);
        size_t before = o->z.avail_out;
        zrc = deflate(&o->z, mode);
        zb.len += before - o->z.avail_out;
    } while (zrc == Z_OK && (o->z.avail_in > 0 || o->z.avail_out == 0));
    if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
        buf_fini(&zb);
        return ERR_NOMEM;
    }
    buf_reset(b);
    int rc = buf_append(b, zb.p ? zb.p : "", zb.len);
    buf_fini(&zb);
    return rc;
}

static void out_fini(struct out *o)
{
    if (o->is_z_open)
        deflateEnd(&o->z);
    o->is_z_open = false;
}

static int flush_cb(void *arg, struct buf *body)
{
    (void)body;
    struct out *o = arg;
    if (o->is_gzip) {
        int rc = gzip_body(o, Z_SYNC_FLUSH);
        if (rc)
            return rc;
    }
    return http_response_flush(o->resp);
}

/* A request-level error: JSON {"error":..} (indented with pretty=true),
 * or CSV when the client asked for CSV (1.6 writes errors with the
 * response's formatter). */
static void query_error(struct http_response *resp, bool is_csv, bool is_pretty, int status,
                        const char *msg)
{
    buf_reset(&resp->body);
    resp->nheaders = 0;
    http_response_error(resp, status, "%s", msg);
    if (!is_csv && is_pretty) {
        struct buf t;
        buf_init(&t, 0);
        size_t n = resp->body.len;
        while (n && resp->body.p[n - 1] == '\n')
            n--;
        if (qx_json_indent(&t, resp->body.p, n) == 0 && buf_append_char(&t, '\n') == 0) {
            buf_reset(&resp->body);
            if (buf_append(&resp->body, t.p, t.len) < 0)
                buf_reset(&resp->body);
        }
        buf_fini(&t);
    }
    if (!is_csv)
        return;
    buf_reset(&resp->body);
    for (size_t i = 0; i < resp->nheaders; i++) {
        if (sv_case_eq(resp->headers[i].name, "Content-Type")) {
            resp->headers[i] = resp->headers[--resp->nheaders];
            break;
        }
    }
    http_response_header(resp, "Content-Type", "text/csv");
    if (qx_csv_error(&resp->body, sv_cstr(msg)) < 0)
        buf_reset(&resp->body);
}

static bool accepts_gzip(const struct http_request *req)
{
    const struct sv *ae = http_request_header(req, "Accept-Encoding");
    struct sv rest = ae ? *ae : SV_NULL;
    while (rest.p) {
        struct sv item;
        rest = sv_cut(rest, ',', &item);
        item = sv_trim(item);
        struct sv params = sv_cut(item, ';', &item);
        (void)params;
        if (sv_case_eq(sv_trim(item), "gzip"))
            return true;
    }
    return false;
}

static bool param_true(const struct http_request *req, const char *name, bool form)
{
    struct sv v;
    bool has = form ? http_request_form_value(req, name, &v) : http_request_param(req, name, &v);
    return has && sv_eq_cstr(v, "true");
}

void qx_http_handle(struct http_request *req, struct http_response *resp,
                    const struct qx_http_env *env)
{
    const struct sv *accept = http_request_header(req, "Accept");
    enum qx_format fmt = accept && (sv_eq_cstr(*accept, "application/csv") ||
                                    sv_eq_cstr(*accept, "text/csv"))
                             ? QX_FMT_CSV
                             : QX_FMT_JSON;
    bool is_csv = fmt == QX_FMT_CSV;
    bool is_pretty = param_true(req, "pretty", false);
    struct sv q = SV_NULL;
    http_request_form_value(req, "q", &q);
    struct sv trimmed = q;
    while (trimmed.n && strchr(" \t\r\n\v\f", trimmed.p[0])) {
        trimmed.p++;
        trimmed.n--;
    }
    if (trimmed.n == 0) {
        query_error(resp, is_csv, is_pretty, 400, "missing required parameter \"q\"");
        return;
    }
    struct sv db = SV_NULL, rp = SV_NULL, epoch = SV_NULL, chunk = SV_NULL, pj = SV_NULL;
    http_request_form_value(req, "db", &db);
    http_request_form_value(req, "rp", &rp);
    http_request_form_value(req, "epoch", &epoch);
    epoch = sv_trim(epoch); /* 1.6 trims it (epoch=" ms" is ms) */
    http_request_form_value(req, "chunk_size", &chunk);
    http_request_form_value(req, "params", &pj);

    struct iql_params params = { 0 };
    struct err e;
    err_clear(&e);
    if (pj.n && qx_parse_params_json(pj, req->arena, &params, &e) < 0) {
        char msg[ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "error parsing query parameters: %s", e.msg);
        query_error(resp, is_csv, is_pretty, 400, msg);
        return;
    }
    bool is_chunked = param_true(req, "chunked", true);
    if (req->is_on_loop && is_chunked) {
        http_response_defer(resp); /* streams: a pool thread's work */
        return;
    }
    size_t chunk_rows = 10000;
    if (is_chunked && chunk.n) {
        /* strconv.Atoi: an optional sign and digits only, in int64 range;
         * anything else, or a value <= 0, keeps the default (1.6). */
        struct sv digits = chunk;
        bool is_neg = digits.p[0] == '-';
        if (digits.p[0] == '+' || digits.p[0] == '-') {
            digits.p++;
            digits.n--;
        }
        uint64_t v = 0;
        bool ok = digits.n > 0;
        for (size_t i = 0; ok && i < digits.n; i++) {
            uint64_t d = (uint64_t)(digits.p[i] - '0');
            ok = digits.p[i] >= '0' && digits.p[i] <= '9' && v <= (INT64_MAX - d) / 10;
            v = ok ? v * 10 + d : v;
        }
        if (ok && !is_neg && v > 0 && v <= INT64_MAX)
            chunk_rows = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
    }
    http_response_header(resp, "Content-Type", "%s", is_csv ? "text/csv" : "application/json");

    struct qx_params p = {
        .db = db, .rp = rp, .now_ns = env->now_ns, .params = pj.n ? &params : NULL,
        .chunk_rows = chunk_rows, .is_read_only = sv_eq_cstr(req->method, "GET"),
        .is_cancelled = env->is_cancelled, .is_trial = req->is_on_loop,
    };
    struct out o = { .resp = resp, .is_gzip = accepts_gzip(req) };
    if (o.is_gzip)
        http_response_header(resp, "Content-Encoding", "gzip");
    struct qx_enc x;
    qx_enc_init(&x, fmt, &resp->body, qx_epoch_divisor(epoch.p, epoch.n), is_chunked,
                is_pretty, is_chunked ? flush_cb : NULL, &o);
    struct buf long_msg;
    buf_init(&long_msg, 1 << 20);
    int rc = qx_run(&env->ctx, q.p, q.n, &p, &x.sink, &e, &long_msg);
    if (rc == ERR_AGAIN && p.is_trial) {
        http_response_defer(resp);
    } else if (rc == ERR_PARSE) {
        /* Nothing was sent yet: the parse precedes every statement. */
        struct buf m;
        buf_init(&m, 0);
        if (buf_append_str(&m, "error parsing query: ") == 0 &&
            buf_append_str(&m, long_msg.len ? long_msg.p : e.msg) == 0)
            query_error(resp, is_csv, is_pretty, 400, m.p);
        else
            query_error(resp, is_csv, is_pretty, 400, "error parsing query");
        buf_fini(&m);
    } else if (rc == 0 && p.is_trial && o.is_gzip && resp->body.len > TRIAL_MAX_GZIP_BYTES) {
        http_response_defer(resp); /* compressing it would hold the loop up */
    } else if (rc == 0) {
        rc = qx_enc_finish(&x);
        if (rc == 0 && o.is_gzip)
            rc = gzip_body(&o, Z_FINISH);
        if (rc) {
            char msg[128];
            snprintf(msg, sizeof msg, "cannot encode the result: %s", err_str(rc));
            query_error(resp, is_csv, is_pretty, 500, msg);
        }
    } else if (rc != ERR_CLOSED) {
        char msg[ERR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "query failed: %s", e.msg[0] ? e.msg : err_str(rc));
        query_error(resp, is_csv, is_pretty, 500, msg);
    }
    buf_fini(&long_msg);
    qx_enc_fini(&x);
    out_fini(&o);
}

