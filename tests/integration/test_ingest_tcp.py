#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The TCP line-protocol listener through the real daemon (issue #3 items 4
and 5; influx-compat §3.2; ingest/listen.h): lines sent in odd chunks on
three connections, CRLF line ends, a partial last line parsed at EOF, a bad
line and an over-long line dropped without closing the connection, the
database created at start, the metrics, read back through /query and, after
the daemon stopped, through `nightjar dump`; at SIGTERM the batched lines
are written before the daemon exits."""

import socket
import subprocess

from nightjar_harness import (HOST, MULT, Daemon, check, check_eq, free_port, require_bin, run,
                              wait_until)


def dump_lines(d, db):
    p = subprocess.run([require_bin(), "dump", "--data", d.data_dir, "--db", db],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60 * MULT)
    check(p.returncode == 0, "dump exit %d: %r" % (p.returncode, p.stderr[-2000:]))
    text = p.stdout.decode("utf-8")
    return sorted(l for l in text.split("\n")
                  if l and not l.startswith("#") and not l.startswith("CREATE "))


def rows(d, q, db):
    """Values of the first series of q, or []."""
    r = d.query(q, db=db, epoch="ns")
    series = r["results"][0].get("series") or []
    return series[0]["values"] if series else []


def connect(port):
    s = socket.create_connection((HOST, port), timeout=10 * MULT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def metric(d, name, **labels):
    return d.metrics().get(name, 0.0, **labels)


def test_three_connections_odd_chunks():
    port = free_port()
    cfg = {"ingest.tcp.listen": "%s:%d" % (HOST, port), "ingest.tcp.batch_timeout": "20ms",
           "ingest.tcp.max_line_bytes": "1KiB", "storage.retention": "INF"}
    with Daemon(cfg) as d:
        d.wait_log(r'msg="listening" proto=tcp')
        d.wait_log(r'msg="database created" db="tcp" for=ingest.tcp')
        texts = []
        for c in range(3):
            lines = ["tcpm,conn=c%d v=%di %d" % (c, i, 1000000000 * (i + 1)) for i in range(40)]
            if c == 1:
                # a bad line and an over-long line in the middle; the
                # connection stays open and the lines after them count
                lines[21:21] = ["this is not line protocol", "tcpm,conn=long v=1 " + "9" * 2000]
            t = "\n".join(lines)
            if c == 0:
                t = t.replace("\n", "\r\n") + "\r\n"  # CRLF, §3.2
            elif c == 1:
                t += "\n"
            # c == 2: the last line has no "\n": parsed at EOF
            texts.append(t.encode())
        socks = [connect(port) for _ in range(3)]
        offs = [0, 0, 0]
        chunk = 1
        while any(offs[c] < len(texts[c]) for c in range(3)):
            for c in range(3):
                if offs[c] < len(texts[c]):
                    n = min(chunk, len(texts[c]) - offs[c])
                    socks[c].sendall(texts[c][offs[c]:offs[c] + n])
                    offs[c] += n
                    chunk = chunk % 53 + 5
        # sendall returns once the kernel holds the bytes; the daemon may not
        # have accepted every connection yet when /metrics answers
        wait_until(lambda: metric(d, "nightjar_tcp_connections") == 3.0, 10,
                   "three open connections")
        for s in socks:
            s.shutdown(socket.SHUT_WR)
        for s in socks:  # the daemon closes its side after EOF; it never answers
            check_eq(s.recv(1), b"", "EOF from the daemon, no response bytes")
            s.close()

        def all_there():
            return len(rows(d, "SELECT v FROM tcpm WHERE conn != 'long'", "tcp")) == 120
        wait_until(all_there, 15, "120 points through TCP")
        for c in range(3):
            vals = rows(d, "SELECT v FROM tcpm WHERE conn = 'c%d'" % c, "tcp")
            check_eq([v[1] for v in vals], list(range(40)), "conn %d values" % c)
            check_eq([v[0] for v in vals], [1000000000 * (i + 1) for i in range(40)],
                     "conn %d times" % c)
        check_eq(rows(d, "SELECT v FROM tcpm WHERE conn = 'long'", "tcp"), [],
                 "over-long line not stored")
        wait_until(lambda: metric(d, "nightjar_tcp_connections") == 0, 10, "connections closed")
        m = d.metrics()
        check_eq(m.get("nightjar_tcp_lines_too_long_total"), 1.0, "too-long lines")
        check_eq(m.get("nightjar_tcp_lines_invalid_total"), 1.0, "invalid lines")
        check_eq(m.get("nightjar_tcp_paused_total"), 0.0, "no back-pressure pause")
        check_eq(m.get("nightjar_tcp_buffered_bytes"), 0.0, "nothing buffered")
        d.wait_log(r'msg="tcp lines rejected".*bad_lines=1')
        d.wait_log(r'msg="tcp line too long, discarded up to its newline".*max_line_bytes=1024')
        d.stop()
        got = dump_lines(d, "tcp")
        check_eq(len([l for l in got if l.startswith("tcpm,conn=c")]), 120, "dumped points")
        check(not any("conn=long" in l for l in got), "no long line in the dump")


def test_sigterm_writes_batched_lines():
    port = free_port()
    cfg = {"ingest.tcp.listen": "%s:%d" % (HOST, port), "ingest.tcp.batch_timeout": "1h",
           "ingest.tcp.database": "sig", "storage.retention": "INF"}
    with Daemon(cfg) as d:
        d.wait_log(r'msg="listening" proto=tcp')
        s = connect(port)
        body = b"sigm v=1 1000000000\nsigm v=2 2000000000\nsigm v=3"
        s.sendall(body)
        wait_until(lambda: metric(d, "nightjar_tcp_received_bytes_total") == len(body), 10,
                   "bytes read by the listener")
        check_eq(rows(d, "SELECT v FROM sigm", "sig"), [], "batch still held (1h timeout)")
        d.stop()  # SIGTERM: complete lines are written, the partial one dropped
        s.close()
        check_eq(dump_lines(d, "sig"), ["sigm v=1 1000000000", "sigm v=2 2000000000"],
                 "lines written at shutdown")


def test_backpressure_pauses_and_resumes():
    port = free_port()
    cfg = {"ingest.tcp.listen": "%s:%d" % (HOST, port), "ingest.tcp.batch_bytes": "4KiB",
           "ingest.max_pending_bytes": "1", "storage.retention": "INF"}
    with Daemon(cfg) as d:
        d.wait_log(r'msg="listening" proto=tcp')
        socks = [connect(port) for _ in range(4)]
        n = 3000
        for c, s in enumerate(socks):
            s.sendall("".join("bp,c=%d v=%di %d\n" % (c, i, i + 1) for i in range(n)).encode())
        for s in socks:
            s.shutdown(socket.SHUT_WR)
        for s in socks:
            check_eq(s.recv(1), b"", "EOF from the daemon")
            s.close()

        def counted():
            return len(rows(d, "SELECT v FROM bp", "tcp")) == 4 * n
        wait_until(counted, 30, "every point through a 1-byte budget")
        # With a budget of one byte, only one batch is pending at a time, so
        # four busy connections must have paused.
        check(metric(d, "nightjar_tcp_paused_total") >= 1, "paused at least once")


if __name__ == "__main__":
    run(globals())
