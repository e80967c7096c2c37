#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Per-request latency of small /query answers (issue #5, helper qlat):
several Nightjar binaries side by side with VictoriaMetrics, on data that
bench/query/run.py loaded and kept (--keep).

    bench/query/lat.py --nightjar-data RUN/nightjar-XXXX/data --vm-data RUN/victoria-XXXX/data \
        --bin old=/path/old/nightjar --bin new=/path/new/nightjar [--set devops] [--repeat 31]

Each binary gets its own copy of the Nightjar data dir (the daemon locks
its dir) and its own port; VictoriaMetrics runs on its kept dir; the run
starts once all of them are idle.  Every round times each query once on
every server, in a shuffled order (seeded), with --gap-ms between requests, using `curl -s -o /dev/null -w ...` (a new
process and a new connection per request, as bench/query/run.py does).
Printed per query and server: the medians of time_connect,
time_starttransfer and time_total, the ratio of the total's median to
VictoriaMetrics', and the server's CPU time (utime + stime from /proc) per
request.  --client socket times the same requests from a raw socket in this
process instead of a curl process each (far less noise on a loaded machine;
the phases are connect, first byte and whole answer).  Queries:

  floor      Nightjar SHOW DATABASES; VictoriaMetrics /api/v1/query?query=1
  empty      the one-series query over an hour with no data (Nightjar) /
             the same PromQL over that hour (VictoriaMetrics)
  one 3h     the benchmark's one-series 1m mean over 3 h
  one 24h    the same over 24 h (set d100 only)
  1,000 hosts  with --all-series (set devops): max by 5m GROUP BY hostname, 3 h

Manual benchmark: never run from ctest.
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as qrun  # noqa: E402  (bench/query/run.py: the queries)

ing = qrun.ing
EMPTY = (qrun.END + 86400, qrun.END + 86400 + 3600)


def queries(name, all_series=False):
    qs = [("floor", {"iql": "SHOW DATABASES", "prom": ("/api/v1/query", {"query": "1"})}),
          ("empty", qrun.one_series(EMPTY, "1m")),
          ("one 3h", qrun.one_series(qrun.H3, "1m"))]
    if name == "d100":
        qs.append(("one 24h", qrun.one_series(qrun.H24, "1m")))
    if name == "devops" and all_series:
        qs.append(("1,000 hosts", qrun.QUERIES["devops"][1][1]))
    return qs


