#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET /metrics: the Prometheus text format passes `promtool check metrics`
(format and lint), request counters by route and status count exactly what
the test sent, and the process/build metrics are present."""

import re
import shutil
import subprocess

from nightjar_harness import MULT, Daemon, Metrics, check, check_eq, run

REQUESTS = "nightjar_http_requests_total"


def scrape(d):
    r = d.http("GET", "/metrics")
    check_eq(r.status, 200, "GET /metrics status")
    check_eq(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8",
             "/metrics Content-Type")
    return Metrics(r.body.decode("utf-8"))


def test_metrics_counts_and_format():
    with Daemon() as d:
        before = scrape(d)
        for _ in range(5):
            check_eq(d.http("GET", "/ping").status, 204, "ping")
        for _ in range(2):
            check_eq(d.http("GET", "/health").status, 200, "health")
        check_eq(d.http("POST", "/ping", b"").status, 405, "405")
        check_eq(d.http("GET", "/nowhere").status, 404, "404")
        m = scrape(d)
        text = m.text
        check_eq(m.types.get(REQUESTS), "counter", "type of %s in:\n%s" % (REQUESTS, text))

        def delta(route, status):
            return (m.get(REQUESTS, 0, route=route, status=status) -
                    before.get(REQUESTS, 0, route=route, status=status))

        check_eq(delta("/ping", "204"), 5, "/ping 204 count delta")
        check_eq(delta("/health", "200"), 2, "/health 200 count delta")
        check_eq(delta("/ping", "405"), 1, "/ping 405 count delta")
        check_eq(delta("/metrics", "200"), 1, "/metrics 200 count delta (the first scrape)")
        unrouted = sum(v for l, v in m.series(REQUESTS) if l.get("status") == "404") - sum(
            v for l, v in before.series(REQUESTS) if l.get("status") == "404")
        check_eq(unrouted, 1, "404 count delta")

        names = m.names()
        for want in ("nightjar_process_start_time_seconds", "process_open_fds",
                     "process_resident_memory_bytes", "process_max_fds", "nightjar_build_info"):
            check(want in names, "metric %s missing" % want)
        fds = m.get("process_open_fds")
        check(3 <= fds < 1000, "process_open_fds = %r" % fds)
        rss = m.get("process_resident_memory_bytes")
        check(1 << 20 < rss < 8 << 30, "process_resident_memory_bytes = %r" % rss)
        build = m.series("nightjar_build_info")
        check(len(build) == 1 and build[0][1] == 1 and
              re.match(r"\d+\.\d+", build[0][0].get("version", "")),
              "nightjar_build_info: %r" % build)
        check_eq(build[0][0].get("influxdb_version"), "1.8.10", "build_info influxdb_version")
        start = m.get("nightjar_process_start_time_seconds")
        check(start > 1.5e9, "start time %r is Unix seconds" % start)

        promtool = shutil.which("promtool")
        check(promtool, "promtool not installed")
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30 * MULT)
        check(p.returncode == 0, "promtool check metrics failed (%d): %s%s\n--- body:\n%s" % (
            p.returncode, p.stdout.decode(), p.stderr.decode(), text))


if __name__ == "__main__":
    run(globals())
