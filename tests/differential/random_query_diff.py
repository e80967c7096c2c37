#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Random differential queries against a real influxd 1.6, run by hand.

Loads the data set of tests/integration/test_query_diff.py into influxd
and nightjar, then sends both the same randomly generated Grafana-style
InfluxQL queries (aggregates, selectors, transformations, fills, offsets,
tag filters, GROUP BY tags, ORDER BY DESC, LIMIT/SLIMIT, tz) and prints
every query whose answer differs (same comparison as the ctest suite:
status, Content-Type, tokens, floats to a relative 1e-9).  Cases it finds
belong in test_query_diff.py once understood.

    python3 tests/differential/random_query_diff.py [--seed N] [--count N]
        [--nightjar build/nightjar]   (NIGHTJAR_BIN works too)
"""
import argparse
import os
import random
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import test_query_diff as qd  # noqa: E402
import nightjar_harness as harness  # noqa: E402
from nightjar_harness import Daemon, Influxd  # noqa: E402

T0 = qd.T0
S = qd.S

MEAS = {
    "cpu": (["usage_user", "usage_system", "usage_idle", "usage_iowait"],
            {"hostname": ["host_%d" % i for i in range(8)], "region": None}),
    "gateway": (["connections", "msgs_per_sec", "errors"],
                {"region": None, "shard": ["shard_%d" % i for i in range(5)]}),
    "message_delivery": (["p50_ms", "p95_ms", "p99_ms"], {"region": None}),
    "voice": (["mos", "jitter_ms", "packet_loss_pct"], {"region": None, "server": None}),
    "scylla": (["read_p99_ms", "write_p99_ms", "compactions"], {"node": None}),
    "net": (["bytes_recv", "bytes_sent", "rate", "errs"], {"host": ["a", "b"], "interface": None}),
    "ties": (["v"], {"s": list("abcdefg"), "aa": ["x", "y", "z"]}),
}
REGIONS = ["us-east", "us-west", "eu-central", "ap-south", "us-west-1", "eu-west-1"]

AGGS = ["count", "sum", "mean", "median", "mode", "spread", "stddev", "min", "max", "first", "last"]
SELECTORS = ["min", "max", "first", "last"]
INTERVALS = ["10s", "30s", "1m", "2m", "5m", "7m", "10m", "1h"]
FILLS = ["", "fill(null)", "fill(none)", "fill(0)", "fill(previous)", "fill(linear)", "fill(-1)"]


def q(name):
    return '"%s"' % name


def time_cond(rng):
    span = 3 * 3600
    a = rng.randrange(-60, span - 60)
    b = a + rng.choice([60, 300, 600, 1800, 3600, 7200, span])
    if rng.random() < 0.3:
        a -= rng.randrange(0, 29)
    kind = rng.random()
    if kind < 0.5:
        return "time >= %dms AND time <= %dms" % ((T0 + a) * 1000, (T0 + b) * 1000 - rng.choice([0, 1]))
    if kind < 0.8:
        fmt = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + s))  # noqa: E731
        return "time >= '%s' AND time < '%s'" % (fmt(a), fmt(b))
    return "time > %ds AND time < %ds" % (T0 + a, T0 + b)


def tag_cond(rng, tags):
    keys = [k for k, v in tags.items() if v]
    if not keys or rng.random() < 0.5:
        if rng.random() < 0.3:
            return "%s =~ /%s/" % (q("region"), rng.choice(["^us", "east", "^eu-", "x"]))
        return ""
    k = rng.choice(keys)
    vals = tags[k]
    r = rng.random()
    if r < 0.5:
        return "%s = '%s'" % (q(k), rng.choice(vals))
    if r < 0.7:
        return "%s != '%s'" % (q(k), rng.choice(vals))
    if r < 0.85:
        return "%s =~ /^%s$/" % (q(k), "|".join(rng.sample(vals, min(len(vals), 2))))
    return "(%s = '%s' OR %s = '%s')" % (q(k), rng.choice(vals), q(k), rng.choice(vals))


def agg_expr(rng, fields):
    f = q(rng.choice(fields))
    r = rng.random()
    if r < 0.55:
        return "%s(%s)" % (rng.choice(AGGS), f)
    if r < 0.65:
        return "percentile(%s, %s)" % (f, rng.choice(["50", "90", "99", "5.5", "100", "0"]))
    if r < 0.75:
        return "count(distinct(%s))" % f
    if r < 0.85:
        return "%s(%s) %s %s" % (rng.choice(AGGS[1:]), f, rng.choice("*/+-"), rng.choice(["2", "100", "0.5"]))
    inner = "%s(%s)" % (rng.choice(["mean", "max", "sum", "min", "last"]), f)
    t = rng.choice(["derivative(%s, 1s)", "derivative(%s)", "non_negative_derivative(%s, 1s)",
                    "difference(%s)", "non_negative_difference(%s)", "moving_average(%s, 3)",
                    "cumulative_sum(%s)", "derivative(%s, 1m)"])
    return t % inner


def raw_expr(rng, fields):
    n = rng.randint(1, min(3, len(fields)))
    cols = [q(f) for f in rng.sample(fields, n)]
    r = rng.random()
    if r < 0.15:
        cols = ["*"]
    elif r < 0.3:
        cols.append("%s * 2" % cols[0])
    return ", ".join(cols)


def transform_raw(rng, fields):
    f = q(rng.choice(fields))
    return rng.choice(["derivative(%s, 1s)", "difference(%s)", "non_negative_difference(%s)",
                       "moving_average(%s, 2)", "cumulative_sum(%s)", "elapsed(%s, 1s)",
                       "top(%s, 3)", "bottom(%s, 2)", "integral(%s)", "spread(%s)"]) % f


def gen_meta(rng):
    m = rng.choice(list(MEAS))
    fields, tags = MEAS[m]
    k = rng.choice(list(tags))
    return rng.choice([
        "SHOW MEASUREMENTS",
        "SHOW MEASUREMENTS WITH MEASUREMENT =~ /%s/" % rng.choice(["^c", "e", "y$", "^(cpu|net)$"]),
        "SHOW MEASUREMENTS LIMIT %d OFFSET %d" % (rng.randint(1, 4), rng.randint(0, 3)),
        "SHOW MEASUREMENTS WHERE %s = '%s'" % (q(k), rng.choice(tags[k] or REGIONS)),
        "SHOW TAG KEYS FROM %s" % q(m),
        "SHOW TAG KEYS",
        "SHOW TAG VALUES FROM %s WITH KEY = %s" % (q(m), q(k)),
        "SHOW TAG VALUES WITH KEY = %s" % q(k),
        "SHOW TAG VALUES FROM %s WITH KEY IN (%s, %s)" % (q(m), q(k), q(rng.choice(list(tags)))),
        "SHOW TAG VALUES FROM %s WITH KEY =~ /%s/ LIMIT %d" % (q(m), rng.choice(["^r", "o", "."]), rng.randint(1, 5)),
        "SHOW TAG VALUES FROM %s WITH KEY = %s WHERE %s" % (q(m), q(k), tag_cond(rng, tags) or "%s =~ /./" % q(k)),
        "SHOW FIELD KEYS FROM %s" % q(m),
        "SHOW FIELD KEYS",
        "SHOW SERIES FROM %s" % q(m),
        "SHOW SERIES FROM %s WHERE %s LIMIT %d" % (q(m), tag_cond(rng, tags) or "%s != ''" % q(k), rng.randint(1, 9)),
        "SHOW SERIES CARDINALITY FROM %s" % q(m),
        "SHOW MEASUREMENT CARDINALITY",
        "SHOW TAG KEY CARDINALITY FROM %s" % q(m),
        "SHOW FIELD KEY CARDINALITY",
        "SHOW TAG VALUES CARDINALITY FROM %s WITH KEY = %s" % (q(m), q(k)),
    ])


def gen_misc(rng):
    m = rng.choice(list(MEAS))
    fields, tags = MEAS[m]
    f = q(rng.choice(fields))
    k = rng.choice(list(tags))
    w = time_cond(rng)
    return rng.choice([
        "SELECT mean(*) FROM %s WHERE %s GROUP BY time(%s)" % (q(m), w, rng.choice(INTERVALS)),
        "SELECT max(/%s/) FROM %s WHERE %s" % (rng.choice(["_", "^p", "s$"]), q(m), w),
        "SELECT * FROM %s WHERE %s GROUP BY * LIMIT 3" % (q(m), w),
        "SELECT %s, %s FROM %s WHERE %s ORDER BY time DESC LIMIT 5 OFFSET 2" % (f, q(k), q(m), w),
        "SELECT top(%s, %s, 2) FROM %s WHERE %s" % (f, q(k), q(m), w),
        "SELECT bottom(%s, 3), %s FROM %s WHERE %s GROUP BY time(30m)" % (f, q(k), q(m), w),
        "SELECT last(%s), %s FROM %s WHERE %s GROUP BY time(10m)" % (f, q(k), q(m), w),
        "SELECT max(%s), * FROM %s WHERE %s" % (f, q(m), w),
        "SELECT distinct(%s) FROM %s WHERE %s GROUP BY time(1h)" % (f, q(m), w),
        "SELECT count(distinct(%s)) FROM %s WHERE %s GROUP BY %s" % (f, q(m), w, q(k)),
        "SELECT elapsed(%s, 1m) FROM %s WHERE %s GROUP BY %s LIMIT 4" % (f, q(m), w, q(k)),
        "SELECT mean(%s) FROM %s WHERE %s GROUP BY time(10m), %s LIMIT 2 OFFSET 1 SLIMIT 2 SOFFSET 1" % (f, q(m), w, q(k)),
        "SELECT mean(%s) FROM %s WHERE %s GROUP BY time(10m) fill(none) LIMIT 3" % (f, q(m), w),
        "SELECT max(%s) FROM (SELECT mean(%s) AS %s FROM %s WHERE %s GROUP BY time(5m), %s) WHERE %s GROUP BY time(15m)" % (f, f, f, q(m), w, q(k), w),
        "SELECT count(%s) FROM %s WHERE %s AND %s > %s GROUP BY time(15m)" % (f, q(m), w, f, rng.choice(["0", "1.5", "100", "1000i"])),
        "SELECT sum(%s) / count(%s) FROM %s WHERE %s GROUP BY time(20m) fill(0)" % (f, f, q(m), w),
        "SELECT first(%s), last(%s), min(%s), max(%s) FROM %s WHERE %s GROUP BY time(7m, 3m)" % (f, f, f, f, q(m), w),
        "SELECT median(%s), spread(%s) FROM %s WHERE %s GROUP BY time(11m), %s ORDER BY time DESC" % (f, f, q(m), w, q(k)),
    ])


def gen(rng):
    r = rng.random()
    if r < 0.12:
        return gen_meta(rng)
    if r < 0.35:
        return gen_misc(rng)
    m = rng.choice(list(MEAS))
    fields, tags = MEAS[m]
    where = [time_cond(rng)]
    tc = tag_cond(rng, tags)
    if tc:
        where.append(tc)
    kind = rng.random()
    gb, tail = [], []
    if kind < 0.6:
        n = 1 if rng.random() < 0.8 else 2
        sel = ", ".join(agg_expr(rng, fields) for _ in range(n))
        iv = rng.choice(INTERVALS)
        if rng.random() < 0.2:
            iv += ", %s" % rng.choice(["15s", "1m", "-1m", "2m"])
        gb.append("time(%s)" % iv)
        f = rng.choice(FILLS)
        if f:
            tail.append(f)
    elif kind < 0.8:
        sel = raw_expr(rng, fields)
        tail.append("LIMIT %d" % rng.choice([5, 20, 100]))
    else:
        sel = transform_raw(rng, fields)
    tagkeys = list(tags)
    if rng.random() < 0.4:
        gb.append(rng.choice([q(rng.choice(tagkeys)), "*"]))
    stmt = "SELECT %s FROM %s WHERE %s" % (sel, q(m), " AND ".join(where))
    if gb:
        stmt += " GROUP BY " + ", ".join(gb)
    for t in tail:
        if t.startswith("fill"):
            stmt += " " + t
    if rng.random() < 0.2:
        stmt += " ORDER BY time DESC"
    for t in tail:
        if t.startswith("LIMIT"):
            stmt += " " + t
    if rng.random() < 0.15:
        stmt += " SLIMIT %d" % rng.choice([1, 2, 3])
    if rng.random() < 0.1:
        stmt += " tz('%s')" % rng.choice(["Europe/Berlin", "America/New_York", "Asia/Kolkata"])
    return stmt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--nightjar", default="")
    ap.add_argument("--show", type=int, default=600)
    ap.add_argument("--query", action="append", default=[],
                    help="send these statements instead of random ones (repeatable)")
    a = ap.parse_args()
    if a.nightjar:
        harness.BIN = os.path.abspath(a.nightjar)
    rng = random.Random(a.seed)
    lines = qd.generated_lines() + qd.edge_lines(int(time.time()))
    bad = 0
    with Influxd({"coordinator": {"max-select-buckets": 100000}}) as ref, \
            Daemon({"storage.retention": "INF"}) as d:
        qd.load(ref, lines)
        qd.load(d, lines)
        stmts = a.query or [gen(rng) for _ in range(a.count)]
        for i, stmt in enumerate(stmts):
            path = "/query?db=db&epoch=%s&q=%s" % (rng.choice(["ms", "s", "ns"]),
                                                    urllib.parse.quote(stmt))
            want = ref.http("GET", path)
            got = d.http("GET", path)
            diff = qd.compare(got, want)
            if a.query:
                print("%s %s\n  influxd  %d: %s" % ("SAME" if not diff else "DIFF", stmt,
                                                 want.status, qd.show(want.body, a.show)))
            if diff:
                bad += 1
                print("DIFF %d: %s\n  %s\n  nightjar %d: %s\n  influxd  %d: %s\n" % (
                    i, stmt, diff, got.status, qd.show(got.body, a.show), want.status,
                    qd.show(want.body, a.show)))
        alive = d.running()
    print("random query diff: %d queries, %d differ, nightjar %s" %
          (len(stmts), bad, "alive" if alive else "DIED"))
    return 1 if bad or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
