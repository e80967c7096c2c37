#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Aggregate SELECTs differential against a real influxd 1.6: the same
points are written to both (storage.retention INF on our side) and every
query's JSON answer must be identical, floats compared to a relative 1e-9
(the summation order may differ).  Fixed time ranges, never now(), in the
shapes Grafana sends: GROUP BY time(), tags, fill(), ORDER BY time DESC,
LIMIT/SLIMIT, several calls, aliases, and calls without GROUP BY time."""

import math
import random

from nightjar_harness import Daemon, Influxd, check, check_eq, fail, run

T0 = 1600000000  # seconds, a multiple of 10 minutes
S = 1000000000


def lines():
    rnd = random.Random(42)
    out = []
    for host, region in (("a", "us"), ("b", "us"), ("c", "eu")):
        for k in range(0, 360):  # one hour, every 10 s
            t = T0 + 10 * k
            minute = k // 6
            if host == "a" and minute in (7, 8, 20):
                continue  # gaps for fill()
            if host == "b" and minute % 5 == 3:
                continue
            if host == "c" and k % 7:
                continue  # sparse
            usage = round(rnd.uniform(0, 100), 3)
            n = rnd.randint(-50, 1000)
            fields = "usage=%r,n=%di" % (usage, n)
            if k % 3 == 0:
                fields += ",load=%r" % round(rnd.uniform(0, 4), 2)
            out.append("cpu,host=%s,region=%s %s %d" % (host, region, fields, t * S))
    out.append("mem,host=a free=5i,used=1.5 %d" % ((T0 + 5) * S))
    out.append("mem,host=a free=7i,used=2.5 %d" % ((T0 + 125) * S))
    return out


def rng(a, b):
    return "time >= %ds AND time <= %ds" % (T0 + a, T0 + b)


R = rng(0, 3599)
R2 = rng(300, 1499)   # minutes 5..24
RU = rng(95, 1234)    # unaligned bounds

QUERIES = [
    'SELECT mean("usage") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m), "host" fill(null)' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m) fill(null)' % R2,
    'SELECT count("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" fill(null)' % R2,
    'SELECT count("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" fill(none)' % R2,
    'SELECT sum("n") FROM "cpu" WHERE %s GROUP BY time(5m), "host"' % R,
    'SELECT sum("usage") FROM "cpu" WHERE %s GROUP BY time(5m)' % R,
    'SELECT min("usage") FROM "cpu" WHERE %s GROUP BY time(2m), "host" fill(null)' % R2,
    'SELECT max("n") FROM "cpu" WHERE %s GROUP BY time(2m), "host" fill(null)' % R2,
    'SELECT first("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" fill(none)' % R2,
    'SELECT last("n") FROM "cpu" WHERE %s GROUP BY time(1m), "host" fill(previous)' % R2,
    'SELECT median("usage") FROM "cpu" WHERE %s GROUP BY time(3m), "host"' % R2,
    'SELECT median("n") FROM "cpu" WHERE %s GROUP BY time(3m), "host"' % R2,
    'SELECT spread("usage") FROM "cpu" WHERE %s GROUP BY time(3m), "host"' % R2,
    'SELECT spread("n") FROM "cpu" WHERE %s GROUP BY time(3m)' % R2,
    'SELECT stddev("usage") FROM "cpu" WHERE %s GROUP BY time(3m), "host"' % R2,
    'SELECT percentile("usage", 95) FROM "cpu" WHERE %s GROUP BY time(5m), "host"' % R,
    'SELECT percentile("n", 50) FROM "cpu" WHERE %s GROUP BY time(5m)' % R,
    'SELECT mean("usage") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(0)' % R2,
    'SELECT mean("n") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(0)' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(-1.5)' % R2,
    'SELECT sum("n") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(7)' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(previous)' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(linear)' % R2,
    'SELECT sum("n") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(linear)' % R2,
    'SELECT mean("usage"), max("usage"), count("n") FROM "cpu" WHERE %s GROUP BY time(2m), "host" fill(null)' % R2,
    'SELECT mean("usage") AS "avg", last("usage") AS "cur" FROM "cpu" WHERE %s GROUP BY time(5m), "host"' % R,
    'SELECT mean("usage"), mean("n") FROM "cpu" WHERE %s GROUP BY time(5m)' % R,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" ORDER BY time DESC' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE ("host" = \'a\') AND %s GROUP BY time(1m) fill(previous) ORDER BY time DESC' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" LIMIT 3' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" LIMIT 3 OFFSET 2' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" SLIMIT 2' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" SLIMIT 1 SOFFSET 1' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(7m), "region"' % RU,
    'SELECT count("load") FROM "cpu" WHERE %s GROUP BY time(1m), "host" fill(0)' % RU,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(10m, 3m)' % R,
    'SELECT mean("usage") FROM "cpu" WHERE %s' % R,
    'SELECT mean("usage") FROM "cpu" WHERE time <= %ds GROUP BY time(5m), "host"' % (T0 + 1800),
    'SELECT max("usage") FROM "cpu" WHERE time <= %ds GROUP BY "host"' % (T0 + 1800),
    'SELECT count("usage") FROM "cpu" WHERE time > %ds AND time < %ds GROUP BY time(1m)' % (T0 + 60, T0 + 300),
    'SELECT count("usage"), sum("n") FROM "cpu" WHERE %s GROUP BY "host"' % R,
    'SELECT max("usage") FROM "cpu" WHERE %s' % R,
    'SELECT min("n") FROM "cpu" WHERE %s GROUP BY "host"' % R,
    'SELECT first("usage") FROM "cpu" WHERE %s GROUP BY "host"' % RU,
    'SELECT last("usage") FROM "cpu" WHERE %s' % RU,
    'SELECT max("usage"), min("usage") FROM "cpu" WHERE %s' % R,
    'SELECT percentile("usage", 90) FROM "cpu" WHERE %s GROUP BY "region"' % R,
    'SELECT median("usage"), stddev("usage"), spread("usage") FROM "cpu" WHERE %s GROUP BY "host"' % R,
    'SELECT mean("usage") FROM "cpu" WHERE "usage" > 50 AND %s GROUP BY time(5m), "host"' % R,
    'SELECT mean("free"), sum("used") FROM "mem" WHERE %s GROUP BY time(1m)' % rng(0, 299),
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m), * fill(null) LIMIT 4' % R2,
    'SELECT count("usage") FROM "cpu" WHERE %s GROUP BY time(1s)' % rng(0, 100001),
    'SELECT count("usage") FROM "cpu" WHERE %s GROUP BY time(1s), "host"' % rng(-5, 100000),
    'SELECT count("usage") FROM "cpu" WHERE %s GROUP BY time(1s)' % rng(10 ** 6, 10 ** 6 + 200000),
    'SELECT mean("usage") FROM "cpu" WHERE ("host" = \'zzz\') AND %s GROUP BY time(1m)' % R2,
    'SELECT mean("usage") FROM "cpu" WHERE %s GROUP BY time(1m)' % rng(7200, 7800),
    'SELECT count("n") FROM "cpu" WHERE %s GROUP BY time(10m), "host"' % R,
    'SELECT max("usage") AS "peak" FROM "cpu" WHERE %s GROUP BY "host" SLIMIT 2' % R,
    'SELECT last("usage") FROM "cpu" WHERE %s GROUP BY time(1m), "host" fill(linear) ORDER BY time DESC LIMIT 5' % R2,
]


def close(a, b, path):
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
                not isinstance(a, bool) and not isinstance(b, bool):
            if a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b)):
                return None
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            return "%s: keys %r != %r" % (path, sorted(a), sorted(b))
        for k in a:
            d = close(a[k], b[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return "%s: length %d != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = close(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if type(a) != type(b) or a != b:
        return "%s: %r != %r" % (path, a, b)
    return None


def test_aggregates_match_influxd():
    data = lines()
    with Influxd({"coordinator": {"max-select-buckets": 100000}}) as ref, Daemon({"storage.retention": "INF"}) as d:
        for srv in (ref, d):
            srv.query("CREATE DATABASE db")
            for i in range(0, len(data), 500):
                check_eq(srv.write(data[i:i + 500]).status, 204, "write")
        bad = []
        for q in QUERIES:
            want = ref.query(q, db="db", check_ok=False)
            got = d.query(q, db="db", check_ok=False)
            diff = close(got, want, "")
            if diff:
                bad.append("%s\n  %s\n  nightjar %s\n  influxd  %s" % (q, diff, str(got)[:600],
                                                                      str(want)[:600]))
        check(len(QUERIES) >= 30, "at least 30 queries")
        if bad:
            fail("%d of %d queries differ:\n%s" % (len(bad), len(QUERIES), "\n".join(bad)))


if __name__ == "__main__":
    run(globals())
