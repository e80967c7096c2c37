// SPDX-License-Identifier: MIT
/*
 * Liveness and self-observation routes, shaped like InfluxDB 1.8
 * (shared/spec/influx-compat.md section 2.6):
 *
 *   GET|HEAD /ping     204, empty, Content-Type: application/json
 *   GET /ping?verbose= 200 {"version":"<version>"} unless the value is empty,
 *                      "0" or "false" (1.8's rule)
 *   GET|HEAD /status   204 (1.x's deprecated alias of /ping)
 *   GET /health        200 with 1.8's body; its keys are in Go's sorted map
 *                      order: checks, message, name, status, version
 *   GET /metrics       the registry in the Prometheus text format 0.0.4
 *
 * All run on the loop thread: each is a few hundred bytes of work, and
 * /ping must answer even when every worker thread is busy.
 */
#include <string.h>

#include "common/json.h"
#include "daemon/server.h"

static const char *version_of(const struct server *s)
{
    return s->cfg.http.version ? s->cfg.http.version : NJ_INFLUXDB_VERSION;
}

static void on_ping(struct http_request *req, struct http_response *resp, void *arg)
{
    struct server *s = arg;
    struct sv v;
    http_response_header(resp, "Content-Type", "application/json");
    if (http_request_param(req, "verbose", &v) && v.n > 0 && !sv_eq_cstr(v, "0") &&
        !sv_eq_cstr(v, "false")) {
        resp->status = 200;
        if (buf_append_str(&resp->body, "{\"version\":") < 0 ||
            json_append_cstr(&resp->body, version_of(s)) < 0 ||
            buf_append_char(&resp->body, '}') < 0)
            http_response_error(resp, 500, "out of memory");
        return;
    }
    resp->status = 204;
}

static void on_status(struct http_request *req, struct http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    http_response_header(resp, "Content-Type", "application/json");
    resp->status = 204;
}

static void on_health(struct http_request *req, struct http_response *resp, void *arg)
{
    (void)req;
    struct server *s = arg;
    http_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    resp->status = 200;
    if (buf_append_str(&resp->body, "{\"checks\":[],\"message\":\"ready for queries and "
                                    "writes\",\"name\":\"influxdb\",\"status\":\"pass\","
                                    "\"version\":") < 0 ||
        json_append_cstr(&resp->body, version_of(s)) < 0 || buf_append_char(&resp->body, '}') < 0)
        http_response_error(resp, 500, "out of memory");
}

static void on_metrics(struct http_request *req, struct http_response *resp, void *arg)
{
    (void)req;
    struct server *s = arg;
    int rc = metrics_write_prometheus(s->metrics, &resp->body);
    if (rc < 0) {
        buf_reset(&resp->body);
        http_response_error(resp, 500, "cannot render metrics: %s", err_str(rc));
        return;
    }
    resp->status = 200;
    http_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
}

int routes_status_register(struct server *s)
{
    int rc = http_server_route(s->http, "/ping", "GET,HEAD", HTTP_ROUTE_LOOP, on_ping, s);
    if (rc == 0)
        rc = http_server_route(s->http, "/status", "GET,HEAD", HTTP_ROUTE_LOOP, on_status, s);
    if (rc == 0)
        rc = http_server_route(s->http, "/health", "GET", HTTP_ROUTE_LOOP, on_health, s);
    if (rc == 0)
        rc = http_server_route(s->http, "/metrics", "GET", HTTP_ROUTE_LOOP, on_metrics, s);
    return rc;
}
