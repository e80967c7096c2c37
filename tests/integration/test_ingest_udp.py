#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The UDP line-protocol listener through the real daemon (issue #3 item 4;
influx-compat §3.1; ingest/listen.h): the database is created at start, a
datagram holds several lines, a datagram with one bad line stores nothing
(observed on influxd 1.6: `u2 v=1 1\\nu2 v= 2\\nu2 v=3 3` stored nothing),
a type conflict drops only its point, the configured precision applies, and
nightjar_udp_datagrams_total{result} counts each outcome.  Read back through
/query while running and through `nightjar dump` after stopping."""

import subprocess

from nightjar_harness import (HOST, MULT, Daemon, check, check_eq, free_port, require_bin, run,
                              send_udp, wait_until)


def rows(d, q, db):
    r = d.query(q, db=db, epoch="ns")
    series = r["results"][0].get("series") or []
    return series[0]["values"] if series else []


def udp_count(d, result):
    return d.metrics().get("nightjar_udp_datagrams_total", 0.0, result=result)


def test_datagrams_all_or_nothing():
    port = free_port()
    cfg = {"ingest.udp.listen": "%s:%d" % (HOST, port), "ingest.udp.precision": "s",
           "ingest.udp.read_buffer_bytes": "1MiB", "storage.retention": "INF"}
    with Daemon(cfg) as d:
        d.wait_log(r'msg="listening" proto=udp')
        d.wait_log(r'msg="database created" db="udp" for=ingest.udp')
        send_udp(port, "u1 v=1 1\nu1 v=2 2\nu1 v=3 3")
        wait_until(lambda: udp_count(d, "stored") == 1, 10, "first datagram stored")
        send_udp(port, "u2 v=1 1\nu2 v= 2\nu2 v=3 3")
        wait_until(lambda: udp_count(d, "dropped_parse") == 1, 10, "bad datagram counted")
        # A type conflict is a storage rejection: only that point is dropped.
        send_udp(port, 'u1 v="s" 4\nu1 v=5 5\n')
        wait_until(lambda: udp_count(d, "stored") == 2, 10, "conflict datagram stored in part")
        check_eq(rows(d, "SELECT v FROM u1", "udp"),
                 [[1000000000, 1], [2000000000, 2], [3000000000, 3], [5000000000, 5]],
                 "u1 points (precision s)")
        check_eq(rows(d, "SELECT v FROM u2", "udp"), [], "nothing of the bad datagram")
        check_eq(udp_count(d, "dropped_overload"), 0.0, "no overload")
        check_eq(udp_count(d, "dropped_error"), 0.0, "no storage error")
        d.wait_log(r'msg="udp datagrams not stored in full".*dropped_parse=1.*missing field value')
        d.stop()
        p = subprocess.run([require_bin(), "dump", "--data", d.data_dir, "--db", "udp"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60 * MULT)
        check(p.returncode == 0, "dump exit %d: %r" % (p.returncode, p.stderr[-2000:]))
        got = sorted(l for l in p.stdout.decode().split("\n")
                     if l and not l.startswith("#") and not l.startswith("CREATE "))
        check_eq(got, ["u1 v=1 1000000000", "u1 v=2 2000000000", "u1 v=3 3000000000",
                       "u1 v=5 5000000000"], "dump of udp")


def test_many_datagrams_one_line_each():
    # Telegraf's udp:// output: one line per datagram, each ending in "\n".
    port = free_port()
    cfg = {"ingest.udp.listen": "%s:%d" % (HOST, port), "ingest.udp.database": "telegraf",
           "storage.retention": "INF"}
    with Daemon(cfg) as d:
        d.wait_log(r'msg="listening" proto=udp')
        n = 200
        for i in range(n):
            send_udp(port, "tg,host=h v=%di %d\n" % (i, i + 1))
            if i % 50 == 49:  # keep well inside the socket buffer
                wait_until(lambda: udp_count(d, "stored") >= i + 1, 10, "datagrams stored")
        wait_until(lambda: udp_count(d, "stored") == n, 10, "every datagram stored")
        check_eq([v[1] for v in rows(d, "SELECT v FROM tg", "telegraf")], list(range(n)),
                 "values in time order")


if __name__ == "__main__":
    run(globals())
