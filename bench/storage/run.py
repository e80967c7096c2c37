#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Storage-at-rest benchmark (issue #4), Nightjar side by side with VictoriaMetrics and
InfluxDB 1.6 in one run.  Manual; never run from ctest.  Use bench/storage/run.sh.

Per data file and server (fresh data directory each):
  1. ingest with lpblast (HTTP line protocol, 5,000-line batches, 2 connections); peak RSS
     while ingesting = VmHWM of the server process read right after the blast;
  2. kill -9, restart on the same directory: seconds until the HTTP endpoint answers
     (/ping, /health) and until the first write is accepted (a 1-line write answers 204);
  3. settle: Nightjar restarts with flush.max_age 1 s and compaction of cold partitions
     after 1 s (no start delay, no I/O cap) and is polled on /metrics until the head is
     empty, no compaction runs or waits and the part count is stable; VictoriaMetrics gets
     /internal/force_flush and InfluxDB runs with 1 s snapshot / 5 s full-compaction cold
     durations; both are then polled until their directory size is stable for 20 s;
  4. bytes on disk: Nightjar parts + MANIFESTs + series tables + catalog ("at rest",
     storage-notes 6: WAL and checkpoint excluded) and the whole directory; the peers'
     whole data directories (InfluxDB: data + wal + meta), divided by the points sent.
--series-rss runs devops with N hosts (10 field-series each) over a short span and reports
the RSS after ingest at each N and the slope between the smallest and largest N.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

DB = "bench"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(url, data=None, timeout=60):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def vm_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def du(path):
    n = 0
    for root, _dirs, files in os.walk(path):
        for fn in files:
            try:
                n += os.lstat(os.path.join(root, fn)).st_blocks * 512
            except OSError:
                pass
    return n


def file_bytes(path, pred):
    n = 0
    for root, _dirs, files in os.walk(path):
        for fn in files:
            fp = os.path.join(root, fn)
            if pred(fp):
                try:
                    n += os.path.getsize(fp)
                except OSError:
                    pass
    return n


class Server:
    name = "?"

    def __init__(self, args, tmp):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix=self.name + "-", dir=tmp)
        self.port = free_port()
        self.proc = None
        self.log = open(os.path.join(self.dir, "server.log"), "ab")

    def start(self, settle=False):
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd(settle), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir, start_new_session=True)
        deadline = t0 + 600
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.dir}")
            try:
                st, _ = http(self.ready_url(), timeout=2)
                if st in (200, 204):
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready")
            time.sleep(0.02)
        ready = time.monotonic() - t0
        self.prepare()
        while True:  # first accepted write
            st, _ = http(f"http://127.0.0.1:{self.port}{self.write_path()}",
                         data=b"restart_probe,host=x v=1 1704067200000000000\n")
            if st in (200, 204):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} never accepted a write ({st})")
            time.sleep(0.02)
        return ready, time.monotonic() - t0

    def prepare(self):
        pass

    def write_path(self):
        return f"/write?db={DB}"

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cleanup(self):
        self.kill()
        self.log.close()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def wait_stable(self, path, quiet_s=20, limit_s=900):
        """Polls the size of path until it has not changed for quiet_s."""
        last, since, t0 = -1, time.monotonic(), time.monotonic()
        while time.monotonic() - t0 < limit_s:
            n = du(path)
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return time.monotonic() - t0
            time.sleep(1)
        return time.monotonic() - t0


