#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of the test harness itself, so later tests can trust it: the YAML
it writes is what the daemon's loader reads, responses framed by
Content-Length, chunked encoding and close all parse, the write()/query()
helpers work against a real influxd, and the webhook sink records calls."""

import json

from nightjar_harness import (Conn, Daemon, Influxd, Metrics, Raw, WebhookSink, check, check_eq,
                              run, run_cli, to_yaml)


def test_yaml_round_trip_through_the_loader():
    cfg = {
        "http.listen": ["127.0.0.1:1", "127.0.0.1:2"],
        "http.version": "1.9.9-harness\"quoted\"\\back#:x",
        "http.max_body_bytes": 12345,
        "auth": {"enabled": False},
        "internal": {"enabled": True, "interval": "90s"},
        "databases": ["alpha", "beta"],
        "shutdown_grace": Raw("2s"),
        "alerting.config": None,
    }
    text = to_yaml(cfg)
    check('  listen:\n    - "127.0.0.1:1"\n    - "127.0.0.1:2"\n' in text, "list rendering:\n" +
          text)
    d = Daemon(cfg)
    d.write_config()
    code, out, err = run_cli(["--check-config", "--config", d.config_path])
    check_eq(code, 0, "loader accepts the harness YAML (%s):\n%s" % (err.strip(), text))

    # Values arrive intact: the version string with quotes, a backslash and
    # YAML punctuation comes back in the response header and the JSON.
    version = "1.9.9-h\"q\"\\b#:x"
    with Daemon({"http.version": version}) as d2:
        check_eq(d2.http("GET", "/ping").header("X-Influxdb-Version"), version,
                 "string value through YAML")
        check_eq(d2.http("GET", "/ping?verbose=1").json(), {"version": version},
                 "verbose ping JSON-escapes the version")


def test_response_framing_parsers_against_influxd():
    with Influxd() as ref:
        check_eq(ref.query("CREATE DATABASE h")["results"][0].get("error"), None, "create db")
        r = ref.write(["m,t=a v=1 1000000000", "m,t=b v=2 2000000000"], db="h")
        check_eq(r.status, 204, "write to influxd (%r)" % r.body)
        r = ref.write("m v=3 3000000000", db="h", gzip=True)
        check_eq(r.status, 204, "gzip write to influxd (%r)" % r.body)
        res = ref.query("SELECT v FROM m", db="h", epoch="s", method="GET")
        check_eq(res["results"][0]["series"][0]["values"], [[1, 1], [2, 2], [3, 3]],
                 "query result")
        # chunked=true makes influxd answer with Transfer-Encoding: chunked.
        with Conn(ref.port) as c:
            c.send("GET /query?db=h&chunked=true&chunk_size=1&epoch=s&q=SELECT+v+FROM+m "
                   "HTTP/1.1\r\nHost: x\r\n\r\n")
            resp = c.read_response()
            check_eq(resp.header("Transfer-Encoding"), "chunked", "influxd answered chunked")
            docs = [json.loads(l) for l in resp.body.decode().splitlines() if l.strip()]
            check_eq(len(docs), 3, "one JSON document per chunk: %r" % resp.body)
            # The connection stays usable after a chunked answer.
            check_eq(c.request("GET", "/ping").status, 204, "ping after a chunked response")
        # A response framed by close (HTTP/1.0, no Content-Length) parses too.
        with Conn(ref.port) as c:
            c.send("GET /query?q=SHOW+DATABASES HTTP/1.0\r\n\r\n")
            resp = c.read_response()
            check_eq(resp.status, 200, "HTTP/1.0 query")
            check("h" in json.dumps(resp.json()), "database list %r" % resp.body)


def test_webhook_sink_and_metrics_parser():
    with WebhookSink() as sink:
        with Conn(sink.port) as c:
            r = c.request("POST", "/hook?x=1", b'{"a":1}', {"Content-Type": "application/json"})
            check_eq(r.status, 200, "sink answer")
            sink.status = 500
            check_eq(c.request("PUT", "/hook2", b"x").status, 500, "sink answers its .status")
        reqs = sink.wait_for(2)
        check_eq([(q.method, q.path) for q in reqs], [("POST", "/hook?x=1"), ("PUT", "/hook2")],
                 "recorded requests")
        check_eq(reqs[0].json(), {"a": 1}, "recorded body")

    m = Metrics('# TYPE a_total counter\na_total{k="v \\"q\\"",z="2"} 3\nb 1.5e+06\n'
                'c{le="+Inf"} 7 1700000000000\n')
    check_eq(m.get("a_total", k='v \\"q\\"', z="2"), 3.0, "labelled sample")
    check_eq(m.get("b"), 1.5e6, "unlabelled sample")
    check_eq(m.get("c", le="+Inf"), 7.0, "sample with a timestamp")
    check_eq(m.types, {"a_total": "counter"}, "types")


if __name__ == "__main__":
    run(globals())
