#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue #3 acceptance: acknowledged writes survive kill -9, and a batch is
never half visible.

test_kill9_during_writes: two writer threads send 1,000-point batches (each
point identifiable: tag b=<batch>, integer field i=<index>, time derived
from both) over their own keep-alive connections and record every batch
that got 204.  The main thread kills the daemon with SIGKILL at >= 20 random moments
(random delays, bounded total time) and restarts it.  Several times while
the daemon is down, and at the end after a clean stop, `nightjar dump` must
show every acknowledged batch complete, every other batch either complete or
absent, and nothing that was never sent.

test_wal_faults: with --debug.fault=fsync:N (and write:N; the spelling is
taken from --help) the write whose WAL fsync (write) fails gets a 5xx and
is absent after kill -9 and after a restart; the writes before it were
acknowledged and survive; after the failure every write gets a 5xx (a
failed fsync leaves the WAL's durability unknown), until a restart.
"""

import random
import re
import subprocess
import threading
import time

from nightjar_harness import (MULT, ConnectionClosed, Conn, Daemon, check, check_eq, deadline,
                              fail, require_bin, run, wait_until)

from test_write_diff import parse_lp

DB = 'crash'
BATCH = 1000
BASE = 1600000000000000000
KILLS = 20


def batch_body(b):
    t = BASE + b * BATCH
    return '\n'.join('crash,b=%d i=%di,v=%d.5 %d' % (b, k, b, t + k)
                     for k in range(BATCH)).encode()


def dump_batches(d):
    """{batch: set of point indexes} from `nightjar dump` (daemon not
    running); fails on any point that is not one the writer could have
    sent."""
    p = subprocess.run([require_bin(), 'dump', '--data', d.data_dir, '--db', DB],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120 * MULT)
    check(p.returncode == 0, lambda: 'nightjar dump: exit %d, stderr %r' % (
        p.returncode, p.stderr[-2000:]))
    out = {}
    for pt in parse_lp(p.stdout):
        if pt[0] == '#':
            continue
        meas, tags, fields, ts = pt
        f = {k: (t, v) for k, t, v in fields}
        ok = (meas == 'crash' and len(tags) == 1 and tags[0][0] == 'b' and
              tags[0][1].isdigit() and f.get('i', (None,))[0] == 'integer')
        check(ok, 'unexpected point in the dump: %r' % (pt,))
        b, k = int(tags[0][1]), f['i'][1]
        check(0 <= k < BATCH and ts == BASE + b * BATCH + k and
              f.get('v', (None, None))[0] == 'float',
              'corrupt point in the dump: %r' % (pt,))
        out.setdefault(b, set()).add(k)
    return out


def check_batches(found, acked, sent, when):
    """Every acknowledged batch complete, every batch all-or-nothing,
    nothing never sent."""
    problems = []
    for b, ks in sorted(found.items()):
        if b not in sent:
            problems.append('batch %d was never sent but has %d points' % (b, len(ks)))
        elif len(ks) != BATCH:
            problems.append('batch %d is half visible: %d of %d points (%s)' % (
                b, len(ks), BATCH, 'acknowledged' if b in acked else 'not acknowledged'))
    for b in sorted(acked):
        if b not in found:
            problems.append('acknowledged batch %d is missing' % b)
    if problems:
        fail('%s: %d problems (acked %d batches, sent %d):\n  %s' % (
            when, len(problems), len(acked), len(sent), '\n  '.join(problems[:40])))


class Writer(threading.Thread):
    """Sends batch after batch on a keep-alive connection; reconnects after
    the daemon was killed.  acked: batches answered 204; sent: every batch
    whose request was (perhaps partly) sent; other: unexpected answers."""

    def __init__(self, d, first=0, step=1):
        threading.Thread.__init__(self, daemon=True)
        self.d = d
        self.step = step
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = set()
        self.sent = set()
        self.other = []
        self.next = first

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = Conn(self.d.port, timeout=30.0)
                b = self.next
                self.next += self.step
                with self.lock:
                    self.sent.add(b)
                r = conn.request('POST', '/write?db=%s' % DB, batch_body(b))
                with self.lock:
                    if r.status == 204:
                        self.acked.add(b)
                    else:
                        self.other.append((b, r.status, r.body[:300]))
                if (r.header('Connection') or '').lower() == 'close':
                    conn.close()
                    conn = None
            except (OSError, ConnectionClosed):
                if conn is not None:
                    conn.close()
                    conn = None
                self.stop.wait(0.02)
        if conn is not None:
            conn.close()

    def snapshot(self):
        with self.lock:
            return set(self.acked), set(self.sent), list(self.other)


def test_kill9_during_writes():
    rnd = random.Random()
    seed = rnd.randrange(1 << 30)
    rnd.seed(seed)
    print('seed %d' % seed)
    with Daemon({'storage.retention': 'INF', 'databases': [DB]}, check_exit=False) as d:
        # Two writers on their own connections, so group commits hold
        # batches of both when the kill comes.
        ws = [Writer(d, 0, 2), Writer(d, 1, 2)]
        for w in ws:
            w.start()

        def snapshot():
            acked, sent, other = set(), set(), []
            for w in ws:
                a, s_, o = w.snapshot()
                acked |= a
                sent |= s_
                other += o
            return acked, sent, other
        end = deadline(120)
        kills = 0
        dumps = 0
        try:
            while kills < KILLS:
                check(time.monotonic() < end, 'only %d kills within the time bound' % kills)
                # At least one batch acknowledged by this run of the daemon,
                # then a random moment (mostly inside a batch in flight).
                n0 = len(snapshot()[0])
                wait_until(lambda: len(snapshot()[0]) > n0, 30,
                           'a batch acknowledged after restart %d' % kills)
                time.sleep(rnd.uniform(0.0, 0.3))
                d.kill9()
                kills += 1
                if kills % 5 == 0:
                    acked, sent, _ = snapshot()
                    check_batches(dump_batches(d), acked, sent, 'after kill %d' % kills)
                    dumps += 1
                d.start()
            n0 = len(snapshot()[0])
            wait_until(lambda: len(snapshot()[0]) > n0, 30, 'writes after the last restart')
        finally:
            for w in ws:
                w.stop.set()
            for w in ws:
                w.join(60 * MULT)
        check(not any(w.is_alive() for w in ws), 'writer thread did not stop')
        d.stop()
        acked, sent, other = snapshot()
        check(not other, lambda: 'unexpected answers (batch, status, body): %r' % other[:10])
        found = dump_batches(d)
        check_batches(found, acked, sent, 'at the end')
        print('%d kills, %d intermediate dumps, %d batches sent, %d acknowledged, '
              '%d unacknowledged batches visible' % (kills, dumps, len(sent), len(acked),
                                                     len(set(found) - acked)))
        check(len(acked) >= KILLS, 'too few acknowledged batches (%d)' % len(acked))


def fault_ops():
    """(flag, [ops]) for "the Nth WAL write / fsync fails", as --help spells
    them: `--debug.fault=OP:N` with OP `wal_fsync`/`wal_write` or, where the
    fault counts every storage operation, `fsync`/`write`."""
    p = subprocess.run([require_bin(), '--help'], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30 * MULT)
    text = (p.stdout + p.stderr).decode('utf-8', 'replace')
    check('--debug.fault=' in text, 'nightjar --help documents no --debug.fault:\n%s' % text)
    block = text[text.index('--debug.fault='):]
    block = block[:block.find('\n  --') if '\n  --' in block else len(block)]
    ops = []
    for kind in ('fsync', 'write'):
        for op in ('wal_' + kind, kind):
            if re.search(r'\b%s\b' % op, block):
                ops.append(op)
                break
    check('fsync' in ' '.join(ops), '--help names no fsync fault op:\n%s' % block)
    return '--debug.fault', ops


def fault_case(flag, op, n):
    with Daemon({'storage.retention': 'INF', 'databases': [DB]}, check_exit=False) as d:
        # Creating the database syncs too: create it first, then count from
        # a start that only has writes to do.
        d.stop()
        d.args = ['%s=%s:%d' % (flag, op, n)]
        d.start()
        results = []
        with d.conn(timeout=30.0) as c:
            for b in range(n + 8):
                try:
                    r = c.request('POST', '/write?db=%s' % DB, batch_body(b))
                except ConnectionClosed:
                    results.append((b, None, b''))
                    break
                results.append((b, r.status, r.body))
        statuses = [s for _, s, _ in results]
        print('statuses with %s:%d: %r; first failure %r' % (
            op, n, statuses, next((r[2][:300] for r in results if r[1] != 204), None)))
        fails = [k for k, s in enumerate(statuses) if s != 204]
        check(fails, 'no write failed with the fault %s:%d: %r' % (op, n, statuses))
        first = fails[0]
        check(first >= 1, 'the first write already failed: %r' % results[:2])
        check(all(s is not None and 500 <= s < 600 for s in statuses[first:]),
              'after the failed %s (write %d) every write must get a 5xx: %r' % (
                  op, first, statuses))
        acked = set(range(first))
        sent = set(range(len(results)))
        d.kill9()
        # Offline: the acknowledged batches are there, the failed one is not.
        found = dump_batches(d)
        check_batches(found, acked, sent, 'after the %s failure' % op)
        check(first not in found, 'the batch whose %s failed is visible after a crash' % op)
        # A restart without the fault: the daemon works again, nothing lost.
        d.args = []
        d.start()
        r = d.http('POST', '/write?db=%s' % DB, batch_body(100))
        check_eq(r.status, 204, 'write after restarting without the fault (%r)' % r.body[:300])
        d.stop()
        found = dump_batches(d)
        check_batches(found, acked | {100}, sent | {100}, 'after restart')
        check(first not in found, 'the batch whose %s failed is visible after restart' % op)


def test_wal_faults():
    flag, ops = fault_ops()
    for op in ops:
        fault_case(flag, op, 3)


if __name__ == '__main__':
    run(globals())
