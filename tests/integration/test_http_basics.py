#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP basics against the real daemon: /ping, /status, /health, the
InfluxDB common headers, router 404/405, OPTIONS and CORS
(shared/spec/influx-compat.md sections 2.1 and 2.6)."""

import re
import uuid

from nightjar_harness import Daemon, check, check_eq, run


def check_common_headers(r, what, routed=True):
    v = r.header("X-Influxdb-Version")
    check(v is not None and v.startswith("1."),
          "%s: X-Influxdb-Version %r should start with '1.'" % (what, v))
    check_eq(r.header("X-Influxdb-Build"), "OSS", "%s: X-Influxdb-Build" % what)
    if routed:
        rid = r.header("Request-Id")
        check(rid is not None, "%s: no Request-Id header: %r" % (what, r.headers))
        uuid.UUID(rid)  # raises on a malformed id
        check_eq(r.header("X-Request-Id"), rid, "%s: X-Request-Id equals Request-Id" % what)
    else:
        check(not r.has_header("Request-Id"),
              "%s: router answers carry no Request-Id: %r" % (what, r.headers))


def test_ping_status_health():
    with Daemon() as d:
        r = d.http("GET", "/ping")
        check_eq(r.status, 204, "GET /ping status")
        check_eq(r.body, b"", "GET /ping body")
        check_eq(r.header("Content-Type"), "application/json", "GET /ping Content-Type")
        check_common_headers(r, "GET /ping")
        check_eq(r.header("X-Influxdb-Version"), "1.8.10", "default reported version")

        r2 = d.http("GET", "/ping")
        check(r2.header("Request-Id") != r.header("Request-Id"),
              "two requests got the same Request-Id %r" % r.header("Request-Id"))

        r = d.http("HEAD", "/ping")
        check_eq(r.status, 204, "HEAD /ping status")
        check_common_headers(r, "HEAD /ping")

        r = d.http("GET", "/ping?verbose=true")
        check_eq(r.status, 200, "GET /ping?verbose=true status")
        check_eq(r.body, b'{"version":"1.8.10"}', "GET /ping?verbose=true body")
        check_eq(r.header("Content-Type"), "application/json", "verbose ping Content-Type")
        for off in ("false", "0", ""):
            r = d.http("GET", "/ping?verbose=" + off)
            check_eq(r.status, 204, "GET /ping?verbose=%s status" % off)

        for m in ("GET", "HEAD"):
            r = d.http(m, "/status")
            check_eq(r.status, 204, "%s /status status" % m)
            check_eq(r.body, b"", "%s /status body" % m)
            check_common_headers(r, "%s /status" % m)

        r = d.http("GET", "/health")
        check_eq(r.status, 200, "GET /health status")
        check_eq(r.body,
                 b'{"checks":[],"message":"ready for queries and writes","name":"influxdb",'
                 b'"status":"pass","version":"1.8.10"}', "GET /health body")
        check(r.header("Content-Type", "").startswith("application/json"),
              "GET /health Content-Type %r" % r.header("Content-Type"))
        check_common_headers(r, "GET /health")


def test_configured_version():
    with Daemon({"http.version": "1.7.99"}) as d:
        r = d.http("GET", "/ping?verbose=1")
        check_eq(r.header("X-Influxdb-Version"), "1.7.99", "configured X-Influxdb-Version")
        check_eq(r.body, b'{"version":"1.7.99"}', "verbose ping with configured version")
        r = d.http("GET", "/nope")
        check_eq(r.header("X-Influxdb-Version"), "1.7.99", "version header on a 404")


def test_404_405_options_cors():
    with Daemon(args=["--debug.test-endpoints"]) as d:
        r = d.http("GET", "/no/such/path")
        check_eq(r.status, 404, "unknown path status")
        check_eq(r.body, b"404 page not found\n", "404 body")
        check_eq(r.header("Content-Type"), "text/plain; charset=utf-8", "404 Content-Type")
        check_eq(r.header("X-Content-Type-Options"), "nosniff", "404 X-Content-Type-Options")
        check_common_headers(r, "404", routed=False)

        r = d.http("POST", "/ping", body=b"")
        check_eq(r.status, 405, "POST /ping status")
        check_eq(r.body, b"Method Not Allowed\n", "405 body")
        allow = [m.strip() for m in (r.header("Allow") or "").split(",")]
        check("GET" in allow and "HEAD" in allow and "POST" not in allow,
              "405 Allow header %r should list GET and HEAD" % r.header("Allow"))
        check_eq(r.header("X-Content-Type-Options"), "nosniff", "405 X-Content-Type-Options")
        check_common_headers(r, "405", routed=False)

        r = d.http("DELETE", "/health")
        check_eq(r.status, 405, "DELETE /health status")

        # OPTIONS on a CORS route (like /write, /query): 200, empty, no
        # Content-Type, with or without Origin.
        r = d.http("OPTIONS", "/debug/echo")
        check_eq(r.status, 200, "OPTIONS on a CORS route")
        check_eq(r.body, b"", "OPTIONS body")
        check_eq(r.header("Content-Length"), "0", "OPTIONS Content-Length")
        check(not r.has_header("Content-Type"), "OPTIONS has no Content-Type: %r" % r.headers)

        origin = "http://grafana.example:3000"
        r = d.http("OPTIONS", "/debug/echo", headers={"Origin": origin})
        check_eq(r.status, 200, "OPTIONS with Origin")
        check_eq(r.header("Access-Control-Allow-Origin"), origin, "preflight allow-origin")

        # OPTIONS on a route without CORS is just a method it does not allow.
        r = d.http("OPTIONS", "/ping")
        check_eq(r.status, 405, "OPTIONS /ping")

        # CORS: Origin is echoed with the fixed method/header lists.
        r = d.http("GET", "/ping", headers={"Origin": origin})
        check_eq(r.status, 204, "GET /ping with Origin")
        check_eq(r.header("Access-Control-Allow-Origin"), origin, "Access-Control-Allow-Origin")
        check_eq(r.header("Access-Control-Allow-Methods"), "DELETE, GET, OPTIONS, POST, PUT",
                 "Access-Control-Allow-Methods")
        check_eq(r.header("Access-Control-Allow-Headers"),
                 "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, "
                 "X-CSRF-Token, X-HTTP-Method-Override", "Access-Control-Allow-Headers")
        check_eq(r.header("Access-Control-Expose-Headers"),
                 "Date, X-InfluxDB-Version, X-InfluxDB-Build", "Access-Control-Expose-Headers")
        r = d.http("GET", "/ping")
        check(not r.has_header("Access-Control-Allow-Origin"),
              "no CORS headers without Origin: %r" % r.headers)


def test_startup_log():
    with Daemon() as d:
        lines = d.wait_log(r'msg="listening" addr=127\.0\.0\.1:%d' % d.port)
        check(len(lines) == 1, "one listening line per listener: %r" % lines)
        d.wait_log(r'msg="storage dir locked"')
        d.wait_log(r'msg="open files limit')
        check(re.search(r"level=error", d.log_text()) is None,
              "no error lines at a clean start")


if __name__ == "__main__":
    run(globals())
