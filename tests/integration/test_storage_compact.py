#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compaction in the daemon (storage.compaction.*): with tiny flush
thresholds every write becomes a part file; compaction merges them in the
background, throttled by storage.compaction.max_bytes_per_sec.

- queries (/query count and sum, GROUP BY time() buckets that use block
  summaries, raw rows with epoch=ns) answer exactly as the model says
  before, during (nightjar_compaction_running = 1) and after merges, also
  with a writer and a reader running concurrently;
- kill -9 while a merge is in progress, restart: every point exactly once,
  the interrupted merge is redone, no *.tmp left after a clean stop;
- restart with a backlog of unmerged parts in several partitions (kept
  from merging by a long storage.compaction.start_delay): merges are
  admitted one at a time (the log alternates started / finished, the
  backlog shrinks by one each time).
"""

import glob
import os
import re
import threading
import time

from nightjar_harness import (MULT, Daemon, check, check_eq, run, wait_until)

DB = 'cm'
HOSTS = 5
NS_PER_S = 1000000000


def parts(d):
    return glob.glob(os.path.join(d.data_dir, 'db', '**', '*.tsp'), recursive=True)


def tmps(d):
    return glob.glob(os.path.join(d.data_dir, 'db', '**', '*.tmp'), recursive=True)


class Model:
    """Expected (host, ts) -> (v, i); v are multiples of 0.25 so every sum
    is exact whatever the order of addition."""

    def __init__(self):
        self.pts = {}
        self.intent = {}  # written or being written (for concurrent readers)
        self.lock = threading.Lock()

    def lines(self, base, t0, t1, gen):
        out, new = [], {}
        for t in range(t0, t1):
            for h in range(HOSTS):
                ts = base + t * 10 * NS_PER_S
                v = ((t * 7 + h * 3 + gen * 5) % 4000) * 0.25
                i = t * 10 + h + gen * 100000
                out.append('m,host=h%d v=%s,i=%di %d' % (h, repr(v), i, ts))
                new[('h%d' % h, ts)] = (v, i)
        return out, new

    def begin(self, new):
        with self.lock:
            self.intent.update(new)

    def commit(self, new):
        with self.lock:
            self.intent.update(new)
            self.pts.update(new)

    def snapshot(self):
        with self.lock:
            return dict(self.pts)


def write_ok(d, lines):
    r = d.write(lines, db=DB)
    check_eq(r.status, 204, 'write (%r)' % r.body[:300])


def raw_rows(d):
    res = d.query('SELECT v, i FROM m GROUP BY host', db=DB, epoch='ns')
    out = []
    for s in res['results'][0].get('series', []):
        cols = s['columns']
        ti, vi, ii = cols.index('time'), cols.index('v'), cols.index('i')
        for row in s['values']:
            out.append((s['tags']['host'], row[ti], row[vi], row[ii]))
    return out


def check_raw(d, want, what, subset_ok=None):
    """Every point of want exactly once with its value; with subset_ok (a
    dict of points that may or may not be there), nothing else."""
    rows = raw_rows(d)
    keys = [(h, t) for h, t, _, _ in rows]
    check_eq(len(keys), len(set(keys)), 'duplicate points %s' % what)
    got = {(h, t): (v, i) for h, t, v, i in rows}
    for k, val in want.items():
        if k not in got:
            fail_msg = 'point %r missing %s (%d rows)' % (k, what, len(rows))
            check(False, fail_msg)
        check_eq(got[k], val, 'point %r %s' % (k, what))
    extra = set(got) - set(want)
    if subset_ok is None:
        check_eq(len(extra), 0, 'unexpected points %s: %r' % (what, sorted(extra)[:5]))
    else:
        for k in extra:
            check(k in subset_ok and subset_ok[k] == got[k],
                  'unexpected point %r %s' % (k, what))


def check_aggs(d, want, what):
    res = d.query('SELECT count(v), sum(v), count(i), sum(i) FROM m', db=DB)
    vals = res['results'][0]['series'][0]['values'][0]
    vs = [v for v, _ in want.values()]
    ii = [i for _, i in want.values()]
    check_eq(vals[1:], [len(vs), sum(vs), len(ii), sum(ii)], 'count/sum %s' % what)
    lo = min(t for _, t in want)
    hi = max(t for _, t in want)
    res = d.query('SELECT count(v), sum(v) FROM m WHERE time >= %d AND time <= %d '
                  'GROUP BY time(10m), host' % (lo, hi), db=DB, epoch='ns')
    got = {}
    for s in res['results'][0].get('series', []):
        for row in s['values']:
            if row[1]:
                got[(s['tags']['host'], row[0])] = (row[1], row[2])
    exp = {}
    bucket = 600 * NS_PER_S
    for (h, t), (v, _) in want.items():
        k = (h, t - t % bucket)
        c, sm = exp.get(k, (0, 0.0))
        exp[k] = (c + 1, sm + v)
    check_eq(got, exp, 'GROUP BY time(10m), host %s' % what)


def metric(d, name):
    return d.metrics().get(name, 0.0)


def flushes(d):
    return len(d.log_lines(r'msg="head flushed"'))


def write_and_flush(d, lines):
    n = flushes(d)
    write_ok(d, lines)
    wait_until(lambda: flushes(d) > n, 20 * MULT, 'a flush after the write', interval=0.05)


def recent_base():
    now = time.time_ns()
    return now - now % (3600 * NS_PER_S) - 2 * 3600 * NS_PER_S


def test_queries_during_compaction():
    cfg = {
        'storage.flush.head_bytes': 1,
        'storage.housekeeping_interval': '100ms',
        'storage.retention': 'INF',
        'storage.compaction.min_parts': 4,
        'storage.compaction.start_delay': '0s',
        'storage.compaction.stagger': '0s',
        'storage.compaction.max_bytes_per_sec': '16KiB',
        'databases': [DB],
    }
    base = recent_base()
    m = Model()
    with Daemon(cfg) as d:
        # Eight flushed parts; every other one rewrites earlier points.
        for k in range(8):
            lines, new = m.lines(base, k * 40, (k + 1) * 40, k)
            write_and_flush(d, lines)
            m.commit(new)
            if k % 2:
                lines, new = m.lines(base, k * 40 - 30, k * 40 - 10, 100 + k)
                write_and_flush(d, lines)
                m.commit(new)
            check_raw(d, m.snapshot(), 'after batch %d' % k)
        check_aggs(d, m.snapshot(), 'before/while merging')

        # A writer and a reader while merges run.
        stop = threading.Event()
        errors = []
        seen_running = [0]
        reads = [0]

        def writer():
            k = 8
            while not stop.is_set() and k < 24:
                lines, new = m.lines(base, k * 40, (k + 1) * 40, k)
                m.begin(new)
                try:
                    write_ok(d, lines)
                    m.commit(new)
                except Exception as ex:  # noqa: BLE001 - reported below
                    errors.append('writer: %r' % ex)
                    return
                k += 1
                time.sleep(0.15)

        def reader():
            while not stop.is_set():
                try:
                    running = metric(d, 'nightjar_compaction_running')
                    before = m.snapshot()
                    # Points committed after `before` may or may not show.
                    check_raw(d, before, 'during compaction', subset_ok=AnyModel(m))
                    if running:
                        seen_running[0] += 1
                    reads[0] += 1
                except Exception as ex:  # noqa: BLE001
                    errors.append('reader: %r' % ex)
                    return

        f0 = metric(d, 'nightjar_compactions_finished_total')
        ts = [threading.Thread(target=writer), threading.Thread(target=reader)]
        for t in ts:
            t.start()
        try:
            # Merges of these small parts take tens of milliseconds, so the
            # reader's sampling of nightjar_compaction_running may miss them
            # all (seen_running is informative only).  What matters: a merge
            # finished while the reader kept reading, before and after it.
            wait_until(lambda: errors or metric(d, 'nightjar_compactions_finished_total') >= f0 + 1,
                       90 * MULT, 'a merge finished while reading')
            r0 = reads[0]
            wait_until(lambda: errors or reads[0] >= r0 + 2, 60 * MULT,
                       'reads after the merge')
        finally:
            stop.set()
            for t in ts:
                t.join()
        check_eq(errors, [], 'concurrent readers/writers')
        check(reads[0] > 0, 'no read ran')

        # Then let every due merge finish and compare again.
        def settled():
            mm = d.metrics()
            return (mm.get('nightjar_compaction_running', 0) == 0 and
                    mm.get('nightjar_compaction_backlog_partitions', 0) == 0)
        wait_until(settled, 120 * MULT, 'compaction settled')
        want = m.snapshot()
        check_raw(d, want, 'after compaction')
        check_aggs(d, want, 'after compaction')
        mm = d.metrics()
        # How many merges run depends on how many parts piled up before each
        # admission (a slow machine flushes more parts per merge): at least one.
        check(mm.get('nightjar_compactions_started_total', 0) >= 1, 'merges started')
        check_eq(mm.get('nightjar_compactions_failed_total', 0), 0, 'failed merges')
        check(mm.get('nightjar_compaction_bytes_read_total', 0) > 0, 'bytes read counted')
        check(mm.get('nightjar_compaction_bytes_written_total', 0) > 0, 'bytes written counted')
        wait_until(lambda: metric(d, 'nightjar_storage_parts') == len(parts(d)), 10 * MULT,
                   'nightjar_storage_parts = the part files on disk')
        check(any(not p.endswith('-0.tsp') for p in parts(d)), 'a merged (level >= 1) part')
        fin = d.log_lines(r'msg="compaction finished"')
        check(fin and re.search(r'partition=db/\d+/\d+/\d+ inputs=\d+ level=\d+ bytes_in=\d+ '
                                r'bytes_out=\d+ rows=\d+ duration_ms=', fin[0]),
              'finished log line fields: %r' % fin[:1])
        d.stop()
        check_eq(tmps(d), [], '*.tmp files after a clean stop')


class AnyModel:
    """Lazily consults the model: a point written concurrently is fine if
    it carries the value the model has for it now."""

    def __init__(self, m):
        self.m = m

    def __contains__(self, k):
        with self.m.lock:
            return k in self.m.intent

    def __getitem__(self, k):
        with self.m.lock:
            return self.m.intent[k]


def test_kill9_during_compaction():
    cfg = {
        'storage.flush.head_bytes': 1,
        'storage.housekeeping_interval': '100ms',
        'storage.retention': 'INF',
        'storage.compaction.min_parts': 6,
        'storage.compaction.start_delay': '0s',
        'storage.compaction.stagger': '0s',
        'storage.compaction.max_bytes_per_sec': '1KiB',
        'databases': [DB],
    }
    base = recent_base()
    m = Model()
    with Daemon(cfg) as d:
        for k in range(6):
            lines, new = m.lines(base, k * 50, (k + 1) * 50 + 10, k)  # overlapping
            write_and_flush(d, lines)
            m.commit(new)
        d.wait_log(r'msg="compaction started"', 30 * MULT)
        wait_until(lambda: tmps(d), 30 * MULT, 'the merge output being written (*.tmp)')
        check_eq(metric(d, 'nightjar_compaction_running'), 1, 'a merge is running')
        check_eq(metric(d, 'nightjar_compactions_finished_total'), 0, 'no merge finished yet')
        d.kill9()

        d.config['storage']['compaction']['max_bytes_per_sec'] = 0
        d.write_config()
        d.start()
        want = m.snapshot()
        check_raw(d, want, 'after kill -9 during a merge')
        check_aggs(d, want, 'after kill -9 during a merge')
        d.wait_log(r'msg="compaction finished"', 60 * MULT)
        check_raw(d, want, 'after the merge was redone')
        check_aggs(d, want, 'after the merge was redone')
        d.stop()
        check_eq(tmps(d), [], '*.tmp files after a clean stop')
        d.start()
        check_raw(d, want, 'after another restart')


def test_restart_with_backlog():
    base = 1700000000 * NS_PER_S  # 2023: partitions long cold
    week = 7 * 86400 * NS_PER_S
    cfg = {
        'storage.flush.head_bytes': 1,
        'storage.housekeeping_interval': '100ms',
        'storage.retention': 'INF',
        'storage.compaction.start_delay': '1h',  # nothing is admitted yet
        # The partitions ended in 2023 but were just flushed: cold (due) once
        # no flush has changed them for cold_after.
        'storage.compaction.cold_after': '1s',
        'databases': [DB],
    }
    m = Model()
    with Daemon(cfg) as d:
        for rnd in range(3):
            lines = []
            for p in range(4):
                ls, new = m.lines(base + p * week, rnd * 20, rnd * 20 + 30, rnd)
                lines += ls
                m.commit(new)
            write_and_flush(d, lines)
        check_eq(len(parts(d)), 12, 'parts before the restart (4 partitions x 3)')
        wait_until(lambda: metric(d, 'nightjar_compaction_backlog_partitions') == 4, 10 * MULT,
                   'backlog gauge = 4 partitions')
        check_eq(metric(d, 'nightjar_compactions_started_total'), 0, 'merges before admission')
        d.stop()

        d.config['storage']['compaction'].update(
            {'start_delay': '1s', 'stagger': '500ms', 'max_bytes_per_sec': 0})
        d.write_config()
        mark = d.log_mark()
        d.start()
        want = m.snapshot()
        check_raw(d, want, 'after restart, before merges')
        d.wait_log(r'msg="compaction finished"', 60 * MULT, count=4, since=mark)
        log = d.log_lines(r'msg="compaction (started|finished|failed)', since=mark)
        kinds = ['started' if 'compaction started' in l else
                 'finished' if 'compaction finished' in l else 'failed' for l in log]
        check_eq(kinds, ['started', 'finished'] * 4, 'merges admitted one at a time')
        backlogs = [int(re.search(r'backlog=(\d+)', l).group(1))
                    for l in log if 'compaction started' in l]
        check_eq(backlogs, [3, 2, 1, 0], 'backlog while admitting')
        check_eq(len(parts(d)), 4, 'one part per partition after the backlog')
        check_raw(d, want, 'after the backlog merges')
        check_aggs(d, want, 'after the backlog merges')


if __name__ == '__main__':
    run(globals())