class Nightjar(Server):
    name = "nightjar"

    def cmd(self, settle):
        data = os.path.join(self.dir, "data")
        conf = os.path.join(self.dir, "settle.yaml" if settle else "nightjar.yaml")
        extra = ""
        if settle:
            extra = (", housekeeping_interval: 1s, flush: {max_age: 1s}, "
                     "compaction: {cold_after: 1s, start_delay: 0s, stagger: 0s, "
                     "max_bytes_per_sec: 0}")
        with open(conf, "w") as f:
            f.write(f'http: {{listen: "127.0.0.1:{self.port}"}}\n'
                    f"log: {{level: info}}\n"
                    f"storage: {{dir: {data}, retention: INF{extra}}}\n"
                    f"internal: {{enabled: false}}\n"
                    f"databases: [{DB}]\n")
        return [self.args.nightjar, "--config", conf]

    def ready_url(self):
        return f"http://127.0.0.1:{self.port}/ping"

    def data_dir(self):
        return os.path.join(self.dir, "data")

    def metrics(self):
        _, body = http(f"http://127.0.0.1:{self.port}/metrics")
        m = {}
        for line in body.decode().splitlines():
            mm = re.match(r"^(nightjar_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$", line)
            if mm:
                m[mm.group(1)] = m.get(mm.group(1), 0) + float(mm.group(3))
        return m

    def flushed_rows(self):
        """Rows written by head flushes since the settle restart (server.log)."""
        n = 0
        with open(os.path.join(self.dir, "server.log"), "rb") as f:
            f.seek(self.log_mark)
            for line in f:
                mm = re.search(rb'msg="head flushed".* rows=([0-9]+)', line)
                if mm:
                    n += int(mm.group(1))
        return n

    def start(self, settle=False):
        self.log.flush()
        self.log_mark = os.path.getsize(os.path.join(self.dir, "server.log"))
        return super().start(settle)

    def settle(self):
        t0 = time.monotonic()
        last, since = None, time.monotonic()
        while time.monotonic() - t0 < 1800:
            # the replayed head is not flushed yet (unless it was empty: all in parts)
            if self.flushed_rows() == 0 and time.monotonic() - t0 < 120:
                time.sleep(1)
                continue
            m = self.metrics()
            key = (m.get("nightjar_head_bytes", -1), m.get("nightjar_storage_parts", -1),
                   m.get("nightjar_compaction_running", -1),
                   m.get("nightjar_compaction_backlog_partitions", -1))
            # head_bytes keeps the head's fixed structures after a flush: stable, not 0
            busy = key[2] > 0 or key[3] > 0
            if key != last or busy:
                last, since = key, time.monotonic()
            elif time.monotonic() - since >= 10:
                return time.monotonic() - t0, m
            time.sleep(1)
        return time.monotonic() - t0, self.metrics()

    def at_rest_bytes(self):
        d = self.data_dir()
        return file_bytes(os.path.join(d, "db"), lambda p: "/.trash" not in p) + \
            file_bytes(d, lambda p: p.endswith("/catalog"))


class Influx(Server):
    name = "influxdb"

    def cmd(self, settle):
        conf = os.path.join(self.dir, "influxdb.conf")
        d = self.dir
        with open(conf, "w") as f:
            f.write(f'reporting-disabled = true\nbind-address = "127.0.0.1:{free_port()}"\n'
                    f'[meta]\n  dir = "{d}/meta"\n'
                    f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n  query-log-enabled = false\n'
                    f'  cache-snapshot-write-cold-duration = "1s"\n'
                    f'  compact-full-write-cold-duration = "5s"\n'
                    f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
                    f'[monitor]\n  store-enabled = false\n'
                    f'[continuous_queries]\n  enabled = false\n')
        return ["influxd", "-config", conf]

    def ready_url(self):
        return f"http://127.0.0.1:{self.port}/ping"

    def prepare(self):
        q = urllib.parse.urlencode({"q": f"CREATE DATABASE {DB} WITH DURATION INF"}).encode()
        http(f"http://127.0.0.1:{self.port}/query", data=q)

    def data_dir(self):
        return self.dir

    def settle(self):
        return self.wait_stable(self.dir, quiet_s=20), {}

    def at_rest_bytes(self):
        return sum(du(os.path.join(self.dir, d)) for d in ("data", "wal", "meta"))


class Victoria(Server):
    name = "victoria"

    def cmd(self, settle):
        return ["victoria-metrics", "-storageDataPath", os.path.join(self.dir, "data"),
                "-httpListenAddr", f"127.0.0.1:{self.port}", "-retentionPeriod=100y",
                "-loggerLevel=ERROR", "-search.maxUniqueTimeseries=10000000"]

    def ready_url(self):
        return f"http://127.0.0.1:{self.port}/health"

    def data_dir(self):
        return os.path.join(self.dir, "data")

    def settle(self):
        http(f"http://127.0.0.1:{self.port}/internal/force_flush")
        return self.wait_stable(self.data_dir(), quiet_s=20), {}

    def at_rest_bytes(self):
        return du(self.data_dir())


SERVERS = {"nightjar": Nightjar, "victoria": Victoria, "influxdb": Influx}


def blast(args, srv, path):
    out = subprocess.run([args.lpblast, "-f", path, "-p", str(srv.port), "-u", srv.write_path(),
                          "-b", "5000", "-c", "2", "-t", "900"], capture_output=True, text=True)
    m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    if not m:
        raise RuntimeError("lpblast: " + out.stdout + out.stderr)
    r = dict(kv.split("=") for kv in m.group(1).split())
    if int(r["non2xx"]) or int(r["errors"]):
        print(f"# WARNING {srv.name}: {r['non2xx']} non-2xx, {r['errors']} errors", file=sys.stderr)
    return r


