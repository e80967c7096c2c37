#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""N GET requests to one server, each on a new TCP connection (or one
keep-alive connection), from a raw socket in this process: the client-side
median / p10 / min in ms.  Run it under `perf stat -e task-clock,context-switches
-p <server pid>` to get the server's CPU time and context switches per request
(helper qlat's measurements in docs/BENCHMARKS.md).  Manual; not run by ctest.

    bench/query/reqloop.py PORT N KIND new|ka
    KIND: floor (SHOW DATABASES), empty, one3h, one24h (devops one-series panel
    query, bench/query/run.py's), ping, or a raw path starting with "/"
    (e.g. a VictoriaMetrics /api/v1/query_range?... URL path)
"""
import socket, sys, time, statistics, urllib.parse, os
port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ka = len(sys.argv) > 4 and sys.argv[4] == "ka"
END = 1704078000
def rng(a, b): return "time >= %dms AND time <= %dms" % (a * 1000, b * 1000)
one = lambda a, b: 'SELECT mean("usage_user") FROM "cpu" WHERE "hostname" = \'host_7\' AND %s GROUP BY time(1m) fill(null)' % rng(a, b)
Q = {"floor": "SHOW DATABASES", "one3h": one(END - 10800, END), "one24h": one(END - 86400, END),
     "empty": one(END + 86400, END + 90000)}
if kind.startswith("/"):
    path = kind
elif kind == "ping":
    path = "/ping"
else:
    path = "/query?" + urllib.parse.urlencode({"db": "bench", "epoch": "ms", "q": Q[kind]})
req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n" % (path, port)).encode()
def recv_resp(s):
    data = b""
    while b"\r\n\r\n" not in data:
        c = s.recv(65536)
        if not c: raise RuntimeError("eof")
        data += c
    head, rest = data.split(b"\r\n\r\n", 1)
    cl = None
    for l in head.split(b"\r\n"):
        if l.lower().startswith(b"content-length:"): cl = int(l.split(b":")[1])
    if cl is None:  # 204
        return head, rest
    while len(rest) < cl:
        rest += s.recv(65536)
    return head, rest
ts = []
s = None
for i in range(n):
    t0 = time.perf_counter()
    if s is None or not ka:
        s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    h, b = recv_resp(s)
    t1 = time.perf_counter()
    if not ka:
        s.close()
    ts.append((t1 - t0) * 1e3)
ts.sort()
print("%s n=%d median %.3f ms  p10 %.3f  min %.3f" % (kind[:40], n, statistics.median(ts), ts[len(ts)//10], ts[0]))
