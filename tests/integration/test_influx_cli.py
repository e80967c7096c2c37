#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Issue #5: Debian's `influx` CLI (influxdb-client 1.6) runs a scripted
session against Nightjar, and every command prints exactly what it prints
against a real influxd 1.6 given the same session.

The session, run against both servers in the same order:
  1. `influx -import -path=FILE -precision=s` of a file with a `# DDL`
     section (CREATE DATABASE, CREATE RETENTION POLICY), a `# DML` section
     with `# CONTEXT-DATABASE:` / `# CONTEXT-RETENTION-POLICY:` switches,
     comments, blank lines, escaped and UTF-8 names, every field type and one
     bad line (the importer reports it and exits 1);
  2. a second import without DDL into the same database, 10,001 points of
     one series (several 5,000-line batches; queries over it come back as
     several chunks);
  3. `-execute` with `-database`, `-format column|json|csv`, `-pretty`,
     `-precision rfc3339|ns|u|ms|s|m|h`: SHOW statements, raw and aggregate
     SELECTs (one chunk per series of a GROUP BY, as the CLI asks for
     chunked=true), several statements in one -execute, statement errors,
     parse errors, an unknown database, a write statement.

Compared: exit status, stdout and stderr (the importer's log timestamps,
on both, are masked).  Every line the CLI prints comes from the server's JSON
(numbers printed verbatim), so any encoding difference shows here.  Some
answers are also checked against literal expectations, so the test cannot
pass by both servers printing nothing.
"""

import os
import re
import shutil
import subprocess
import tempfile

from nightjar_harness import MULT, Daemon, Influxd, check, check_eq, fail, run

INFLUX_CLI = shutil.which("influx") or "/usr/bin/influx"

IMPORT1 = r"""# DDL
CREATE DATABASE cli
CREATE RETENTION POLICY "two days" ON cli DURATION 2d REPLICATION 1 SHARD DURATION 1d

# DML
# CONTEXT-DATABASE: cli
# CONTEXT-RETENTION-POLICY: autogen
# a comment line inside DML
weather,city=Oslo temp=-3.5,hum=80i,ok=true,note="cold, \"dry\"" 1704067200
weather,city=Oslo temp=-4.25,hum=82i,ok=false 1704067260

weather,city=São\ Paulo temp=27.5,hum=60i,note="<hot> & humid" 1704067200
weather,city=Tromsø temp=-11,hum=90i 1704067230
weather,city=bad temp= 1704067200
cpu\ load,host=a\,b,dc=x\=y v=0.000001,w=1e21,i=-9223372036854775808i 1704067200
温度,城市=北京 值=21.5,文字="ü" 1704067200
# CONTEXT-RETENTION-POLICY: two days
weather,city=Oslo temp=1 %(recent)d
"""


def long_import():
    lines = ["# DML", "# CONTEXT-DATABASE: cli"]
    for k in range(10001):
        lines.append("long,k=a v=%di %d" % (k % 13, 1704067200 + k))
    return "\n".join(lines) + "\n"


# (args, expectation substring in stdout or None)
EXECUTE = [
    (["-execute", "SHOW DATABASES"], "cli"),
    (["-execute", "SHOW DATABASES", "-format", "json"], '"databases"'),
    (["-execute", "SHOW DATABASES", "-format", "csv"], "databases,"),
    (["-execute", "SHOW RETENTION POLICIES ON cli"], "two days"),
    (["-database", "cli", "-execute", "SHOW RETENTION POLICIES"], "168h0m0s"),
    (["-database", "cli", "-execute", "SHOW MEASUREMENTS"], "weather"),
    (["-database", "cli", "-execute", "SHOW MEASUREMENTS", "-format", "csv"], "cpu load"),
    (["-database", "cli", "-execute", "SHOW TAG KEYS"], "city"),
    (["-database", "cli", "-execute", "SHOW TAG VALUES WITH KEY = city", "-format", "json"], "São Paulo"),
    (["-database", "cli", "-execute", "SHOW TAG VALUES FROM weather WITH KEY = city", "-format", "csv"], "Tromsø"),
    (["-database", "cli", "-execute", "SHOW FIELD KEYS"], "integer"),
    (["-database", "cli", "-execute", "SHOW FIELD KEYS FROM weather", "-format", "json", "-pretty"], "fieldType"),
    (["-database", "cli", "-execute", "SHOW SERIES"], "cpu\\ load,dc=x\\=y,host=a\\,b"),
    (["-database", "cli", "-execute", "SHOW SERIES CARDINALITY"], None),
    (["-database", "cli", "-execute", "SELECT * FROM weather"], "Oslo"),
    (["-database", "cli", "-execute", "SELECT * FROM weather", "-precision", "rfc3339"], "2024-01-01T00:00:00Z"),
    (["-database", "cli", "-execute", "SELECT * FROM weather", "-format", "json"], "\\u003chot\\u003e"),
    (["-database", "cli", "-execute", "SELECT * FROM weather", "-format", "json", "-pretty"], None),
    (["-database", "cli", "-execute", "SELECT * FROM weather", "-format", "csv"], '"cold, ""dry"""'),
    (["-database", "cli", "-execute", "SELECT * FROM weather GROUP BY city"], "tags: city=Oslo"),
    (["-database", "cli", "-execute", "SELECT * FROM weather GROUP BY city", "-format", "csv"], None),
    (["-database", "cli", "-execute", "SELECT * FROM weather GROUP BY city", "-format", "json"], None),
    (["-database", "cli", "-execute", "SELECT * FROM \"cpu load\"", "-format", "json"], "1e+21"),
    (["-database", "cli", "-execute", "SELECT * FROM \"cpu load\"", "-format", "csv"], None),
    (["-database", "cli", "-execute", "SELECT * FROM \"cpu load\""], None),
    (["-database", "cli", "-execute", "SELECT * FROM \"温度\"", "-precision", "rfc3339"], "北京"),
    (["-database", "cli", "-execute", "SELECT * FROM \"two days\".weather", "-precision", "s"], None),
    (["-database", "cli", "-execute", "SELECT temp FROM weather WHERE city = 'Oslo'", "-precision", "ns"], None),
    (["-database", "cli", "-execute", "SELECT temp FROM weather WHERE city = 'Oslo'", "-precision", "u"], None),
    (["-database", "cli", "-execute", "SELECT temp FROM weather WHERE city = 'Oslo'", "-precision", "ms"], None),
    (["-database", "cli", "-execute", "SELECT temp FROM weather WHERE city = 'Oslo'", "-precision", "s"], "1704067260"),
    (["-database", "cli", "-execute", "SELECT temp FROM weather WHERE city = 'Oslo'", "-precision", "m"], None),
    (["-database", "cli", "-execute", "SELECT temp FROM weather WHERE city = 'Oslo'", "-precision", "h"], None),
    (["-database", "cli", "-execute",
      "SELECT mean(temp), max(hum), count(note) FROM weather WHERE time >= 1704067200s AND time < 1704067320s "
      "GROUP BY time(1m), city fill(none)", "-precision", "rfc3339"], "mean"),
    (["-database", "cli", "-execute",
      "SELECT mean(temp) FROM weather WHERE time >= 1704067200s AND time < 1704067320s GROUP BY time(30s) fill(0)",
      "-format", "json"], None),
    (["-database", "cli", "-execute",
      "SELECT count(v), sum(v), mean(v) FROM long WHERE time >= 1704067200s AND time <= 1704077200s GROUP BY time(1h)",
      "-precision", "rfc3339"], "count"),
    (["-database", "cli", "-execute", "SELECT v FROM long", "-format", "csv"], None),
    (["-database", "cli", "-execute", "SELECT v FROM long WHERE time > 1704077100s"], None),
    (["-database", "cli", "-execute", "SELECT v FROM long LIMIT 3; SELECT count(v) FROM long; SHOW MEASUREMENTS"], None),
    (["-database", "cli", "-execute", "SELECT v FROM long LIMIT 2; SELECT mean(note) FROM weather; SHOW DATABASES"], None),
    (["-database", "cli", "-execute", "SELECT mean(note) FROM weather"], None),
    (["-database", "cli", "-execute", "SELECT mean(note) FROM weather", "-format", "json"], None),
    (["-database", "cli", "-execute", "SELEC * FROM weather"], None),
    (["-database", "cli", "-execute", "SELECT * FROM weather WHERE", "-format", "csv"], None),
    (["-database", "nodb", "-execute", "SELECT * FROM weather"], None),
    (["-execute", "SELECT * FROM weather"], None),
    (["-execute", "SHOW TAG KEYS"], None),
    (["-database", "cli", "-execute", "SELECT * FROM nosuch"], None),
    (["-database", "cli", "-execute", "CREATE DATABASE cli2"], None),
    (["-execute", "SHOW DATABASES", "-format", "column"], "cli2"),
]

_LOGSTAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", re.M)


def influx(port, args, timeout=60):
    p = subprocess.run([INFLUX_CLI, "-host", "127.0.0.1", "-port", str(port)] + args,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout * MULT)
    return (p.returncode, _LOGSTAMP.sub("<time> ", p.stdout.decode("utf-8", "replace")),
            _LOGSTAMP.sub("<time> ", p.stderr.decode("utf-8", "replace")))


def show(r):
    return "exit %d\n--- stdout\n%s--- stderr\n%s" % r


def test_influx_cli_session():
    check(os.access(INFLUX_CLI, os.X_OK), "influx CLI not found (Debian influxdb-client)")
    work = tempfile.mkdtemp(prefix="nightjar-cli-")
    try:
        import time
        f1 = os.path.join(work, "import1.txt")
        with open(f1, "w", encoding="utf-8") as f:
            # A point an hour ago for the 2-day policy (its shard must not
            # be expired on either side).
            f.write(IMPORT1 % {"recent": int(time.time()) - 3600})
        f2 = os.path.join(work, "import2.txt")
        with open(f2, "w") as f:
            f.write(long_import())
        steps = [(["-import", "-path=" + f1, "-precision=s"], "Processed 2 commands"),
                 (["-import", "-path=" + f2, "-precision=s"], "Processed 10001 inserts")]
        steps += EXECUTE
        with Influxd() as ref, Daemon({"storage.retention": "INF"}) as d:
            diffs = []
            for args, want in steps:
                label = " ".join(a if a.startswith("-") else repr(a) for a in args)
                a = influx(ref.port, args)
                b = influx(d.port, args)
                if want is not None:
                    # The importer logs its counts on stderr.
                    text = a[1] + a[2]
                    check(want in text, "influxd's answer to %s lacks %r:\n%s" % (label, want, show(a)))
                if a != b:
                    diffs.append("%s\n  influxd:\n%s\n  nightjar:\n%s" % (label, show(a), show(b)))
            check(d.running(), "nightjar died during the session")
            # The importer's outcome, literally (same on both: checked above).
            rc, out, err = influx(d.port, ["-database", "cli", "-execute",
                                           "SELECT count(v) FROM long", "-format", "csv"])
            check_eq((rc, out), (0, "name,time,count\nlong,0,10001\n"), "long series count")
            print("influx CLI: %d commands, %d differ" % (len(steps), len(diffs)))
            if diffs:
                fail("%d of %d CLI commands print differently:\n%s" %
                     (len(diffs), len(steps), "\n".join(diffs)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run(globals())
