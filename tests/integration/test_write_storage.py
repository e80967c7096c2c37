#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's storage wiring (issue #3): writes survive kill -9 (checked
offline with `nightjar dump`), a torn WAL tail is cut and logged at start,
mid-WAL corruption stops the start until --repair cuts it (logged), dump
never modifies a data dir and refuses one a daemon holds, and
--debug.fault=fsync:N makes that write fail with a 5xx and leaves it absent
after a restart."""

import glob
import hashlib
import os
import subprocess

from nightjar_harness import MULT, Daemon, check, check_eq, require_bin, run

CONF = {"storage.retention": "INF", "databases": ["db"]}


def batch(b, n=50):
    return "\n".join("s,b=%d i=%di %d" % (b, i, b * 1000 + i + 1) for i in range(n))


def dump(d, expect_rc=0):
    p = subprocess.run([require_bin(), "dump", "--data", d.data_dir, "--db", "db"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60 * MULT)
    check_eq(p.returncode, expect_rc, "dump exit status (stderr %r)" % p.stderr[-1000:])
    lines = [l for l in p.stdout.decode().split("\n") if l.startswith("s,")]
    batches = {}
    for l in lines:
        b = int(l.split(" ")[0].split("=")[1])
        batches[b] = batches.get(b, 0) + 1
    return batches, p.stderr.decode()


def wal_files(d):
    return sorted(glob.glob(os.path.join(d.data_dir, "wal", "*.wal")))


def digest(d):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(d.data_dir)):
        for f in sorted(files):
            if f == "nightjar.lock":  # a daemon's start writes its pid there
                continue
            p = os.path.join(root, f)
            h.update(p.encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def write_batches(d, bs):
    for b in bs:
        r = d.http("POST", "/write", batch(b).encode(), params={"db": "db"})
        check_eq(r.status, 204, "batch %d (%r)" % (b, r.body))


def test_kill9_keeps_acknowledged_writes_and_dump_is_offline():
    with Daemon(CONF, check_exit=False) as d:
        write_batches(d, range(5))
        # A running daemon holds the dir: dump refuses and names it.
        batches, err = dump(d, expect_rc=1)
        check("in use by a running nightjar (pid %d)" % d.pid in err, "dump refusal: %r" % err)
        d.kill9()
        before = digest(d)
        batches, _ = dump(d)
        check_eq(batches, {b: 50 for b in range(5)}, "batches after kill -9")
        check_eq(digest(d), before, "dump left the data dir byte for byte as it was")
        # --start/--end, inclusive, as integer ns or RFC3339.
        for rng in (["--start", "2001", "--end", "2050"],
                    ["--start", "1970-01-01T00:00:00.000002001Z",
                     "--end", "1970-01-01T01:00:00.000002050+01:00"]):
            p = subprocess.run([require_bin(), "dump", "--data", d.data_dir] + rng,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60 * MULT)
            check_eq(p.returncode, 0, "dump %r (%r)" % (rng, p.stderr[-500:]))
            out = p.stdout.decode()
            got = [l for l in out.split("\n") if l.startswith("s,")]
            check_eq(len(got), 50, "dump %r: points" % rng)
            check(all(l.startswith("s,b=2 ") for l in got), "dump %r: only batch 2" % rng)
            check(out.startswith("# INFLUXDB EXPORT: 1970-01-01T00:00:00.000002001Z - "
                                 "1970-01-01T00:00:00.000002050Z\n"), "header %r" % out[:100])
        d.start()
        write_batches(d, [5])
        d.kill9()
        batches, _ = dump(d)
        check_eq(batches, {b: 50 for b in range(6)}, "batches after a second kill -9")


def test_torn_tail_cut_at_start():
    with Daemon(CONF) as d:
        write_batches(d, range(3))
        d.stop()
        seg = wal_files(d)[-1]
        size = os.path.getsize(seg)
        with open(seg, "ab") as f:
            f.write(b"\x57" * 37)  # a record header that never finished
        before = digest(d)
        batches, err = dump(d)
        check_eq(batches, {0: 50, 1: 50, 2: 50}, "dump over a torn tail")
        check("torn tail" in err, "dump notes the torn tail: %r" % err)
        check_eq(digest(d), before, "dump did not cut the tail itself")
        mark = d.log_mark()
        d.start()
        line = d.wait_log(r'msg="wal torn tail cut"', since=mark)[0]
        check("bytes_dropped=37" in line and "offset=%d" % size in line and
              os.path.basename(seg) in line, "torn tail log line: %r" % line)
        check_eq(os.path.getsize(seg), size, "segment cut back to its last whole record")
        write_batches(d, [3])
        d.stop()
        batches, _ = dump(d)
        check_eq(batches, {b: 50 for b in range(4)}, "batches after the cut")


def test_mid_wal_corruption_needs_repair():
    with Daemon(CONF, check_exit=False) as d:
        write_batches(d, range(6))
        d.stop()
        seg = wal_files(d)[-1]
        size = os.path.getsize(seg)
        with open(seg, "r+b") as f:
            f.seek(size // 2)
            b = f.read(1)
            f.seek(size // 2)
            f.write(bytes([b[0] ^ 0xFF]))
        before = digest(d)
        batches, err = dump(d, expect_rc=1)
        check("offset" in err, "dump names where the WAL is corrupt: %r" % err)
        check_eq(digest(d), before, "a refused dump changed nothing")
        # Without --repair the daemon refuses to start and says why.
        mark = d.log_mark()
        d.spawn()
        code = d.wait_exit(30)
        check_eq(code, 1, "exit status on a corrupt WAL")
        log = d.log_text(since=mark)
        check("--repair" in log and os.path.basename(seg) in log and "offset" in log,
              "the refusal names the file, the offset and --repair: %r" % log[-800:])
        check_eq(digest(d), before, "a refused start changed nothing")
        # With --repair it cuts there, logs what it dropped, and serves.
        d.args = ["--repair"]
        mark = d.log_mark()
        d.start()
        line = d.wait_log(r'msg="wal repaired: corrupt data cut"', since=mark)[0]
        check(os.path.basename(seg) in line and "bytes_dropped=" in line, "repair log: %r" % line)
        write_batches(d, [10])
        d.stop()
        batches, _ = dump(d)
        kept = sorted(b for b in batches if b < 10)
        check(kept == list(range(len(kept))) and 0 < len(kept) < 6,
              "a prefix of the batches survives the cut: %r" % batches)
        check(all(v == 50 for v in batches.values()), "no batch is partial: %r" % batches)
        check(10 in batches, "the write after the repair is there")


def test_debug_fault_fsync():
    # The 2nd fsync after start (the 2nd write's WAL commit) fails.
    with Daemon(CONF, args=["--debug.fault=fsync:2"], check_exit=False) as d:
        write_batches(d, [0])
        r = d.http("POST", "/write", batch(1).encode(), params={"db": "db"})
        check(500 <= r.status < 600, "the write whose fsync failed: %d %r" % (r.status, r.body))
        d.wait_log(r'level=error subsys=ingest msg="wal commit failed')
        r = d.http("POST", "/write", batch(2).encode(), params={"db": "db"})
        check_eq(r.status, 503, "writes after a failed fsync (%r)" % r.body)
        check_eq(r.header("Retry-After"), "1", "503 Retry-After")
        d.kill9()
        batches, _ = dump(d)
        check_eq(batches, {0: 50}, "only the acknowledged batch after a crash")
        d.args = []
        d.start()
        write_batches(d, [3])
        d.stop()
        batches, _ = dump(d)
        check_eq(batches, {0: 50, 3: 50}, "after a restart without the fault")


if __name__ == "__main__":
    run(globals())
