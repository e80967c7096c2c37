#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Storage housekeeping: with storage.flush.head_bytes: 1 and
storage.housekeeping_interval: 200ms the daemon flushes the head into part
files (<data>/db/.../*.tsp) on its own; after kill -9 and a restart every
point written is there exactly once (query with epoch=ns), and again in
`nightjar dump` after a clean stop.
"""

import glob
import os
import time

from nightjar_harness import (MULT, Daemon, check, check_eq, require_bin, run, run_cli,
                              wait_until)

DB = 'hk'
BASE = 1700000000000000000
N = 200


def lines(start, n):
    return ['m,host=h%d v=%di %d' % (k % 3, k, BASE + k * 1000) for k in range(start, start + n)]


def parts(d):
    return glob.glob(os.path.join(d.data_dir, 'db', '**', '*.tsp'), recursive=True)


def query_rows(d):
    res = d.query('SELECT * FROM m', db=DB, epoch='ns')
    series = res['results'][0].get('series', [])
    check_eq(len(series), 1, 'series in SELECT * FROM m (%r)' % res)
    cols = series[0]['columns']
    ti, vi = cols.index('time'), cols.index('v')
    return [(row[ti], row[vi]) for row in series[0]['values']]


def check_all_once(rows, n, what):
    want = sorted((BASE + k * 1000, k) for k in range(n))
    check_eq(len(rows), n, 'rows %s' % what)
    check_eq(sorted(rows), want, 'points %s (each exactly once)' % what)


def test_flush_then_kill9():
    cfg = {
        'storage.flush.head_bytes': 1,
        'storage.housekeeping_interval': '200ms',
        'storage.retention': 'INF',
        'databases': [DB],
    }
    with Daemon(cfg) as d:
        r = d.write(lines(0, N), db=DB)
        check_eq(r.status, 204, 'first write (%r)' % r.body[:300])
        wait_until(lambda: parts(d), 20 * MULT, 'a part file *.tsp under %s/db' % d.data_dir,
                   interval=0.05)
        # The part file appears at its rename, before its MANIFEST lists it; a
        # kill -9 in between rightly discards it at restart.  Wait for the
        # whole flush (logged after the MANIFEST is durable).
        d.wait_log(r'msg="head flushed"', 20 * MULT)
        # A second batch after the first flush: in the WAL (and maybe a
        # later part) when the daemon is killed.
        r = d.write(lines(N, N), db=DB)
        check_eq(r.status, 204, 'second write (%r)' % r.body[:300])
        check_all_once(query_rows(d), 2 * N, 'before kill -9')
        d.kill9()

        d.start()
        check(parts(d), 'part files gone after restart')
        check_all_once(query_rows(d), 2 * N, 'after kill -9 and restart')
        # Let at least one more housekeeping pass run on the replayed head.
        time.sleep(0.5)
        check_all_once(query_rows(d), 2 * N, 'after another housekeeping pass')
        d.stop()

        code, out, err = run_cli(['dump', '--data', d.data_dir, '--db', DB], timeout=60)
        check_eq(code, 0, 'nightjar dump exit status (stderr %r)' % err[-2000:])
        got = sorted(l for l in out.splitlines() if l.startswith('m,'))
        want = sorted(lines(0, 2 * N))
        check_eq(len(got), 2 * N, 'points in nightjar dump')
        check_eq(got, want, 'nightjar dump lines')


if __name__ == '__main__':
    require_bin()
    run(globals())