def run_storage(args, cls, path, label):
    srv = cls(args, args.tmp)
    row = {"set": label, "server": srv.name}
    try:
        srv.start()
        r = blast(args, srv, path)
        row["points"] = int(r["points"])
        row["points_per_s"] = float(r["points_per_s"])
        row["peak_rss_mib"] = vm_kib(srv.proc.pid, "VmHWM") / 1024
        srv.kill(signal.SIGKILL)
        row["wal_bytes_at_kill"] = (du(os.path.join(srv.data_dir(), "wal")) if cls is Nightjar else
                                    du(os.path.join(srv.dir, "wal")) if cls is Influx else 0)
        ready, first_write = srv.start(settle=True)
        row["restart_ready_s"] = ready
        row["restart_first_write_s"] = first_write
        row["settle_s"], m = srv.settle()
        if m:
            row["parts"] = m.get("nightjar_storage_parts")
            row["compactions"] = m.get("nightjar_compactions_finished_total")
        row["bytes_at_rest"] = srv.at_rest_bytes()
        row["bytes_dir"] = du(srv.data_dir()) if cls is not Influx else row["bytes_at_rest"]
        row["bpp_at_rest"] = row["bytes_at_rest"] / row["points"]
        row["bpp_dir"] = row["bytes_dir"] / row["points"]
        if cls is Nightjar and args.partstat:
            srv.kill(signal.SIGTERM)
            ps = subprocess.run([sys.executable, args.partstat, srv.data_dir(), "--points",
                                 str(row["points"]), "--by-field"], capture_output=True, text=True)
            row["partstat"] = ps.stdout
    finally:
        srv.cleanup()
    print(json.dumps({k: v for k, v in row.items() if k != "partstat"}), flush=True)
    if row.get("partstat"):
        print(row["partstat"], flush=True)
    return row


def run_rss(args, cls, path, label, nfs):
    srv = cls(args, args.tmp)
    row = {"set": label, "server": srv.name, "field_series": nfs}
    try:
        srv.start()
        base = vm_kib(srv.proc.pid, "VmRSS")
        r = blast(args, srv, path)
        time.sleep(5)
        row["points"] = int(r["points"])
        row["rss_base_mib"] = base / 1024
        row["rss_after_mib"] = vm_kib(srv.proc.pid, "VmRSS") / 1024
        row["peak_rss_mib"] = vm_kib(srv.proc.pid, "VmHWM") / 1024
    finally:
        srv.cleanup()
    print(json.dumps(row), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", action="append", default=[], help="LABEL=PATH")
    ap.add_argument("--servers", default="nightjar,victoria,influxdb")
    ap.add_argument("--series-rss", action="append", default=[],
                    help="N=PATH: devops file with N field-series (RSS slope)")
    ap.add_argument("--nightjar", required=True)
    ap.add_argument("--lpblast", required=True)
    ap.add_argument("--partstat", default=os.path.join(os.path.dirname(__file__), "partstat.py"))
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    names = args.servers.split(",")
    for spec in args.file:
        label, path = spec.split("=", 1)
        for n in names:
            print(f"# {label} {n} loadavg {open('/proc/loadavg').read().split()[0]}", flush=True)
            rows.append(run_storage(args, SERVERS[n], path, label))
    rss = []
    for spec in args.series_rss:
        nfs, path = spec.split("=", 1)
        for n in names:
            rss.append(run_rss(args, SERVERS[n], path, "devops", int(nfs)))
    print("\n| set | server | points/s | peak RSS MiB | restart: ready s | first write s | "
          "B/point at rest | B/point dir | settle s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['server']} | {r['points_per_s'] / 1e6:.2f} M | "
              f"{r['peak_rss_mib']:.0f} | {r['restart_ready_s']:.2f} | "
              f"{r['restart_first_write_s']:.2f} | {r['bpp_at_rest']:.3f} | {r['bpp_dir']:.3f} | "
              f"{r['settle_s']:.0f} |")
    if rss:
        print("\n| server | field-series | RSS after ingest MiB | peak RSS MiB |")
        print("|---|---|---|---|")
        for r in rss:
            print(f"| {r['server']} | {r['field_series']} | {r['rss_after_mib']:.0f} | "
                  f"{r['peak_rss_mib']:.0f} |")
        for n in names:
            pts = sorted((r["field_series"], r["rss_after_mib"]) for r in rss if r["server"] == n)
            if len(pts) >= 2:
                (n0, r0), (n1, r1) = pts[0], pts[-1]
                print(f"# {n}: RSS slope {(r1 - r0) * 1048576 / (n1 - n0):.0f} B per field-series "
                      f"({n0} -> {n1})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"storage": rows, "rss": rss}, f, indent=1)


if __name__ == "__main__":
    main()