class NJ:
    def __init__(self, label, binary, src_data, tmp):
        self.name, self.label = "nightjar", label
        self.dir = tempfile.mkdtemp(prefix="nj-" + label + "-", dir=tmp)
        data = os.path.join(self.dir, "data")
        shutil.copytree(src_data, data, symlinks=True)
        self.port = ing.free_port()
        conf = os.path.join(self.dir, "nightjar.yaml")
        with open(conf, "w") as f:  # as bench/query/run.py configures it
            f.write(f'http: {{listen: "127.0.0.1:{self.port}"}}\n'
                    f"log: {{level: debug}}\n"
                    f"storage: {{dir: {data}, retention: INF, housekeeping_interval: 5s,"
                    f" flush: {{max_age: 15s}}}}\n"
                    f"internal: {{enabled: false}}\n"
                    f"databases: [{ing.DB}]\n")
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen([binary, "--config", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True)
        ing.wait_http(f"http://127.0.0.1:{self.port}/ping", self.proc)

    def url(self, q):
        return f"http://127.0.0.1:{self.port}/query?" + urllib.parse.urlencode(
            {"db": ing.DB, "epoch": "ms", "q": q["iql"]})

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(60)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class VM:
    def __init__(self, data, tmp):
        self.name = self.label = "victoria"
        self.port = ing.free_port()
        self.log = open(os.path.join(tmp, "victoria.log"), "wb")
        self.proc = subprocess.Popen(
            ["victoria-metrics", "-storageDataPath", data, "-httpListenAddr",
             f"127.0.0.1:{self.port}", "-retentionPeriod=100y", "-loggerLevel=ERROR",
             "-search.maxUniqueTimeseries=10000000"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        ing.wait_http(f"http://127.0.0.1:{self.port}/health", self.proc)

    def url(self, q):
        path, params = q["prom"]
        p = dict(params)
        p["nocache"] = "1"
        return f"http://127.0.0.1:{self.port}{path}?" + urllib.parse.urlencode(p)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(60)
        self.log.close()


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sock_get(url):
    """One GET on a new TCP connection from this process (no curl start-up):
    [connect, first byte, total] in ms, like curl's -w phases."""
    u = urllib.parse.urlsplit(url)
    req = (f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\nUser-Agent: lat.py\r\n"
           f"Accept: */*\r\n\r\n").encode()
    t0 = time.perf_counter()
    s = socket.create_connection((u.hostname, u.port))
    t1 = time.perf_counter()
    s.sendall(req)
    data = s.recv(65536)
    t2 = time.perf_counter()
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{url}: {head[:40]!r}")
    n = None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    if n is None:  # chunked (VictoriaMetrics' larger answers): up to the last chunk
        while not rest.endswith(b"0\r\n\r\n"):
            rest += s.recv(65536)
    while n is not None and len(rest) < n:
        rest += s.recv(65536)
    t3 = time.perf_counter()
    s.close()
    return [(t1 - t0) * 1e3, (t2 - t0) * 1e3, (t3 - t0) * 1e3]


def curl(url):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                          "%{time_connect} %{time_starttransfer} %{time_total} %{http_code}", url],
                         capture_output=True, text=True, check=True).stdout.split()
    if out[3] != "200":
        raise RuntimeError(f"{url}: HTTP {out[3]}")
    return [float(x) * 1e3 for x in out[:3]]


def body(url):
    return subprocess.run(["curl", "-s", url], capture_output=True, check=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nightjar-data", required=True)
    ap.add_argument("--vm-data", required=True)
    ap.add_argument("--bin", action="append", required=True, help="label=path")
    ap.add_argument("--set", default="devops")
    ap.add_argument("--repeat", type=int, default=31)
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--json", default="")
    ap.add_argument("--all-series", action="store_true",
                    help="devops: also the 1,000-host query (a trial that gives up on the loop)")
    ap.add_argument("--gap-ms", type=float, default=5.0,
                    help="pause after each request, so one server's after-work (GC, merges) "
                         "is not billed to the next")
    ap.add_argument("--client", choices=["curl", "socket"], default="curl",
                    help="curl per request (as run.py), or a raw socket from this process")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="qlat-", dir=args.tmp)
    servers = []
    try:
        for b in args.bin:
            label, path = b.split("=", 1)
            servers.append(NJ(label, path, args.nightjar_data, tmp))
        servers.append(VM(args.vm_data, tmp))
        # Freshly started servers replay, flush and compact for a while
        # (Nightjar's first compaction is admitted 10-20 s after start): wait
        # 30 s, then until none of them uses more than 5 % of a core over 3 s
        # (300 s at most).
        t0 = time.time()
        time.sleep(30)
        while time.time() - t0 < 300:
            c0 = [cpu_s(s.proc.pid) for s in servers]
            time.sleep(3)
            busy = [cpu_s(s.proc.pid) - c for s, c in zip(servers, c0)]
            if max(busy) < 0.15:
                break
        print(f"# servers idle after {time.time() - t0:.0f} s", flush=True)
        rows = []
        for qname, q in queries(args.set, args.all_series):
            # Answers must be byte-identical across the Nightjar binaries
            # (Date and request ids are in headers only).
            bodies = {s.label: body(s.url(q)) for s in servers if s.name == "nightjar"}
            same = len(set(bodies.values())) == 1
            get = curl if args.client == "curl" else sock_get
            for s in servers:
                get(s.url(q))
                get(s.url(q))
            t = {s.label: [] for s in servers}
            load0 = open("/proc/loadavg").read().split()[0]
            cpu0 = {s.label: cpu_s(s.proc.pid) for s in servers}
            rng = random.Random(len(rows))
            for i in range(args.repeat):
                order = list(servers)
                rng.shuffle(order)
                for s in order:
                    t[s.label].append(get(s.url(q)))
                    time.sleep(args.gap_ms / 1e3)
            cpu = {s.label: (cpu_s(s.proc.pid) - cpu0[s.label]) * 1e3 / args.repeat for s in servers}
            load1 = open("/proc/loadavg").read().split()[0]
            med = {k: [statistics.median(x[j] for x in v) for j in range(3)] for k, v in t.items()}
            vm = med["victoria"][2]
            print(f"{args.set} | {qname} | {args.client} | answers identical: {same} | "
                  f"load {load0}->{load1}")
            for k, m in med.items():
                print(f"    {k:10s} connect {m[0]:6.3f}  first byte {m[1]:6.3f}  total {m[2]:6.3f} ms"
                      f"  ({m[2] / vm:.2f}x VM)  server CPU {cpu[k]:.3f} ms/request")
            sys.stdout.flush()
            rows.append({"set": args.set, "query": qname, "client": args.client, "identical": same,
                         "load": [load0, load1], "medians_ms": med, "cpu_ms": cpu, "times_ms": t})
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
