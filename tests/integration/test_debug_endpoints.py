#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Test-only flags: --debug.fake-clock exposes /debug/clock and time moves
only through it; --debug.test-endpoints adds /debug/sleep and /debug/echo;
without the flags none of them exists.  Also: several listeners, SIGINT."""

import signal

from nightjar_harness import HOST, Daemon, check, check_eq, free_port, run

START_NS = 1_600_000_000_000_000_000


def test_no_debug_routes_without_flags():
    with Daemon() as d:
        for method, path in (("GET", "/debug/clock"), ("POST", "/debug/clock?advance=1s"),
                             ("GET", "/debug/sleep?d=1ms"), ("POST", "/debug/echo")):
            r = d.http(method, path, b"" if method == "POST" else None)
            check_eq(r.status, 404, "%s %s without debug flags" % (method, path))


def test_fake_clock():
    with Daemon(args=["--debug.fake-clock=%d" % START_NS]) as d:
        r = d.http("GET", "/debug/clock")
        check_eq(r.status, 200, "GET /debug/clock")
        check_eq(r.json(), {"wall_ns": START_NS, "mono_ns": 0}, "fake clock at start")
        # Real time passing does not move it.
        check_eq(d.http("GET", "/ping").status, 204, "ping")
        check_eq(d.http("GET", "/debug/clock").json()["wall_ns"], START_NS,
                 "fake clock after a request")

        r = d.http("POST", "/debug/clock?advance=1h30m")
        check_eq(r.status, 200, "advance status")
        want = START_NS + 5400 * 10**9
        check_eq(r.json(), {"wall_ns": want, "mono_ns": 5400 * 10**9}, "after advance=1h30m")

        r = d.http("POST", "/debug/clock?set=%d" % (want + 10))
        check_eq(r.json()["wall_ns"], want + 10, "after set")

        for bad in ("advance=soon", "advance=-1s", "set=yesterday", ""):
            r = d.http("POST", "/debug/clock?" + bad, b"")
            check_eq(r.status, 400, "POST /debug/clock?%s" % bad)
            check("error" in r.json(), "400 carries an InfluxDB error body: %r" % r.body)
        check_eq(d.http("GET", "/debug/clock").json()["wall_ns"], want + 10,
                 "bad requests leave the clock alone")
        # Only the clock: the test endpoints need their own flag.
        check_eq(d.http("GET", "/debug/sleep?d=1ms").status, 404, "sleep needs its flag")


def test_sleep_parameter_checks():
    with Daemon(args=["--debug.test-endpoints"]) as d:
        for q in ("", "?d=", "?d=forever", "?d=11m", "?d=-1s"):
            r = d.http("GET", "/debug/sleep" + q)
            check_eq(r.status, 400, "GET /debug/sleep%s" % q)
        r = d.http("GET", "/debug/sleep?d=10ms")
        check_eq(r.status, 200, "short sleep")
        check(r.json()["slept_ms"] >= 10, "slept: %r" % r.body)


def test_two_listeners_and_sigint():
    d = Daemon()
    first, second = d.port, free_port()
    d.config["http"]["listen"] = ["%s:%d" % (HOST, first), "%s:%d" % (HOST, second)]
    with d:
        for port in (first, second):
            d.port = port
            check_eq(d.http("GET", "/ping").status, 204, "ping on listener %d" % port)
            d.wait_log(r'msg="listening" addr=127\.0\.0\.1:%d port=%d' % (port, port))
        d.signal(signal.SIGINT)
        check_eq(d.wait_exit(15), 0, "exit status after SIGINT")
        check(d.log_lines(r'msg="shutting down" signal=SIGINT'), "SIGINT logged")


if __name__ == "__main__":
    run(globals())
