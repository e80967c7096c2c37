#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue #3 acceptance: the write path against a real influxd 1.6.

The same requests (CASES, ~200 of them) go to influxd 1.6 and to Nightjar
(storage.retention INF, databases created from the config), one after the
other in the same order.  For each, the status, the body (byte for byte:
`{"error":...}` JSON) and the headers (names, and values except the ones that
differ by design: version, request ids, Date) must match.

Deliberate differences (influx-compat.md, top) are not compared with 1.6:
  * `u` unsigned fields: Nightjar must store them (CASE.expect + .extra);
  * precision=us / µ: microseconds; the reference gets precision=u instead;
  * unknown precision: 1.8's 400;
  * /api/v2/write (1.6 has none): the reference gets the equivalent /write
    request (bucket -> db/rp, precision ns/us/ms/s -> n/u/ms/s) and the
    bucket and precision errors are 1.8's documented answers (spec 2.5).

Then the stored data is compared as sets of (database, measurement, tags,
field, type, value, time): influxd's through /query (SHOW MEASUREMENTS, SHOW
FIELD KEYS, SELECT * ... GROUP BY * with epoch=ns per measurement, CSV for
the sign of zeros), Nightjar's three ways: the same /query statements,
`nightjar dump --data DIR --db D` after kill -9 (the WAL as the crash left
it), and again after a restart and a clean stop; dump output is parsed by
parse_lp() below.  Floats are compared bit for bit.

A mismatch caused by a Nightjar bug that is not fixed yet goes in KNOWN_BUGS
(case id -> reason): it is printed on every run but not asserted, and the
stored points of measurements written only by such cases are left out of
the comparison.
"""

import csv
import io
import json
import re
import struct
import subprocess
import time
import urllib.parse
import zlib

from nightjar_harness import (MULT, Conn, Daemon, Influxd, check, check_eq, fail,
                              require_bin, run)

# case id -> why it is not asserted (a Nightjar bug routed to its owner).
KNOWN_BUGS = {
}

DBS = ("db", "db2")
IGNORED_HEADER_VALUES = {"date", "request-id", "x-request-id", "x-influxdb-version"}
# HTTP framing, not the API: Go chunks bodies over 2 KiB where Nightjar sends
# Content-Length, and a server may close a connection whose request body it
# did not consume.  Not compared.
FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection"}
T0 = 1000000000  # most cases write near 1970-01-01T00:00:01Z (one shard group)


# ---------------------------------------------------------------- helpers

def go_json_string(s):
    """s as Go's encoding/json writes it (HTML-safe escaping)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == '\\':
            out.append('\\\\')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\r':
            out.append('\\r')
        elif ch == '\t':
            out.append('\\t')
        elif o < 0x20 or ch in '<>&' or o in (0x2028, 0x2029):
            out.append('\\u%04x' % o)
        else:
            out.append(ch)
    out.append('"')
    return ''.join(out)


def error_body(msg):
    return ('{"error":%s}\n' % go_json_string(msg)).encode('utf-8')


