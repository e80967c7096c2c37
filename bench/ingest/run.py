#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end HTTP line-protocol ingest, Nightjar side by side with its peers.

    bench/ingest/run.py --file devops.lp --file ops.lp --conns 2,8 --repeat 3 \
        --nightjar build-bench/nightjar --lpblast /tmp/lpblast

For every repeat, file and connection count, each server in turn (interleaved,
so all of them see the same machine load) is started by hand on a fresh temp
data dir on 127.0.0.1, the file is blasted at it with shared/bench lpblast
(5,000-line batches, keep-alive), its peak RSS is read from /proc/PID/status
(VmHWM, taken before any counting query, plus a 10 Hz VmRSS sampler), the
points it really stored are counted, and it is killed by pid and its dir
deleted.  Prints one row per run and a median table; --json keeps the raw rows.

Servers:
  nightjar  acks after WAL fdatasync (storage.wal.fsync: always, group commit);
            stored points: `nightjar dump` after SIGTERM, fields summed.
  influxdb  influxd 1.6 (Debian), fsyncs its WAL before acking;
            stored points: SELECT count(*) summed over fields and measurements.
  victoria  victoria-metrics 1.79 (Debian), acks from memory (no fsync);
            stored points: /internal/force_flush, then
            sum(count_over_time({__name__!=""}[span])) at the end of the data.

Manual benchmark: never run from ctest.  Needs victoria-metrics and influxd
(scripts/install-bench-deps.sh) and a built lpblast
(cc -O2 -o lpblast shared/bench/lpblast.c -lpthread).
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
import urllib.parse
import urllib.request

DB = "bench"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_get(url, timeout=600, data=None):
    req = urllib.request.Request(url, data=data)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wait_http(url, proc, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            st, _ = http_get(url, timeout=2)
            if st < 300:
                return time.time() - t0
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def proc_status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid, period=0.1):
        super().__init__(daemon=True)
        self.pid, self.period, self.peak, self.stop = pid, period, 0, False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, proc_status(self.pid, "VmRSS"))
            time.sleep(self.period)


def du_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


