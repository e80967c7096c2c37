#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue #3 acceptance: real InfluxDB clients write into Nightjar.

  * the `influx` CLI (Debian influxdb-client, 1.6) `-import` of files with
    `# DML` / `# CONTEXT-DATABASE:` / `# CONTEXT-RETENTION-POLICY:` headers,
    several batches (the importer sends 5000 lines per request), `-precision`,
    a gzip file with `-compressed`;
  * the npm `influx` package (tests/clients/write_influx.js, installed into
    tests/clients/node_modules by scripts/install-deps.sh): writePoints with
    tags, every field type (schema-typed and untyped), Date, nanosecond,
    numeric and string timestamps in several precisions.

Each time the daemon is stopped and `nightjar dump` must hold exactly the
points that were sent (floats bit for bit).  The same clients first write
into a real influxd 1.6, whose /query answer must match the same
expectations (so the expectations are InfluxDB's, not ours).

The importer's `# DDL` section needs POST /query (`CREATE DATABASE`); the
databases here come from the `databases:` config instead, and the DDL case
runs only when the daemon answers /query (it says why when it skips).
"""

import gzip
import json
import os
import shutil
import subprocess
import tempfile

from nightjar_harness import MULT, Daemon, Influxd, check, fail, run

from test_write_diff import dump_tuples, f64_bits, influx_tuples, parse_lp

SRC = os.environ.get('NIGHTJAR_SOURCE_DIR') or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
CLIENTS = os.path.join(SRC, 'tests', 'clients')
INFLUX_CLI = shutil.which('influx')
NODE = shutil.which('node')

PREC_NS = {'n': 1, 'ns': 1, 'u': 1000, 'ms': 1000000, 's': 1000000000,
           'm': 60000000000, 'h': 3600000000000}


def expected_from_lp(db, text, precision='n'):
    """The tuples dump_tuples() gives for line protocol text written with
    precision (no point may lack a timestamp)."""
    out = {}
    for pt in parse_lp(text.encode('utf-8')):
        if pt[0] == '#':
            continue
        meas, tags, fields, ts = pt
        check(ts is not None, 'expected points need timestamps: %r' % (pt,))
        for fkey, ftype, val in fields:
            # (series, field, time) is the identity: a later write replaces.
            out[(meas, tags, fkey, ts * PREC_NS[precision])] = (ftype, val)
    return {(db, m, tags, f, ft, v, ts) for (m, tags, f, ts), (ft, v) in out.items()}


def compare(got, want, what):
    missing = sorted(want - got)
    extra = sorted(got - want)
    if missing or extra:
        fail('%s: %d sent values missing from the dump, %d unexpected values in it\n'
             'missing: %s\nunexpected: %s' % (what, len(missing), len(extra),
                                              '\n  '.join(map(repr, missing[:30])),
                                              '\n  '.join(map(repr, extra[:30]))))


def run_influx(port, args, timeout=120):
    p = subprocess.run([INFLUX_CLI, '-host', '127.0.0.1', '-port', str(port)] + args,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout * MULT)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


# Lines that exercise the importer's pass-through: escapes in every element,
# every type, UTF-8.  Timestamps are in seconds (the file is imported with
# -precision s).
TRICKY = [
    'cli\\ esc\\,m,tag\\ key=va\\,l\\=ue,z=1 f\\ k=1.5,s="say \\"hi\\" \\\\ x",b=true,i=-7i %d',
    'cli_types f=-0.1,i=9223372036854775807i,j=-9223372036854775808i,t=T,F=FALSE,s="" %d',
    'cli_types f=1e-300,g=1.7976931348623157e308,s="line1\\nline2 = , ok" %d',
    '温度,城市=北京 值=21.5,文字="ü" %d',
]


def import_file(dir_, name, db, lines, rp='autogen', ddl=None):
    body = []
    if ddl:
        body += ['# DDL'] + ddl + ['']
    body += ['# DML', '# CONTEXT-DATABASE: %s' % db]
    if rp:
        body.append('# CONTEXT-RETENTION-POLICY: %s' % rp)
    body += lines
    path = os.path.join(dir_, name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(body) + '\n')
    return path


def check_import(code, out, err, n):
    text = out + err
    check(code == 0, 'influx -import exit %d: %s' % (code, text[-2000:]))
    check('Processed %d inserts' % n in text and 'Failed 0 inserts' in text,
          'influx -import output: %s' % text[-2000:])


def cli_imports(server, tmp):
    """Runs the importer three ways against server (Daemon or Influxd);
    returns {db: expected tuples}."""
    wants = {}
    # 1. 12,004 lines in seconds: three importer batches.
    lines = [l % (1500000000 + k) for k, l in enumerate(TRICKY)]
    lines += ['cli_bulk,host=h%d,dc=d%d usage=%d.25,n=%di,ok=%s,msg="m %d" %d' %
              (k % 13, k % 3, k, k, 'tf'[k % 2], k, 1500001000 + k) for k in range(12000)]
    f1 = import_file(tmp, 'a.txt', 'climp', lines)
    code, out, err = run_influx(server.port, ['-import', '-path', f1, '-precision', 's'])
    check_import(code, out, err, len(lines))
    wants['climp'] = expected_from_lp('climp', '\n'.join(lines), 's')
    # 2. gzip file, -compressed, milliseconds, a second database and no
    #    CONTEXT-RETENTION-POLICY (the default policy).
    lines2 = ['cli_gz,k=%d v=%di,f=%r %d' % (k % 5, k, k / 7.0, 1500000000000 + k)
              for k in range(3000)]
    f2 = import_file(tmp, 'b.txt', 'climp2', lines2, rp=None)
    with open(f2, 'rb') as src, gzip.open(f2 + '.gz', 'wb') as dst:
        dst.write(src.read())
    code, out, err = run_influx(server.port, ['-import', '-path', f2 + '.gz', '-compressed',
                                              '-precision', 'ms'])
    check_import(code, out, err, len(lines2))
    wants['climp2'] = expected_from_lp('climp2', '\n'.join(lines2), 'ms')
    # 3. A # DDL section: the importer sends POST /query?db=&epoch=s&q=CREATE+
    #    DATABASE+... before the writes.  Only when /query exists.
    probe = server.http('POST', '/query?q=SHOW+DATABASES')
    # Nightjar serves /query: a 404 there is a regression, never a skip.
    check(probe.status != 404 or isinstance(server, Influxd),
          'POST /query answered 404 on %s' % server.name)
    if probe.status == 404:
        print('SKIP DDL import on %s: POST /query answers 404 (the importer sends '
              '"POST /query?db=&epoch=s&q=CREATE+DATABASE+clddl" for # DDL)' % server.name)
    else:
        lines3 = ['cli_ddl v=%d %d' % (k, 1500000000 + k) for k in range(10)]
        f3 = import_file(tmp, 'c.txt', 'clddl', lines3,
                         ddl=['CREATE DATABASE clddl WITH DURATION INF'])
        code, out, err = run_influx(server.port, ['-import', '-path', f3, '-precision', 's'])
        check_import(code, out, err, len(lines3))
        check('Processed 1 commands' in out + err, 'DDL not processed: %s' % (out + err))
        wants['clddl'] = expected_from_lp('clddl', '\n'.join(lines3), 's')
    return wants


def test_influx_cli_import():
    if not INFLUX_CLI:
        fail('the influx CLI (Debian influxdb-client) is not installed; '
             'scripts/install-deps.sh installs it')
    tmp = tempfile.mkdtemp(prefix='nightjar-import-')
    try:
        # The same imports into influxd 1.6 first: checks the expectations.
        with Influxd() as ref:
            for db in ('climp', 'climp2'):
                ref.query('CREATE DATABASE %s' % db)
            for db, want in cli_imports(ref, tmp).items():
                compare(influx_tuples(ref, db), want, 'influx -import into influxd 1.6, %s' % db)
        with Daemon({'storage.retention': 'INF', 'databases': ['climp', 'climp2']}) as d:
            wants = cli_imports(d, tmp)
            d.stop()
            for db, want in wants.items():
                compare(dump_tuples(d.data_dir, db), want, 'influx -import, %s' % db)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def node_spec(port):
    """(spec for write_influx.js, expected tuples)."""
    want = set()
    db = 'nodedb'
    batches = []

    def add(meas, tags, fields, types, ts_ns):
        for k, v in fields.items():
            t = types[k]
            if t == 'float':
                v = f64_bits(float(v))
            elif t == 'integer':
                v = int(v)
            want.add((db, meas, tuple(sorted(tags.items())), k, t, v, ts_ns))

    # Schema-typed: integer/float/string/boolean, Date (ms) timestamps.
    sch_types = {'i': 'integer', 'f': 'float', 's': 'string', 'b': 'boolean'}
    pts = []
    for k in range(50):
        tags = {'host': 'h %d,x=y' % (k % 4), 'dc': 'eu-%d' % (k % 2)}
        fields = {'i': -k * 1000003, 'f': k / 3.0, 's': 'say "%d" \\ back, slash' % k,
                  'b': k % 3 == 0}
        ms = 1500000000000 + k * 1000
        pts.append({'measurement': 'node_typed', 'tags': tags, 'fields': fields,
                    'ts': {'date_ms': ms}})
        add('node_typed', tags, fields, sch_types, ms * 1000000)
    batches.append({'precision': 'ms', 'points': pts})
    # Untyped (coerceBadly): numbers are floats, booleans true/false;
    # nanosecond timestamps through toNanoDate.
    un_types = {'v': 'float', 'big': 'float', 'neg': 'float', 'ok': 'boolean', 'txt': 'string'}
    pts = []
    for k in range(50):
        tags = {'k=ey': 'v\\al %d' % k} if k % 2 else {}
        fields = {'v': k * 1.1, 'big': 1.7976931348623157e308 if k == 1 else 2.0 ** 60 + k,
                  'neg': -5e-324 if k == 2 else -k, 'ok': k % 2 == 1,
                  'txt': '温度 %d\nnew line' % k}
        ns = 1500000000123456789 + k
        pts.append({'measurement': 'node_untyped', 'tags': tags, 'fields': fields,
                    'ts': {'nano': str(ns)}})
        add('node_untyped', tags, fields, un_types, ns)
    batches.append({'precision': None, 'points': pts})
    # Numeric timestamps in seconds, string timestamps in microseconds,
    # minutes and hours.
    for prec, unit, base in (('s', 1000000000, 1500000000), ('u', 1000, 1500000000000000),
                             ('m', 60000000000, 25000000), ('h', 3600000000000, 416666)):
        pts = []
        for k in range(20):
            fields = {'v': k + 0.5}
            ts = base + k
            tsv = {'number': ts} if prec in ('s', 'h') else {'string': str(ts)}
            pts.append({'measurement': 'node_prec_' + prec, 'tags': {'p': prec},
                        'fields': fields, 'ts': tsv})
            add('node_prec_' + prec, {'p': prec}, fields, {'v': 'float'}, ts * unit)
        batches.append({'precision': prec, 'points': pts})
    spec = {'host': '127.0.0.1', 'port': port, 'database': db,
            'schema': [{'measurement': 'node_typed', 'fields': sch_types,
                        'tags': ['host', 'dc']}],
            'batches': batches}
    return spec, want


def test_npm_influx_client():
    if not NODE:
        fail('node is not installed; scripts/install-deps.sh installs nodejs')
    mod = os.path.join(CLIENTS, 'node_modules', 'influx')
    if not os.path.isdir(mod):
        fail('%s is missing: run scripts/install-deps.sh (npm ci in tests/clients)' % mod)
    # influxd 1.6 first: checks the expectations.
    with Influxd() as ref:
        ref.query('CREATE DATABASE nodedb')
        want = node_write(ref)
        compare(influx_tuples(ref, 'nodedb'), want, 'npm influx writePoints into influxd 1.6')
    with Daemon({'storage.retention': 'INF', 'databases': ['nodedb']}) as d:
        want = node_write(d)
        d.stop()
        compare(dump_tuples(d.data_dir, 'nodedb'), want, 'npm influx writePoints')


def node_write(server):
    spec, want = node_spec(server.port)
    path = os.path.join(server.workdir, 'spec.json')
    with open(path, 'w') as f:
        json.dump(spec, f)
    p = subprocess.run([NODE, os.path.join(CLIENTS, 'write_influx.js'), path],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120 * MULT)
    out = p.stdout.decode('utf-8', 'replace') + p.stderr.decode('utf-8', 'replace')
    npts = sum(len(b['points']) for b in spec['batches'])
    check(p.returncode == 0 and ('ok %d' % npts) in out,
          'write_influx.js against %s: exit %d: %s' % (server.name, p.returncode, out[-3000:]))
    return want


if __name__ == '__main__':
    run(globals())
