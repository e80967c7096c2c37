#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""GET /metrics: the Prometheus text format passes `promtool check metrics`
(format and lint), request counters by route and status count exactly what
the test sent, and the process/build metrics are present."""

import re
import shutil
import subprocess

from nightjar_harness import MULT, Daemon, check, check_eq, fail, run

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels.items())): value} plus {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            fail("unparsable metrics line %r" % line)
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples, types


def scrape(d):
    r = d.http("GET", "/metrics")
    check_eq(r.status, 200, "GET /metrics status")
    check_eq(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8",
             "/metrics Content-Type")
    return r.body.decode("utf-8")


def request_counts(samples, types):
    """{(path, status): value} from the counter family that carries both a
    path-like label (value starting with '/') and a 3-digit status label."""
    out = {}
    for (name, labels), v in samples.items():
        if types.get(name) != "counter" and not name.endswith("_total"):
            continue
        d = dict(labels)
        path = [x for x in d.values() if x.startswith("/")]
        status = [x for x in d.values() if re.fullmatch(r"[1-5]\d\d", x)]
        if len(path) == 1 and len(status) == 1 and "request" in name:
            out[(path[0], status[0])] = out.get((path[0], status[0]), 0) + v
    return out


def test_metrics_counts_and_format():
    with Daemon() as d:
        before = request_counts(*parse(scrape(d)))
        for _ in range(5):
            check_eq(d.http("GET", "/ping").status, 204, "ping")
        for _ in range(2):
            check_eq(d.http("GET", "/health").status, 200, "health")
        check_eq(d.http("POST", "/ping", b"").status, 405, "405")
        text = scrape(d)
        samples, types = parse(text)
        after = request_counts(samples, types)
        check(after, "no request counter with path and status labels in:\n" + text)

        def delta(path, status):
            return after.get((path, status), 0) - before.get((path, status), 0)

        check_eq(delta("/ping", "204"), 5, "/ping 204 count delta")
        check_eq(delta("/health", "200"), 2, "/health 200 count delta")
        check_eq(delta("/ping", "405"), 1, "/ping 405 count delta")

        names = {n for n, _ in samples}
        for want in ("nightjar_process_start_time_seconds", "process_open_fds",
                     "process_resident_memory_bytes", "nightjar_build_info"):
            check(want in names, "metric %s missing" % want)
        fds = [v for (n, _), v in samples.items() if n == "process_open_fds"][0]
        check(3 <= fds < 1000, "process_open_fds = %r" % fds)
        rss = [v for (n, _), v in samples.items() if n == "process_resident_memory_bytes"][0]
        check(1 << 20 < rss < 8 << 30, "process_resident_memory_bytes = %r" % rss)
        build = [(dict(l), v) for (n, l), v in samples.items() if n == "nightjar_build_info"]
        check(len(build) == 1 and build[0][1] == 1 and re.match(r"\d+\.\d+", build[0][0].get(
            "version", "")), "nightjar_build_info: %r" % build)
        start = [v for (n, _), v in samples.items()
                 if n == "nightjar_process_start_time_seconds"][0]
        check(start > 1.5e9, "start time %r is Unix seconds" % start)

        promtool = shutil.which("promtool")
        check(promtool, "promtool not installed")
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30 * MULT)
        check(p.returncode == 0, "promtool check metrics failed (%d): %s%s\n--- body:\n%s" % (
            p.returncode, p.stdout.decode(), p.stderr.decode(), text))


if __name__ == "__main__":
    run(globals())
