#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DROP MEASUREMENT, DROP SERIES and DELETE through the real daemon, side by
side with a real influxd 1.6: for each case both servers get the same fresh
database and data (a delete flushes our head first, so
it always rewrites parts; rows written while it runs stay in the head), run the same statement, and then every SHOW listing
(series, measurements, tag keys, tag values, field keys) and a SELECT of
every point must answer the same JSON on both.  Error texts too, except the
shard number influxd puts in "shard N: fields not supported ..." (Nightjar
prints its retention policy's id; tsdb has no shard ids).

Then: kill -9 right after an acknowledged DELETE / DROP SERIES, restart,
and the deleted points stay deleted while every other point is there; a
measurement whose last series went can be written again with another
field type, and series dropped come back on a new write.
"""

import re
import urllib.parse

from nightjar_harness import Daemon, Influxd, check_eq, run, wait_until

DATA = [
    'cpu,host=a,region=us v=1,s="x" 10',
    'cpu,host=b,region=us v=2 20',
    'cpu,host=c,region=eu v=3 30',
    'cpu,host=a,region=us v=4 40',
    'cpu,host=d v=5 41',
    'cpu,host=e,region=eu v=6 3600000000000',
    'mem,host=a free=5i 10',
    'mem,host=b free=6i 50',
    'mem,host=c free=7i 7200000000000',
    'disk,host=a used=7 10',
    'disk,host=a used=8 1000000000000',
]

# Lines written after the flush: only in the WAL and the head on our side.
LATE = [
    'cpu,host=a,region=us v=9 45',
    'cpu,host=f,region=ap v=10 46',
    'mem,host=a free=8i 60',
]

CASES = [
    "DROP MEASUREMENT cpu",
    "DROP MEASUREMENT nope",
    "DROP SERIES FROM cpu",
    "DROP SERIES FROM cpu WHERE host = 'a'",
    "DROP SERIES FROM cpu,mem WHERE host = 'a'",
    "DROP SERIES FROM /m.*/",
    "DROP SERIES WHERE host = 'b'",
    "DROP SERIES FROM cpu WHERE region = 'eu' OR host = 'd'",
    "DROP SERIES FROM cpu WHERE region = ''",
    "DROP SERIES FROM cpu WHERE region != ''",
    "DROP SERIES FROM cpu WHERE region =~ /u/",
    "DROP SERIES FROM cpu WHERE region !~ /^e/",
    "DROP SERIES FROM cpu WHERE region =~ /.*/",
    "DROP SERIES FROM cpu WHERE host > 'a'",
    "DROP SERIES FROM cpu WHERE (host = 'a' AND region = 'us') OR host = 'c'",
    "DROP SERIES FROM cpu WHERE true",
    "DROP SERIES FROM cpu WHERE false",
    "DROP SERIES FROM nope WHERE v = 1",
    "DROP SERIES FROM cpu WHERE v = 1",
    "DROP SERIES FROM cpu WHERE host = 'a' AND v > 1",
    "DROP SERIES FROM mem WHERE nosuch = 1",
    "DROP SERIES FROM mem WHERE region = 'zz'",
    "DROP SERIES FROM cpu WHERE v::field = 1",
    "DROP SERIES FROM cpu WHERE time > 0",
    "DROP SERIES FROM cpu WHERE host",
    "DELETE FROM cpu",
    "DELETE FROM cpu WHERE time > 15 AND time < 35",
    "DELETE WHERE time < 25",
    "DELETE FROM cpu WHERE host = 'a' AND time >= 20",
    "DELETE FROM cpu WHERE host = 'a' OR time < 25",
    "DELETE FROM cpu WHERE time >= 20 AND time <= 40 OR host = 'b'",
    "DELETE FROM cpu WHERE time = 30",
    "DELETE FROM cpu,mem WHERE host = 'a'",
    "DELETE FROM /m.*/ WHERE time > 0",
    "DELETE FROM cpu WHERE s = 'x'",
    "DELETE FROM cpu WHERE v = 1",
    "DELETE WHERE v = 1",
    "DELETE FROM nope WHERE time < 100",
    "DELETE FROM cpu WHERE host = 'a' AND time > 5 AND time < 2",
    "DELETE WHERE time > 1000000000000",
    "DELETE FROM cpu WHERE _name = 'cpu' AND host = 'b'",
    'DELETE FROM "d"."autogen"."cpu"',
    "DELETE",
    "DROP SERIES",
]

CHECKS = [
    "SHOW SERIES",
    "SHOW MEASUREMENTS",
    "SHOW TAG KEYS",
    "SHOW TAG VALUES WITH KEY = host",
    "SHOW TAG VALUES WITH KEY = region",
    "SHOW FIELD KEYS",
    "SELECT * FROM cpu, mem, disk",
    "SELECT count(v) FROM cpu GROUP BY *",
]


def post(d, q, db="d"):
    r = d.http("POST", "/query?" + urllib.parse.urlencode({"q": q, "db": db}))
    return r.status, r.body.decode()


def norm(body):
    return re.sub(r'shard \d+: ', 'shard N: ', body)


def fresh(d, with_late):
    post(d, "DROP DATABASE d")
    check_eq(post(d, "CREATE DATABASE d")[0], 200, "create")
    check_eq(d.write(DATA, db="d").status, 204, "write")
    if with_late:
        check_eq(d.write(LATE, db="d").status, 204, "write late")


def test_statements_match_influxd():
    cfg = {'storage.retention': 'INF'}
    with Influxd() as ref, Daemon(cfg) as d:
        for with_late in (False, True):
            for q in CASES:
                fresh(ref, with_late)
                fresh(d, with_late)
                want = post(ref, q)
                got = post(d, q)
                check_eq((got[0], norm(got[1])), (want[0], norm(want[1])),
                         "%s (late=%s)" % (q, with_late))
                for c in CHECKS:
                    check_eq(post(d, c), post(ref, c), "%s after %s (late=%s)" % (c, q, with_late))


def test_write_again_after_drop():
    with Influxd() as ref, Daemon({'storage.retention': 'INF'}) as d:
        for srv in (ref, d):
            fresh(srv, False)
        for q in ("DROP MEASUREMENT cpu", "DROP SERIES FROM mem", "DELETE FROM disk"):
            check_eq(post(d, q), post(ref, q), q)
        # DROP MEASUREMENT forgets the field types; DROP SERIES and DELETE
        # keep them (another type conflicts, as in 1.6).
        # (A rejected point of a new series: influxd still indexes the series,
        # Nightjar does not; left out here, it is the write path's business.)
        for line in ('cpu,host=z v=1i 100', 'mem,host=q free=1i 7', 'mem,host=q free="s" 8',
                     'disk,host=a used=1i 5', 'disk,host=a used=1 5'):
            w, g = ref.write([line], db="d"), d.write([line], db="d")
            check_eq((g.status, g.body), (w.status, w.body), "write again: %s" % line)
        for c in CHECKS:
            check_eq(post(d, c), post(ref, c), "%s after writing again" % c)


def points(d):
    r = d.query("SELECT * FROM cpu, mem, disk", db="d")["results"][0]
    return sorted((s["name"], tuple(v)) for s in r.get("series", []) for v in s["values"])


def test_kill9_after_delete():
    cfg = {'storage.retention': 'INF', 'storage.flush.head_bytes': 1,
           'storage.housekeeping_interval': '100ms'}
    with Influxd() as ref, Daemon(cfg, check_exit=False) as d:
        for srv in (ref, d):
            fresh(srv, True)
        stmts = ["DELETE FROM cpu WHERE time > 15 AND time < 41",
                 "DROP SERIES FROM mem WHERE host = 'b'",
                 "DROP MEASUREMENT disk"]
        for q in stmts:
            check_eq(post(d, q), post(ref, q), q)
        # Written after the delete, into the same series and time range: kept.
        after = ['cpu,host=a,region=us v=11 30']
        for srv in (ref, d):
            check_eq(srv.write(after, db="d").status, 204, "write after")
        want = points(ref)
        check_eq(points(d), want, "points before kill -9")
        d.kill9()
        d.start()
        check_eq(points(d), want, "points after kill -9 and restart")
        for c in CHECKS:
            check_eq(post(d, c), post(ref, c), "%s after restart" % c)
        # Once more without the housekeeping flush in between.
        q = "DELETE WHERE time < 45"
        check_eq(post(d, q), post(ref, q), q)
        want = points(ref)
        d.kill9()
        d.start()
        check_eq(points(d), want, "points after the second kill -9")
        for c in CHECKS:
            check_eq(post(d, c), post(ref, c), "%s after the second restart" % c)


def test_selects_during_deletes():
    """SELECTs running while DELETEs rewrite the parts see each deleted range
    all there or all gone, and every other point always."""
    import threading
    lines = []
    for h in range(4):
        for i in range(3000):
            lines.append('cpu,host=h%d v=%d %d' % (h, i, (1000 + i) * 1000000000))
    with Daemon({'storage.retention': 'INF'}) as d:
        post(d, "CREATE DATABASE d")
        for k in range(0, len(lines), 2000):
            check_eq(d.write(lines[k:k + 2000], db="d").status, 204, "write")
        stop, bad, reads = threading.Event(), [], [0]

        def reader():
            while not stop.is_set():
                r = d.query("SELECT count(v) FROM cpu GROUP BY host", db="d")["results"][0]
                got = {s["tags"]["host"]: s["values"][0][1] for s in r.get("series", [])}
                for h in ("h0", "h1"):
                    if got.get(h) != 3000:
                        bad.append((h, got.get(h)))
                # h2 loses [1000, 1999] s in one DELETE, then [2000, 2999] s.
                if got.get("h2") not in (3000, 2000, 1000):
                    bad.append(("h2", got.get("h2")))
                reads[0] += 1

        t = threading.Thread(target=reader)
        t.start()
        try:
            for lo, hi in ((1000, 1999), (2000, 2999)):
                q = "DELETE FROM cpu WHERE host = 'h2' AND time >= %ds AND time <= %ds" % (lo, hi)
                check_eq(post(d, q), (200, '{"results":[{"statement_id":0}]}\n'), q)
            check_eq(post(d, "DROP SERIES FROM cpu WHERE host = 'h3'")[0], 200, "drop h3")
            wait_until(lambda: reads[0] >= 3, 30, "reads during the deletes", interval=0.05)
        finally:
            stop.set()
            t.join()
        check_eq(bad, [], "counts seen during the deletes")
        r = d.query("SELECT count(v) FROM cpu GROUP BY host", db="d")["results"][0]
        check_eq({s["tags"]["host"]: s["values"][0][1] for s in r["series"]},
                 {"h0": 3000, "h1": 3000, "h2": 1000}, "counts after")


def test_errors():
    with Daemon({'storage.retention': 'INF'}) as d:
        check_eq(post(d, "DROP SERIES FROM cpu", db="nodb"),
                 (200, '{"results":[{"statement_id":0,"error":"database not found: nodb"}]}\n'),
                 "unknown database")
        r = d.http("POST", "/query?" + urllib.parse.urlencode({"q": "DELETE FROM cpu"}))
        check_eq(r.body.decode(),
                 '{"results":[{"statement_id":0,"error":"database not found: "}]}\n', "no db")


run(globals())
