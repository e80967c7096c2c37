#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential check against a real influxd 1.6 (scripts/install-deps.sh
installs it): the liveness routes, router 404/405 and CORS answer with the
same status, body, Content-Type and header set.  Header values that differ
by design (version, request ids, dates) and Allow's order (Go map order in
1.6) are not compared.  Also keeps the harness's Influxd class exercised."""

from nightjar_harness import Daemon, Influxd, check, check_eq, run

# (method, path, headers).  /health and /ping?verbose differ on purpose
# (1.8 behaviour, influx-compat.md deliberate difference 5).
CASES = [
    ("GET", "/ping", {}),
    ("HEAD", "/ping", {}),
    ("GET", "/status", {}),
    ("HEAD", "/status", {}),
    ("GET", "/no/such/path", {}),
    ("POST", "/ping", {}),
    ("DELETE", "/status", {}),
    ("OPTIONS", "/ping", {}),
    ("GET", "/ping", {"Origin": "http://grafana.example"}),
    ("GET", "/ping?verbose=false", {}),
]

IGNORED_VALUES = {"date", "request-id", "x-request-id", "x-influxdb-version"}


def header_names(r):
    return sorted({k.lower() for k, _ in r.headers})


def test_liveness_and_router_parity():
    with Influxd() as ref, Daemon() as d:
        for method, path, headers in CASES:
            body = b"" if method in ("POST", "DELETE") else None
            a = ref.http(method, path, body, headers)
            b = d.http(method, path, body, headers)
            what = "%s %s %s" % (method, path, headers or "")
            check_eq(b.status, a.status, "%s: status (influxd %r)" % (what, a))
            check_eq(b.body, a.body, "%s: body" % what)
            check_eq(header_names(b), header_names(a), "%s: header names" % what)
            for k, v in a.headers:
                lk = k.lower()
                if lk in IGNORED_VALUES:
                    continue
                if lk == "allow":
                    check_eq(sorted(x.strip() for x in b.header(k).split(",")),
                             sorted(x.strip() for x in v.split(",")), "%s: Allow" % what)
                else:
                    check_eq(b.header(k), v, "%s: header %s" % (what, k))
            check(b.header("X-Influxdb-Version", "").startswith("1."),
                  "%s: X-Influxdb-Version" % what)


if __name__ == "__main__":
    run(globals())