class Server:
    name = "?"

    def __init__(self, args, tmp):
        self.args, self.dir, self.port = args, tempfile.mkdtemp(prefix=self.name + "-", dir=tmp), free_port()
        self.proc = None
        self.log = open(os.path.join(self.dir, "server.log"), "wb")

    def start(self):
        self.proc = subprocess.Popen(self.cmd(), stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir, start_new_session=True)
        self.ready_s = wait_http(self.ready_url(), self.proc)
        self.prepare()

    def prepare(self):
        pass

    def write_path(self):
        return f"/write?db={DB}"

    def kill(self, sig=signal.SIGKILL, wait=60):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cleanup(self):
        self.kill()
        self.log.close()
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Nightjar(Server):
    name = "nightjar"

    def bin(self):
        return self.args.nightjar

    def cmd(self):
        data = os.path.join(self.dir, "data")
        conf = os.path.join(self.dir, "nightjar.yaml")
        with open(conf, "w") as f:
            f.write(f'http: {{listen: "127.0.0.1:{self.port}"}}\n'
                    f"log: {{level: info}}\n"
                    f"storage: {{dir: {data}, retention: INF}}\n"
                    f"internal: {{enabled: false}}\n"
                    f"databases: [{DB}]\n")
        return [self.bin(), "--config", conf]

    def ready_url(self):
        return f"http://127.0.0.1:{self.port}/ping"

    def data_dir(self):
        return os.path.join(self.dir, "data")

    def count_points(self):
        # Clean stop (SIGTERM) so the lock is released, then the offline dump.
        self.kill(signal.SIGTERM, wait=120)
        p = subprocess.Popen([self.bin(), "dump", "--data", self.data_dir(), "--db", DB],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        n = 0
        for line in p.stdout:
            if not line or line[0] == 0x23 or line == b"\n" or line.startswith(b"CREATE "):  # '#'
                continue
            # measurement,tags fields ts -- the bench data has no spaces or commas in values
            parts = line.split(b" ")
            if len(parts) >= 3:
                n += parts[1].count(b",") + 1
        p.wait()
        return n


class NightjarOld(Nightjar):
    """A second Nightjar binary (--nightjar-old), run in turn with the others for old/new pairs."""
    name = "nightjar-old"

    def bin(self):
        return self.args.nightjar_old


class Influx(Server):
    name = "influxdb"

    def cmd(self):
        conf = os.path.join(self.dir, "influxdb.conf")
        d = self.dir
        with open(conf, "w") as f:
            f.write(f'reporting-disabled = true\nbind-address = "127.0.0.1:{free_port()}"\n'
                    f'[meta]\n  dir = "{d}/meta"\n'
                    f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n  query-log-enabled = false\n'
                    f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
                    f'[monitor]\n  store-enabled = false\n'
                    f'[continuous_queries]\n  enabled = false\n')
        return ["influxd", "-config", conf]

    def ready_url(self):
        return f"http://127.0.0.1:{self.port}/ping"

    def data_dir(self):
        return self.dir

    def prepare(self):
        q = urllib.parse.urlencode({"q": f"CREATE DATABASE {DB}"}).encode()
        http_get(f"http://127.0.0.1:{self.port}/query", data=q)

    def count_points(self):
        n = 0
        for m in self.args.measurements:
            q = urllib.parse.urlencode({"db": DB, "q": f'SELECT count(*) FROM "{m}"'})
            _, body = http_get(f"http://127.0.0.1:{self.port}/query?{q}", timeout=900)
            for res in json.loads(body).get("results", []):
                for s in res.get("series", []):
                    for row in s.get("values", []):
                        n += sum(v for v in row[1:] if isinstance(v, int))
        return n


class Victoria(Server):
    name = "victoria"

    def cmd(self):
        return ["victoria-metrics", "-storageDataPath", os.path.join(self.dir, "data"),
                "-httpListenAddr", f"127.0.0.1:{self.port}", "-retentionPeriod=100y",
                "-loggerLevel=ERROR", "-search.maxUniqueTimeseries=10000000"]

    def ready_url(self):
        return f"http://127.0.0.1:{self.port}/health"

    def data_dir(self):
        return os.path.join(self.dir, "data")

    def count_points(self):
        http_get(f"http://127.0.0.1:{self.port}/internal/force_flush")
        time.sleep(2)
        q = urllib.parse.urlencode({"query": f'sum(count_over_time({{__name__!=""}}[{self.args.span_s + 60}s]))',
                                    "time": str(self.count_end_s), "nocache": "1"})
        _, body = http_get(f"http://127.0.0.1:{self.port}/api/v1/query?{q}", timeout=900)
        r = json.loads(body)["data"]["result"]
        return int(float(r[0]["value"][1])) if r else 0


def first_ts_s(path):
    """Seconds of the first line's timestamp: gen_lp.py's data covers [end - span, end)."""
    with open(path, "rb") as f:
        return int(f.readline().split()[-1]) // 10**9


def replay(args, srv, path, row):
    """kill -9 right after the blast, restart on the same dir, time /ping and the first 204."""
    wal = 0
    for root, _, files in os.walk(srv.data_dir()):
        if "wal" in root.split(os.sep)[-1] or any(f.endswith(".wal") for f in files):
            wal += sum(os.path.getsize(os.path.join(root, f)) for f in files if f.endswith(".wal"))
    row["wal_bytes"] = wal
    os.kill(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait()
    with open(path, "rb") as f:
        probe = f.readline()  # an existing point: rewriting it changes no count
    t0 = time.time()
    srv.proc = subprocess.Popen(srv.cmd(), stdout=srv.log, stderr=subprocess.STDOUT,
                                cwd=srv.dir, start_new_session=True)
    row["restart_ping_s"] = wait_http(srv.ready_url(), srv.proc, timeout=600)
    while True:
        try:
            st, _ = http_get(f"http://127.0.0.1:{srv.port}{srv.write_path()}", timeout=600, data=probe)
            if st == 204:
                break
        except Exception:
            time.sleep(0.02)
        if time.time() - t0 > 600:
            raise RuntimeError("no 204 within 600 s of the restart")
    row["restart_write_s"] = time.time() - t0
    row["replay_mb_s"] = wal / 1e6 / row["restart_write_s"] if row["restart_write_s"] > 0 else 0
    # The daemon's own account of the replay (storage log line "wal replayed").
    srv.log.flush()
    with open(os.path.join(srv.dir, "server.log"), errors="replace") as f:
        hits = [ln for ln in f if "wal replayed" in ln]
    if hits:
        kv = dict(re.findall(r"(\w+)=([0-9.]+)", hits[-1]))
        row["replay_log_bytes"] = float(kv.get("bytes", 0))
        row["replay_log_ms"] = float(kv.get("duration_ms", 0))
        row["replay_log_points"] = float(kv.get("points", 0))


SERVERS = {"nightjar": Nightjar, "nightjar-old": NightjarOld, "victoria": Victoria,
           "influxdb": Influx}


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run_one(args, cls, path, conns):
    srv = cls(args, args.tmp)
    row = {"server": cls.name, "file": os.path.basename(path), "conns": conns, "load_before": loadavg()}
    try:
        srv.start()
        sampler = RssSampler(srv.proc.pid)
        sampler.start()
        cmd = [args.lpblast, "-f", path, "-p", str(srv.port), "-u", srv.write_path(),
               "-b", str(args.batch), "-c", str(conns), "-t", str(args.time_limit)]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sampler.stop = True
        sampler.join()
        m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
        if not m:
            raise RuntimeError("lpblast: " + out.stdout[-400:] + out.stderr[-400:])
        for kv in m.group(1).split():
            k, v = kv.split("=")
            row[k] = float(v)
        fe = re.search(r"^first error\s+(.*)$", out.stdout, re.M)
        if fe:
            row["first_error"] = fe.group(1)[:200]
        row["hwm_mib"] = proc_status(srv.proc.pid, "VmHWM") / 2**20
        row["rss_sampled_mib"] = sampler.peak / 2**20
        row["load_after"] = loadavg()
        if args.replay and isinstance(srv, Nightjar):
            replay(args, srv, path, row)
        if args.count:
            t0 = time.time()
            try:
                srv.count_end_s = args.end_s if args.end_s is not None else first_ts_s(path) + args.span_s
                row["stored_points"] = srv.count_points()
            except Exception as e:  # noqa: BLE001 - report, don't abort the run
                row["stored_points"] = None
                row["count_error"] = str(e)[:200]
            row["count_s"] = time.time() - t0
            row["disk_bytes"] = du_bytes(srv.data_dir())
    except Exception as e:  # noqa: BLE001
        row["error"] = str(e)[:300]
    finally:
        srv.cleanup()
    return row


def fmt_row(r):
    if "error" in r:
        return f"{r['server']:9} {r['file']:14} c={r['conns']} ERROR {r['error']}"
    sp = r.get("stored_points")
    return (f"{r['server']:9} {r['file']:14} c={r['conns']} {r['points_per_s'] / 1e6:6.3f} Mpt/s "
            f"{r['seconds']:7.2f}s non2xx={int(r['non2xx'])} p99={r['p99_ms']:.0f}ms "
            f"HWM={r['hwm_mib']:.0f}MiB stored={sp} sent={int(r['points'])} "
            f"load={r['load_before']:.1f}->{r['load_after']:.1f}"
            + (f" WAL={r['wal_bytes'] / 1e6:.0f}MB restart: ping {r['restart_ping_s']:.2f}s first-204 "
               f"{r['restart_write_s']:.2f}s = {r['replay_mb_s']:.0f} MB/s"
               f" (log: {r.get('replay_log_bytes', 0) / 1e6:.1f} MB, {r.get('replay_log_points', 0):.0f} pts"
               f" in {r.get('replay_log_ms', 0):.0f} ms)" if "restart_write_s" in r else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", action="append", required=True)
    ap.add_argument("--servers", default="nightjar,victoria,influxdb")
    ap.add_argument("--conns", default="2,8")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--time-limit", type=float, default=300)
    ap.add_argument("--nightjar", default="build-bench/nightjar")
    ap.add_argument("--nightjar-old", default=None,
                    help="binary for the nightjar-old server (old/new pairs in the same run)")
    ap.add_argument("--lpblast", default="lpblast")
    ap.add_argument("--tmp", default=None, help="parent of the servers' temp dirs (default $TMPDIR)")
    ap.add_argument("--no-count", dest="count", action="store_false")
    ap.add_argument("--replay", action="store_true",
                    help="nightjar only: kill -9 after the blast, time the restart (WAL replay)")
    ap.add_argument("--keep", action="store_true", help="keep data dirs (debugging)")
    ap.add_argument("--span-s", type=int, default=3 * 3600, help="data span, for the VM count window")
    ap.add_argument("--end-s", type=int, default=None,
                    help="end of the data (gen_lp.py --end); default: each file's first timestamp + --span-s")
    ap.add_argument("--measurements", default="cpu,gateway,message_delivery,voice,scylla")
    ap.add_argument("--json")
    args = ap.parse_args()
    args.measurements = args.measurements.split(",")
    args.nightjar = os.path.abspath(args.nightjar)
    if args.nightjar_old:
        args.nightjar_old = os.path.abspath(args.nightjar_old)
    servers = [SERVERS[s] for s in args.servers.split(",")]
    conns = [int(c) for c in args.conns.split(",")]
    rows = []
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} nproc={os.cpu_count()} "
          f"loadavg={open('/proc/loadavg').read().strip()}", flush=True)
    for rep in range(args.repeat):
        for path in args.file:
            for c in conns:
                for cls in servers:
                    r = run_one(args, cls, path, c)
                    r["rep"] = rep
                    rows.append(r)
                    print(fmt_row(r), flush=True)
                    if args.json:
                        with open(args.json, "w") as f:
                            json.dump(rows, f, indent=1)
    print("\n# medians over repeats (points/s = points sent / wall seconds; all runs had non2xx as shown)")
    print("| data | conns | server | points/s (median) | runs | vs VictoriaMetrics | paired ratio (median; per repeat) | peak RSS MiB (median) | stored/sent | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in args.file:
        fn = os.path.basename(path)
        for c in conns:
            med = {}
            for cls in servers:
                rs = [r for r in rows if r["server"] == cls.name and r["file"] == fn and r["conns"] == c and "error" not in r]
                if rs:
                    med[cls.name] = (statistics.median(r["points_per_s"] for r in rs),
                                     statistics.median(r["hwm_mib"] for r in rs), rs)
            for name, (pps, hwm, rs) in med.items():
                vm = med.get("victoria")
                ratio = f"{pps / vm[0]:.2f}x" if vm else "-"
                st = [r.get("stored_points") for r in rs]
                stored = ", ".join(f"{s / r['points']:.3f}" if s is not None else "?" for s, r in zip(st, rs))
                nx = ",".join(str(int(r["non2xx"])) for r in rs)
                # Paired: this server's points/s over VictoriaMetrics' in the same repeat.
                pr = []
                for r in rs:
                    v = [x for x in rows if x["server"] == "victoria" and x["file"] == fn
                         and x["conns"] == c and x["rep"] == r["rep"] and "error" not in x]
                    if v and v[0]["points_per_s"]:
                        pr.append(r["points_per_s"] / v[0]["points_per_s"])
                paired = (f"{statistics.median(pr):.2f}x (" + ", ".join(f"{x:.2f}" for x in pr) + ")"
                          if pr else "-")
                print(f"| {fn} | {c} | {name} | {pps / 1e6:.3f} M | {len(rs)} | {ratio} | {paired} | {hwm:.0f} | {stored} | {nx} |")


if __name__ == "__main__":
    main()
