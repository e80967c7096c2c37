#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""/query answers sent by the worker thread itself (net/http_server.c
direct_answer): the whole head and body arrive intact when the socket
cannot take them at once (a multi-MB answer to a client that reads late,
so the loop sends the rest), keep-alive goes on afterwards, pipelined
requests keep their order, HEAD gets no body, Connection: close is
honoured, and a client that goes away mid-answer does not hurt the
server."""

import json
import socket
import time

from nightjar_harness import Daemon, build_request, check, check_eq, run

NPOINTS = 60000


def daemon():
    return Daemon({"storage.retention": "INF"})


def load(d):
    r = d.http("POST", "/query?q=CREATE+DATABASE+db")
    check_eq(r.status, 200, "CREATE DATABASE status")
    lines = ["big,host=h%d v=%d.125,s=\"%s\" %d" % (i % 3, i, "x" * 40, 1700000000000000000 + i * 1000000000)
             for i in range(NPOINTS)]
    for k in range(0, NPOINTS, 10000):
        r = d.write(lines[k:k + 10000], db="db")
        check_eq(r.status, 204, "write status")


def q_path(q, **extra):
    import urllib.parse
    p = {"db": "db", "q": q}
    p.update(extra)
    return "/query?" + urllib.parse.urlencode(p)


def test_large_answer_read_late():
    with daemon() as d:
        load(d)
        path = q_path("SELECT * FROM big", epoch="ms")
        with d.conn(timeout=60) as c:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            c.send(build_request("GET", path))
            time.sleep(1.0)  # the worker's send fills the socket and leaves the rest
            r = c.read_response()
            check_eq(r.status, 200, "status")
            check_eq(r.header("Content-Length"), str(len(r.body)), "Content-Length")
            check(len(r.body) > 4 * 1024 * 1024, "answer should be several MB, is %d" % len(r.body))
            doc = json.loads(r.body)
            vals = doc["results"][0]["series"][0]["values"]
            check_eq(len(vals), NPOINTS, "rows")
            check_eq(vals[-1][2], "x" * 40, "last row's string")
            check_eq(vals[12345][3], 12345.125, "a float")
            # keep-alive: the same connection answers again
            r2 = c.request("GET", q_path("SELECT count(v) FROM big"))
            check_eq(r2.status, 200, "second status")
            check_eq(r2.json()["results"][0]["series"][0]["values"][0][1], NPOINTS, "count")


def test_pipelined_head_close():
    with daemon() as d:
        load(d)
        with d.conn() as c:
            reqs = b"".join(build_request("GET", q_path("SELECT count(v) FROM big WHERE host='h%d'" % i))
                            for i in range(3))
            c.send(reqs + build_request("HEAD", q_path("SHOW DATABASES")))
            for i in range(3):
                r = c.read_response()
                check_eq(r.status, 200, "pipelined %d" % i)
                check_eq(r.json()["results"][0]["series"][0]["values"][0][1], NPOINTS // 3,
                         "pipelined %d count" % i)
            r = c.read_response("HEAD")
            check_eq(r.body, b"", "HEAD body")
            check(c.is_closed(0.3) is False, "keep-alive after HEAD")
        with d.conn() as c:
            r = c.request("GET", q_path("SHOW DATABASES"), headers={"Connection": "close"})
            check_eq(r.status, 200, "close status")
            check_eq(r.header("Connection"), "close", "Connection header")
            check(c.is_closed(5.0), "server closes after Connection: close")


def test_client_gone_mid_answer():
    with daemon() as d:
        load(d)
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", d.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(build_request("GET", q_path("SELECT * FROM big", epoch="ms")))
            s.recv(1000)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # reset while the answer is being sent
        r = d.http("GET", q_path("SHOW DATABASES"))
        check_eq(r.status, 200, "server still answers")


run(globals())
