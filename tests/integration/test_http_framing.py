#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP/1.1 framing and limits through real sockets: keep-alive, pipelining,
chunked request bodies, 413 / 431, the read-header timeout, gzip request
bodies and a gzip bomb.  POST bodies go to /debug/echo
(--debug.test-endpoints), which answers the body length and its FNV-1a hash
as the handler saw it."""

import time
import zlib

from nightjar_harness import (MULT, ConnectionClosed, Daemon, build_request, check, check_eq,
                              run, send_in_background)

MiB = 1 << 20


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def check_echo(r, body, what):
    check_eq(r.status, 200, "%s: status (body %r)" % (what, r.body[:200]))
    check_eq(r.json(), {"bytes": len(body), "fnv1a64": fnv1a64(body)}, "%s: echo" % what)


def gzip_bytes(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
    return c.compress(data) + c.flush()


def test_keepalive_and_pipelining():
    with Daemon(args=["--debug.test-endpoints"]) as d:
        with d.conn() as c:
            r1 = c.request("GET", "/ping")
            r2 = c.request("GET", "/health")
            check_eq((r1.status, r2.status), (204, 200), "two requests on one connection")
            check(r1.header("Request-Id") != r2.header("Request-Id"), "distinct Request-Ids")

            # Three requests in one send, answered in order.  The first is
            # slow, on a worker thread: order must hold anyway.
            c.send(build_request("GET", "/debug/sleep?d=200ms") +
                   build_request("POST", "/debug/echo", b"second") +
                   build_request("GET", "/ping?verbose=true"))
            a = c.read_response()
            b = c.read_response()
            e = c.read_response()
            check_eq(a.status, 200, "pipelined 1 (sleep)")
            check("slept_ms" in a.json(), "pipelined 1 is the sleep answer: %r" % a.body)
            check_echo(b, b"second", "pipelined 2 (echo)")
            check_eq((e.status, e.body), (200, b'{"version":"1.8.10"}'), "pipelined 3 (ping)")

            # Connection: close is honoured after the response.
            c.send(build_request("GET", "/ping", headers={"Connection": "close"}))
            check_eq(c.read_response().status, 204, "request with Connection: close")
            check(c.is_closed(5 * MULT), "server closes after Connection: close")


def test_bodies_chunked_and_gzip():
    with Daemon(args=["--debug.test-endpoints"]) as d:
        body = bytes(range(256)) * 40
        check_echo(d.http("POST", "/debug/echo", body), body, "plain body")
        check_echo(d.http("POST", "/debug/echo", b""), b"", "empty body")

        # Chunked request body with uneven chunk sizes and a chunk extension.
        parts = [body[:1], body[1:4000], body[4000:]]
        raw = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)
        raw = raw.replace(b"1\r\n", b"1;ext=1\r\n", 1) + b"0\r\n\r\n"
        with d.conn() as c:
            c.send(build_request("POST", "/debug/echo", None,
                                 {"Transfer-Encoding": "chunked"}) + raw)
            check_echo(c.read_response(), body, "chunked body")
            # The connection is still usable afterwards.
            check_eq(c.request("GET", "/ping").status, 204, "ping after a chunked request")

        # gzip body is inflated before the handler sees it.
        text = b"cpu,host=a value=1 1\n" * 5000
        r = d.http("POST", "/debug/echo", gzip_bytes(text), {"Content-Encoding": "gzip"})
        check_echo(r, text, "gzip body")


def read_limit_response(d, data, what):
    """Sends data (which the server may refuse before reading all of it)
    and returns the response."""
    with d.conn() as c:
        t = send_in_background(c, data)
        try:
            r = c.read_response()
        except ConnectionClosed:
            raise AssertionError("%s: connection closed without a response" % what)
        t.join(10 * MULT)
        return r


def test_limits_413_431():
    cfg = {"http.max_body_bytes": "1MiB"}
    with Daemon(cfg, args=["--debug.test-endpoints"]) as d:
        ok = b"x" * MiB
        check_echo(d.http("POST", "/debug/echo", ok), ok, "body of exactly max_body_bytes")

        big = b"x" * (MiB + 1)
        r = read_limit_response(d, build_request("POST", "/debug/echo", big), "413")
        check_eq(r.status, 413, "body over max_body_bytes: status")

        # Chunked bodies are capped too.
        chunk = b"y" * 65536
        raw = (b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 20 + b"0\r\n\r\n"
        r = read_limit_response(d, build_request("POST", "/debug/echo", None,
                                                 {"Transfer-Encoding": "chunked"}) + raw,
                                "chunked 413")
        check_eq(r.status, 413, "chunked body over max_body_bytes: status")

        # Headers over 1 MiB -> 431.
        huge = [("X-Filler-%d" % i, "v" * 8000) for i in range(160)]
        r = read_limit_response(d, build_request("GET", "/ping", None, huge), "431")
        check_eq(r.status, 431, "headers over the header limit: status")

        check_eq(d.http("GET", "/ping").status, 204, "daemon still answers after limits")


def test_read_header_timeout():
    cfg = {"http.read_header_timeout": "1s"}
    with Daemon(cfg) as d:
        with d.conn(timeout=30) as c:
            t0 = time.monotonic()
            c.send(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
            # Trickle header bytes, never finishing the header block; the
            # server must cut the client off about 1s after it started.
            closed = False
            end = t0 + 10 * MULT
            while time.monotonic() < end:
                try:
                    c.send(b"X")
                except OSError:
                    closed = True
                    break
                if c.is_closed(0.2):
                    closed = True
                    break
            elapsed = time.monotonic() - t0
            check(closed, "slow-header client not cut off after %.1fs" % elapsed)
            check(elapsed >= 0.8, "cut off too early (%.2fs < 1s timeout)" % elapsed)
            check(elapsed < 1 + 4 * MULT, "cut off too late (%.2fs)" % elapsed)
        check_eq(d.http("GET", "/ping").status, 204, "daemon still answers")


def test_idle_timeout():
    with Daemon({"http.idle_timeout": "1s"}) as d:
        with d.conn(timeout=30) as c:
            check_eq(c.request("GET", "/ping").status, 204, "ping")
            t0 = time.monotonic()
            end = t0 + 1 + 4 * MULT
            closed = False
            while not closed and time.monotonic() < end:
                closed = c.is_closed(0.1)
            elapsed = time.monotonic() - t0
            check(closed, "idle keep-alive connection still open after %.1fs (idle_timeout 1s)" %
                  elapsed)
            check(elapsed >= 0.8, "idle connection closed after %.2fs (< 1s)" % elapsed)
        # A connection that keeps talking is not idle.
        with d.conn(timeout=30) as c:
            for _ in range(4):
                check_eq(c.request("GET", "/ping").status, 204, "busy keep-alive ping")
                time.sleep(0.4)  # pacing below the idle timeout, not a wait for state
            check_eq(c.request("GET", "/ping").status, 204, "still open after 1.6s of use")


def test_gzip_bomb_bounded():
    cfg = {"http.max_body_bytes": "1MiB"}
    with Daemon(cfg, args=["--debug.test-endpoints"]) as d:
        # 100 MiB of zeros compress to about 100 KiB.
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(MiB)
        bomb = b"".join(comp.compress(zeros) for _ in range(100)) + comp.flush()
        check(len(bomb) < 2 * MiB, "bomb is small on the wire (%d bytes)" % len(bomb))
        before = d.rss("VmHWM")
        r = read_limit_response(d, build_request("POST", "/debug/echo", bomb,
                                                 {"Content-Encoding": "gzip"}), "gzip bomb")
        check_eq(r.status, 413, "gzip bomb inflating past max_body_bytes: status")
        grown = d.rss("VmHWM") - before
        check(grown < 48 * MiB,
              "peak RSS grew by %.1f MiB for a 1 MiB cap (bomb inflates to 100 MiB)" %
              (grown / MiB))
        check_eq(d.http("GET", "/ping").status, 204, "daemon still answers after the bomb")


if __name__ == "__main__":
    run(globals())