def gzip_bytes(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def f64_bits(x):
    return struct.unpack('<Q', struct.pack('<d', x))[0]


# ---------------------------------------------------------------- LP parser
#
# Reads what `nightjar dump` prints (and the request bodies, for measurement
# names), following InfluxDB 1.6's scanner: a backslash makes the scanner
# skip the next byte; names are then unescaped per element as models/points.go
# does (measurement and field keys: escape.Unescape, one left-to-right pass
# over \, \" \space \=; tag keys and values: unescapeTag, bytes.Replace of
# \, \space \= in turn; string values: \\ and \" only).

def _unescape_name(b):
    if b'\\' not in b:
        return b
    out = bytearray()
    i = 0
    while i < len(b):
        if b[i] == 0x5c and i + 1 < len(b) and b[i + 1] in b',"= ':
            out.append(b[i + 1])
            i += 2
            continue
        out.append(b[i])
        i += 1
    return bytes(out)


def _unescape_tag(b):
    for esc in (b'\\,', b'\\ ', b'\\='):
        b = b.replace(esc, esc[1:])
    return b


def _unescape_str(b):
    out = bytearray()
    i = 0
    while i < len(b):
        if b[i] == 0x5c and i + 1 < len(b) and b[i + 1] in b'\\"':
            out.append(b[i + 1])
            i += 2
            continue
        out.append(b[i])
        i += 1
    return bytes(out)


class LPError(ValueError):
    pass


def _scan_until(buf, i, stops):
    """Index of the first byte of stops at or after i, skipping a byte after
    each backslash; len(buf) when none."""
    n = len(buf)
    while i < n:
        c = buf[i]
        if c == 0x5c:
            i += 2
            continue
        if c in stops:
            return i
        i += 1
    return n


def _scan_key_until(buf, i, stops):
    """Index of the first byte of stops at or after i that does not follow
    a backslash (InfluxDB's scanKey rule: `a\\\\ b` is the tag value `a\\ b`);
    len(buf) when none."""
    n = len(buf)
    while i < n:
        if buf[i] in stops and (i == 0 or buf[i - 1] != 0x5c):
            return i
        i += 1
    return n


def _split_escaped(buf, sep):
    parts, start, i = [], 0, 0
    while True:
        j = _scan_key_until(buf, i, sep)
        parts.append(buf[start:j])
        if j >= len(buf):
            return parts
        start = i = j + 1


def measurement_of(line):
    """The unescaped measurement of one LP line (bytes), or None for a blank
    or comment line."""
    s = line.lstrip(b' \t\x00')
    if not s or s.startswith(b'#'):
        return None
    j = _scan_until(s, 0, b', \n')
    return _unescape_name(s[:j])


def _parse_value(raw):
    """(type, value) of a field value as dump writes it."""
    if raw.startswith(b'"'):
        if len(raw) < 2 or not raw.endswith(b'"'):
            raise LPError('bad string %r' % raw[:80])
        return 'string', _unescape_str(raw[1:-1]).decode('utf-8', 'surrogateescape')
    if raw in (b't', b'T', b'true', b'True', b'TRUE'):
        return 'boolean', True
    if raw in (b'f', b'F', b'false', b'False', b'FALSE'):
        return 'boolean', False
    if raw.endswith(b'i'):
        return 'integer', int(raw[:-1])
    if raw.endswith(b'u'):
        return 'unsigned', int(raw[:-1])
    try:
        return 'float', f64_bits(float(raw))
    except ValueError:
        raise LPError('bad value %r' % raw[:80])


def parse_lp(data, default_time=None):
    """Parses line protocol (bytes) as `nightjar dump` writes it into a list
    of points (measurement, ((tagkey, tagvalue), ...) sorted, [(field, type,
    value)], time).  Strings are decoded as UTF-8 (surrogateescape for raw
    bytes); floats are given as their IEEE-754 bit pattern.  Comment lines
    are returned as ('#', text) entries so callers can follow CONTEXT-*
    headers."""
    pts = []
    i, n = 0, len(data)
    in_ddl = False
    while i < n:
        # Skip blank lines and leading blanks.
        while i < n and data[i] in b' \t\x00\r\n':
            i += 1
        if i >= n:
            break
        if data[i] == 0x23 or in_ddl:  # '#', or a statement of a # DDL section
            j = data.find(b'\n', i)
            j = n if j < 0 else j
            line = data[i:j].decode('utf-8', 'replace')
            if line.startswith('#'):
                pts.append(('#', line))
                if line.strip() in ('# DDL', '# DML'):
                    in_ddl = line.strip() == '# DDL'
            i = j + 1
            continue
        # Fast path: a line with no escapes and no strings.
        j = data.find(b'\n', i)
        j = n if j < 0 else j
        line = data[i:j]
        if b'\\' not in line and b'"' not in line:
            parts = line.split(b' ')
            if len(parts) in (2, 3) and all(parts):
                kp = parts[0].split(b',')
                tags = []
                for p in kp[1:]:
                    k, eq, v = p.partition(b'=')
                    if not eq:
                        raise LPError('bad tag %r' % p[:80])
                    tags.append((k.decode('utf-8', 'surrogateescape'),
                                 v.decode('utf-8', 'surrogateescape')))
                fields = []
                for fp in parts[1].split(b','):
                    k, eq, v = fp.partition(b'=')
                    if not eq or not k or not v:
                        raise LPError('bad field %r' % fp[:80])
                    fields.append((k.decode('utf-8', 'surrogateescape'),) + _parse_value(v))
                try:
                    ts = int(parts[2]) if len(parts) == 3 else default_time
                except ValueError:
                    raise LPError('bad timestamp %r' % parts[2][:40])
                pts.append((kp[0].decode('utf-8', 'surrogateescape'), tuple(sorted(tags)),
                            fields, ts))
                i = j + 1
                continue
        # Key: measurement and tags, up to the first unescaped space.
        kend = _scan_key_until(data, i, b' \n')
        if kend >= n or data[kend] != 0x20:
            raise LPError('no field set in %r' % data[i:kend + 1][:200])
        key = data[i:kend]
        parts = _split_escaped(key, b',')
        meas = _unescape_name(parts[0])
        tags = []
        for p in parts[1:]:
            eq = _scan_key_until(p, 0, b'=')
            if eq >= len(p):
                raise LPError('bad tag %r' % p[:80])
            tags.append((_unescape_tag(p[:eq]).decode('utf-8', 'surrogateescape'),
                         _unescape_tag(p[eq + 1:]).decode('utf-8', 'surrogateescape')))
        i = kend
        while i < n and data[i] == 0x20:
            i += 1
        # Field set: key=value pairs; string values may hold any byte.
        fields = []
        while True:
            eq = _scan_until(data, i, b'= \n')
            if eq >= n or data[eq] != 0x3d:
                raise LPError('bad field key at %r' % data[i:i + 80])
            fkey = _unescape_name(data[i:eq]).decode('utf-8', 'surrogateescape')
            i = eq + 1
            if i < n and data[i] == 0x22:
                j = i + 1
                while j < n and data[j] != 0x22:
                    j += 2 if data[j] == 0x5c else 1
                if j >= n:
                    raise LPError('unbalanced quotes at %r' % data[i:i + 80])
                raw = data[i:j + 1]
                i = j + 1
            else:
                j = i
                while j < n and data[j] not in b', \n':
                    j += 1
                raw = data[i:j]
                i = j
            fields.append((fkey,) + _parse_value(raw))
            if i < n and data[i] == 0x2c:
                i += 1
                continue
            break
        ts = default_time
        while i < n and data[i] == 0x20:
            i += 1
        if i < n and data[i] != 0x0a:
            j = i
            while j < n and data[j] not in b' \n':
                j += 1
            try:
                ts = int(data[i:j])
            except ValueError:
                raise LPError('bad timestamp %r' % data[i:j][:40])
            i = j
            while i < n and data[i] == 0x20:
                i += 1
        if i < n and data[i] != 0x0a:
            raise LPError('trailing bytes %r' % data[i:i + 40])
        i += 1
        pts.append((meas.decode('utf-8', 'surrogateescape'), tuple(sorted(tags)), fields, ts))
    return pts


def dump_tuples(data_dir, db=None, rp=None):
    """Every stored point of db (all databases when db is None, following
    the CONTEXT-DATABASE lines) after the daemon stopped, as a set of (db,
    measurement, tags, field, type, value, time)."""
    args = [require_bin(), 'dump', '--data', data_dir]
    if db:
        args += ['--db', db]
    if rp:
        args += ['--rp', rp]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120 * MULT)
    check(p.returncode == 0, lambda: 'nightjar dump --db %s: exit %d, stderr %r' % (
        db, p.returncode, p.stderr[-2000:]))
    out = set()
    ctx = None
    for pt in parse_lp(p.stdout):
        if pt[0] == '#':
            if pt[1].startswith('# CONTEXT-DATABASE:'):
                ctx = pt[1].split(':', 1)[1].strip()
            continue
        check(ctx is not None and (db is None or ctx == db),
              'dump --db %s printed a point under CONTEXT-DATABASE %r' % (db, ctx))
        meas, tags, fields, ts = pt
        check(ts is not None, 'dump printed a point without a timestamp: %r' % (pt,))
        for fkey, ftype, val in fields:
            out.add((ctx, meas, tags, fkey, ftype, val, ts))
    return out


# ---------------------------------------------------------------- influxd side

def quote_ident(name):
    return '"' + name.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') + '"'


