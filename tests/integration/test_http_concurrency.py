#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A slow handler on a worker thread does not block the loop: /ping on
another connection answers while /debug/sleep?d=3s is in flight."""

import time

from nightjar_harness import MULT, Daemon, build_request, check, check_eq, run


def test_slow_handler_does_not_block_ping():
    with Daemon(args=["--debug.test-endpoints"]) as d:
        with d.conn(timeout=30) as slow:
            t0 = time.monotonic()
            # The sleep stretches with TEST_TIMEOUT_MULT so that five pings
            # on a loaded sanitizer build fit inside it.
            sleep_s = 3 * MULT
            slow.send(build_request("GET", "/debug/sleep?d=%ds" % sleep_s))
            d.wait_log(r'msg="debug sleep started"')
            for i in range(5):
                p0 = time.monotonic()
                r = d.http("GET", "/ping", timeout=5)
                took = time.monotonic() - p0
                check_eq(r.status, 204, "ping %d during the slow request" % i)
                check(took < 1.0 * MULT, "ping %d took %.2fs while a slow request ran" % (i, took))
            check(time.monotonic() - t0 < sleep_s,
                  "pings finished only after the sleep ended; the test proves nothing")
            r = slow.read_response()
            elapsed = time.monotonic() - t0
            check_eq(r.status, 200, "slow request status")
            check(r.json()["slept_ms"] >= sleep_s * 1000, "slept the full %ds: %r" % (sleep_s, r.body))
            check(elapsed >= sleep_s, "slow answer came after %.2fs" % elapsed)
            check(elapsed < sleep_s + 3 * MULT, "slow answer took %.2fs" % elapsed)


def test_two_slow_handlers_run_in_parallel():
    with Daemon(args=["--debug.test-endpoints"]) as d:
        conns = [d.conn(timeout=30) for _ in range(2)]
        try:
            t0 = time.monotonic()
            for c in conns:
                c.send(build_request("GET", "/debug/sleep?d=%dms" % (1500 * MULT)))
            for c in conns:
                check_eq(c.read_response().status, 200, "parallel sleep")
            elapsed = time.monotonic() - t0
            check(elapsed < 2.9 * MULT, "two %.1fs sleeps took %.2fs: not parallel"
                  % (1.5 * MULT, elapsed))
        finally:
            for c in conns:
                c.close()


if __name__ == "__main__":
    run(globals())
