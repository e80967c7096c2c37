#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The HTTP write endpoints through the real daemon (issue #3; influx-compat
§2.3-2.5): every status and error text of POST /write (texts observed on
influxd 1.6.7), what a partial write stores (read back offline with
`nightjar dump`), gzip bodies, /api/v2/write buckets and precisions,
precision round trips, UTF-8 and escaped names through dump and back in,
503 back-pressure under a tiny ingest.max_pending_bytes, and the ingest
metrics."""

import subprocess
import threading
import time

from nightjar_harness import (MULT, Daemon, check, check_eq, deadline, fail, require_bin, run)


def dump(d, db=None, rp=None, extra=()):
    """`nightjar dump` of the stopped daemon's data dir: (lines without
    comments, whole stdout text)."""
    args = [require_bin(), "dump", "--data", d.data_dir]
    if db:
        args += ["--db", db]
    if rp:
        args += ["--rp", rp]
    args += list(extra)
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=60 * MULT)
    check(p.returncode == 0, "dump exit %d: %r" % (p.returncode, p.stderr[-2000:]))
    text = p.stdout.decode("utf-8")
    lines = [l for l in text.split("\n") if l and not l.startswith("#") and
             not l.startswith("CREATE ")]
    return lines, text


def expect(d, params, body, status, error=None, path="/write", headers=None):
    if isinstance(body, str):
        body = body.encode()
    r = d.http("POST", path, body, headers, params=params)
    what = "%s %r %r" % (path, params, body[:80])
    check_eq(r.status, status, "%s status (body %r)" % (what, r.body[:300]))
    if status == 204:
        check_eq(r.body, b"", what + " body")
        check_eq(r.header("Content-Type"), "application/json", what + " Content-Type")
    else:
        check_eq(r.header("Content-Type"), "application/json", what + " Content-Type")
        check_eq(r.json().get("error"), error, what + " error text")
        # Header values cannot hold a newline: Go (and net/) write a space.
        check_eq(r.header("X-Influxdb-Error"), error.replace("\n", " ")[:1024],
                 what + " X-Influxdb-Error")
    return r


TC = ('partial write: field type conflict: input field "v" on measurement "m" is type '
      'integer, already exists as type float dropped=1')

# (params, body, status, error) in order; every text as influxd 1.6.7 answers
# (except precision, which follows 1.8: a deliberate difference).
CASES = [
    ({"db": "db"}, "m,t=a v=1 1000000000", 204, None),
    ({"db": "db"}, "", 204, None),
    ({"db": "db"}, "# only a comment\n\n   \n", 204, None),
    ({"db": "db"}, "m v=1 1000000000\nm v= 2000000000\nm v=3 3000000000", 400,
     "partial write: unable to parse 'm v= 2000000000': missing field value dropped=0"),
    ({"db": "db"}, "m value=\nm2", 400,
     "unable to parse 'm value=': missing field value\nunable to parse 'm2': missing fields"),
    ({"db": "db"}, "m v=1i 4000000000", 400, TC),
    ({"db": "db"}, "m v=1i 5000000000\nm v= 6\nm v=7 7000000000", 400, TC),
    ({"db": "db"}, "n f=1 1\nn f=1i,g=1 2\nn f=\"s\" 3\nn f=4 4", 400,
     'partial write: field type conflict: input field "f" on measurement "n" is type integer, '
     'already exists as type float dropped=2'),
    ({"db": "db"}, "m time=1 1000000000", 400,
     'partial write: invalid field name: input field "time" on measurement "m" is invalid '
     'dropped=1'),
    ({"db": "db"}, "m,time=x value=1 1000000000", 400,
     'partial write: invalid tag key: input tag "time" on measurement "m" is invalid dropped=1'),
    ({"db": "db"}, "k time=1,value=2 1000000000", 204, None),
    ({"db": "db"}, "m,k=" + "x" * 70000 + " v=1 1", 400,
     "unable to parse 'm,k=" + "x" * 70000 + " v=1 1': max key length exceeded: 70004 > 65535"),
    ({}, "m v=1", 400, "database is required"),
    ({"db": ""}, "m v=1", 400, "database is required"),
    ({"db": "nope"}, "m v=1", 404, 'database not found: "nope"'),
    ({"db": "nope", "consistency": "bad"}, "m v=1", 404, 'database not found: "nope"'),
    ({"db": "db", "rp": "nope"}, "m v=1", 500, "retention policy not found: nope"),
    ({"db": "db", "rp": "nope"}, "", 500, "retention policy not found: nope"),
    ({"db": "db", "rp": "nope"}, "m v=", 400, "unable to parse 'm v=': missing field value"),
    ({"db": "db", "rp": "autogen"}, "m v=8 8000000000", 204, None),
    ({"db": "db", "consistency": "bad"}, "m v=1", 400, "invalid consistency level"),
    ({"db": "db", "consistency": "quorum", "u": "x", "p": "y"}, "m v=9 9000000000", 204, None),
    ({"db": "db", "precision": "xyz"}, "m v=1", 400,
     'invalid precision "xyz" (use n, u, ms, s, m or h)'),
]

STORED_DB = sorted([
    "m,t=a v=1 1000000000",
    "m v=1 1000000000", "m v=3 3000000000", "m v=7 7000000000", "m v=8 8000000000",
    "m v=9 9000000000",
    "n f=1 1", "n f=4 4",
    "k value=2 1000000000",
])


def test_statuses_and_partial_writes():
    with Daemon({"storage.retention": "INF", "databases": ["db"]}) as d:
        for params, body, status, error in CASES:
            expect(d, params, body, status, error)
        # A write without a time gets the server's, truncated to the precision.
        t0 = time.time_ns()
        expect(d, {"db": "now", "precision": "s"}, "x v=1", 404, 'database not found: "now"')
        expect(d, {"db": "db", "precision": "s"}, "nowtest v=1", 204)
        m = d.metrics()
        check_eq(m.get("nightjar_ingest_lines_total", proto="http", result="parse_error"), 6.0,
                 "parse_error lines")
        check_eq(m.get("nightjar_ingest_points_total", proto="http", result="written"), 10.0,
                 "written points")
        check_eq(m.get("nightjar_ingest_points_total", proto="http",
                       result="dropped_type_conflict"), 4.0, "type conflict drops")
        # Two "time" keys, and the point written to a missing retention policy.
        check_eq(m.get("nightjar_ingest_points_total", proto="http", result="dropped_invalid"),
                 3.0, "invalid drops")
        check_eq(m.get("nightjar_ingest_requests_total", proto="http", status="204"), 7.0,
                 "204 answers")
        check_eq(m.get("nightjar_ingest_requests_total", proto="http", status="404"), 3.0,
                 "404 answers")
        check_eq(m.get("nightjar_ingest_pending_bytes"), 0.0, "pending bytes at rest")
        check(m.get("nightjar_ingest_series_cache_hits_total", 0) >= 3,
              "series cache hits: %r" % m.get("nightjar_ingest_series_cache_hits_total"))
        d.stop()
        lines, text = dump(d, "db")
        now_lines = [l for l in lines if l.startswith("nowtest ")]
        check_eq(len(now_lines), 1, "one nowtest point")
        ts = int(now_lines[0].split(" ")[2])
        check(ts % 10**9 == 0 and t0 - 10**9 <= ts <= time.time_ns(),
              "server time truncated to seconds: %d (t0 %d)" % (ts, t0))
        check_eq(sorted(l for l in lines if not l.startswith("nowtest ")), STORED_DB,
                 "what the partial writes stored")
        check("# DML\n# CONTEXT-DATABASE: db\n# CONTEXT-RETENTION-POLICY: autogen\n" in text,
              "dump headers: %r" % text[:300])


def test_retention_drop():
    with Daemon({"storage.retention": "1h", "databases": ["r"]}) as d:
        expect(d, {"db": "r"}, "m v=1 1", 400,
               "partial write: points beyond retention policy dropped=1")
        expect(d, {"db": "r"}, "m v=1 1\nm v=2", 400,
               "partial write: points beyond retention policy dropped=1")
        d.stop()
        lines, text = dump(d, "r")
        check_eq(len(lines), 1, "only the recent point: %r" % lines)
        check('CREATE DATABASE "r" WITH DURATION 1h NAME "autogen"' in text,
              "DDL names the retention: %r" % text[:300])


def test_gzip_v2_and_precisions():
    with Daemon({"storage.retention": "INF", "databases": ["db", "v2"]}) as d:
        r = d.write("g v=1 1000000000\ng v=2 2000000000", db="db", gzip=True)
        check_eq(r.status, 204, "gzip write (%r)" % r.body)
        # v1 precisions: the same instant written in every unit.
        for prec, t in (("n", 3600000000000), ("ns", 3600000000000), ("u", 3600000000),
                        ("us", 3600000000), ("\u00b5", 3600000000), ("ms", 3600000),
                        ("s", 3600), ("m", 60), ("h", 1)):
            expect(d, {"db": "db", "precision": prec}, "p,prec=%s v=1 %d" % (
                "mu" if prec == "\u00b5" else prec, t), 204)
        v2 = "/api/v2/write"
        for prec, t in (("", 7200000000000), ("ns", 7200000000000), ("us", 7200000000),
                        ("ms", 7200000), ("s", 7200)):
            params = {"bucket": "v2", "org": "whatever"}
            if prec:
                params["precision"] = prec
            expect(d, params, "q,prec=%s v=1 %d" % (prec or "none", t), 204, path=v2,
                   headers={"Authorization": "Token any:thing"})
        expect(d, {"bucket": "v2/autogen"}, "q,prec=rp v=1 1", 204, path=v2)
        expect(d, {"bucket": "v2", "precision": "n"}, "q v=1", 400,
               'invalid precision "n" (use ns, us, ms or s)', path=v2)
        expect(d, {"bucket": "v2", "precision": "h"}, "q v=1", 400,
               'invalid precision "h" (use ns, us, ms or s)', path=v2)
        expect(d, {"bucket": "/x"}, "q v=1", 404,
               'bucket name "/x" is in db/rp form but has an empty database', path=v2)
        expect(d, {}, "q v=1", 404,
               'bucket name "" is missing a slash; not in "database/retention-policy" format',
               path=v2)
        expect(d, {"bucket": "v2/nope"}, "q v=1", 500, "retention policy not found: nope",
               path=v2)
        expect(d, {"bucket": "nope"}, "q v=1", 404, 'database not found: "nope"', path=v2)
        import zlib
        c = zlib.compressobj(6, zlib.DEFLATED, 31)
        expect(d, {"bucket": "v2"}, c.compress(b"z v=1 5") + c.flush(), 204, path=v2,
               headers={"Content-Encoding": "gzip"})
        d.stop()
        lines, _ = dump(d, "db")
        check_eq(sorted(l for l in lines if l.startswith("g ")),
                 ["g v=1 1000000000", "g v=2 2000000000"], "gzip points")
        p = sorted(l for l in lines if l.startswith("p,"))
        check_eq(len(p), 9, "one point per v1 precision: %r" % p)
        check(all(l.endswith(" v=1 3600000000000") for l in p), "v1 precisions: %r" % p)
        lines, _ = dump(d, "v2")
        q = sorted(l for l in lines if l.startswith("q,"))
        check_eq(len(q), 6, "v2 points: %r" % q)
        check(all(l.endswith(" v=1 7200000000000") for l in q if "prec=rp" not in l),
              "v2 precisions: %r" % q)
        check("z v=1 5" in lines, "gzip v2 point: %r" % lines)


NAMES = [
    "温度,城市=北京 值=1 1000000000",
    "c\\,p\\ u,ho\\ st=a\\,b\\=c f\\ k=1,f\\,k=2i,f\\=k=\"say \\\"hi\\\" \\\\ ok\" 2000000000",
    "\"c=pu\",host=\"a\" value=true 3000000000",
    "m,host=a\\\\b s=\"line1\nline2\" 4000000000",
    "m,z=1,a=2 u=18446744073709551615u,i=-9223372036854775808i,f=-1.5e-300 5000000000",
]


def test_names_round_trip_through_dump():
    with Daemon({"storage.retention": "INF", "databases": ["db"]}) as d:
        expect(d, {"db": "db"}, "\n".join(NAMES), 204)
        d.stop()
        lines1, text1 = dump(d, "db")
        check_eq(len(lines1), 5 + 1, "dump lines (one string has a newline): %r" % lines1)
        check("温度,城市=北京 值=1 1000000000" in lines1, "UTF-8 names: %r" % lines1)
        check("m,a=2,z=1 f=-1.5e-300,i=-9223372036854775808i,u=18446744073709551615u 5000000000"
              in lines1 or any(l.startswith("m,a=2,z=1 ") for l in lines1),
              "sorted tags: %r" % lines1)
        # Re-import the dump's DML into a fresh daemon: the second dump is the same.
        dml = text1[text1.index("# DML"):]
    with Daemon({"storage.retention": "INF", "databases": ["db"]}) as d2:
        expect(d2, {"db": "db"}, dml, 204)
        d2.stop()
        lines2, _ = dump(d2, "db")
        check_eq(lines2, lines1, "dump -> /write -> dump round trip")


NBP = 2000  # points per back-pressure write (~50 KB, 50x the budget)


def test_backpressure_503():
    # A budget far below one body: a second write while one is pending gets 503.
    with Daemon({"storage.retention": "INF", "databases": ["db"],
                 "ingest.max_pending_bytes": 1000}) as d:
        body = "\n".join("bp,w=%d,i=%d v=%d %d" % (0, i, i, i + 1) for i in range(NBP))
        results = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w):
            n = 0
            while not stop.is_set() and n < 200:
                b = body.replace("bp,w=0,", "bp,w=%d,r=%d," % (w, n))
                r = d.http("POST", "/write", b.encode(), params={"db": "db"}, timeout=60)
                with lock:
                    results.append((w, n, r.status, r.header("Retry-After"), r.body))
                n += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        end = deadline(40)
        while time.monotonic() < end:
            with lock:
                if any(s == 503 for _, _, s, _, _ in results) and \
                        sum(1 for x in results if x[2] == 204) >= 3:
                    break
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(120 * MULT)
        check(not any(t.is_alive() for t in threads), "writers did not stop")
        statuses = [s for _, _, s, _, _ in results]
        check(503 in statuses, "no 503 with a 1000-byte budget: %r" % statuses[:50])
        check(all(s in (204, 503) for s in statuses), "unexpected statuses %r" % statuses)
        for _, _, s, ra, b in results:
            if s == 503:
                check_eq(ra, "1", "503 Retry-After")
                check(b.startswith(b'{"error":"write rejected: too many bytes pending'),
                      "503 body %r" % b)
        m = d.metrics()
        check_eq(m.get("nightjar_ingest_pending_bytes"), 0.0, "pending bytes after the storm")
        check_eq(m.get("nightjar_ingest_requests_total", proto="http", status="503"),
                 float(statuses.count(503)), "503s counted")
        acked = {(w, n) for w, n, s, _, _ in results if s == 204}
        print("%d writes: %d accepted, %d refused with 503" % (len(statuses), len(acked),
                                                               statuses.count(503)))
        d.stop()
        lines, _ = dump(d, "db")
        seen = {}
        for l in lines:
            tags = dict(kv.split("=") for kv in l.split(" ")[0].split(",")[1:])
            seen.setdefault((int(tags["w"]), int(tags["r"])), 0)
            seen[(int(tags["w"]), int(tags["r"]))] += 1
        check_eq(set(seen), acked, "stored writes are exactly the accepted ones")
        check(all(v == NBP for v in seen.values()), "every accepted write is complete")


if __name__ == "__main__":
    run(globals())
