#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Random differential writes against a real influxd 1.6, run by hand.

Known and left out of the generator: a backslash right before a delimiter
(1.6 treats the delimiter as escaped, and its series keys then disagree with
its own measurement names); text after a closing string quote (1.6 keeps
`"a"x` as the string `a"`; influx-compat.md 1.1 has us reject the line).

Sends both servers the same randomly generated /write batches (valid
lines with every field type and escape, and broken ones: bad numbers,
missing fields, type conflicts, bad escapes, bad timestamps), compares
status and body of every answer, then compares what each stored: SHOW
MEASUREMENTS, SHOW FIELD KEYS and SELECT * ... GROUP BY * per measurement
(epoch=ns).  Prints every difference; what it finds belongs in
tests/integration/test_write_diff.py once understood.

    python3 tests/differential/random_write_diff.py [--seed N] [--batches N]
        [--nightjar build/nightjar]
"""
import argparse
import json
import os
import random
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))

import nightjar_harness as harness  # noqa: E402
from nightjar_harness import Daemon, Influxd  # noqa: E402

import time as _time
# Near now, so that lines without a timestamp (server time) and with one
# land in the same shard group: field types are per shard in 1.6, per
# retention policy here (deliberate difference 6).
T0 = (int(_time.time()) - 7200) * 10**9

MEAS = ["cpu", "m e", "m,x", "温度", "a=b", "esc\\x", "_m", "m\"q"]
TAGK = ["host", "region", "t k", "t,k", "t=k", "ü"]
TAGV = ["a", "b c", "x,y", "p=q", "ü✓", "v\\y", "1"]
FIELDK = ["v", "f 1", "f,2", "f=3", "s", "b", "i", "u8"]


def esc_m(s):
    return s.replace(",", "\\,").replace(" ", "\\ ")


def esc_k(s):
    return s.replace(",", "\\,").replace(" ", "\\ ").replace("=", "\\=")


def field_val(rng, k):
    # one type per key, so that most lines agree; sometimes the other type
    kind = {"v": "f", "f 1": "f", "f,2": "i", "f=3": "f", "s": "s", "b": "b", "i": "i", "u8": "f"}[k]
    if rng.random() < 0.05:
        kind = rng.choice("fisb")
    if kind == "f":
        return rng.choice(["1", "-0", "0.5", "1e3", "-1.25E-2", "3.141592653589793", "1.7976931348623157e308",
                           "5e-324", "42", ".5", "+1"])
    if kind == "i":
        return rng.choice(["1i", "-5i", "9223372036854775807i", "-9223372036854775808i", "0i"])
    if kind == "s":
        return rng.choice(['"x"', '""', '"a \\"q\\" b"', '"tab\tin"', '"back\\\\slash"', '"ü✓"', '"line\nbreak"'])
    return rng.choice(["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"])


def good_line(rng, i):
    m = esc_m(rng.choice(MEAS))
    tags = rng.sample(TAGK, rng.randint(0, 3))
    ts = "".join(",%s=%s" % (esc_k(k), esc_k(rng.choice(TAGV))) for k in tags)
    fk = rng.sample(FIELDK, rng.randint(1, 3))
    fs = ",".join("%s=%s" % (esc_k(k), field_val(rng, k)) for k in fk)
    # (server-time lines would store different times on the two servers)
    t = rng.choice([" %d" % (T0 + i * 10**9), " %d" % (T0 + rng.randint(0, 5) * 10**9)])
    return "%s%s %s%s" % (m, ts, fs, t)


BAD = [
    "cpu", "cpu ", "cpu v=", "cpu v=1 abc", "cpu v=1i2", "cpu v=1.2.3", "cpu v=tru", "cpu,host v=1",
    "cpu,=a v=1", "cpu v=\"unterminated", "cpu v=1 1.5", "cpu v=1 99999999999999999999",
    ",t=a v=1", "cpu,t=a", "cpu v=1,", "cpu v=1,,w=2", "cpu =1", "cpu v=9223372036854775808i",
    "cpu v=1e400", "cpu v=-", "cpu v=1 -", "cpu\\ v=1", "cpu v=1 1 1",
    "# a comment", "", "   ", "cpu v=1\r",
]


def bad_line(rng):
    return rng.choice(BAD)


def send(srv, body, params):
    path = "/write?" + urllib.parse.urlencode(params)
    return srv.http("POST", path, body.encode())


def stored(srv):
    out = {}
    r = srv.http("GET", "/query?db=db&q=" + urllib.parse.quote("SHOW MEASUREMENTS"))
    out["measurements"] = r.body.decode()
    try:
        names = [v[0] for v in json.loads(r.body)["results"][0]["series"][0]["values"]]
    except (KeyError, IndexError, ValueError):
        names = []
    for n in names:
        q = 'SHOW FIELD KEYS FROM "%s"' % n.replace('"', '\\"')
        out["fields " + n] = srv.http("GET", "/query?db=db&q=" + urllib.parse.quote(q)).body.decode()
        q = 'SELECT * FROM "%s" GROUP BY *' % n.replace('"', '\\"')
        out["select " + n] = srv.http("GET", "/query?db=db&epoch=ns&q=" + urllib.parse.quote(q)).body.decode()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--nightjar", default="")
    a = ap.parse_args()
    if a.nightjar:
        harness.BIN = os.path.abspath(a.nightjar)
    rng = random.Random(a.seed)
    bad = 0
    with Influxd() as ref, Daemon({"storage.retention": "INF"}) as d:
        for srv in (ref, d):
            srv.http("POST", "/query?q=" + urllib.parse.quote("CREATE DATABASE db"))
        for b in range(a.batches):
            lines = [bad_line(rng) if rng.random() < 0.15 else good_line(rng, b * 20 + i)
                     for i in range(rng.randint(1, 12))]
            body = "\n".join(lines)
            params = {"db": "db"}
            if rng.random() < 0.2:
                params["precision"] = rng.choice(["n", "u", "ms", "s", "m", "h"])
            ra, rb = send(ref, body, params), send(d, body, params)
            if (ra.status, ra.body) != (rb.status, rb.body):
                bad += 1
                print("DIFF batch %d %r\n  body %r\n  influxd  %d %s\n  nightjar %d %s\n" % (
                    b, params, body[:500], ra.status, ra.body[:300], rb.status, rb.body[:300]))
        sa, sb = stored(ref), stored(d)
        for k in sorted(set(sa) | set(sb)):
            if sa.get(k) != sb.get(k):
                bad += 1
                print("STORED DIFF %s\n  influxd  %s\n  nightjar %s\n" % (
                    k, (sa.get(k) or "")[:600], (sb.get(k) or "")[:600]))
        alive = d.running()
    print("random write diff: %d batches, %d differences, nightjar %s" %
          (a.batches, bad, "alive" if alive else "DIED"))
    return 1 if bad or not alive else 0


if __name__ == "__main__":
    sys.exit(main())
