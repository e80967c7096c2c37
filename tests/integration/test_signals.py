#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Signals: SIGTERM drains in-flight requests and exits 0; a request longer
than shutdown_grace is cut and the daemon still exits 0; a second SIGTERM
forces; SIGHUP applies log.level and keeps the old config when the new file
is bad."""

import signal
import time

from nightjar_harness import (MULT, ConnectionClosed, Daemon, build_request, check, check_eq,
                              run, to_yaml)

TEST_FLAGS = ["--debug.test-endpoints"]


def test_sigterm_drains_inflight_request():
    with Daemon({"shutdown_grace": "10s"}, args=TEST_FLAGS) as d:
        with d.conn(timeout=30) as c:
            c.send(build_request("GET", "/debug/sleep?d=1500ms"))
            d.wait_log(r'msg="debug sleep started"')
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            d.wait_log(r'msg="shutting down" signal=SIGTERM')
            d.wait_log(r'msg="draining" connections=1 inflight=1')
            # New connections are refused while draining.
            refused = False
            try:
                d.http("GET", "/ping", timeout=2)
            except (OSError, ConnectionClosed):
                refused = True
            check(refused, "a new connection was served after SIGTERM")
            r = c.read_response()
            check_eq(r.status, 200, "in-flight request completes during drain")
            check("cancelled" not in r.json(), "request was not cancelled: %r" % r.body)
        code = d.wait_exit(10)
        check_eq(code, 0, "exit status after a graceful drain")
        check(time.monotonic() - t0 < 10, "exited within shutdown_grace")
        check('forced=false' in d.log_text(), "log says the drain was not forced")


def test_sigterm_idle_exits_at_once():
    with Daemon({"shutdown_grace": "30s"}) as d:
        with d.conn() as c:  # an idle keep-alive connection must not hold us
            check_eq(c.request("GET", "/ping").status, 204, "ping")
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            code = d.wait_exit(10)
            check_eq(code, 0, "exit status")
            check(time.monotonic() - t0 < 5 * MULT, "idle shutdown took %.1fs" %
                  (time.monotonic() - t0))


def test_grace_expiry_forces_exit():
    with Daemon({"shutdown_grace": "1s"}, args=TEST_FLAGS) as d:
        with d.conn(timeout=60) as c:
            c.send(build_request("GET", "/debug/sleep?d=60s"))
            d.wait_log(r'msg="debug sleep started"')
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            code = d.wait_exit(15)
            elapsed = time.monotonic() - t0
            check(code is not None, "daemon still running 15s after SIGTERM with grace 1s")
            check_eq(code, 0, "exit status after a forced shutdown")
            check(elapsed >= 0.9, "exited after %.2fs, before the 1s grace" % elapsed)
            check(elapsed < 1 + 4 * MULT, "exited %.2fs after SIGTERM (grace 1s)" % elapsed)
        lines = d.log_lines(r'msg="forcing shutdown" reason=grace_expired')
        check(len(lines) == 1, "one 'forcing shutdown' line: %r" % lines)
        check("requests_cut=1" in lines[0], "log counts the cut request: %s" % lines[0])


def test_second_sigterm_forces():
    with Daemon({"shutdown_grace": "60s"}, args=TEST_FLAGS) as d:
        with d.conn(timeout=60) as c:
            c.send(build_request("GET", "/debug/sleep?d=60s"))
            d.wait_log(r'msg="debug sleep started"')
            d.signal(signal.SIGTERM)
            d.wait_log(r'msg="shutting down"')
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            code = d.wait_exit(15)
            check_eq(code, 0, "exit status after a second SIGTERM")
            check(time.monotonic() - t0 < 5 * MULT, "second SIGTERM took %.1fs" %
                  (time.monotonic() - t0))
        d.wait_log(r'msg="forcing shutdown" reason=second_signal')


def test_sighup_log_level():
    with Daemon({"log.level": "info"}, args=TEST_FLAGS) as d:
        debug_line = r'level=debug .*msg="debug echo"'
        check_eq(d.http("POST", "/debug/echo", b"a").status, 200, "echo at info")
        check(not d.log_lines(debug_line), "no debug lines at log.level info")

        d.config["log"]["level"] = "debug"
        d.write_config()
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="config reloaded" changed=log.level old=info new=debug')
        check_eq(d.http("POST", "/debug/echo", b"b").status, 200, "echo at debug")
        d.wait_log(debug_line)

        # Back to warn: info lines stop too.
        d.config["log"]["level"] = "warn"
        d.write_config()
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="config reloaded" changed=log.level old=debug new=warn')
        n = len(d.log_lines(debug_line))
        check_eq(d.http("POST", "/debug/echo", b"c").status, 200, "echo at warn")
        check_eq(len(d.log_lines(debug_line)), n, "debug lines after going back to warn")


def test_sighup_bad_config_keeps_running():
    with Daemon({"log.level": "info"}, args=TEST_FLAGS) as d:
        d.write_config(text=to_yaml(d.config) + "log:\n  level: [oops\n")
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="config reload failed; keeping the running config"')
        check_eq(d.http("GET", "/ping").status, 204, "daemon answers after a bad reload")
        m = d.metrics()
        check_eq(m.get("nightjar_config_last_reload_successful"), 0.0, "last reload failed")
        check_eq(m.get("nightjar_config_reloads_total", result="failure"), 1.0, "failures")
        check_eq(m.get("nightjar_config_reloads_total", result="success"), 0.0, "successes")

        d.write_config(text=to_yaml(d.config).replace("level: \"info\"", "levle: \"debug\""))
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="config reload failed.*levle', count=1)
        check_eq(d.http("GET", "/ping").status, 204, "daemon answers after an unknown key")
        check_eq(d.http("POST", "/debug/echo", b"x").status, 200, "echo")
        check(not d.log_lines(r'level=debug'), "log level unchanged by the bad reloads")

        # A key that needs a restart is reported and not applied.
        d.config["http"]["max_body_bytes"] = 12345
        d.write_config()
        d.signal(signal.SIGHUP)
        d.wait_log(r'need a restart.*keys=http\.max_body_bytes')
        check_eq(d.http("GET", "/ping").status, 204, "daemon answers after a restart-only change")
        m = d.metrics()
        check_eq(m.get("nightjar_config_last_reload_successful"), 1.0, "last reload succeeded")
        check_eq(m.get("nightjar_config_reloads_total", result="failure"), 2.0, "failures")
        check_eq(m.get("nightjar_config_reloads_total", result="success"), 1.0, "successes")


def test_sighup_applies_shutdown_grace():
    with Daemon({"shutdown_grace": "60s"}, args=TEST_FLAGS) as d:
        d.config["shutdown_grace"] = "1s"
        d.write_config()
        d.signal(signal.SIGHUP)
        d.wait_log(r'msg="config reloaded" changed=shutdown_grace old=1m new=1s')
        with d.conn(timeout=60) as c:
            c.send(build_request("GET", "/debug/sleep?d=60s"))
            d.wait_log(r'msg="debug sleep started"')
            t0 = time.monotonic()
            d.signal(signal.SIGTERM)
            code = d.wait_exit(20)
            check_eq(code, 0, "exit status")
            check(time.monotonic() - t0 < 1 + 4 * MULT,
                  "the reloaded 1s grace was not used (%.1fs)" % (time.monotonic() - t0))
        d.wait_log(r'msg="forcing shutdown" reason=grace_expired')


if __name__ == "__main__":
    run(globals())