def influx_tuples(ref, db):
    """Every point influxd stores in db, as dump_tuples() gives them."""
    r = ref.query('SHOW MEASUREMENTS', db=db)
    meas = []
    for s in r['results'][0].get('series', []):
        meas += [v[0] for v in s['values']]
    r = ref.query('SHOW FIELD KEYS', db=db)
    types = {}
    for s in r['results'][0].get('series', []):
        for fk, ft in s['values']:
            types[(s['name'], fk)] = ft
    out = set()
    zeros = {}
    for k in range(0, len(meas), 25):
        group = meas[k:k + 25]
        q = '; '.join('SELECT * FROM %s GROUP BY *' % quote_ident(m) for m in group)
        res = ref.query(q, db=db, epoch='ns')['results']
        check_eq(len(res), len(group), 'influxd results for %r' % q[:200])
        for m, rs in zip(group, res):
            check('error' not in rs, lambda: 'influxd SELECT from %r: %r' % (m, rs))
            for s in rs.get('series', []):
                tags = tuple(sorted((k2, v) for k2, v in (s.get('tags') or {}).items() if v != ''))
                cols = s['columns']
                for row in s['values']:
                    ts = row[0]
                    for c, v in zip(cols[1:], row[1:]):
                        if v is None:
                            continue
                        ft = types.get((m, c))
                        check(ft is not None, 'no field type for %r.%r' % (m, c))
                        if ft == 'float':
                            if v == 0:
                                zeros.setdefault((m, c), []).append((tags, ts))
                            v = f64_bits(float(v))
                        elif ft == 'integer':
                            check(isinstance(v, int), 'integer %r.%r = %r' % (m, c, v))
                        out.add((db, m, tags, c, ft, v, ts))
    # 1.6's JSON writes a stored -0 as 0; its CSV keeps the sign.
    for (m, c), pts in zeros.items():
        r = ref.http('POST', '/query', urllib.parse.urlencode(
            {'db': db, 'epoch': 'ns', 'q': 'SELECT %s FROM %s GROUP BY *' % (
                quote_ident(c), quote_ident(m))}),
            {'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'application/csv'})
        check_eq(r.status, 200, 'influxd CSV query of %r.%r' % (m, c))
        rows = list(csv.reader(io.StringIO(r.body.decode('utf-8'))))
        hdr = rows[0]
        neg = {}
        for row in rows[1:]:
            if len(row) != len(hdr):
                continue
            d = dict(zip(hdr, row))
            tg = tuple(sorted(tuple(kv.split('=', 1)) for kv in d['tags'].split(',')
                              if kv and not kv.endswith('=')))
            neg[(tg, int(d['time']))] = d[c].startswith('-')
        for tags, ts in pts:
            if neg.get((tags, ts)):
                out.discard((db, m, tags, c, 'float', 0, ts))
                out.add((db, m, tags, c, 'float', f64_bits(-0.0), ts))
    return out


# ---------------------------------------------------------------- the cases

class Case:
    """One write request.

    body: bytes or str ("{m}" becomes this case's own measurement name).
    path: "/write" or "/api/v2/write"; params: list of (name, value) pairs
    (default [("db", "db")] for /write, [("bucket", "db")] for v2).
    expect: (status, error text or None) Nightjar must answer instead of
    comparing with 1.6 (a deliberate difference).  ref: the request the
    reference gets instead (dict of path/params/headers/body overrides), or
    "skip" (not sent to influxd).  extra: stored tuples (measurement, tags,
    field, type, value, time) that Nightjar has and 1.6 cannot (unsigned).
    now: the case writes points stamped with the server's clock.
    """

    def __init__(self, cid, body, params=None, path='/write', headers=None, gzip=False,
                 expect=None, ref=None, extra=(), now=False, db='db', chunked=False):
        self.id = cid
        self.m = 'w_' + cid
        if isinstance(body, str):
            body = body.replace('{m}', self.m).encode('utf-8')
        self.raw = body
        self.path = path
        if params is None:
            params = [('bucket', db)] if path == '/api/v2/write' else [('db', db)]
        self.params = params
        self.headers = dict(headers or {})
        self.gzip = gzip
        self.chunked = chunked
        self.expect = expect
        self.ref = ref
        self.extra = [(db,) + tuple(e) for e in extra]
        self.now = now
        if path == '/api/v2/write' and ref is None and expect is None:
            self.ref = self._v2_to_v1()

    def _v2_to_v1(self):
        p = []
        for k, v in self.params:
            if k == 'bucket':
                dbn, _, rp = v.partition('/')
                p.append(('db', dbn))
                if rp:
                    p.append(('rp', rp))
            elif k == 'precision':
                p.append(('precision', {'ns': 'n', 'us': 'u'}.get(v, v)))
        return {'path': '/write', 'params': p}

    def measurements(self):
        body = self.raw
        return {m.decode('utf-8', 'surrogateescape') for m in
                (measurement_of(l) for l in body.split(b'\n')) if m}

    def request(self, override=None):
        o = override or {}
        path = o.get('path', self.path)
        params = o.get('params', self.params)
        if params:
            path += '?' + urllib.parse.urlencode(params)
        body = o.get('body', self.raw)
        headers = dict(self.headers)
        headers.update(o.get('headers', {}))
        if self.gzip:
            body = gzip_bytes(body)
            headers['Content-Encoding'] = 'gzip'
        if self.chunked:
            # Uneven chunk sizes, split inside lines.
            out, k, step = b'', 0, 1
            while k < len(body):
                out += b'%x\r\n%s\r\n' % (len(body[k:k + step]), body[k:k + step])
                k += step
                step = step * 3 + 1
            body = out + b'0\r\n\r\n'
            headers['Transfer-Encoding'] = 'chunked'
        return path, body, headers


def _cases():
    C = Case
    cs = []
    a = cs.append
    # --- spec 1.9, the observed table (each with its own measurement) ---
    a(C('t01', '{m} value=1 1000000000'))
    a(C('t02', '{m} value=1i 1000000000'))
    a(C('t03_unsigned', '{m} value=1u 1000000000', expect=(204, None),
        extra=[('w_t03_unsigned', (), 'value', 'unsigned', 1, T0)]))
    a(C('t04', '{m} value=-1.5e3 1000000000'))
    a(C('t05', '{m} value=2E+2 1000000000'))
    a(C('t06', '{m} value=.5 1000000000'))
    a(C('t07', '{m} value=1. 1000000000'))
    a(C('t08', '{m} value=+1 1000000000'))
    a(C('t09', '{m} value=1.1.1 1000000000'))
    a(C('t10', '{m} value=9223372036854775807i 1000000000'))
    a(C('t11', '{m} value=9223372036854775808i 1000000000'))
    a(C('t12', '{m} value=1.0i 1000000000'))
    a(C('t13', '{m} value=NaN 1000000000'))
    a(C('t14', '{m} value=Inf 1000000000'))
    a(C('t15', '{m} value=1e 1000000000'))
    a(C('t16', '{m} value=1e400 1000000000'))
    a(C('t17', '{m} a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 1000000000'))
    a(C('t18', '{m} value=tRUE 1000000000'))
    a(C('t19', '{m} value="hello world, a=b" 1000000000'))
    a(C('t20', '{m} value="say \\"hi\\"" 1000000000'))
    a(C('t21', '{m} value="a\\\\b" 1000000000'))
    a(C('t22', '{m} value="a\\nb" 1000000000'))
    a(C('t23', '{m} value="line1\nline2" 1000000000'))
    a(C('t24', '{m} value="" 1000000000'))
    a(C('t25', "{m} value='x' 1000000000"))
    a(C('t26', '{m} value="abc 1000000000'))
    a(C('t27', '{m},host=a\\,b value=1 1000000000'))
    a(C('t28', '{m},host=a\\ b value=1 1000000000'))
    a(C('t29', '{m},host=a\\=b value=1 1000000000'))
    a(C('t30', '{m},host=a=b value=1 1000000000'))
    a(C('t31', '{m},host=a\\\\b value=1 1000000000'))
    a(C('t32', '{m},ho\\ st=a value=1 1000000000'))
    a(C('t33', '{m},host="a" value=1 1000000000'))
    a(C('t34', 'c\\,p\\ u value=1 1000000000'))
    a(C('t35', '"c=pu" value=1 1000000000'))
    a(C('t36', '{m} f\\ k=1,f\\,k=2,f\\=k=3 1000000000'))
    a(C('t37', '{m},z=1,a=2 value=1 1000000000'))
    a(C('t38', '{m},host=a,host=b value=1 1000000000'))
    a(C('t39', '{m} value=1,value=2 1000000000'))
    a(C('t40', '{m},host= value=1 1000000000'))
    a(C('t41', '{m},host value=1 1000000000'))
    a(C('t42', '{m}, value=1 1000000000'))
    a(C('t43', '{m}'))
    a(C('t44', ',host=a value=1 1000000000'))
    a(C('t45', '{m} value= 1000000000'))
    a(C('t46', '{m} =1 1000000000'))
    a(C('t47', '{m} value 1000000000'))
    a(C('t48', '{m} value=1, 1000000000'))
    a(C('t49', '   {m}  value=1  1000000000 '))
    a(C('t50', '{m} value=1 1000000000 x'))
    a(C('t51', '{m} value=1 1.5'))
    a(C('t52', '{m} value=1 -1000000000'))
    a(C('t53', '{m} value=1 9223372036854775807'))
    a(C('t54', '{m} value=1 1500000000', params=[('db', 'db'), ('precision', 's')]))
    a(C('t55', '{m} value=1 1500000000000000', params=[('db', 'db'), ('precision', 'u')]))
    a(C('t56_us', '{m} value=1 1500000000000000', params=[('db', 'db'), ('precision', 'us')],
        ref={'params': [('db', 'db'), ('precision', 'u')]}))
    a(C('t57', '{m} value=1 416666', params=[('db', 'db'), ('precision', 'h')]))
    a(C('t58', '{m} value=1 9999999999999', params=[('db', 'db'), ('precision', 's')]))
    a(C('t59_crlf', '{m} value=1 1000000000\r\n{m} value=2 2000000000\r\n'))
    a(C('t60', '# hello\n  # indented\n{m} value=1 1000000000\n\n   \n'))
    a(C('t61', '#{m} value=1 1000000000'))
    a(C('t62', '{m} value=1 1000000000 # c'))
    a(C('t63', '{m}\tvalue=1 1000000000'))
    a(C('t64', '{m} time=1 1000000000'))
    a(C('t65', '{m},time=x value=1 1000000000'))
    a(C('t66', '{m} time=1,value=2 1000000000'))
    a(C('t67', '温度,城市=北京 值=1 1000000000'))
    a(C('t68', '{m} value=1 1000000000\n{m} value= 2000000000\n{m} value=3 3000000000'))
    a(C('t69', '{m} value=\n{m}2'))
    a(C('t70', ''))
    a(C('t71_now', 'now_{m} value=1', now=True))

    # --- floats: limits, rounding, signs, spellings ---
    floats = ['0', '-0', '-0.0', '0.0', '1.7976931348623157e308', '-1.7976931348623157e308',
              '1.7976931348623158e308', '1.7976931348623159e308', '1.8e308', '4.9e-324',
              '5e-324', '2e-324', '2.4703282292062327e-324', '2.4703282292062328e-324',
              '1e-400', '2.2250738585072014e-308', '2.2250738585072011e-308', '0.1',
              '0.30000000000000004', '123456789012345678901234567890', '1e22', '1e23',
              '9007199254740993', '1.00000000000000011102230246251565404236316680908203125',
              '1.00000000000000011102230246251565404236316680908203124',
              '3.141592653589793238462643383279502884197169399375105820974944',
              '00012.5000', '-.5', '1E5', '1.5E-5', '-1e-5', '1e+05', '1' + '0' * 62,
              '.', '-', '1e+', '1e-', '1.e5', '-.e5', '.e5', '0x10', '1_000', '1e5.5', '--1',
              'nan', 'inf', '-Inf', 'Infinity', '1.5f', '١']
    for k, v in enumerate(floats):
        a(C('float%02d' % k, '{m} v=%s 1000000000' % v))
    # --- integers ---
    ints = ['0i', '-0i', '-9223372036854775808i', '-9223372036854775809i', '9223372036854775807i',
            '18446744073709551616i', '007i', '+1i', '1ii', '1i1', 'i', '-i', '1e3i', '0x1fi',
            '99999999999999999999999999i']
    for k, v in enumerate(ints):
        a(C('int%02d' % k, '{m} v=%s 1000000000' % v))
    # unsigned: a deliberate extension (spec 1.4), not comparable with 1.6
    a(C('uint_zero', '{m} v=0u 1000000000', expect=(204, None),
        extra=[('w_uint_zero', (), 'v', 'unsigned', 0, T0)]))
    a(C('uint_max', '{m} v=18446744073709551615u 1000000000', expect=(204, None),
        extra=[('w_uint_max', (), 'v', 'unsigned', 18446744073709551615, T0)]))
    # --- booleans ---
    bools = ['t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE',
             'tRUE', 'yes', 'truee', 'fals', 'tr', 'FaLsE', 'true1']
    for k, v in enumerate(bools):
        a(C('bool%02d' % k, '{m} v=%s 1000000000' % v))
    # --- strings and escapes per element ---
    a(C('str_backslash_end', '{m} v="a\\\\" 1000000000'))
    a(C('str_lone_backslash', '{m} v="a\\b" 1000000000'))
    a(C('str_escaped_quote_end', '{m} v="\\"" 1000000000'))
    a(C('str_only_backslashes', '{m} v="\\\\\\\\" 1000000000'))
    a(C('str_utf8', '{m} v="héllo wörld ✓ 😀" 1000000000'))
    a(C('str_tab', '{m} v="a\tb" 1000000000'))
    a(C('str_comma_eq_space', '{m} v=", = ,=",w="x" 1000000000'))
    a(C('str_multi_newline', '{m} v="a\n\nb\n" 1000000000\n{m} w=1 1000000000'))
    a(C('str_unterminated_then_line', '{m} v="abc\n{m} v="x" 1000000000'))
    a(C('str_html', '{m} v="<a href=\'x\'>&amp;</a>" 1000000000'))
    a(C('str_html_err', '{m}<&> v="x 1000000000'))
    a(C('meas_backslash', 'w_meas\\backslash v=1 1000000000'))
    a(C('meas_double_backslash', 'w_meas\\\\dbl v=1 1000000000'))
    a(C('meas_escaped_eq', 'w_meas\\=eq v=1 1000000000'))
    a(C('meas_escaped_quote', 'w_meas\\"q v=1 1000000000'))
    a(C('meas_quotes', 'w_"meas q" v=1 1000000000'))
    a(C('meas_eq', 'w_meas=eq v=1 1000000000'))
    a(C('meas_leading_escaped_space', '\\ w_meas_sp v=1 1000000000'))
    a(C('meas_trailing_escaped_comma', 'w_meas_comma\\, v=1 1000000000'))
    a(C('meas_time', 'time,w=meas_time v=1 1000000000'))
    a(C('meas_utf8_emoji', 'w_😀,ключ=значение поле=1i 1000000000'))
    a(C('meas_bom', '\ufeffw_bom v=1 1000000000'))
    a(C('meas_hash_inside', 'w_#hash v=1 1000000000'))
    a(C('tagkey_escapes', '{m},k\\,1=a,k\\=2=b,k\\ 3=c v=1 1000000000'))
    a(C('tagkey_quote', '{m},"k"=a v=1 1000000000'))
    a(C('tagval_backslash_end', '{m},k=a\\\\ v=1 1000000000'))
    a(C('tagval_backslash_comma', '{m},k=a\\\\\\,b v=1 1000000000'))
    a(C('tagval_other_escape', '{m},k=a\\nb\\tc v=1 1000000000'))
    a(C('tagval_utf8', '{m},k=日本語\\ テキスト v=1 1000000000'))
    a(C('tag_empty_key', '{m},=a v=1 1000000000'))
    a(C('tag_trailing_comma', '{m},a=1, v=1 1000000000'))
    a(C('tag_many_sorted', '{m},' + ','.join('k%02d=v%d' % (40 - j, j) for j in range(40)) +
        ' v=1 1000000000'))
    a(C('tag_order_variants', '{m},b=2,a=1 v=1 1000000000\n{m},a=1,b=2 w=2 1000000000'))
    a(C('fieldkey_quote_escaped', '{m} f\\"k=1 1000000000'))
    a(C('fieldkey_backslash', '{m} f\\\\k=1,g\\k=2 1000000000'))
    a(C('fieldkey_utf8', '{m} 温度=21.5,ü=1i 1000000000'))
    a(C('fieldkey_case', '{m} Time=1,TIME=2i 1000000000'))
    a(C('field_dup_types_in_line', '{m} f=1,f=1i 1000000000'))
    a(C('field_dup_same_type', '{m} f=1,g=2,f=3 1000000000'))
    a(C('leading_tab_nul', '\t\x00 {m} v=1 1000000000'))
    a(C('space_before_fields_only', '{m}  ,v=1 1000000000'))
    a(C('field_value_escaped_space', '{m} v=1\\ 2 1000000000'))
    # Error texts quote the line: Go's JSON turns invalid UTF-8 into U+FFFD
    # and escapes control bytes and <>&.
    a(C('err_invalid_utf8', b'w_err_invalid_utf8\xff\xfe,k=\xc3 v='))
    a(C('err_control_bytes', b'w_err_control\x01\x1f\x7f v=\x02'))
    a(C('err_truncated_utf8', b'w_err_trunc_\xe6\x97 v=x'))
    a(C('err_many_lines', '\n'.join('{m} v=%d,' % j for j in range(200))))
    a(C('meas_trailing_double_backslash', 'w_mtdb\\\\ v=1 1000000000'))
    a(C('tagval_escaped_backslash_space', '{m},k=a\\\ b v=1 1000000000'))
    a(C('fieldkey_trailing_backslash', '{m} fk\\=1 1000000000'))
    # --- timestamps ---
    for k, ts in enumerate(['0', '-0', '9223372036854775806', '-9223372036854775806',
                            '-9223372036854775807', '-9223372036854775808',
                            '99999999999999999999', '1e9', 'abc', '--1', '-', '+1', '1 2',
                            '00001', '1000000000a']):
        a(C('ts%02d' % k, '{m} v=1 %s' % ts))
    # --- precision ---
    for k, (p, ts) in enumerate([('n', '1500000000000000001'), ('ns', '1500000000000000002'),
                                 ('u', '1500000000000003'), ('ms', '1500000000004'),
                                 ('s', '1500000005'), ('m', '25000000'), ('h', '416667'),
                                 ('', '1500000000000000006'), ('ms', '-1500000000004'),
                                 ('h', '2562047'), ('h', '2562048'), ('m', '153722867'),
                                 ('m', '153722868'), ('ms', '9223372036854'),
                                 ('ms', '9223372036855'), ('u', '9223372036854775'),
                                 ('u', '9223372036854776'), ('s', '-9223372036')]):
        a(C('prec%02d_%s' % (k, p or 'empty'), '{m} v=1 %s' % ts,
            params=[('db', 'db'), ('precision', p)]))
    a(C('prec_s_now', 'now_{m} v=1', params=[('db', 'db'), ('precision', 's')], now=True))
    a(C('prec_us_big', '{m} v=1 9223372036854775', params=[('db', 'db'), ('precision', 'us')],
        ref={'params': [('db', 'db'), ('precision', 'u')]}))
    a(C('prec_micro_sign', '{m} v=1 1500000000000007', params=[('db', 'db'), ('precision', 'µ')],
        ref={'params': [('db', 'db'), ('precision', 'u')]}))
    a(C('prec_us_overflow', '{m} v=1 9223372036854776',
        params=[('db', 'db'), ('precision', 'us')],
        ref={'params': [('db', 'db'), ('precision', 'u')]}))
    for k, p in enumerate(['xyz', 'S', 'NS', 'nanoseconds', 'µs']):
        a(C('prec_bad%d' % k, '{m} v=1 1', params=[('db', 'db'), ('precision', p)],
            expect=(400, 'invalid precision "%s" (use n, u, ms, s, m or h)' % p), ref='skip'))
    # --- database / retention policy / parameters ---
    a(C('db_missing', '{m} v=1 1000000000', params=[]))
    a(C('db_empty', '{m} v=1 1000000000', params=[('db', '')]))
    a(C('db_unknown', '{m} v=1 1000000000', params=[('db', 'nope')]))
    a(C('db_case', '{m} v=1 1000000000', params=[('db', 'DB')]))
    a(C('db_unknown_bad_body', '{m} v= 1000000000', params=[('db', 'nope')]))
    a(C('db_missing_bad_body', 'garbage', params=[]))
    a(C('db2_write', '{m} v=1 1000000000', db='db2'))
    a(C('db2_same_meas_other_type', 'w_t01 value="s" 1000000000', db='db2'))
    a(C('rp_unknown', '{m} v=1 1000000000', params=[('db', 'db'), ('rp', 'nope')]))
    a(C('rp_unknown_bad_body', '{m} v= 1000000000', params=[('db', 'db'), ('rp', 'nope')]))
    a(C('rp_autogen', '{m} v=1 1000000000', params=[('db', 'db'), ('rp', 'autogen')]))
    a(C('rp_empty', '{m} v=1 1000000000', params=[('db', 'db'), ('rp', '')]))
    a(C('consistency_one', '{m} v=1 1000000000', params=[('db', 'db'), ('consistency', 'one')]))
    a(C('consistency_bad', '{m} v=1 1000000000',
        params=[('db', 'db'), ('consistency', 'bogus')]))
    a(C('unknown_param', '{m} v=1 1000000000', params=[('db', 'db'), ('foo', 'bar')]))
    a(C('db_repeated', '{m} v=1 1000000000', params=[('db', 'db'), ('db', 'nope')]))
    # --- gzip ---
    a(C('gzip_ok', '{m} v=1 1000000000\n{m} v=2 2000000000', gzip=True))
    a(C('gzip_partial', '{m} v=1 1000000000\n{m} v= 2000000000', gzip=True))
    a(C('gzip_empty', '', gzip=True))
    a(C('gzip_header_plain_body', '{m} v=1 1000000000', headers={'Content-Encoding': 'gzip'}))
    a(C('gzip_header_empty_body', '', headers={'Content-Encoding': 'gzip'}))
    a(C('gzip_truncated', gzip_bytes(b'w_gzip_truncated v=1 1000000000')[:-6],
        headers={'Content-Encoding': 'gzip'}))
    a(C('gzip_bad_crc', gzip_bytes(b'w_gzip_bad_crc v=1 1000000000')[:-8] + b'\0\0\0\0' +
        gzip_bytes(b'w_gzip_bad_crc v=1 1000000000')[-4:], headers={'Content-Encoding': 'gzip'}))
    a(C('gzip_trailing_garbage', gzip_bytes(b'w_gzip_trailing_garbage v=1 1000000000') + b'xx',
        headers={'Content-Encoding': 'gzip'}))
    a(C('gzip_trailing_garbage_long', gzip_bytes(b'w_gzip_trailing_garbage_long v=1 1') +
        b'not a gzip member', headers={'Content-Encoding': 'gzip'}))
    a(C('gzip_two_members', gzip_bytes(b'w_gzip_two_members v=1 1000000000\n') +
        gzip_bytes(b'w_gzip_two_members v=2 2000000000'), headers={'Content-Encoding': 'gzip'}))
    a(C('x_gzip_plain', '{m} v=1 1000000000', headers={'Content-Encoding': 'x-gzip'}))
    a(C('gzip_with_content_type', '{m} v=1 1000000000', gzip=True,
        headers={'Content-Type': 'text/plain; charset=utf-8'}))
    a(C('chunked', '\n'.join('{m},k=%d v=%d %d' % (j, j, T0 + j) for j in range(300)),
        chunked=True))
    a(C('chunked_gzip', '\n'.join('{m},k=%d v=%d %d' % (j, j, T0 + j) for j in range(300)),
        chunked=True, gzip=True))
    a(C('chunked_partial', '{m} v=1 1000000000\n{m} v= 2', chunked=True))
    a(C('chunked_empty', '', chunked=True))
    # --- framing: partial writes, blank lines, comments, CRLF ---
    a(C('partial_first_bad', '{m} v= 1\n{m} v=2 2000000000'))
    a(C('partial_three_bad', '{m} v= 1\n{m} v=2 2000000000\n{m},x v=1\n{m} v=1 1 1'))
    a(C('all_bad_three', 'a\nb\nc'))
    a(C('blank_lines_only', '\n\n   \n\t\n'))
    a(C('comments_only', '# a\n#b\n   # c\n'))
    a(C('crlf_no_ts', '{m} v=1\r\n'))
    # 1.6 stores `x"` here (a bug); spec 1.1 says reject the line instead.
    a(C('crlf_string', '{m} v="x"\r\n{m} w=1 1000000000\n',
        expect=(400, re.compile(r"partial write: unable to parse 'w_crlf_string v=\"x\"\r': "
                                r"[a-z ]+ dropped=0")),
        ref={'body': b'w_crlf_string w=1 1000000000\n'}))
    a(C('cr_only_line', '\r\n{m} v=1 1000000000'))
    a(C('trailing_newlines', '{m} v=1 1000000000\n\n\n'))
    a(C('no_final_newline_many', '\n'.join('{m},i=%d v=%di %d' % (j, j, T0 + j)
                                             for j in range(50))))
    # --- duplicates and merging ---
    a(C('dup_in_batch', '{m},t=a f1=1 100\n{m},t=a f1=2 100'))
    a(C('merge_1', 'w_merge,t=a f1=1 100'))
    a(C('merge_2', 'w_merge,t=a f2=2 100'))
    a(C('merge_3', 'w_merge,t=a f1=3 100'))
    a(C('merge_4_other_series', 'w_merge,t=b f1=4 100\nw_merge f1=5 100'))
    a(C('merge_types', 'w_merge2 a=1i,b="x",c=true,d=1.5 100\nw_merge2 a=2i 100'))
    # --- type conflicts ---
    a(C('tc_batch', '{m} f=1 1\n{m} f="s" 2\n{m} f=true 3\n{m} f=2 4'))
    a(C('tc_stored_1', 'w_tcs f=1,g=1i 1000000000'))
    a(C('tc_stored_2', 'w_tcs f=1i 2000000000'))
    a(C('tc_stored_3', 'w_tcs f=2,g=2 3000000000'))
    a(C('tc_stored_4', 'w_tcs f="x" 4000000000\nw_tcs f=5 5000000000\nw_tcs g="y",f=6 6000000000'))
    a(C('tc_stored_bool', 'w_tcs h=true 7000000000\nw_tcs h=1 8000000000'))
    a(C('tc_and_parse_error', 'w_tcs f="z" 9000000000\nw_tcs f= 1'))
    a(C('tc_time_and_conflict', 'w_tcs time=1 10\nw_tcs f=true 11'))
    a(C('tc_conflict_then_time_field', 'w_tcs f=true 12\nw_tcs time=1 13'))
    a(C('tc_conflict_then_time_tag', 'w_tcs f=true 14\nw_tcs,time=x v=1 15'))
    a(C('tc_time_tag_then_conflict', 'w_tcs,time=x v=1 16\nw_tcs f=true 17'))
    a(C('tc_time_tag_and_field', 'w_tcs,time=x v=1 18\nw_tcs time=1 19\nw_tcs f=3 20'))
    # Types are fixed per measurement, not per shard (deliberate difference 6):
    # 1.6 takes a conflicting type in another shard group, Nightjar refuses it.
    a(C('tc_other_shard_1', 'w_tc_shard f=1 1000000000'))
    a(C('tc_other_shard_2', 'w_tc_shard f="s" 2000000000000000000', ref='skip',
        expect=(400, 'partial write: field type conflict: input field "f" on measurement '
                     '"w_tc_shard" is type string, already exists as type float dropped=1')))
    # Conflicts inside one request that opens a new shard: 1.6 fails the
    # whole request (400 "field type conflict", nothing stored); Nightjar
    # keeps the first type and drops the rest (docs/COMPATIBILITY.md, from
    # deliberate difference 6).  The reference gets the request without the
    # conflicting line.
    a(C('tc_new_shard_batch', '{m} f=1 3000000000000000000\n{m} f="x" 3000000000000000001\n'
        '{m} g=1 3000000000000000002\n{m} f=2 3000000000000000003',
        expect=(400, 'partial write: field type conflict: input field "f" on measurement '
                     '"w_tc_new_shard_batch" is type string, already exists as type float '
                     'dropped=1'),
        ref={'body': b'w_tc_new_shard_batch f=1 3000000000000000000\n'
                     b'w_tc_new_shard_batch g=1 3000000000000000002\n'
                     b'w_tc_new_shard_batch f=2 3000000000000000003'}))
    a(C('tc_new_shard_two_meas', '{m}a f=1i 3100000000000000000\n{m}b f=1 3100000000000000001\n'
        '{m}a f=1 3100000000000000002',
        expect=(400, 'partial write: field type conflict: input field "f" on measurement '
                     '"w_tc_new_shard_two_measa" is type float, already exists as type integer '
                     'dropped=1'),
        ref={'body': b'w_tc_new_shard_two_measa f=1i 3100000000000000000\n'
                     b'w_tc_new_shard_two_measb f=1 3100000000000000001'}))
    # Names in the conflict message are printed raw (JSON escapes them once).
    a(C('tc_raw_names_1', 'w_tc\\"q\\\\x,t=1 f\\ \\"k=1 1000000000'))
    a(C('tc_raw_names_2', 'w_tc\\"q\\\\x,t=1 f\\ \\"k=true 2000000000'))
    a(C('tc_new_meas_batch', '{m} x=1i 1\n{m} x=1 2\n{m} y=1,x=1 3'))
    # --- big points ---
    a(C('many_fields', '{m} ' + ','.join('f%04d=%d' % (j, j) for j in range(1000)) +
        ' 1000000000'))
    a(C('many_fields_mixed', '{m} ' + ','.join(
        ('s%d="%s"' % (j, 'x' * j)) if j % 4 == 0 else ('i%d=%di' % (j, -j)) if j % 4 == 1
        else ('b%d=%s' % (j, 'tf'[j % 2])) if j % 4 == 2 else ('f%d=%d.25' % (j, j))
        for j in range(300)) + ' 1000000000'))
    a(C('long_string', '{m} v="' + ('abcdefghij' * 30000) + '" 1000000000'))
    a(C('long_measurement', 'w_' + 'm' * 2000 + ' v=1 1000000000'))
    a(C('key_limit_ok', '{m},t=' + 'v' * (65535 - 4 - 1 - len('w_key_limit_ok,t=')) +
        ' v=1 1000000000'))
    a(C('key_limit_over', '{m},t=' + 'v' * (65535 - 4 - 1 - len('w_key_limit_over,t=') + 1) +
        ' v=1 1000000000'))
    a(C('key_limit_series_over', '{m},t=' + 'v' * 70000 + ' v=1 1000000000'))
    a(C('many_lines', '\n'.join('{m},host=h%d v=%d.5,n=%di %d' % (j % 7, j, j, T0 + j * 1000)
                                for j in range(2000))))
    # --- /api/v2/write: compared with the equivalent /write on 1.6 ---
    V2 = '/api/v2/write'
    MISSING_SLASH = 'bucket name "" is missing a slash; not in "database/retention-policy" format'
    a(C('v2_ok', '{m} v=1 1000000000', path=V2))
    a(C('v2_bucket_rp', '{m} v=1 1000000000', path=V2, params=[('bucket', 'db/autogen')]))
    a(C('v2_org', '{m} v=1 1000000000', path=V2, params=[('bucket', 'db'), ('org', 'anything')]))
    a(C('v2_token', '{m} v=1 1000000000', path=V2, headers={'Authorization': 'Token a:b'}))
    a(C('v2_gzip', '{m} v=1 1000000000\n{m} v=2 2000000000', path=V2, gzip=True))
    a(C('v2_partial', '{m} v=1 1000000000\n{m} v= 2', path=V2))
    a(C('v2_all_bad', '{m} v=', path=V2))
    a(C('v2_unknown_db', '{m} v=1 1000000000', path=V2, params=[('bucket', 'nope')]))
    a(C('v2_unknown_rp', '{m} v=1 1000000000', path=V2, params=[('bucket', 'db/nope')]))
    a(C('v2_db2', '{m} v=1 1000000000', path=V2, params=[('bucket', 'db2')], db='db2'))
    for p, ts in [('ns', '1500000000000000011'), ('us', '1500000000000012'),
                  ('ms', '1500000000013'), ('s', '1500000014')]:
        a(C('v2_prec_' + p, '{m} v=1 %s' % ts, path=V2,
            params=[('bucket', 'db'), ('precision', p)]))
    for p in ('n', 'u', 'h', 'm', 'xyz'):
        a(C('v2_prec_bad_' + p, '{m} v=1 1', path=V2, params=[('bucket', 'db'), ('precision', p)],
            expect=(400, 'invalid precision "%s" (use ns, us, ms or s)' % p), ref='skip'))
    a(C('v2_bucket_missing', '{m} v=1 1', path=V2, params=[],
        expect=(404, MISSING_SLASH),
        ref='skip'))
    a(C('v2_bucket_empty_db', '{m} v=1 1', path=V2, params=[('bucket', '/x')],
        expect=(404, 'bucket name "/x" is in db/rp form but has an empty database'), ref='skip'))
    a(C('v2_bucket_trailing_slash', '{m} v=1 1000000000', path=V2, params=[('bucket', 'db/')]))
    a(C('v2_bucket_rp_with_slash', '{m} v=1 1000000000', path=V2,
        params=[('bucket', 'db/autogen/x')]))
    a(C('v2_db_param_only', '{m} v=1 1', path=V2, params=[('db', 'db')],
        expect=(404, MISSING_SLASH),
        ref='skip'))
    a(C('v2_empty_body', '', path=V2))
    a(C('v2_comments_crlf', '# c\n{m} v=1 1000000000\r\n', path=V2))
    a(C('v2_tc', 'w_tcs f="v2" 12000000000', path=V2))
    return cs


CASES = _cases()


# ---------------------------------------------------------------- the test

def send(server, path, body, headers):
    with Conn(server.port, timeout=60.0) as c:
        return c.request('POST', path, body, headers)


def show(r):
    if r is None:
        return 'not sent'
    return '%d %r headers=%r' % (r.status, r.body[:600], sorted(
        (k, v) for k, v in r.headers if k.lower() not in IGNORED_HEADER_VALUES))


def compare_response(case, ref_r, nj_r):
    """A list of differences (strings) between Nightjar's answer and the
    reference (or the case's expected answer)."""
    diffs = []
    if case.expect is not None:
        st, msg = case.expect
        if nj_r.status != st:
            diffs.append('status %d, want %d' % (nj_r.status, st))
        if isinstance(msg, re.Pattern):
            # The spec fixes the outcome but not the words.
            try:
                got = json.loads(nj_r.body.decode('utf-8'))['error']
            except (ValueError, KeyError, TypeError):
                got = None
            if got is None or not msg.fullmatch(got):
                diffs.append('body %r does not match %r' % (nj_r.body[:600], msg.pattern))
            msg = got
        else:
            want_body = b'' if msg is None else error_body(msg)
            if nj_r.body != want_body:
                diffs.append('body %r, want %r' % (nj_r.body[:600], want_body[:600]))
        if nj_r.header('Content-Type') != 'application/json':
            diffs.append('Content-Type %r' % nj_r.header('Content-Type'))
        if msg is not None:
            # Header bytes as sent (the harness reads them as latin-1); Go
            # turns CR and LF into spaces.
            want_h = msg.encode('utf-8')[:1024].replace(b'\r', b' ').replace(b'\n', b' ')
            if nj_r.header('X-Influxdb-Error') != want_h.decode('latin-1'):
                diffs.append('X-Influxdb-Error %r, want %r' % (nj_r.header('X-Influxdb-Error'),
                                                               want_h))
        return diffs
    if nj_r.status != ref_r.status:
        diffs.append('status %d, influxd %d' % (nj_r.status, ref_r.status))
    if nj_r.body != ref_r.body:
        diffs.append('body %r, influxd %r' % (nj_r.body[:600], ref_r.body[:600]))
    names_a = sorted({k.lower() for k, _ in ref_r.headers} - FRAMING_HEADERS)
    names_b = sorted({k.lower() for k, _ in nj_r.headers} - FRAMING_HEADERS)
    if names_a != names_b:
        diffs.append('header names %r, influxd %r' % (names_b, names_a))
    for k, v in ref_r.headers:
        if k.lower() in IGNORED_HEADER_VALUES or k.lower() in FRAMING_HEADERS:
            continue
        if nj_r.header(k) is not None and nj_r.header(k) != v:
            diffs.append('header %s %r, influxd %r' % (k, nj_r.header(k)[:300], v[:300]))
    if not (nj_r.header('X-Influxdb-Version') or '').startswith('1.'):
        diffs.append('X-Influxdb-Version %r' % nj_r.header('X-Influxdb-Version'))
    return diffs


def normalize_now(tuples, now_meas, lo, hi):
    """Replaces the time of points of measurements written without a
    timestamp by 'NOW' after checking it lies in [lo, hi]; returns (set,
    problems)."""
    out, bad = set(), []
    for t in tuples:
        if t[1] in now_meas:
            ts = t[6]
            if not (lo <= ts <= hi):
                bad.append('%r: time %d not within [%d, %d]' % (t[:5], ts, lo, hi))
            if t[1].startswith('now_w_prec_s') and ts % 1000000000:
                bad.append('%r: time %d not truncated to seconds' % (t[:5], ts))
            t = t[:6] + ('NOW',)
        out.add(t)
    return out, bad


def fmt_tuple(t):
    db, m, tags, f, ft, v, ts = t
    if ft == 'float' and isinstance(v, int):
        v = '%r (0x%016x)' % (struct.unpack('<d', struct.pack('<Q', v))[0], v)
    else:
        v = repr(v)
        if len(v) > 120:
            v = v[:120] + '...(%d chars)' % len(v)
    tg = ','.join('%s=%s' % kv for kv in tags)
    if len(tg) > 120:
        tg = tg[:120] + '...'
    return '%s %r [%s] %s:%s=%s @%s' % (db, m[:120], tg, f[:80], ft, v, ts)


def test_write_differential():
    ids = [c.id for c in CASES]
    check_eq(len(ids), len(set(ids)), 'case ids are unique')
    check(len(CASES) >= 150, 'at least 150 cases (have %d)' % len(CASES))
    for k in KNOWN_BUGS:
        check(k in ids, 'KNOWN_BUGS names an unknown case %r' % k)
    meas_of = {}
    for c in CASES:
        for m in c.measurements():
            meas_of.setdefault(m, set()).add(c.id)
    now_meas = {m for c in CASES if c.now for m in c.measurements()}

    with Influxd() as ref, Daemon({'storage.retention': 'INF', 'databases': list(DBS)},
                                  name='nightjar') as nj:
        for db in DBS:
            ref.query('CREATE DATABASE %s' % quote_ident(db))
        t_lo = time.time_ns()
        failures, known = [], []
        for c in CASES:
            ref_r = None
            if c.ref != 'skip':
                ref_r = send(ref, *c.request(c.ref))
            nj_r = send(nj, *c.request())
            diffs = compare_response(c, ref_r, nj_r)
            if not diffs and c.id in KNOWN_BUGS:
                print('KNOWN_BUGS %s now answers like the reference: remove it from '
                      'KNOWN_BUGS' % c.id)
            if diffs:
                path, body, headers = c.request()
                msg = ('case %s: POST %s headers=%r body=%r\n    nightjar: %s\n    %s: %s\n'
                       '    ' % (c.id, path, headers, body[:300], show(nj_r),
                                 'influxd' if c.expect is None else 'expected',
                                 show(ref_r) if c.expect is None else repr(c.expect))
                       + '\n    '.join(diffs))
                (known if c.id in KNOWN_BUGS else failures).append(msg)
        t_hi = time.time_ns()
        # Shown now, so they are visible even if reading the data fails.
        for msg in failures:
            print('RESPONSE DIFFERENCE ' + msg)
        # The stored points, three ways: Nightjar's /query (the same
        # statements as for influxd), `nightjar dump` after kill -9 (the
        # WAL as it was), and `nightjar dump` after a restart (replay) and a
        # clean stop.
        want, via_query = set(), set()
        for db in DBS:
            want |= influx_tuples(ref, db)
            via_query |= influx_tuples(nj, db)
        for c in CASES:
            want |= set(c.extra)
        nj.kill9()
        via_crash = set()
        for db in DBS:
            via_crash |= dump_tuples(nj.data_dir, db)
        nj.start()
        nj.stop()
        via_dump = set()
        for db in DBS:
            via_dump |= dump_tuples(nj.data_dir, db)
        # (without --db: every database but the daemon's own _internal)
        via_dump_all = {t for t in dump_tuples(nj.data_dir) if t[0] != '_internal'}
        window = (t_lo - 1000000000, t_hi + 1000000000)
        want, bad = normalize_now(want, now_meas, *window)
        failures += ['influxd now-point: ' + b for b in bad]
        # Stored points are left out only for measurements that no other
        # case writes.
        known_meas = {m for m, cids in meas_of.items() if cids <= set(KNOWN_BUGS)}
        for view, got in (('nightjar dump after a restart', via_dump),
                          ('nightjar dump of every database', via_dump_all),
                          ('nightjar dump after kill -9', via_crash),
                          ('nightjar /query', via_query)):
            got, bad = normalize_now(got, now_meas, *window)
            failures += ['%s now-point: %s' % (view, b) for b in bad]
            for label, tuples in (('stored by influxd, missing from ' + view, want - got),
                                  ('in ' + view + ', not stored by influxd', got - want)):
                lines = sorted(fmt_tuple(t) for t in tuples if t[1] not in known_meas)
                klines = sorted(fmt_tuple(t) for t in tuples if t[1] in known_meas)
                if lines:
                    failures.append('%s (%d):\n    %s' % (label, len(lines),
                                                          '\n    '.join(lines[:60])))
                if klines:
                    known.append('%s, known bugs (%d):\n    %s' % (
                        label, len(klines), '\n    '.join(klines[:20])))
            print('%s: %d values (influxd %d)' % (view, len(got), len(want)))
        print('%d cases' % len(CASES))
        for k in known:
            print('KNOWN BUG (in KNOWN_BUGS, not asserted):\n  %s' % k)
        for cid, why in sorted(KNOWN_BUGS.items()):
            print('KNOWN_BUGS %s: %s' % (cid, why))
        if failures:
            fail('%d differences:\n%s' % (len(failures), '\n'.join(failures)))


if __name__ == '__main__':
    run(globals())
