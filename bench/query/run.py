#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Grafana panel queries, Nightjar side by side with InfluxDB 1.6 and
VictoriaMetrics (issue #5 benchmark; figures in docs/BENCHMARKS.md).

    bench/query/run.py --dir /tmp/nj-qbench --nightjar build/nightjar --lpblast lpblast \
        [--sets d100,devops,ops,ops100k] [--repeat 21] [--nightjar-b other/nightjar]

For each data set, the three servers are started on fresh temp dirs on
127.0.0.1 (the classes of bench/ingest/run.py), the set is loaded into each
with lpblast (5,000-line batches, 2 connections), and the servers are left to
settle the way they would an hour later: Nightjar flushes its head into part
files (storage.flush.max_age 15 s; the run waits for the flush), InfluxDB
snapshots its cache into TSM files (cache-snapshot-write-cold-duration 10 s),
VictoriaMetrics gets /internal/force_flush.  Then every query of the set is
timed with `curl -s -o /dev/null -w '%{time_total}'`, servers interleaved in
each round (so all see the same load), after two warm-up calls; the medians
of --repeat rounds are printed with the ratio to VictoriaMetrics.
VictoriaMetrics runs the PromQL equivalents with nocache=1 (its rollup cache
would otherwise answer).  A shape check compares series and row counts of
Nightjar's and InfluxDB's answers (and VictoriaMetrics' series count).

Data sets (shared/bench/gen_lp.py, generated into --dir when missing):
  d100     --workload devops --seed 1 --series 100 --span 24h
  devops   --workload devops --seed 1 --series 1000 --interval 10s --span 3h
  ops      --workload ops --seed 1 --series 3334 --interval 10s --span 3h
  ops100k  --workload ops --seed 1 --series 100000 --interval 60s --span 30m

Manual benchmark: never run from ctest.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ingest_run", os.path.join(HERE, "..", "ingest", "run.py"))
ing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ing)

END = 1704078000  # 2024-01-01T03:00:00Z, gen_lp.py's default end
H3 = (END - 3 * 3600, END)
H24 = (END - 24 * 3600, END)
M30 = (END - 1800, END)

SETS = {
    "d100": ["--workload", "devops", "--seed", "1", "--series", "100", "--span", "24h"],
    "devops": ["--workload", "devops", "--seed", "1", "--series", "1000", "--interval", "10s",
               "--span", "3h"],
    "ops": ["--workload", "ops", "--seed", "1", "--series", "3334", "--interval", "10s", "--span", "3h"],
    "ops100k": ["--workload", "ops", "--seed", "1", "--series", "100000", "--interval", "60s",
                "--span", "30m"],
}


def iql_range(r):
    return "time >= %dms AND time <= %dms" % (r[0] * 1000, r[1] * 1000)


def one_series(r, step):
    return {
        "iql": 'SELECT mean("usage_user") FROM "cpu" WHERE "hostname" = \'host_7\' AND %s '
               'GROUP BY time(%s) fill(null)' % (iql_range(r), step),
        "prom": ('/api/v1/query_range', {"query": 'avg_over_time(cpu_usage_user{hostname="host_7"}[1m])',
                                         "start": r[0], "end": r[1], "step": 60}),
    }


QUERIES = {
    "d100": [
        ("one series, 1m mean, 3 h", one_series(H3, "1m")),
        ("one series, 1m mean, 24 h", one_series(H24, "1m")),
    ],
    "devops": [
        ("one series, 1m mean, 3 h", one_series(H3, "1m")),
        ("1,000 hosts, 5m max by hostname, 3 h", {
            "iql": 'SELECT max("usage_user") FROM "cpu" WHERE %s GROUP BY time(5m), "hostname" '
                   'fill(null)' % iql_range(H3),
            "prom": ('/api/v1/query_range', {"query": "max_over_time(cpu_usage_user[5m])",
                                             "start": H3[0], "end": H3[1], "step": 300}),
        }),
    ],
    "ops": [
        ("2,126 gateway shards, 5m max by shard, 3 h", {
            "iql": 'SELECT max("msgs_per_sec") FROM "gateway" WHERE %s GROUP BY time(5m), "shard" '
                   'fill(null)' % iql_range(H3),
            "prom": ('/api/v1/query_range', {"query": "max_over_time(gateway_msgs_per_sec[5m])",
                                             "start": H3[0], "end": H3[1], "step": 300}),
        }),
    ],
    "ops100k": [
        ('SHOW TAG VALUES WITH KEY = "shard", 100 k series', {
            "iql": 'SHOW TAG VALUES WITH KEY = "shard"',
            "prom": ('/api/v1/label/shard/values', {"start": M30[0], "end": M30[1]}),
        }),
    ],
}


class Nightjar(ing.Nightjar):
    def cmd(self):
        data = os.path.join(self.dir, "data")
        conf = os.path.join(self.dir, "nightjar.yaml")
        with open(conf, "w") as f:
            f.write(f'http: {{listen: "127.0.0.1:{self.port}"}}\n'
                    f"log: {{level: {getattr(self, 'log_level', 'debug')}}}\n"
                    f"storage: {{dir: {data}, retention: INF, housekeeping_interval: 5s,"
                    f" flush: {{max_age: 15s}}}}\n"
                    f"internal: {{enabled: false}}\n"
                    f"databases: [{ing.DB}]\n")
        return [self.args.nightjar, "--config", conf]

    def settle(self, since):
        # storage.flush.max_age 15 s: every head row is in a part once four
        # housekeeping passes (5 s apart) have run after the load.
        path = os.path.join(self.dir, "server.log")
        t0 = time.time()
        while time.time() - t0 < 900:
            self.log.flush()
            with open(path, errors="replace") as f:
                f.seek(since)
                if f.read().count("housekeeping pass") >= 4:
                    return time.time() - t0
            time.sleep(0.5)
        raise RuntimeError("nightjar: no housekeeping passes within 900 s")


def _wait_compaction(self, since):
    # A restarted daemon admits the compaction of its parts after a
    # delay: wait for it, so both binaries read the same compacted parts
    # and no compaction runs while queries are timed.
    path = os.path.join(self.dir, "server.log")
    time.sleep(2)
    t0 = time.time()
    while time.time() - t0 < 300:
        self.log.flush()
        with open(path, errors="replace") as f:
            f.seek(since)
            text = f.read()
        if "compaction backlog" not in text or text.count("compaction finished") >= text.count(
                "compaction backlog"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{self.name}: compaction did not finish within 300 s")


Nightjar.wait_compaction = _wait_compaction


class NightjarB(Nightjar):
    """--nightjar-b: a second Nightjar binary on a copy of the first one's
    settled data dir (same parts, same blocks), for old/new pairs."""
    name = "nightjar-b"

    def cmd(self):
        c = super().cmd()
        c[0] = self.args.nightjar_b
        return c


class Influx(ing.Influx):
    def cmd(self):
        c = super().cmd()
        conf = c[-1]
        with open(conf) as f:
            text = f.read()
        text = text.replace("[data]\n", '[data]\n  cache-snapshot-write-cold-duration = "10s"\n'
                                        "  max-series-per-database = 0\n  max-values-per-tag = 0\n")
        with open(conf, "w") as f:
            f.write(text)
        return c

    def settle(self, since):
        # Until the cache is snapshotted: no .wal data left but the open segment.
        t0 = time.time()
        while time.time() - t0 < 900:
            tsm = sum(1 for _root, _d, files in os.walk(os.path.join(self.dir, "data"))
                      for f in files if f.endswith(".tsm"))
            if tsm and time.time() - t0 > 20:
                return time.time() - t0
            time.sleep(1)
        return time.time() - t0


class Victoria(ing.Victoria):
    def settle(self, since):
        ing.http_get(f"http://127.0.0.1:{self.port}/internal/force_flush")
        time.sleep(3)
        return 3.0


def curl_time(url, data=None):
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{http_code}", url]
    if data is not None:
        cmd[1:1] = ["--data-binary", data]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    if out[1] != "200":
        raise RuntimeError(f"{url}: HTTP {out[1]}")
    return float(out[0])


def urls(srv, q):
    if srv.name == "victoria":
        path, params = q["prom"]
        p = dict(params)
        p["nocache"] = "1"
        return f"http://127.0.0.1:{srv.port}{path}?" + urllib.parse.urlencode(p)
    return f"http://127.0.0.1:{srv.port}/query?" + urllib.parse.urlencode(
        {"db": ing.DB, "epoch": "ms", "q": q["iql"]})


def body(srv, q):
    return ing.http_get(urls(srv, q), timeout=600)[1]


def shape(srv, q):
    _, body = ing.http_get(urls(srv, q), timeout=600)
    d = json.loads(body)
    if srv.name == "victoria":
        r = d["data"]
        if isinstance(r, list):
            return {"values": len(r)}
        return {"series": len(r["result"]), "rows": sum(len(s.get("values", [])) for s in r["result"])}
    res = d["results"][0]
    if "error" in res:
        return {"error": res["error"]}
    ser = res.get("series", [])
    return {"series": len(ser), "rows": sum(len(s["values"]) for s in ser)}


def blast(args, srv, path):
    cmd = [args.lpblast, "-f", path, "-p", str(srv.port), "-u", srv.write_path(), "-b", "5000",
           "-c", "2", "-t", "1800"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    # A loaded peer may time out a few batches (InfluxDB answers 500
    # "timeout"): report it in the RESULT line (non2xx=) and go on.
    res = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if not res:
        raise RuntimeError("lpblast: " + out.stdout[-400:] + out.stderr[-400:])
    return res[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/nj-qbench")
    ap.add_argument("--nightjar", required=True)
    ap.add_argument("--nightjar-b", default="",
                    help="second Nightjar binary, run on a copy of the first one's data")
    ap.add_argument("--lpblast", default="lpblast")
    ap.add_argument("--sets", default="d100,devops,ops,ops100k")
    ap.add_argument("--servers", default="nightjar,influxdb,victoria")
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--json", default="")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    gen = "/work/shared/bench/gen_lp.py"
    classes = {"nightjar": Nightjar, "influxdb": Influx, "victoria": Victoria}
    rows = []
    for name in args.sets.split(","):
        path = os.path.join(args.dir, name + ".lp")
        if not os.path.exists(path):
            with open(path + ".tmp", "wb") as f:
                subprocess.run([sys.executable, gen] + SETS[name], stdout=f, check=True)
            os.rename(path + ".tmp", path)
        tmp = os.path.join(args.dir, "run-" + name)
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        args.measurements = []
        servers = [classes[s](args, tmp) for s in args.servers.split(",")]
        try:
            for srv in servers:
                srv.start()
                t = time.time()
                line = blast(args, srv, path)
                print(f"# {name}: loaded into {srv.name} in {time.time() - t:.1f}s ({line})", flush=True)
            for srv in servers:
                since = os.path.getsize(os.path.join(srv.dir, "server.log"))
                print(f"# {name}: {srv.name} settled in {srv.settle(since):.1f}s", flush=True)
            nj = next((srv for srv in servers if srv.name == "nightjar"), None)
            # Load and settle log at debug (settle() counts housekeeping
            # passes); the timed queries run at the default level, info, as
            # in production (debug writes two lines per request).
            if nj:
                nj.log_level = "info"
            if nj and not args.nightjar_b:
                nj.kill(signal.SIGTERM)
                since = os.path.getsize(os.path.join(nj.dir, "server.log"))
                nj.start()
                nj.wait_compaction(since)
            if args.nightjar_b and nj:
                # Same stored data for both binaries: stop A cleanly, copy
                # its data dir, restart A, start B on the copy.
                nj.kill(signal.SIGTERM)
                b = NightjarB(args, tmp)
                b.log_level = "info"
                shutil.copytree(os.path.join(nj.dir, "data"), os.path.join(b.dir, "data"))
                for srv in (nj, b):
                    since = os.path.getsize(os.path.join(srv.dir, "server.log"))
                    srv.start()
                    srv.wait_compaction(since)
                servers.insert(servers.index(nj) + 1, b)
            for label, q in QUERIES[name]:
                shapes = {srv.name: shape(srv, q) for srv in servers}
                if args.nightjar_b and nj:
                    same = body(nj, q) == body(servers[servers.index(nj) + 1], q)
                    print(f"# {name} / {label}: nightjar and nightjar-b answers "
                          f"{'byte-identical' if same else 'DIFFER'}", flush=True)
                print(f"# {name} / {label}: shapes {shapes}", flush=True)
                times = {srv.name: [] for srv in servers}
                for srv in servers:  # warm-up
                    curl_time(urls(srv, q))
                    curl_time(urls(srv, q))
                load0 = open("/proc/loadavg").read().split()[0]
                for _ in range(args.repeat):
                    for srv in servers:
                        times[srv.name].append(curl_time(urls(srv, q)))
                load1 = open("/proc/loadavg").read().split()[0]
                med = {k: statistics.median(v) for k, v in times.items()}
                vm = med.get("victoria")
                row = {"set": name, "query": label, "medians_ms": {k: v * 1000 for k, v in med.items()},
                       "loadavg": [load0, load1], "shapes": shapes, "times": times}
                rows.append(row)
                ratio = "  ".join(f"{k} {v * 1000:.1f} ms" + (f" ({v / vm:.2f}x VM)" if vm else "")
                                  for k, v in med.items())
                print(f"{name} | {label} | {ratio} | load {load0}->{load1}", flush=True)
        finally:
            for srv in servers:
                srv.cleanup()
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
