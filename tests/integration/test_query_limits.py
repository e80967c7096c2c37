#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Per-query limits through HTTP (spec config.md query.*, issue #5 item 4):
query.max_series, query.max_points_scanned, query.max_buckets and
query.timeout each end the statement with influxd 1.6's error text inside a
200 answer; the daemon keeps answering /ping and small queries afterwards;
its resident memory (VmHWM, /proc/PID/status) stays within a bound while
refused queries run; a GROUP BY time(1s) without a time range (which takes
influxd down) is refused instead; and writes keep being acknowledged while
heavy queries run on other connections."""

import re
import threading
import time
import urllib.parse

from nightjar_harness import MULT, Daemon, check, check_eq, fail, run

T0 = 1600000000  # seconds
S = 1000000000
HOSTS = 100
POINTS = 600  # per host, every 10 s: 100 minutes


def lines():
    out = []
    for h in range(HOSTS):
        for k in range(POINTS):
            out.append("cpu,host=h%03d,dc=d%d v=%d.5,u=%di %d"
                       % (h, h % 4, (h * 7 + k) % 100, k, (T0 + 10 * k) * S))
    return out


DATA = lines()


class LDaemon(Daemon):
    """A daemon holding database db with DATA (HOSTS series, 2 fields)."""

    def start(self, attempts=3):
        Daemon.start(self, attempts)
        r = self.http("POST", "/query?q=" + urllib.parse.quote("CREATE DATABASE db"))
        check_eq(r.status, 200, "CREATE DATABASE")
        for i in range(0, len(DATA), 5000):
            check_eq(self.write(DATA[i:i + 5000]).status, 204, "write batch %d" % i)
        return self


def start(config=None):
    cfg = {"storage.retention": "INF"}
    cfg.update(config or {})
    return LDaemon(cfg)


def q(d, text, timeout=30.0):
    r = d.http("POST", "/query", urllib.parse.urlencode({"db": "db", "q": text}),
               {"Content-Type": "application/x-www-form-urlencoded"}, timeout=timeout * MULT)
    check_eq(r.status, 200, "status of %r (%r)" % (text, r.body[:200]))
    return r.json()["results"]


def stmt_error(d, text):
    res = q(d, text)
    check_eq(len(res), 1, "one result for %r" % text)
    return res[0].get("error")


def alive(d):
    check_eq(d.http("GET", "/ping").status, 204, "/ping after the refused query")
    res = q(d, "SELECT count(v) FROM cpu WHERE host = 'h007' AND time >= %ds" % T0)
    check_eq(res[0]["series"][0]["values"][0][1], POINTS, "a small query still answers")


def limit_numbers(err, prefix):
    m = re.fullmatch(re.escape(prefix) + r": \((\d+)/(\d+)\)", err or "")
    if not m:
        fail("error %r is not %r (N/M)" % (err, prefix))
    return int(m.group(1)), int(m.group(2))


def test_max_series():
    with start({"query.max_series": 50}) as d:
        for text in ("SELECT v FROM cpu",
                     "SELECT mean(v) FROM cpu WHERE time >= %ds GROUP BY time(10m), host" % T0,
                     "SELECT max(u) FROM cpu WHERE time >= %ds" % T0):
            n, m = limit_numbers(stmt_error(d, text), "max-select-series limit exceeded")
            check_eq(m, 50, "limit in the message of %r" % text)
            check(n > 50, "count %d above the limit" % n)
        # 25 series (dc = d1) are within the limit.
        res = q(d, "SELECT count(v) FROM cpu WHERE dc = 'd1' AND time >= %ds GROUP BY host" % T0)
        check_eq(len(res[0]["series"]), 25, "25 series under the limit")
        alive(d)


def test_max_points_scanned():
    with start({"query.max_points_scanned": 10000}) as d:
        hwm0 = d.rss("VmHWM")
        for text in ("SELECT * FROM cpu",
                     "SELECT sum(u) FROM cpu WHERE time >= %ds GROUP BY time(1m)" % T0):
            n, m = limit_numbers(stmt_error(d, text), "max-select-point limit exceeed")
            check_eq(m, 10000, "limit in the message")
            check(10000 < n <= 10000 + 4, "stopped right after the limit: %d" % n)
        # One host: 1200 values.
        res = q(d, "SELECT * FROM cpu WHERE host = 'h001'")
        check_eq(len(res[0]["series"][0]["values"]), POINTS, "one host within the limit")
        alive(d)
        grown = d.rss("VmHWM") - hwm0
        check(grown < 64 << 20, "peak RSS grew by %d MiB" % (grown >> 20))


def test_max_buckets_and_group_by_1s_without_range():
    with start() as d:
        hwm0 = d.rss("VmHWM")
        # No WHERE time: from the earliest point (2020) to now(), ~2e8
        # one-second buckets.  influxd 1.6 runs out of memory here.
        for text in ("SELECT mean(v) FROM cpu GROUP BY time(1s)",
                     "SELECT count(u) FROM cpu GROUP BY time(1s), host fill(0)",
                     "SELECT mean(v) FROM cpu WHERE time >= %ds GROUP BY time(1ms)" % T0):
            n, m = limit_numbers(stmt_error(d, text), "max-select-buckets limit exceeded")
            check_eq(m, 100000, "default limit")
            check(n > 100000, "bucket count %d" % n)
        alive(d)
        grown = d.rss("VmHWM") - hwm0
        check(grown < 64 << 20, "peak RSS grew by %d MiB" % (grown >> 20))
    with start({"query.max_buckets": 100}) as d:
        text = "SELECT mean(v) FROM cpu WHERE time >= %ds AND time < %ds GROUP BY time(1m)"
        a = T0 - T0 % 60  # minute-aligned
        check_eq(stmt_error(d, text % (a, a + 6060)), "max-select-buckets limit exceeded: (101/100)",
                 "101 one-minute buckets")
        res = q(d, text % (a, a + 6000))
        check_eq(len(res[0]["series"][0]["values"]), 100, "100 buckets fit")


def test_timeout():
    # A 1 ms budget: the scan polls the deadline per series and every few
    # thousand rows, so this query over 60000 rows cannot finish in time.
    with start({"query.timeout": "1ms"}) as d:
        for text in ("SELECT * FROM cpu",
                     "SELECT mean(v), max(u) FROM cpu WHERE time >= %ds GROUP BY time(1m), host" % T0):
            check_eq(stmt_error(d, text), "query-timeout limit exceeded", "timeout of %r" % text)
        check_eq(d.http("GET", "/ping").status, 204, "/ping after the timeout")
        res = q(d, "SHOW DATABASES")
        check_eq(res[0]["series"][0]["values"], [["db"]], "a meta query still answers")
    with start({"query.timeout": "0s"}) as d:
        res = q(d, "SELECT count(v) FROM cpu WHERE time >= %ds" % T0)
        check_eq(res[0]["series"][0]["values"][0][1], HOSTS * POINTS, "0s = no timeout")


def test_writes_acknowledged_during_heavy_queries():
    with start() as d:
        stop = threading.Event()
        spans = []    # (start, end) of every heavy query
        errors = []

        def heavy():
            try:
                while not stop.is_set():
                    t = time.monotonic()
                    res = q(d, "SELECT * FROM cpu", timeout=120)
                    spans.append((t, time.monotonic()))
                    if "error" in res[0] or len(res[0]["series"][0]["values"]) < HOSTS * POINTS:
                        errors.append("heavy query: %r" % str(res)[:200])
                        return
            except Exception as ex:  # reported by the main thread
                errors.append("heavy query: %r" % ex)

        threads = [threading.Thread(target=heavy) for _ in range(2)]
        for th in threads:
            th.start()
        acks = []     # (sent, answered) of every write
        k = 0
        deadline = time.monotonic() + 20 * MULT
        try:
            while time.monotonic() < deadline and len(spans) < 2 and not errors:
                batch = ["load,host=w v=%d %d" % (k + i, (T0 + k + i) * S) for i in range(100)]
                k += 100
                t = time.monotonic()
                r = d.write(batch)
                check_eq(r.status, 204, "write during heavy queries")
                acks.append((t, time.monotonic()))
        finally:
            stop.set()
            for th in threads:
                th.join(120 * MULT)
        check(not errors, "; ".join(errors))
        check(spans, "no heavy query finished")
        # Writes that were sent and answered while a heavy query was running.
        inside = [a for a in acks if any(s <= a[0] and a[1] <= e for s, e in spans)]
        check(len(inside) >= 3, "only %d of %d writes completed during a heavy query (%d queries)"
              % (len(inside), len(acks), len(spans)))
        res = q(d, "SELECT count(v) FROM load")
        check_eq(res[0]["series"][0]["values"][0][1], k, "every acknowledged write is stored")
        alive(d)


if __name__ == "__main__":
    run(globals())
