#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The /query HTTP API of the real daemon (spec influx-compat §4): GET and
POST (q in the URL, in a form body, db in either), CREATE DATABASE then
/write then SHOW / SELECT, 400 answers (missing q, parse errors, bad params)
versus statement errors inside a 200, the GET warning for mutating
statements, chunked streaming, CSV, pretty, every epoch unit, bound
parameters and the query.max_series limit.  Expected bodies are the ones
influxd 1.6 gives for the same requests (captured by hand; the meta
differential in test_query_meta.py compares against a live influxd).
"""

import json
import urllib.parse
import zlib

from nightjar_harness import Daemon, check, check_eq, run

LINES = [
    'cpu,host=a,region=us v=1,i=10i,s="x",b=true 0',
    'cpu,host=a,region=us v=0.1 1500000000000000000',
    'cpu,host=b,region=eu v=2.5,i=20i,s="y",b=false 1000000000',
    'mem,host=a free=5i 1000',
]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class QDaemon(Daemon):
    """A daemon that, once started, holds database db with LINES."""

    def start(self, attempts=3):
        Daemon.start(self, attempts)
        setup(self)
        return self


def start(config=None):
    cfg = {"storage.retention": "INF"}
    cfg.update(config or {})
    return QDaemon(cfg)


def setup(d):
    r = d.http("POST", "/query?q=" + urllib.parse.quote("CREATE DATABASE db"))
    check_eq(r.status, 200, "CREATE DATABASE status")
    check_eq(r.body, b'{"results":[{"statement_id":0}]}\n', "CREATE DATABASE body")
    check_eq(d.write(LINES).status, 204, "write status")


def get(d, **params):
    return d.http("GET", "/query?" + urllib.parse.urlencode(params))


def test_get_post_and_write_roundtrip():
    with start() as d:
        want = (b'{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","v"],'
                b'"values":[["1970-01-01T00:00:00Z",1],["1970-01-01T00:00:01Z",2.5],'
                b'["2017-07-14T02:40:00Z",0.1]]}]}]}\n')
        r = get(d, db="db", q="SELECT v FROM cpu")
        check_eq(r.status, 200, "GET status")
        check_eq(r.header("Content-Type"), "application/json", "Content-Type")
        check_eq(r.body, want, "GET body")
        # Grafana's POST: q in the form body, db in the URL.
        r = d.http("POST", "/query?db=db", urllib.parse.urlencode({"q": "SELECT v FROM cpu"}), FORM)
        check_eq(r.body, want, "POST form body")
        # node-influx POST: everything in the body, empty epoch and rp.
        r = d.http("POST", "/query", urllib.parse.urlencode(
            {"q": "SELECT v FROM cpu", "db": "db", "epoch": "", "rp": "", "params": "{}"}), FORM)
        check_eq(r.body, want, "POST all in body")
        # Several statements, one result each, in order.
        r = get(d, db="db", q="SHOW DATABASES; SHOW MEASUREMENTS")
        check_eq(r.json(), {"results": [
            {"statement_id": 0, "series": [{"name": "databases", "columns": ["name"],
                                             "values": [["db"]]}]},
            {"statement_id": 1, "series": [{"name": "measurements", "columns": ["name"],
                                             "values": [["cpu"], ["mem"]]}]}]}, "two statements")
        # A point written now is visible to the next query.
        check_eq(d.write(["cpu,host=c v=7 2000000000"]).status, 204, "second write")
        r = get(d, db="db", q="SELECT v FROM cpu WHERE host = 'c'", epoch="s")
        check_eq(r.body, b'{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":'
                         b'["time","v"],"values":[[2,7]]}]}]}\n', "new point")


def test_errors():
    with start() as d:
        for r in (d.http("GET", "/query"), get(d, q="  "), d.http("POST", "/query", "", FORM)):
            check_eq(r.status, 400, "missing q status")
            check_eq(r.body, b'{"error":"missing required parameter \\"q\\""}\n', "missing q body")
            check_eq(r.header("X-Influxdb-Error"), 'missing required parameter "q"', "error header")
        r = get(d, db="db", q="SELECT v FROM cpu; SELECT nosuch( FROM")
        check_eq(r.status, 400, "parse error status")
        check_eq(r.body, b'{"error":"error parsing query: found FROM, expected identifier, string, '
                         b'number, bool at line 1, char 35"}\n', "parse error body")
        r = get(d, db="db", q="SELECT v FROM cpu", params="notjson")
        check_eq(r.status, 400, "bad params status")
        check_eq(r.body, b'{"error":"error parsing query parameters: invalid character \'o\' in '
                         b'literal null (expecting \'u\')"}\n', "bad params body")
        # Statement errors ride in a 200.
        r = get(d, q="SELECT v FROM cpu")
        check_eq((r.status, r.body), (200, b'{"results":[{"statement_id":0,"error":"database name '
                                           b'required"}]}\n'), "no db")
        r = get(d, db="db", q="SELECT v FROM cpu", rp="nope")
        check_eq(r.body, b'{"results":[{"statement_id":0,"error":"retention policy not found: '
                         b'nope"}]}\n', "unknown rp")
        r = get(d, db="db", q="SHOW DATABASES; SELECT v FROM nodb..cpu; SHOW DATABASES")
        check_eq(r.body, b'{"results":[{"statement_id":0,"series":[{"name":"databases","columns":'
                         b'["name"],"values":[["db"]]}]},{"statement_id":1,"error":"not executed"}]}\n',
                 "not executed quirk")
        # GET with a mutating statement runs it and warns (1.6).
        r = get(d, q="CREATE DATABASE x")
        check_eq(r.body, b'{"results":[{"statement_id":0,"messages":[{"level":"warning","text":'
                         b'"deprecated use of \'CREATE DATABASE x\' in a read only context, please '
                         b'use a POST request instead"}]}]}\n', "GET warning")
        check("x" in json.dumps(get(d, q="SHOW DATABASES").json()), "x was created")
        r = d.http("OPTIONS", "/query")
        check_eq((r.status, r.body), (200, b""), "OPTIONS")


def test_chunked_csv_pretty():
    with start() as d:
        r = get(d, db="db", q="SELECT v FROM cpu", chunked="true", chunk_size="1")
        check_eq(r.status, 200, "chunked status")
        check_eq(r.header("Transfer-Encoding"), "chunked", "streamed")
        check_eq(r.body,
                 b'{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","v"],'
                 b'"values":[["1970-01-01T00:00:00Z",1]],"partial":true}],"partial":true}]}\n'
                 b'{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","v"],'
                 b'"values":[["1970-01-01T00:00:01Z",2.5]],"partial":true}],"partial":true}]}\n'
                 b'{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","v"],'
                 b'"values":[["2017-07-14T02:40:00Z",0.1]]}]}]}\n', "chunked body")
        r = d.http("GET", "/query?" + urllib.parse.urlencode(
            {"db": "db", "q": "SELECT * FROM cpu GROUP BY host"}), None,
            {"Accept": "application/csv"})
        check_eq(r.header("Content-Type"), "text/csv", "CSV content type")
        check_eq(r.body, b"name,tags,time,b,i,region,s,v\n"
                         b"cpu,host=a,0,true,10,us,x,1\n"
                         b"cpu,host=a,1500000000000000000,,,us,,0.1\n"
                         b"cpu,host=b,1000000000,false,20,eu,y,2.5\n", "CSV body")
        r = get(d, q="SHOW DATABASES", pretty="true")
        check_eq(r.body, b'{\n    "results": [\n        {\n            "statement_id": 0,\n'
                         b'            "series": [\n                {\n'
                         b'                    "name": "databases",\n'
                         b'                    "columns": [\n                        "name"\n'
                         b'                    ],\n                    "values": [\n'
                         b'                        [\n                            "db"\n'
                         b'                        ]\n                    ]\n                }\n'
                         b'            ]\n        }\n    ]\n}\n', "pretty body")
        # 1.6 reads pretty from the URL only.
        r = d.http("POST", "/query", urllib.parse.urlencode({"q": "SHOW DATABASES",
                                                             "pretty": "true"}), FORM)
        check_eq(r.body, b'{"results":[{"statement_id":0,"series":[{"name":"databases",'
                         b'"columns":["name"],"values":[["db"]]}]}]}\n', "pretty in body ignored")


def test_gzip():
    with start() as d:
        plain = get(d, db="db", q="SELECT v FROM cpu")
        for extra in ({}, {"chunked": "true", "chunk_size": "1"}):
            p = {"db": "db", "q": "SELECT v FROM cpu"}
            p.update(extra)
            r = d.http("GET", "/query?" + urllib.parse.urlencode(p), None,
                       {"Accept-Encoding": "gzip, deflate"})
            check_eq(r.status, 200, "gzip status")
            check_eq(r.header("Content-Encoding"), "gzip", "Content-Encoding")
            body = zlib.decompress(r.body, 31)
            if not extra:
                check_eq(body, plain.body, "gzip body")
            else:
                check_eq(len(body.splitlines()), 3, "three gzip'd chunks")
        # Errors are never compressed.
        r = d.http("GET", "/query?q=SELECT", None, {"Accept-Encoding": "gzip"})
        check_eq((r.status, r.header("Content-Encoding")), (400, None), "400 not gzip'd")
        check(r.body.startswith(b'{"error":"error parsing query'), "400 body plain")


def test_epochs_and_params():
    with start() as d:
        want = {
            None: '["1970-01-01T00:00:00Z",1],["1970-01-01T00:00:01Z",2.5],["2017-07-14T02:40:00Z",0.1]',
            "ns": "[0,1],[1000000000,2.5],[1500000000000000000,0.1]",
            "n": "[0,1],[1000000000,2.5],[1500000000000000000,0.1]",
            "u": "[0,1],[1000000,2.5],[1500000000000000,0.1]",
            "ms": "[0,1],[1000,2.5],[1500000000000,0.1]",
            "s": "[0,1],[1,2.5],[1500000000,0.1]",
            "m": "[0,1],[0,2.5],[25000000,0.1]",
            "h": "[0,1],[0,2.5],[416666,0.1]",
            "xyz": "[0,1],[1000000000,2.5],[1500000000000000000,0.1]",
        }
        for epoch, rows in want.items():
            p = {"db": "db", "q": "SELECT v FROM cpu"}
            if epoch:
                p["epoch"] = epoch
            r = get(d, **p)
            body = ('{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","v"],'
                    '"values":[%s]}]}]}\n' % rows).encode()
            check_eq(r.body, body, "epoch=%s" % epoch)
        r = get(d, db="db", q="SELECT v FROM cpu WHERE host = $h", epoch="s",
                params=json.dumps({"h": "b"}))
        check_eq(r.body, b'{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":'
                         b'["time","v"],"values":[[1,2.5]]}]}]}\n', "bound parameter")


def test_create_database_uses_storage_retention():
    # Deliberate difference 3: no WITH DURATION -> storage.retention (30d default).
    with Daemon() as d:
        r = d.http("POST", "/query?q=" + urllib.parse.quote("CREATE DATABASE d30"))
        check_eq(r.status, 200, "CREATE status")
        r = get(d, q="SHOW RETENTION POLICIES ON d30")
        check_eq(r.body, b'{"results":[{"statement_id":0,"series":[{"columns":["name","duration",'
                         b'"shardGroupDuration","replicaN","default"],"values":[["autogen",'
                         b'"720h0m0s","24h0m0s",1,true]]}]}]}\n', "30d autogen")
        r = d.http("POST", "/query?q=" + urllib.parse.quote("CREATE DATABASE dinf WITH DURATION INF"))
        r = get(d, q="SHOW RETENTION POLICIES ON dinf")
        check_eq(r.json()["results"][0]["series"][0]["values"], [["autogen", "0s", "168h0m0s", 1, True]],
                 "WITH DURATION INF")


def test_query_limits():
    with start({"query.max_series": 1}) as d:
        r = get(d, db="db", q="SELECT v FROM cpu")
        check_eq(r.status, 200, "limit status")
        err = r.json()["results"][0].get("error", "")
        check_eq(err, "max-select-series limit exceeded: (2/1)", "max_series error")
        r = get(d, db="db", q="SELECT v FROM cpu WHERE host = 'a'", epoch="s")
        check_eq(r.body, b'{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":'
                         b'["time","v"],"values":[[0,1],[1500000000,0.1]]}]}]}\n',
                 "one series is within the limit")



def test_max_buckets_config():
    # query.max_buckets from the config bounds GROUP BY time(); 0 lifts it.
    q = "SELECT count(v) FROM cpu WHERE time >= 0 AND time < 20s GROUP BY time(1s)"
    with start({"query.max_buckets": 10}) as d:
        r = get(d, db="db", q=q)
        check_eq(r.status, 200, "limit status")
        check_eq(r.json()["results"][0].get("error"),
                 "max-select-buckets limit exceeded: (20/10)", "max_buckets error")
        r = get(d, db="db", q=q.replace("20s", "10s"))
        check("error" not in r.json()["results"][0], "10 buckets fit: %r" % r.body)
    with start({"query.max_buckets": 0}) as d:
        r = get(d, db="db", q="SELECT count(v) FROM cpu WHERE time >= 0 AND time < 200000s "
                              "GROUP BY time(1s) fill(none)")
        check("error" not in r.json()["results"][0], "0 = unlimited: %r" % r.body[:200])


if __name__ == "__main__":
    run(globals())
