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
 * The handler runs on a worker thread as a streaming route: with
 * chunked=true every piece is flushed to the client as it is produced
 * (bounded by the server's pending-output cap); buffered answers are sent
 * whole when the handler returns.
 */
#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "query/exec.h"

static int flush_cb(void *arg, struct buf *out)
{
    (void)out;
    return http_response_flush(arg);
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
    struct sv q = SV_NULL;
    http_request_form_value(req, "q", &q);
    struct sv trimmed = q;
    while (trimmed.n && strchr(" \t\r\n\v\f", trimmed.p[0])) {
        trimmed.p++;
        trimmed.n--;
    }
    if (trimmed.n == 0) {
        http_response_error(resp, 400, "missing required parameter \"q\"");
        return;
    }
    struct sv db = SV_NULL, rp = SV_NULL, epoch = SV_NULL, chunk = SV_NULL, pj = SV_NULL;
    http_request_form_value(req, "db", &db);
    http_request_form_value(req, "rp", &rp);
    http_request_form_value(req, "epoch", &epoch);
    http_request_form_value(req, "chunk_size", &chunk);
    http_request_form_value(req, "params", &pj);

    struct iql_params params = { 0 };
    struct err e;
    err_clear(&e);
    if (pj.n && qx_parse_params_json(pj, req->arena, &params, &e) < 0) {
        http_response_error(resp, 400, "error parsing query parameters: %s", e.msg);
        return;
    }
    bool is_chunked = param_true(req, "chunked", true);
    size_t chunk_rows = 10000;
    if (is_chunked && chunk.n) {
        uint64_t v = 0;
        for (size_t i = 0; i < chunk.n && chunk.p[i] >= '0' && chunk.p[i] <= '9' && v < 1000000000; i++)
            v = v * 10 + (uint64_t)(chunk.p[i] - '0');
        if (v > 0)
            chunk_rows = (size_t)v;
    }
    const struct sv *accept = http_request_header(req, "Accept");
    enum qx_format fmt = accept && (sv_eq_cstr(*accept, "application/csv") ||
                                    sv_eq_cstr(*accept, "text/csv"))
                             ? QX_FMT_CSV
                             : QX_FMT_JSON;
    http_response_header(resp, "Content-Type", "%s",
                         fmt == QX_FMT_CSV ? "text/csv" : "application/json");

    struct qx_params p = {
        .db = db, .rp = rp, .now_ns = env->now_ns, .params = pj.n ? &params : NULL,
        .chunk_rows = chunk_rows, .is_read_only = sv_eq_cstr(req->method, "GET"),
        .is_cancelled = env->is_cancelled,
    };
    struct qx_enc x;
    qx_enc_init(&x, fmt, &resp->body, qx_epoch_divisor(epoch.p, epoch.n), is_chunked,
                param_true(req, "pretty", false), is_chunked ? flush_cb : NULL, resp);
    struct buf long_msg;
    buf_init(&long_msg, 1 << 20);
    int rc = qx_run(&env->ctx, q.p, q.n, &p, &x.sink, &e, &long_msg);
    if (rc == ERR_PARSE) {
        /* Nothing was sent yet: the parse precedes every statement. */
        resp->nheaders = 0;
        http_response_error(resp, 400, "error parsing query: %s", long_msg.len ? long_msg.p : e.msg);
    } else if (rc == 0) {
        rc = qx_enc_finish(&x);
        if (rc) {
            buf_reset(&resp->body);
            http_response_error(resp, 500, "cannot encode the result: %s", err_str(rc));
        }
    } else if (rc != ERR_CLOSED) {
        buf_reset(&resp->body);
        http_response_error(resp, 500, "query failed: %s", e.msg[0] ? e.msg : err_str(rc));
    }
    buf_fini(&long_msg);
    qx_enc_fini(&x);
}

