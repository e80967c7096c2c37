// SPDX-License-Identifier: MIT
/*
 * Unit tests of the InfluxQL parser (query/iql.h): parse errors byte for
 * byte as influxd 1.6.7 prints them, AST fields for the statement shapes
 * Grafana and the InfluxDB clients send (spec §5.12, §5.13), numbers and
 * durations, bound parameters, multi-statement queries, limits.
 *
 * Every expected error below was observed by sending the query to a real
 * influxd 1.6.7 (GET /query) and removing the "error parsing query: "
 * prefix from its answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query/iql.h"

static const struct {
    const char *q;
    const char *err;
} influx_errors[] = {
    { "SELECT",
      "found EOF, expected identifier, string, number, bool at line 1, char 8" },
    { "SELECT FROM cpu",
      "found FROM, expected identifier, string, number, bool at line 1, char 8" },
    { "SELECT * FROM",
      "found EOF, expected identifier at line 1, char 15" },
    { "SELECT * FROM cpu WHERE",
      "found EOF, expected identifier, string, number, bool at line 1, char 25" },
    { "SELECT * FROM cpu WHERE host =",
      "found EOF, expected identifier, string, number, bool at line 1, char 31" },
    { "SELECT mean(value FROM cpu",
      "found FROM, expected ) at line 1, char 19" },
    { "SELECT mean(value) FROM cpu GROUP BY",
      "found EOF, expected identifier, string, number, bool at line 1, char 38" },
    { "SELECT mean(value) FROM cpu GROUP time(1m)",
      "found time, expected BY at line 1, char 35" },
    { "SELECT * FROM cpu LIMIT",
      "found EOF, expected integer at line 1, char 25" },
    { "SELECT * FROM cpu LIMIT -1",
      "found -, expected integer at line 1, char 25" },
    { "SELECT * FROM cpu LIMIT 1.5",
      "found 1.5, expected integer at line 1, char 25" },
    { "SELECT * FROM cpu ORDER BY value",
      "only ORDER BY time supported at this time" },
    { "SELECT * FROM cpu ORDER time",
      "found time, expected BY at line 1, char 25" },
    { "SELECT * FROM cpu ORDER BY time DESC, host",
      "only ORDER BY time supported at this time" },
    { "SELECT * FROM cpu WHERE time > now() - 1y",
      "invalid duration" },
    { "SELECT * FROM cpu WHERE host = 'a",
      "found a, expected identifier, string, number, bool at line 1, char 31" },
    { "SELECT * FROM cpu WHERE host = \"a",
      "found a, expected identifier, string, number, bool at line 1, char 31" },
    { "SELECT * FROM cpu WHERE host =~ /a",
      "bad regex:  at line 1, char 32" },
    { "SELECT * FROM cpu WHERE host =~ /(a/",
      "error parsing regexp: missing closing ): `(a` at line 1, char 32" },
    { "SELECT * FROM cpu WHERE host =~ 'a'",
      "found a, expected regex at line 1, char 32" },
    { "SELECT * FROM cpu WHERE host = 'a\\q'",
      "found \\q, expected identifier, string, number, bool at line 1, char 35" },
    { "SELECT value FROM cpu fill(foo)",
      "expected number argument in fill()" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m) fill(foo)",
      "expected number argument in fill()" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m) fill()",
      "fill requires an argument, e.g.: 0, null, none, previous, linear" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m) fill",
      "fill must be a function call" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m) tz('Nope/Zone')",
      "unable to find time zone Nope/Zone" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m) tz(1)",
      "expected string argument in tz()" },
    { "SELECT mean(value) FROM cpu tz()",
      "tz requires exactly one argument" },
    { "SELECT * FROM cpu SLIMIT x",
      "found x, expected integer at line 1, char 26" },
    { "SELECT value = 1 FROM cpu",
      "invalid operator = in SELECT clause at line 1, char 8; operator is intended for WHERE clause" },
    { "SELECT value FROM cpu WHERE host = 'a' GROUP BY time(10s) fill(null) LIMIT 10 tz('UTC') extra",
      "found extra, expected ; at line 1, char 89" },
    { "SELECT value FROM cpu; SELECT",
      "found EOF, expected identifier, string, number, bool at line 1, char 31" },
    { "SELECT value FROM cpu SELECT value FROM cpu",
      "found SELECT, expected ; at line 1, char 23" },
    { "SELECT a FROM b.c.d.e",
      "too many segments in \"b\".\"c\".\"d\".e at line 1, char 1" },
    { "SELECT 1.5e9 FROM cpu",
      "found e9, expected FROM at line 1, char 11" },
    { "SELECT * FROM cpu WHERE time > 1.5e9s",
      "found e9s, expected ; at line 1, char 35" },
    { "SELECT * FROM cpu WHERE time > 10x",
      "invalid duration" },
    { "SELECT * FROM cpu WHERE $x = 1",
      "missing parameter: x" },
    { "SELECT * FROM cpu WHERE host = $",
      "empty bound parameter" },
    { "SELECT \"a FROM cpu",
      "found a FROM cpu, expected identifier, string, number, bool at line 1, char 7" },
    { "SELECT * FROM \"cpu",
      "found cpu, expected identifier at line 1, char 14" },
    { "SELECT * FROM cpu WHERE host = 'a' AND",
      "found EOF, expected identifier, string, number, bool at line 1, char 40" },
    { "SELECT * FROM cpu WHERE (host = 'a'",
      "found EOF, expected ) at line 1, char 36" },
    { "SELECT * FROM cpu WHERE host = 'a')",
      "found ), expected ; at line 1, char 35" },
    { "SELECT a::foo FROM cpu",
      "found foo, expected float, integer, unsigned, string, boolean, field, tag at line 1, char 11" },
    { "SELECT *::foo FROM cpu",
      "found foo, expected field, tag at line 1, char 11" },
    { "SELECT - FROM cpu",
      "found FROM, expected identifier, number, duration, ( at line 1, char 10" },
    { "SELECT DISTINCT FROM cpu",
      "found FROM, expected identifier at line 1, char 17" },
    { "SELECT mean(value) FROM (SELECT value FROM cpu",
      "found EOF, expected ) at line 1, char 48" },
    { "SELECT mean(value) FROM (SHOW DATABASES)",
      "found SHOW, expected SELECT at line 1, char 26" },
    { "SELECT * INTO FROM cpu",
      "found FROM, expected identifier at line 1, char 15" },
    { "SELECT ! FROM cpu",
      "found !, expected identifier, string, number, bool at line 1, char 8" },
    { "SELECT a FROM cpu WHERE a !! 1",
      "found !, expected ; at line 1, char 27" },
    { "SELECT # FROM cpu",
      "found #, expected identifier, string, number, bool at line 1, char 8" },
    { "SELECT a FROM cpu /* unterminated",
      "found  , expected regex at line 1, char 18" },
    { "SHOW",
      "found EOF, expected CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS at line 1, char 6" },
    { "SHOW TAG",
      "found EOF, expected KEY, KEYS, VALUES at line 1, char 10" },
    { "SHOW TAG VALUES",
      "found EOF, expected WITH at line 1, char 17" },
    { "SHOW TAG VALUES FROM cpu",
      "found EOF, expected WITH at line 1, char 26" },
    { "SHOW TAG VALUES WITH KEY",
      "found EOF, expected IN, =, =~ at line 1, char 26" },
    { "SHOW TAG VALUES WITH KEY host",
      "found host, expected IN, =, =~ at line 1, char 26" },
    { "SHOW TAG VALUES WITH KEY = 'host'",
      "found host, expected identifier at line 1, char 27" },
    { "SHOW TAG VALUES WITH KEY IN host",
      "found host, expected ( at line 1, char 29" },
    { "SHOW TAG KEY",
      "found EOF, expected EXACT, CARDINALITY at line 1, char 14" },
    { "SHOW FIELD",
      "found EOF, expected KEY, KEYS at line 1, char 12" },
    { "SHOW FIELD KEY x",
      "found x, expected EXACT, CARDINALITY at line 1, char 16" },
    { "SHOW MEASUREMENTS WITH",
      "found EOF, expected MEASUREMENT at line 1, char 24" },
    { "SHOW MEASUREMENTS WITH MEASUREMENT",
      "found EOF, expected =, =~ at line 1, char 36" },
    { "SHOW MEASUREMENTS WITH MEASUREMENT != \"x\"",
      "found !=, expected =, =~ at line 1, char 36" },
    { "SHOW MEASUREMENTS ON *",
      "found *, expected identifier at line 1, char 22" },
    { "SHOW MEASUREMENTS ON",
      "found EOF, expected identifier at line 1, char 22" },
    { "SHOW MEASUREMENT",
      "found EOF, expected EXACT, CARDINALITY at line 1, char 18" },
    { "SHOW MEASUREMENT EXACT",
      "found EOF, expected CARDINALITY at line 1, char 24" },
    { "SHOW RETENTION",
      "found EOF, expected POLICIES at line 1, char 16" },
    { "SHOW RETENTION POLICIES ON",
      "found EOF, expected identifier at line 1, char 28" },
    { "SHOW DATABASES extra",
      "found extra, expected ; at line 1, char 16" },
    { "SHOW USERS x",
      "found x, expected ; at line 1, char 12" },
    { "SHOW QUERIES x",
      "found x, expected ; at line 1, char 14" },
    { "SHOW SHARD",
      "found EOF, expected GROUPS at line 1, char 12" },
    { "SHOW GRANTS",
      "found EOF, expected FOR at line 1, char 13" },
    { "SHOW STATS FOR",
      "found EOF, expected string at line 1, char 16" },
    { "SHOW DIAGNOSTICS FOR x",
      "found x, expected string at line 1, char 22" },
    { "CREATE",
      "found EOF, expected CONTINUOUS, DATABASE, USER, RETENTION, SUBSCRIPTION at line 1, char 8" },
    { "CREATE DATABASE",
      "found EOF, expected identifier at line 1, char 17" },
    { "CREATE DATABASE my-db",
      "found -, expected ; at line 1, char 19" },
    { "CREATE DATABASE db WITH",
      "found EOF, expected DURATION, NAME, REPLICATION, SHARD at line 1, char 25" },
    { "CREATE DATABASE db WITH DURATION",
      "found EOF, expected duration at line 1, char 34" },
    { "CREATE DATABASE db WITH DURATION 1x",
      "invalid duration at line 1, char 34" },
    { "CREATE DATABASE db WITH DURATION 1h REPLICATION 0",
      "invalid value 0: must be 1 <= n <= 2147483647 at line 1, char 49" },
    { "CREATE DATABASE db WITH REPLICATION x",
      "found x, expected integer at line 1, char 37" },
    { "CREATE DATABASE db WITH NAME",
      "found EOF, expected identifier at line 1, char 30" },
    { "CREATE DATABASE db WITH SHARD 1h",
      "found 1h, expected DURATION at line 1, char 31" },
    { "CREATE RETENTION POLICY",
      "found EOF, expected identifier at line 1, char 25" },
    { "CREATE RETENTION POLICY rp",
      "found EOF, expected ON at line 1, char 28" },
    { "CREATE RETENTION POLICY rp ON",
      "found EOF, expected identifier at line 1, char 31" },
    { "CREATE RETENTION POLICY rp ON db",
      "found EOF, expected DURATION at line 1, char 34" },
    { "CREATE RETENTION POLICY rp ON db DURATION",
      "found EOF, expected duration at line 1, char 43" },
    { "CREATE RETENTION POLICY rp ON db DURATION 1h",
      "found EOF, expected REPLICATION at line 1, char 45" },
    { "CREATE RETENTION POLICY rp ON db DURATION 1h REPLICATION",
      "found EOF, expected integer at line 1, char 58" },
    { "CREATE RETENTION POLICY rp ON db DURATION 1h REPLICATION 1 SHARD",
      "found EOF, expected DURATION at line 1, char 66" },
    { "CREATE RETENTION POLICY rp ON db DURATION 1h REPLICATION 1 SHARD DURATION INF",
      "invalid duration INF for shard duration at line 1, char 75" },
    { "CREATE RETENTION POLICY rp ON db DURATION 1h REPLICATION 1 DEFAULT extra",
      "found extra, expected ; at line 1, char 68" },
    { "ALTER",
      "found EOF, expected RETENTION at line 1, char 7" },
    { "ALTER RETENTION POLICY",
      "found EOF, expected identifier at line 1, char 24" },
    { "ALTER RETENTION POLICY rp ON db",
      "found EOF, expected DURATION, REPLICATION, SHARD, DEFAULT at line 1, char 33" },
    { "ALTER RETENTION POLICY rp ON db DURATION 1h DURATION 2h",
      "found duplicate DURATION option at line 1, char 45" },
    { "ALTER RETENTION POLICY rp ON db foo",
      "found foo, expected DURATION, REPLICATION, SHARD, DEFAULT at line 1, char 33" },
    { "DROP",
      "found EOF, expected CONTINUOUS, DATABASE, MEASUREMENT, RETENTION, SERIES, SHARD, SUBSCRIPTION, USER at line 1, char 6" },
    { "DROP DATABASE",
      "found EOF, expected identifier at line 1, char 15" },
    { "DROP MEASUREMENT",
      "found EOF, expected identifier at line 1, char 18" },
    { "DROP SERIES",
      "found EOF, expected FROM, WHERE at line 1, char 13" },
    { "DROP SERIES FROM db.rp.m",
      "retention policy not supported at line 1, char 1" },
    { "DROP SERIES FROM rp.m",
      "retention policy not supported at line 1, char 1" },
    { "DROP RETENTION POLICY rp",
      "found EOF, expected ON at line 1, char 26" },
    { "DROP USER",
      "found EOF, expected identifier at line 1, char 11" },
    { "DELETE",
      "found EOF, expected FROM, WHERE at line 1, char 8" },
    { "DELETE FROM db.rp.m",
      "retention policy not supported at line 1, char 1" },
    { "DELETE x",
      "found x, expected FROM, WHERE at line 1, char 8" },
    { "CREATE USER",
      "found EOF, expected identifier at line 1, char 13" },
    { "CREATE USER bob",
      "found EOF, expected WITH at line 1, char 17" },
    { "CREATE USER bob WITH PASSWORD",
      "found EOF, expected string at line 1, char 31" },
    { "CREATE USER bob WITH PASSWORD pw",
      "found pw, expected string at line 1, char 31" },
    { "CREATE USER bob WITH PASSWORD 'pw' WITH",
      "found EOF, expected ALL at line 1, char 41" },
    { "GRANT",
      "found EOF, expected READ, WRITE, ALL [PRIVILEGES] at line 1, char 7" },
    { "GRANT READ",
      "found EOF, expected ON at line 1, char 12" },
    { "GRANT READ ON db",
      "found EOF, expected TO at line 1, char 18" },
    { "GRANT READ ON db TO",
      "found EOF, expected identifier at line 1, char 21" },
    { "GRANT ALL",
      "found EOF, expected ON, TO at line 1, char 11" },
    { "GRANT ALL PRIVILEGES x",
      "found x, expected ON, TO at line 1, char 22" },
    { "REVOKE ALL x",
      "found x, expected ON, FROM at line 1, char 12" },
    { "REVOKE WRITE FROM bob",
      "found FROM, expected ON at line 1, char 14" },
    { "SET",
      "found EOF, expected PASSWORD at line 1, char 5" },
    { "SET PASSWORD",
      "found EOF, expected FOR at line 1, char 14" },
    { "SET PASSWORD FOR bob",
      "found EOF, expected = at line 1, char 22" },
    { "SET PASSWORD FOR bob = x",
      "found x, expected string at line 1, char 24" },
    { "KILL",
      "found EOF, expected QUERY at line 1, char 6" },
    { "KILL QUERY",
      "found EOF, expected integer at line 1, char 12" },
    { "KILL QUERY x",
      "found x, expected integer at line 1, char 12" },
    { "KILL QUERY -1",
      "found -, expected integer at line 1, char 12" },
    { "KILL QUERY 99999999999999999999999",
      "strconv.ParseUint: parsing \"99999999999999999999999\": value out of range at line 1, char 12" },
    { "EXPLAIN",
      "found EOF, expected SELECT at line 1, char 9" },
    { "EXPLAIN SHOW",
      "found SHOW, expected SELECT at line 1, char 9" },
    { "SELECT  FROM \"\" WHERE time > now() - 1h",
      "found FROM, expected identifier, string, number, bool at line 1, char 9" },
    { "SELECT \"my field\" AS \"my alias\", \"select\", \"a\"\"b\" FROM \"my-measurement\"",
      "found b, expected FROM at line 1, char 47" },
    { "SELECT value FROM m WHERE s = 'it''s' OR s = 'a\\'b\\\\c\\nd' OR s = 'tab\there'",
      "found s, expected ; at line 1, char 34" },
    { "SELECT value FROM m WHERE a =~ /\\d+\\s*/ AND b =~ /a|b/ AND c =~ /\\\\/",
      "bad regex:  at line 1, char 64" },
    { "SELECT value FROM m WHERE c =~ /a\\\\/ OR d =~ /\\//",
      "found \\, expected ; at line 1, char 47" },
    { "SELECT a FROM m WHERE c =~ /[a/",
      "error parsing regexp: missing closing ]: `[a` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a**/",
      "error parsing regexp: invalid nested repetition operator: `**` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a)/",
      "error parsing regexp: unexpected ): `a)` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?=a)/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?=` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\1/",
      "error parsing regexp: invalid escape sequence: `\\1` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a{1001}/",
      "error parsing regexp: invalid repeat count: `{1001}` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /x\\/",
      "bad regex:  at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a+*/",
      "error parsing regexp: invalid nested repetition operator: `+*` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a{2}{3}/",
      "error parsing regexp: invalid nested repetition operator: `{2}{3}` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a{2,1}/",
      "error parsing regexp: invalid repeat count: `{2,1}` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?!x)/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?!` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?<=x)/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?<` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /[\\1]/",
      "error parsing regexp: invalid escape sequence: `\\1` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /*a/",
      "error parsing regexp: missing argument to repetition operator: `*` at line 1, char 27" },
    { "SELECT value\nFROM cpu\nWHERE",
      "found EOF, expected identifier, string, number, bool at line 3, char 7" },
    { "SELECT value\r\nFROM cpu WHERE x =\r\n",
      "found EOF, expected identifier, string, number, bool at line 2, char 19" },
    { "SELECT \"h\303\251llo\" FROM cpu WHERE x = 'caf\303\251' AND",
      "found EOF, expected identifier, string, number, bool at line 1, char 46" },
    { "SELECT value FROM cpu WHERE\thost\t=",
      "found EOF, expected identifier, string, number, bool at line 1, char 35" },
    { "-- only a comment\nSELECT",
      "found EOF, expected identifier, string, number, bool at line 2, char 8" },
    { "/* c */ SELEC",
      "found SELEC, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 9" },
    { "SELECT a FROM b;;;SELECT",
      "found EOF, expected identifier, string, number, bool at line 1, char 26" },
    { "SELECT a FROM b WHERE c = 1 /* x */ )",
      "found ), expected ; at line 1, char 37" },
    { "\302\265",
      "found \302\265, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1" },
    { "SELECT 1\302\265s FROM m WHERE",
      "invalid duration" },
    { "SELECT value FROM cpu WHERE time > 1\302\265x",
      "invalid duration" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1y)",
      "invalid duration" },
    { "SELECT a FROM m WHERE time > 106752d",
      "overflowed duration 106752d: choose a smaller duration or INF" },
    { "SELECT a FROM m WHERE x = 1e",
      "invalid duration" },
    { "SHOW TAG VALUES WITH KEY = host WHERE",
      "found EOF, expected identifier, string, number, bool at line 1, char 39" },
    { "SHOW MEASUREMENTS WITH MEASUREMENT =~ 'x'",
      "found x, expected identifier at line 1, char 38" },
    { "SHOW TAG VALUES WITH KEY IN (a, 'b')",
      "found b, expected identifier at line 1, char 32" },
    { "SHOW TAG VALUES WITH KEY =~ x",
      "found x, expected regex at line 1, char 29" },
    { "ALTER RETENTION POLICY rp ON db SHARD DURATION INF",
      "invalid duration INF for shard duration at line 1, char 48" },
    { "GRANT WRITE TO bob",
      "found TO, expected ON at line 1, char 13" },
    { "SELECT a FROM m ORDER BY time ASC, time DESC",
      "only ORDER BY time supported at this time" },
    { "SELECT a FROM m ORDER BY TIME",
      "only ORDER BY time supported at this time" },
    { "SELECT a FROM m fill(1) fill(2)",
      "found fill, expected ; at line 1, char 25" },
    { "SELECT a FROM m tz('Europe/Paris') tz('UTC')",
      "found tz, expected ; at line 1, char 36" },
    { "SELECT a FROM m LIMIT 1 LIMIT 2",
      "found LIMIT, expected ; at line 1, char 25" },
    { "SELECT a FROM m OFFSET 1 LIMIT 2",
      "found LIMIT, expected ; at line 1, char 26" },
    { "SELECT a FROM m WHERE a = $\"p q\"",
      "missing parameter: p q" },
    { "SELECT a FROM m GROUP BY time(1m) ORDER BY time DESC fill(0)",
      "found fill, expected ; at line 1, char 54" },
    { "SELECT * FROM \"a\\q\"",
      "found \\q, expected identifier at line 1, char 18" },
    { "SELECT a AS FROM m",
      "found FROM, expected identifier at line 1, char 13" },
    { "SELECT a AS 'x' FROM m",
      "found x, expected identifier at line 1, char 12" },
    { "DROP MEASUREMENT 'x'",
      "found x, expected identifier at line 1, char 17" },
    { "SELECT DISTINCT 'x' FROM m",
      "found x, expected identifier at line 1, char 16" },
    { "SELECT a FROM m WHERE a = -'x'",
      "found x, expected identifier, number, duration, ( at line 1, char 27" },
    { "SELECT a FROM m WHERE a = - -1",
      "found -, expected identifier, number, duration, ( at line 1, char 29" },
    { "SELECT a FROM db.rp.m./x/",
      "found /, expected ; at line 1, char 23" },
    { "SELECT a FROM m.",
      "found EOF, expected identifier at line 1, char 18" },
    { "SELECT a FROM (SELECT b FROM c) AS x",
      "found AS, expected ; at line 1, char 33" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) FROM m GROUP BY time(1m) END",
      "found FROM, expected INTO at line 1, char 55" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m END",
      "found m, expected GROUP BY time(...) at line 1, char 67" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1m)",
      "found EOF, expected END at line 1, char 86" },
    { "CREATE CONTINUOUS QUERY cq ON db RESAMPLE BEGIN",
      "found BEGIN, expected EVERY, FOR at line 1, char 43" },
    { "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY x",
      "found x, expected duration at line 1, char 49" },
    { "CREATE CONTINUOUS QUERY cq ON db RESAMPLE FOR 1m BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1h) END",
      "FOR duration must be >= GROUP BY time duration: must be a minimum of 1h, got 1m" },
    { "CREATE CONTINUOUS QUERY cq ON db SELECT",
      "found SELECT, expected BEGIN at line 1, char 34" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m GROUP BY host END",
      "found host, expected GROUP BY time(...) at line 1, char 78" },
    { "CREATE SUBSCRIPTION s ON db",
      "found EOF, expected . at line 1, char 29" },
    { "CREATE SUBSCRIPTION s ON db . rp DESTINATIONS ALL 'x'",
      "found  , expected . at line 1, char 28" },
    { "CREATE SUBSCRIPTION s ON db.rp DESTINATIONS",
      "found EOF, expected ALL, ANY at line 1, char 45" },
    { "CREATE SUBSCRIPTION s ON db.rp DESTINATIONS SOME",
      "found SOME, expected ALL, ANY at line 1, char 45" },
    { "CREATE SUBSCRIPTION s ON db.rp DESTINATIONS ANY x",
      "found x, expected string at line 1, char 49" },
    { "DROP SUBSCRIPTION s ON db",
      "found EOF, expected . at line 1, char 27" },
    { "DROP SUBSCRIPTION s ON db.",
      "found EOF, expected identifier at line 1, char 27" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1m) END extra",
      "found extra, expected ; at line 1, char 91" },
    { "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 15251w BEGIN",
      "overflowed duration 15251w: choose a smaller duration or INF at line 1, char 49" },
    { "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1h FOR 30m BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1m) END",
      "FOR duration must be >= GROUP BY time duration: must be a minimum of 1h, got 30m" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(v) END",
      "found ), expected GROUP BY time(...), time dimension must have duration argument at line 1, char 84" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m GROUP BY time() END",
      "found ), expected GROUP BY time(...), time dimension expected 1 or 2 arguments at line 1, char 83" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1m) tz('UTC')",
      "found EOF, expected END at line 1, char 96" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT v INTO x FROM m WHERE a = 1",
      "found EOF, expected END at line 1, char 74" },
    { "SELECT a FROM m WHERE c =~ /(\?<n>a)/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?<` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a\\Z/",
      "error parsing regexp: invalid escape sequence: `\\Z` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\e/",
      "error parsing regexp: invalid escape sequence: `\\e` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\cA/",
      "error parsing regexp: invalid escape sequence: `\\c` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?#comment)a/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?#` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\R/",
      "error parsing regexp: invalid escape sequence: `\\R` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\h/",
      "error parsing regexp: invalid escape sequence: `\\h` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?|a|b)/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?|` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a++/",
      "error parsing regexp: invalid nested repetition operator: `++` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\K/",
      "error parsing regexp: invalid escape sequence: `\\K` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /[a-/",
      "error parsing regexp: missing closing ]: `[a-` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /[z-a]/",
      "error parsing regexp: invalid character class range: `z-a` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\8/",
      "error parsing regexp: invalid escape sequence: `\\8` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?P=n)/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?P` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\g1/",
      "error parsing regexp: invalid escape sequence: `\\g` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?x) a b/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?x` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?-)/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?-)` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(\?i/",
      "error parsing regexp: invalid or unsupported Perl syntax: `(\?i` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /(/",
      "error parsing regexp: missing closing ): `(` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a{1001,}/",
      "error parsing regexp: invalid repeat count: `{1001,}` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /[\\b]/",
      "error parsing regexp: invalid escape sequence: `\\b` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /[[:foo:]]/",
      "error parsing regexp: invalid character class range: `[:foo:]` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a|*/",
      "error parsing regexp: missing argument to repetition operator: `*` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a**\?/",
      "error parsing regexp: invalid nested repetition operator: `**\?` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\p{Foo}/",
      "error parsing regexp: invalid character class range: `\\p{Foo}` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\\303\251/",
      "error parsing regexp: invalid escape sequence: `\\\303\251` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /[\303\251-a]/",
      "error parsing regexp: invalid character class range: `\303\251-a` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /a)b/",
      "error parsing regexp: unexpected ): `a)b` at line 1, char 27" },
    { "SELECT a FROM m WHERE c =~ /\\/",
      "bad regex:  at line 1, char 27" },
    { "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1h FOR 30m BEGIN SELECT me INTO x FROM m GROUP BY time(KEY1m) END",
      "time dimension must have duration argument" },
    { "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT me INTO x FROM m GROUP BY time() END",
      "time dimension expected 1 or 2 arguments" },
    { "SELECT mean(\"value\") FROM \"disk\" WHERE $timeFilter GROUP BY time($__interval), * fill(null)",
      "missing parameter: timeFilter" },
    { "SELECT mean(\"value\") FROM \"disk\" WHERE time >= now() - 5m GROUP BY time(${__interval_ms}ms)",
      "empty bound parameter" },
    { "CREATE DATABASE d1 WITH REPLICATION 99999999999",
      "invalid value 99999999999: must be 1 <= n <= 2147483647 at line 1, char 37" },
    { "CREATE DATABASE d1 WITH REPLICATION 99999999999999999999",
      "strconv.Atoi: parsing \"99999999999999999999\": value out of range at line 1, char 37" },
    { "SELECT v FROM m WHERE x = -18446744073709551615",
      "constant -18446744073709551615 underflows int64" },
    { "SELECT v FROM m WHERE x = 18446744073709551616",
      "unable to parse integer at line 1, char 27" },
    { "SELECT v FROM m WHERE time > 9223372036854775808ns",
      "invalid duration" },
    { "SELECT v FROM m WHERE time > 1\302\265s",
      "invalid duration" },
    { "SELECT v FROM m WHERE time > 1hx",
      "invalid duration" },
};

/* Parses q into a; fails the test on error. */
static struct iql_query *parse_ok(struct arena *a, const char *q)
{
    struct iql_query *out = NULL;
    struct err e;
    struct buf lm;
    buf_init(&lm, 0);
    int rc = iql_parse(q, strlen(q), NULL, a, &out, &e, &lm);
    if (rc)
        fail_msg("parse of \"%s\" failed: %s", q, lm.p ? lm.p : e.msg);
    buf_fini(&lm);
    assert_non_null(out);
    return out;
}

static struct iql_stmt *parse_one(struct arena *a, const char *q)
{
    struct iql_query *qq = parse_ok(a, q);
    assert_int_equal(qq->nstmts, 1);
    return qq->stmts[0];
}

static void test_influx_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof influx_errors / sizeof influx_errors[0]; i++) {
        struct arena a;
        arena_init(&a, 0, 0);
        struct iql_query *out = NULL;
        struct err e;
        struct buf lm;
        buf_init(&lm, 0);
        /* influxd trims white space around q before parsing (TrimSpace). */
        const char *q = influx_errors[i].q;
        size_t n = strlen(q);
        while (n > 0 && strchr(" \t\r\n\v\f", q[n - 1]))
            n--;
        while (n > 0 && strchr(" \t\r\n\v\f", q[0]))
            q++, n--;
        int rc = iql_parse(q, n, NULL, &a, &out, &e, &lm);
        if (rc != ERR_PARSE)
            fail_msg("#%zu \"%s\": rc %d, want ERR_PARSE", i, q, rc);
        assert_null(out);
        if (!lm.p || strcmp(lm.p, influx_errors[i].err) != 0)
            fail_msg("#%zu \"%s\":\n  got  \"%s\"\n  want \"%s\"", i, q, lm.p ? lm.p : "",
                     influx_errors[i].err);
        /* The capped message is a prefix of the full one. */
        assert_int_equal(e.code, ERR_PARSE);
        assert_int_equal(strncmp(e.msg, lm.p, strlen(e.msg)), 0);
        buf_fini(&lm);
        arena_fini(&a);
    }
}

static void test_grafana_select_ast(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    struct iql_stmt *st = parse_one(&a,
        "SELECT max(\"usage\") AS \"peak\", mean(\"usage\") * 100 FROM \"autogen\".\"cpu\" "
        "WHERE (\"host\" =~ /^(a|c)$/ AND \"region\" = 'us') AND time >= 1672531200000ms and "
        "time <= 1672531799999ms GROUP BY time(1m, -30s), \"host\"::tag fill(previous) "
        "ORDER BY time DESC limit 100 slimit 5 tz('Europe/Berlin')");
    assert_int_equal(st->kind, IQL_STMT_SELECT);
    const struct iql_select *s = st->select;
    assert_false(s->is_raw);
    assert_int_equal(s->nfields, 2);
    const struct iql_expr *f0 = s->fields[0].expr;
    assert_int_equal(f0->kind, IQL_EXPR_CALL);
    assert_true(sv_eq_cstr(f0->call.name, "max"));
    assert_int_equal(f0->call.nargs, 1);
    assert_int_equal(f0->call.args[0]->kind, IQL_EXPR_VARREF);
    assert_true(sv_eq_cstr(f0->call.args[0]->ref.name, "usage"));
    assert_true(sv_eq_cstr(s->fields[0].alias, "peak"));
    const struct iql_expr *f1 = s->fields[1].expr;
    assert_int_equal(f1->kind, IQL_EXPR_BINARY);
    assert_int_equal(f1->bin.op, IQL_OP_MUL);
    assert_int_equal(f1->bin.rhs->kind, IQL_EXPR_INTEGER);
    assert_int_equal(f1->bin.rhs->i, 100);
    assert_int_equal(s->fields[1].alias.n, 0);

    assert_int_equal(s->nsources, 1);
    assert_int_equal(s->sources[0].kind, IQL_SRC_MEASUREMENT);
    assert_int_equal(s->sources[0].m.db.n, 0);
    assert_true(sv_eq_cstr(s->sources[0].m.rp, "autogen"));
    assert_true(sv_eq_cstr(s->sources[0].m.name, "cpu"));

    /* ((paren) AND time >= ...) AND time <= ... : AND is left-associative */
    const struct iql_expr *c = s->cond;
    assert_int_equal(c->kind, IQL_EXPR_BINARY);
    assert_int_equal(c->bin.op, IQL_OP_AND);
    assert_int_equal(c->bin.rhs->bin.op, IQL_OP_LTE);
    assert_int_equal(c->bin.rhs->bin.rhs->kind, IQL_EXPR_DURATION);
    assert_int_equal(c->bin.rhs->bin.rhs->dur_ns, 1672531799999LL * 1000000);
    const struct iql_expr *l = c->bin.lhs;
    assert_int_equal(l->bin.op, IQL_OP_AND);
    assert_int_equal(l->bin.lhs->kind, IQL_EXPR_PAREN);
    const struct iql_expr *re = l->bin.lhs->paren->bin.lhs;
    assert_int_equal(re->bin.op, IQL_OP_EQREGEX);
    assert_int_equal(re->bin.rhs->kind, IQL_EXPR_REGEX);
    assert_true(sv_eq_cstr(re->bin.rhs->str, "^(a|c)$"));
    const struct iql_expr *eq = l->bin.lhs->paren->bin.rhs;
    assert_int_equal(eq->bin.op, IQL_OP_EQ);
    assert_int_equal(eq->bin.rhs->kind, IQL_EXPR_STRING);
    assert_true(sv_eq_cstr(eq->bin.rhs->str, "us"));

    assert_int_equal(s->ndims, 2);
    const struct iql_expr *t = s->dims[0];
    assert_int_equal(t->kind, IQL_EXPR_CALL);
    assert_true(sv_eq_cstr(t->call.name, "time"));
    assert_int_equal(t->call.nargs, 2);
    assert_int_equal(t->call.args[0]->dur_ns, 60LL * 1000000000);
    assert_int_equal(t->call.args[1]->kind, IQL_EXPR_DURATION);
    assert_int_equal(t->call.args[1]->dur_ns, -30LL * 1000000000);
    assert_int_equal(s->dims[1]->kind, IQL_EXPR_VARREF);
    assert_int_equal(s->dims[1]->ref.type, IQL_VT_TAG);
    assert_int_equal(s->fill, IQL_FILL_PREVIOUS);
    assert_int_equal(s->nsort, 1);
    assert_false(s->sort[0].asc);
    assert_int_equal(s->limit, 100);
    assert_int_equal(s->slimit, 5);
    assert_int_equal(s->offset, 0);
    assert_true(sv_eq_cstr(s->tz, "Europe/Berlin"));
    arena_fini(&a);
}

static void test_literals(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    struct iql_select *s = parse_one(&a,
        "SELECT a FROM m WHERE x = 1 OR x = 1.0 OR x = -5 OR x = 18446744073709551615 OR "
        "x = -9223372036854775808 OR x = true OR x = 'it\\'s\\n' OR t > 1u OR t > 1\xc2\xb5 OR "
        "t > 1h30m OR t > 2w OR t > 1000ns OR t > now() - 1d")->select;
    /* Walk the OR chain from the right. */
    const struct iql_expr *x = s->cond;
    const struct iql_expr *terms[13];
    int n = 0;
    while (x->kind == IQL_EXPR_BINARY && x->bin.op == IQL_OP_OR && n < 12) {
        terms[n++] = x->bin.rhs;
        x = x->bin.lhs;
    }
    terms[n++] = x;
    assert_int_equal(n, 13);
    /* terms[12] is the first written */
    assert_int_equal(terms[12]->bin.rhs->kind, IQL_EXPR_INTEGER);
    assert_int_equal(terms[11]->bin.rhs->kind, IQL_EXPR_NUMBER);
    assert_true(terms[11]->bin.rhs->f == 1.0);
    assert_int_equal(terms[10]->bin.rhs->i, -5);
    assert_int_equal(terms[9]->bin.rhs->kind, IQL_EXPR_UNSIGNED);
    assert_true(terms[9]->bin.rhs->u == UINT64_MAX);
    assert_int_equal(terms[8]->bin.rhs->kind, IQL_EXPR_INTEGER);
    assert_true(terms[8]->bin.rhs->i == INT64_MIN);
    assert_int_equal(terms[7]->bin.rhs->kind, IQL_EXPR_BOOL);
    assert_true(sv_eq_cstr(terms[6]->bin.rhs->str, "it's\n"));
    assert_int_equal(terms[5]->bin.rhs->dur_ns, 1000);
    assert_int_equal(terms[4]->bin.rhs->dur_ns, 1000);
    assert_int_equal(terms[3]->bin.rhs->dur_ns, 5400LL * 1000000000);
    assert_int_equal(terms[2]->bin.rhs->dur_ns, 14LL * 86400 * 1000000000);
    assert_int_equal(terms[1]->bin.rhs->dur_ns, 1000);
    const struct iql_expr *now = terms[0]->bin.rhs;
    assert_int_equal(now->bin.op, IQL_OP_SUB);
    assert_int_equal(now->bin.lhs->kind, IQL_EXPR_CALL);
    assert_true(sv_eq_cstr(now->bin.lhs->call.name, "now"));
    assert_int_equal(now->bin.lhs->call.nargs, 0);

    /* Precedence: a + b * c - d  ==  (a + (b * c)) - d; unary minus on a
     * field is -1 * x. */
    s = parse_one(&a, "SELECT a + b * c - d, -x, a | b & c FROM m")->select;
    const struct iql_expr *e0 = s->fields[0].expr;
    assert_int_equal(e0->bin.op, IQL_OP_SUB);
    assert_int_equal(e0->bin.lhs->bin.op, IQL_OP_ADD);
    assert_int_equal(e0->bin.lhs->bin.rhs->bin.op, IQL_OP_MUL);
    const struct iql_expr *e1 = s->fields[1].expr;
    assert_int_equal(e1->bin.op, IQL_OP_MUL);
    assert_int_equal(e1->bin.lhs->i, -1);
    const struct iql_expr *e2 = s->fields[2].expr;
    assert_int_equal(e2->bin.op, IQL_OP_BITOR);
    assert_int_equal(e2->bin.rhs->bin.op, IQL_OP_BITAND);
    assert_true(s->is_raw);
    arena_fini(&a);
}

static void test_sources(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    struct iql_select *s = parse_one(&a,
        "SELECT v FROM \"db\".\"rp\".\"m\", db..m2, rp.m3, /^cpu/, db.rp./x\\/y/, "
        "(SELECT mean(v) AS v FROM m GROUP BY time(1m))")->select;
    assert_int_equal(s->nsources, 6);
    const struct iql_measurement *m = &s->sources[0].m;
    assert_true(sv_eq_cstr(m->db, "db") && sv_eq_cstr(m->rp, "rp") && sv_eq_cstr(m->name, "m"));
    m = &s->sources[1].m;
    assert_true(sv_eq_cstr(m->db, "db") && m->rp.n == 0 && sv_eq_cstr(m->name, "m2"));
    m = &s->sources[2].m;
    assert_true(m->db.n == 0 && sv_eq_cstr(m->rp, "rp") && sv_eq_cstr(m->name, "m3"));
    m = &s->sources[3].m;
    assert_true(m->is_regex && sv_eq_cstr(m->regex, "^cpu") && m->name.n == 0);
    m = &s->sources[4].m;
    assert_true(m->is_regex && sv_eq_cstr(m->regex, "x/y") && sv_eq_cstr(m->rp, "rp"));
    assert_int_equal(s->sources[5].kind, IQL_SRC_SUBQUERY);
    assert_int_equal(s->sources[5].sub->ndims, 1);
    assert_false(s->sources[5].sub->is_raw);

    s = parse_one(&a, "SELECT v INTO \"db\".\"rp\".:MEASUREMENT FROM /.*/")->select;
    assert_non_null(s->into);
    assert_true(s->into_all_measurements);
    assert_true(sv_eq_cstr(s->into->db, "db"));
    arena_fini(&a);
}

static void test_meta_ast(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    struct iql_stmt *st = parse_one(&a, "SHOW TAG VALUES ON \"db\" FROM \"cpu\" WITH KEY = "
                                        "\"host\" WHERE \"region\" = 'us' LIMIT 5 OFFSET 2");
    assert_int_equal(st->kind, IQL_STMT_SHOW_TAG_VALUES);
    assert_true(sv_eq_cstr(st->show.db, "db"));
    assert_int_equal(st->show.nsources, 1);
    assert_int_equal(st->show.key_op, IQL_OP_EQ);
    assert_int_equal(st->show.key_expr->kind, IQL_EXPR_STRING);
    assert_true(sv_eq_cstr(st->show.key_expr->str, "host"));
    assert_non_null(st->show.cond);
    assert_int_equal(st->show.limit, 5);
    assert_int_equal(st->show.offset, 2);

    st = parse_one(&a, "SHOW TAG VALUES WITH KEY IN (\"a\", b)");
    assert_int_equal(st->show.key_op, IQL_OP_IN);
    assert_int_equal(st->show.key_expr->kind, IQL_EXPR_LIST);
    assert_int_equal(st->show.key_expr->list.n, 2);
    assert_true(sv_eq_cstr(st->show.key_expr->list.vals[1], "b"));
    assert_null(st->show.sources);

    st = parse_one(&a, "SHOW MEASUREMENTS WITH MEASUREMENT =~ /(?i)cp/ LIMIT 100");
    assert_int_equal(st->kind, IQL_STMT_SHOW_MEASUREMENTS);
    assert_true(st->show.with_measurement->m.is_regex);
    assert_int_equal(st->show.limit, 100);

    st = parse_one(&a, "show retention policies on \"mydb\"");
    assert_int_equal(st->kind, IQL_STMT_SHOW_RETENTION_POLICIES);
    assert_true(sv_eq_cstr(st->show.db, "mydb"));

    st = parse_one(&a, "CREATE DATABASE \"x\" WITH DURATION INF SHARD DURATION 1d NAME r");
    assert_int_equal(st->kind, IQL_STMT_CREATE_DATABASE);
    assert_true(sv_eq_cstr(st->name, "x"));
    assert_true(st->rp.is_set && st->rp.has_duration && !st->rp.has_replication);
    assert_int_equal(st->rp.duration_ns, 0);
    assert_int_equal(st->rp.shard_ns, 86400LL * 1000000000);
    assert_true(sv_eq_cstr(st->rp.name, "r"));

    st = parse_one(&a, "CREATE RETENTION POLICY \"one_week\" ON \"db\" DURATION 1w "
                       "REPLICATION 1 SHARD DURATION 1h DEFAULT");
    assert_int_equal(st->kind, IQL_STMT_CREATE_RETENTION_POLICY);
    assert_true(sv_eq_cstr(st->rp.name, "one_week") && sv_eq_cstr(st->rp.db, "db"));
    assert_int_equal(st->rp.duration_ns, 7LL * 86400 * 1000000000);
    assert_int_equal(st->rp.replication, 1);
    assert_true(st->rp.has_shard && st->rp.is_default);

    st = parse_one(&a, "ALTER RETENTION POLICY \"default\" ON db DEFAULT REPLICATION 2");
    assert_int_equal(st->kind, IQL_STMT_ALTER_RETENTION_POLICY);
    assert_true(sv_eq_cstr(st->rp.name, "default"));
    assert_true(st->rp.is_default && st->rp.has_replication && !st->rp.has_duration);

    st = parse_one(&a, "GRANT READ ON \"db\" TO \"bob\"");
    assert_int_equal(st->kind, IQL_STMT_GRANT);
    assert_int_equal(st->user.priv, IQL_PRIV_READ);
    assert_false(st->user.admin);
    assert_true(sv_eq_cstr(st->user.db, "db") && sv_eq_cstr(st->user.name, "bob"));
    st = parse_one(&a, "REVOKE ALL PRIVILEGES FROM bob");
    assert_int_equal(st->kind, IQL_STMT_REVOKE);
    assert_true(st->user.admin);
    st = parse_one(&a, "CREATE USER admin WITH PASSWORD 'p\\'w' WITH ALL PRIVILEGES");
    assert_true(sv_eq_cstr(st->user.password, "p'w") && st->user.admin);
    st = parse_one(&a, "KILL QUERY 18446744073709551615 ON \"h:1\"");
    assert_true(st->kill.qid == UINT64_MAX);
    assert_true(sv_eq_cstr(st->kill.host, "h:1"));
    st = parse_one(&a, "DELETE FROM cpu WHERE time < '2020-01-01'");
    assert_int_equal(st->kind, IQL_STMT_DELETE);
    assert_int_equal(st->show.nsources, 1);
    st = parse_one(&a, "DROP SERIES WHERE host = 'a'");
    assert_int_equal(st->kind, IQL_STMT_DROP_SERIES);
    assert_null(st->show.sources);
    st = parse_one(&a, "SHOW SERIES EXACT CARDINALITY ON db FROM cpu");
    assert_int_equal(st->kind, IQL_STMT_SHOW_SERIES_CARDINALITY);
    assert_true(st->show.exact);
    st = parse_one(&a, "SHOW STATS FOR 'httpd'");
    assert_true(sv_eq_cstr(st->show.module, "httpd"));
    st = parse_one(&a, "CREATE CONTINUOUS QUERY \"cq\" ON db RESAMPLE EVERY 2m FOR 1h BEGIN "
                       "SELECT mean(v) INTO db.rp.:MEASUREMENT FROM /.*/ GROUP BY time(1m) END");
    assert_int_equal(st->kind, IQL_STMT_CREATE_CONTINUOUS_QUERY);
    assert_true(sv_eq_cstr(st->name, "cq") && sv_eq_cstr(st->rp.db, "db"));
    assert_int_equal(st->resample.every_ns, 120LL * 1000000000);
    assert_int_equal(st->resample.for_ns, 3600LL * 1000000000);
    assert_true(st->select->into_all_measurements);
    st = parse_one(&a, "CREATE SUBSCRIPTION s ON db.rp DESTINATIONS ANY 'udp://a:1', 'udp://b:2'");
    assert_int_equal(st->kind, IQL_STMT_CREATE_SUBSCRIPTION);
    assert_true(st->sub.mode_any);
    assert_int_equal(st->sub.ndests, 2);
    assert_true(sv_eq_cstr(st->sub.dests[1], "udp://b:2") && sv_eq_cstr(st->rp.name, "rp"));
    st = parse_one(&a, "EXPLAIN ANALYZE SELECT v FROM m");
    assert_int_equal(st->kind, IQL_STMT_EXPLAIN);
    assert_true(st->explain_analyze);
    arena_fini(&a);
}

static void test_multi_statement(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    struct iql_query *q = parse_ok(&a, ";;SHOW DATABASES; select v from m ;\n"
                                      "SHOW MEASUREMENTS LIMIT 1;;");
    assert_int_equal(q->nstmts, 3);
    assert_int_equal(q->stmts[0]->kind, IQL_STMT_SHOW_DATABASES);
    assert_int_equal(q->stmts[1]->kind, IQL_STMT_SELECT);
    assert_int_equal(q->stmts[2]->kind, IQL_STMT_SHOW_MEASUREMENTS);
    /* Empty and comment-only input is an empty query, as in influxd. */
    q = parse_ok(&a, " -- nothing\n/* at all */ ");
    assert_int_equal(q->nstmts, 0);
    /* A NUL byte reads as the Go scanner's EOF rune: it ends a token, is
     * swallowed inside an identifier and stops the column count (influxd). */
    static const char nul1[] = "SHOW DATABASES\0garbage";
    static const char nul2[] = "SHOW DATABASES \0 garbage";
    static const char nul3[] = "SELECT a\0 FROM m";
    struct err e;
    assert_int_equal(iql_parse(nul1, sizeof nul1 - 1, NULL, &a, &q, &e, NULL), ERR_PARSE);
    assert_string_equal(e.msg, "found DATABASESgarbage, expected CONTINUOUS, DATABASES, "
                               "DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, "
                               "RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, "
                               "USERS at line 1, char 6");
    assert_int_equal(iql_parse(nul2, sizeof nul2 - 1, NULL, &a, &q, &e, NULL), ERR_PARSE);
    assert_string_equal(e.msg, "found garbage, expected ; at line 1, char 17");
    assert_int_equal(iql_parse(nul3, sizeof nul3 - 1, NULL, &a, &q, &e, NULL), 0);
    assert_int_equal(q->nstmts, 1);
    /* A backslash at the end of a string is a bad escape of the EOF rune,
     * which influxd prints as a NUL byte after the backslash. */
    static const char bad_esc[] = "SELECT v FROM m WHERE u = 'x\\";
    static const char want_esc[] =
        "found \\\0, expected identifier, string, number, bool at line 1, char 30";
    struct buf lm;
    buf_init(&lm, 0);
    assert_int_equal(iql_parse(bad_esc, sizeof bad_esc - 1, NULL, &a, &q, &e, &lm), ERR_PARSE);
    assert_int_equal(lm.len, sizeof want_esc - 1);
    assert_memory_equal(lm.p, want_esc, lm.len);
    buf_fini(&lm);
    /* influx -import keeps the trailing newline */
    q = parse_ok(&a, "CREATE DATABASE import_db\n");
    assert_int_equal(q->nstmts, 1);
    arena_fini(&a);
}

static void test_bound_params(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    const struct iql_param pv[] = {
        { SV_LIT("host"), IQL_PARAM_STRING, SV_LIT("server'01") },
        { SV_LIT("n"), IQL_PARAM_INTEGER, SV_LIT("10") },
        { SV_LIT("f"), IQL_PARAM_NUMBER, SV_LIT("2.5") },
        { SV_LIT("d"), IQL_PARAM_DURATION, SV_LIT("1h") },
        { SV_LIT("re"), IQL_PARAM_REGEX, SV_LIT("^a/b$") },
        { SV_LIT("m"), IQL_PARAM_IDENT, SV_LIT("my measurement") },
        { SV_LIT("b"), IQL_PARAM_BOOL, SV_LIT("true") },
        { SV_LIT("bad"), IQL_PARAM_ERROR, SV_LIT("unable to bind parameter with type []interface {}") },
    };
    const struct iql_params params = { pv, sizeof pv / sizeof pv[0] };
    const char *q = "SELECT v FROM $m WHERE host = $host AND v > $n AND w < $f AND "
                    "time > now() - $d AND r =~ $re AND ok = $b LIMIT $n";
    struct iql_query *out;
    struct err e;
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(iql_parse(q, strlen(q), &params, &a, &out, &e, NULL), 0);
    assert_int_equal(iql_render_query(&b, out), 0);
    assert_string_equal(b.p, "SELECT v FROM \"my measurement\" WHERE host = 'server\\'01' AND "
                             "v > 10 AND w < 2.500 AND time > now() - 1h AND r =~ /^a\\/b$/ "
                             "AND ok = true LIMIT 10");
    buf_fini(&b);
    q = "SELECT v FROM m WHERE host = $bad";
    assert_int_equal(iql_parse(q, strlen(q), &params, &a, &out, &e, NULL), ERR_PARSE);
    assert_string_equal(e.msg, "missing parameter: unable to bind parameter with type []interface {}");
    q = "SELECT v FROM m WHERE host = $nope";
    assert_int_equal(iql_parse(q, strlen(q), &params, &a, &out, &e, NULL), ERR_PARSE);
    assert_string_equal(e.msg, "missing parameter: nope");
    arena_fini(&a);
}

static void test_long_message_and_limits(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    char q[1200];
    memcpy(q, "SELECT \"", 8);
    memset(q + 8, 'x', 1000);
    q[1008] = '\0';
    struct iql_query *out;
    struct err e;
    struct buf lm;
    buf_init(&lm, 0);
    assert_int_equal(iql_parse(q, strlen(q), NULL, &a, &out, &e, &lm), ERR_PARSE);
    assert_int_equal(lm.len, strlen("found , expected identifier, string, number, bool at line 1, char 7") + 1000);
    assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
    assert_int_equal(strncmp(e.msg, lm.p, ERR_MSG_MAX - 1), 0);
    buf_fini(&lm);
    arena_fini(&a);

    /* A capped arena makes a large query fail with ERR_LIMIT, not abort. */
    arena_init(&a, 1024, 4096);
    char big[8192];
    size_t o = 0;
    o += (size_t)snprintf(big + o, sizeof big - o, "SELECT a");
    while (o < sizeof big - 64)
        o += (size_t)snprintf(big + o, sizeof big - o, ", field_%zu", o);
    o += (size_t)snprintf(big + o, sizeof big - o, " FROM m");
    int rc = iql_parse(big, o, NULL, &a, &out, &e, NULL);
    assert_int_equal(rc, ERR_LIMIT);
    arena_fini(&a);

    /* Deep nesting is refused rather than overflowing the stack. */
    arena_init(&a, 0, 0);
    static char deep[40000];
    o = 0;
    o += (size_t)snprintf(deep, sizeof deep, "SELECT ");
    for (int i = 0; i < 5000; i++)
        deep[o++] = '(';
    deep[o++] = 'a';
    for (int i = 0; i < 5000; i++)
        deep[o++] = ')';
    memcpy(deep + o, " FROM m", 8);
    o += 7;
    assert_int_equal(iql_parse(deep, o, NULL, &a, &out, &e, NULL), ERR_PARSE);
    assert_non_null(strstr(e.msg, "too deeply nested"));
    arena_fini(&a);
    arena_init(&a, 0, 0);
    o = (size_t)snprintf(deep, sizeof deep, "SELECT ");
    for (int i = 0; i < 150; i++)
        deep[o++] = '(';
    deep[o++] = 'a';
    for (int i = 0; i < 150; i++)
        deep[o++] = ')';
    memcpy(deep + o, " FROM m", 8);
    o += 7;
    assert_int_equal(iql_parse(deep, o, NULL, &a, &out, &e, NULL), 0);
    arena_fini(&a);

    /* A long operator chain is a deep tree: 2000 operators are accepted
     * (rendered and checked), one more is refused. */
    for (int extra = 0; extra < 2; extra++) {
        arena_init(&a, 0, 0);
        o = (size_t)snprintf(deep, sizeof deep, "SELECT a");
        for (int i = 0; i < 2000 + extra; i++) {
            deep[o++] = '+';
            deep[o++] = 'a';
        }
        memcpy(deep + o, " FROM m", 8);
        o += 7;
        int prc = iql_parse(deep, o, NULL, &a, &out, &e, NULL);
        if (extra) {
            assert_int_equal(prc, ERR_PARSE);
            assert_string_equal(e.msg, "query too complex (more than 2000 operators)");
        } else {
            assert_int_equal(prc, 0);
            struct buf rb;
            buf_init(&rb, 0);
            assert_int_equal(iql_render_query(&rb, out), 0);
            assert_int_equal(rb.len, strlen("SELECT a FROM m") + 2000 * 4);
            assert_int_equal(iql_select_check(out->stmts[0]->select, &e), 0);
            buf_fini(&rb);
        }
        arena_fini(&a);
    }
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        int64_t ns;
        const char *fmt;
    } v[] = {
        { "1ns", 0, 1, "1ns" },
        { "1u", 0, 1000, "1u" },
        { "1\xc2\xb5", 0, 1000, "1u" },
        { "1000ms", 0, 1000000000, "1s" },
        { "1h30m", 0, 5400000000000, "90m" },
        { "2w", 0, 1209600000000000, "2w" },
        { "1d12h", 0, 129600000000000, "36h" },
        { "-5m", 0, -300000000000, "-5m" },
        { "1y", ERR_PARSE, 0, NULL },
        { "1", ERR_PARSE, 0, NULL },
        { "m", ERR_PARSE, 0, NULL },
        { "1n", ERR_PARSE, 0, NULL },
        { "1h5", ERR_PARSE, 0, NULL },
        { "15250w", 0, 9223200000000000000, "15250w" },
        { "15251w", ERR_LIMIT, 0, NULL },
        { "99999999999999999999h", ERR_PARSE, 0, NULL },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int64_t ns = 0;
        int rc = iql_parse_duration(sv_cstr(v[i].in), &ns);
        if (rc != v[i].rc)
            fail_msg("%s: rc %d want %d", v[i].in, rc, v[i].rc);
        if (rc)
            continue;
        assert_int_equal(ns, v[i].ns);
        char out[32];
        iql_format_duration(ns, out, sizeof out);
        assert_string_equal(out, v[i].fmt);
    }
}

/* Observed on influxd 1.6.7 with auth enabled and default database "db":
 * bob has no privileges, rd has READ on db.  "" = authorized. */
static const struct {
    const char *user, *q, *err;
} auth_cases[] = {
    { "bob", "SHOW DATABASES",
      "" },
    { "bob", "SHOW RETENTION POLICIES ON db",
      "error authorizing query: bob not authorized to execute statement 'SHOW RETENTION POLICIES ON db', requires READ on db" },
    { "bob", "SHOW RETENTION POLICIES",
      "error authorizing query: bob not authorized to execute statement 'SHOW RETENTION POLICIES', requires READ on db" },
    { "bob", "SHOW MEASUREMENTS",
      "error authorizing query: bob not authorized to execute statement 'SHOW MEASUREMENTS', requires READ on db" },
    { "bob", "SHOW MEASUREMENTS ON other",
      "error authorizing query: bob not authorized to execute statement 'SHOW MEASUREMENTS ON other', requires READ on other" },
    { "bob", "SHOW TAG KEYS",
      "error authorizing query: bob not authorized to execute statement 'SHOW TAG KEYS', requires READ on db" },
    { "bob", "SHOW TAG KEYS ON other FROM m",
      "error authorizing query: bob not authorized to execute statement 'SHOW TAG KEYS ON other FROM m', requires READ on other" },
    { "bob", "SHOW TAG VALUES WITH KEY = host",
      "error authorizing query: bob not authorized to execute statement 'SHOW TAG VALUES WITH KEY = host', requires READ on db" },
    { "bob", "SHOW FIELD KEYS ON other",
      "error authorizing query: bob not authorized to execute statement 'SHOW FIELD KEYS ON other', requires READ on other" },
    { "bob", "SHOW SERIES ON other",
      "error authorizing query: bob not authorized to execute statement 'SHOW SERIES ON other', requires READ on other" },
    { "bob", "SHOW SERIES CARDINALITY ON other",
      "error authorizing query: bob not authorized to execute statement 'SHOW SERIES CARDINALITY ON other', requires READ on other" },
    { "bob", "SHOW SERIES EXACT CARDINALITY ON other FROM m",
      "error authorizing query: bob not authorized to execute statement 'SHOW SERIES EXACT CARDINALITY ON other FROM m', requires READ on db" },
    { "bob", "SHOW SERIES EXACT CARDINALITY FROM other..m",
      "error authorizing query: bob not authorized to execute statement 'SHOW SERIES EXACT CARDINALITY FROM other..m', requires READ on other" },
    { "bob", "SHOW MEASUREMENT CARDINALITY ON other",
      "error authorizing query: bob not authorized to execute statement 'SHOW MEASUREMENT CARDINALITY ON other', requires READ on other" },
    { "bob", "SHOW MEASUREMENT EXACT CARDINALITY FROM other..m",
      "error authorizing query: bob not authorized to execute statement 'SHOW MEASUREMENT EXACT CARDINALITY FROM other..m', requires READ on other" },
    { "bob", "SHOW TAG KEY CARDINALITY FROM other..m",
      "error authorizing query: bob not authorized to execute statement 'SHOW TAG KEY CARDINALITY FROM other..m', requires READ on other" },
    { "bob", "SHOW FIELD KEY CARDINALITY FROM other..m",
      "error authorizing query: bob not authorized to execute statement 'SHOW FIELD KEY CARDINALITY FROM other..m', requires READ on other" },
    { "bob", "SHOW TAG VALUES CARDINALITY FROM x..m WITH KEY = h",
      "error authorizing query: bob not authorized to execute statement 'SHOW TAG VALUES CARDINALITY FROM x..m WITH KEY = h', requires READ on x" },
    { "bob", "SHOW USERS",
      "error authorizing query: bob not authorized to execute statement 'SHOW USERS', requires admin privilege" },
    { "bob", "SHOW GRANTS FOR bob",
      "error authorizing query: bob not authorized to execute statement 'SHOW GRANTS FOR bob', requires admin privilege" },
    { "bob", "SHOW QUERIES",
      "error authorizing query: bob not authorized to execute statement 'SHOW QUERIES', requires READ on db" },
    { "bob", "SHOW STATS",
      "error authorizing query: bob not authorized to execute statement 'SHOW STATS', requires admin privilege" },
    { "bob", "SHOW DIAGNOSTICS",
      "error authorizing query: bob not authorized to execute statement 'SHOW DIAGNOSTICS', requires admin privilege" },
    { "bob", "SHOW SHARDS",
      "error authorizing query: bob not authorized to execute statement 'SHOW SHARDS', requires admin privilege" },
    { "bob", "SHOW SHARD GROUPS",
      "error authorizing query: bob not authorized to execute statement 'SHOW SHARD GROUPS', requires admin privilege" },
    { "bob", "SHOW SUBSCRIPTIONS",
      "error authorizing query: bob not authorized to execute statement 'SHOW SUBSCRIPTIONS', requires admin privilege" },
    { "bob", "SHOW CONTINUOUS QUERIES",
      "error authorizing query: bob not authorized to execute statement 'SHOW CONTINUOUS QUERIES', requires READ on db" },
    { "bob", "CREATE DATABASE x",
      "error authorizing query: bob not authorized to execute statement 'CREATE DATABASE x', requires admin privilege" },
    { "bob", "DROP DATABASE x",
      "error authorizing query: bob not authorized to execute statement 'DROP DATABASE x', requires admin privilege" },
    { "bob", "DROP MEASUREMENT m",
      "error authorizing query: bob not authorized to execute statement 'DROP MEASUREMENT m', requires admin privilege" },
    { "bob", "CREATE RETENTION POLICY r ON db DURATION 1h REPLICATION 1",
      "error authorizing query: bob not authorized to execute statement 'CREATE RETENTION POLICY r ON db DURATION 1h REPLICATION 1', requires admin privilege" },
    { "bob", "ALTER RETENTION POLICY r ON db DEFAULT",
      "error authorizing query: bob not authorized to execute statement 'ALTER RETENTION POLICY r ON db DEFAULT', requires admin privilege" },
    { "bob", "DROP RETENTION POLICY r ON other",
      "error authorizing query: bob not authorized to execute statement 'DROP RETENTION POLICY r ON other', requires WRITE on other" },
    { "bob", "DROP SERIES FROM m",
      "error authorizing query: bob not authorized to execute statement 'DROP SERIES FROM m', requires WRITE on db" },
    { "bob", "DELETE FROM m",
      "error authorizing query: bob not authorized to execute statement 'DELETE FROM m', requires WRITE on db" },
    { "bob", "CREATE USER u WITH PASSWORD 'x'",
      "error authorizing query: bob not authorized to execute statement 'CREATE USER u WITH PASSWORD [REDACTED]', requires admin privilege" },
    { "bob", "DROP USER u",
      "error authorizing query: bob not authorized to execute statement 'DROP USER u', requires admin privilege" },
    { "bob", "SET PASSWORD FOR bob = 'x'",
      "error authorizing query: bob not authorized to execute statement 'SET PASSWORD FOR bob = [REDACTED]', requires admin privilege" },
    { "bob", "GRANT READ ON db TO bob",
      "error authorizing query: bob not authorized to execute statement 'GRANT READ ON db TO bob', requires admin privilege" },
    { "bob", "REVOKE READ ON db FROM bob",
      "error authorizing query: bob not authorized to execute statement 'REVOKE READ ON db FROM bob', requires admin privilege" },
    { "bob", "GRANT ALL PRIVILEGES TO bob",
      "error authorizing query: bob not authorized to execute statement 'GRANT ALL PRIVILEGES TO bob', requires admin privilege" },
    { "bob", "REVOKE ALL PRIVILEGES FROM bob",
      "error authorizing query: bob not authorized to execute statement 'REVOKE ALL PRIVILEGES FROM bob', requires admin privilege" },
    { "bob", "KILL QUERY 1",
      "error authorizing query: bob not authorized to execute statement 'KILL QUERY 1', requires admin privilege" },
    { "bob", "DROP SHARD 1",
      "error authorizing query: bob not authorized to execute statement 'DROP SHARD 1', requires admin privilege" },
    { "bob", "CREATE CONTINUOUS QUERY c ON other BEGIN SELECT mean(v) INTO m2 FROM m GROUP BY time(1m) END",
      "error authorizing query: bob not authorized to execute statement 'CREATE CONTINUOUS QUERY c ON other BEGIN SELECT mean(v) INTO m2 FROM m GROUP BY time(1m) END', requires READ on other" },
    { "bob", "DROP CONTINUOUS QUERY c ON other",
      "error authorizing query: bob not authorized to execute statement 'DROP CONTINUOUS QUERY c ON other', requires WRITE on other" },
    { "bob", "CREATE SUBSCRIPTION s ON db.autogen DESTINATIONS ALL 'udp://a:1'",
      "error authorizing query: bob not authorized to execute statement 'CREATE SUBSCRIPTION s ON db.autogen DESTINATIONS ALL 'udp://a:1'', requires admin privilege" },
    { "bob", "DROP SUBSCRIPTION s ON db.autogen",
      "error authorizing query: bob not authorized to execute statement 'DROP SUBSCRIPTION s ON db.autogen', requires admin privilege" },
    { "bob", "EXPLAIN SELECT v FROM other..m",
      "error authorizing query: bob not authorized to execute statement 'EXPLAIN SELECT v FROM other..m', requires READ on other" },
    { "bob", "SELECT v FROM (SELECT v FROM other..m)",
      "error authorizing query: bob not authorized to execute statement 'SELECT v FROM (SELECT v FROM other..m)', requires READ on other" },
    { "bob", "SELECT v FROM a..m, b..n",
      "error authorizing query: bob not authorized to execute statement 'SELECT v FROM a..m, b..n', requires READ on a" },
    { "bob", "SELECT mean(\"usage\") FROM \"cpu\" WHERE time >= now() - 6h GROUP BY time(10s) fill(null)",
      "error authorizing query: bob not authorized to execute statement 'SELECT mean(usage) FROM cpu WHERE time >= now() - 6h GROUP BY time(10s)', requires READ on db" },
    { "rd", "SELECT v INTO m2 FROM m",
      "error authorizing query: rd not authorized to execute statement 'SELECT v INTO m2 FROM m', requires WRITE on db" },
    { "rd", "SELECT v INTO other..m2 FROM m",
      "error authorizing query: rd not authorized to execute statement 'SELECT v INTO other..m2 FROM m', requires WRITE on other" },
    { "rd", "CREATE CONTINUOUS QUERY c ON db BEGIN SELECT mean(v) INTO x.autogen.m2 FROM m GROUP BY time(1m) END",
      "error authorizing query: rd not authorized to execute statement 'CREATE CONTINUOUS QUERY c ON db BEGIN SELECT mean(v) INTO x.autogen.m2 FROM m GROUP BY time(1m) END', requires WRITE on x" },
    { "rd", "SELECT v FROM m, other..n",
      "error authorizing query: rd not authorized to execute statement 'SELECT v FROM m, other..n', requires READ on other" },
};

static void test_privileges(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof auth_cases / sizeof auth_cases[0]; i++) {
        struct arena a;
        arena_init(&a, 0, 0);
        struct iql_stmt *st = parse_one(&a, auth_cases[i].q);
        struct iql_privilege pv[8];
        size_t n = iql_stmt_privileges(st, pv, 8);
        assert_true(n <= 8);
        bool read_db = strcmp(auth_cases[i].user, "rd") == 0;
        char got[1024] = "";
        for (size_t k = 0; k < n; k++) {
            struct sv db = pv[k].db.n ? pv[k].db : SV_LIT("db");
            if (!pv[k].admin && read_db && pv[k].priv == IQL_PRIV_READ && sv_eq_cstr(db, "db"))
                continue;
            struct buf b;
            buf_init(&b, 0);
            assert_int_equal(iql_render_stmt(&b, st), 0);
            char req[128];
            if (pv[k].admin)
                snprintf(req, sizeof req, "admin privilege");
            else
                snprintf(req, sizeof req, "%s on %.*s",
                         pv[k].priv == IQL_PRIV_READ ? "READ" : "WRITE", SV_FMT(db));
            snprintf(got, sizeof got, "error authorizing query: %s not authorized to execute "
                     "statement '%s', requires %s", auth_cases[i].user, b.p, req);
            buf_fini(&b);
            break;
        }
        if (strcmp(got, auth_cases[i].err) != 0)
            fail_msg("#%zu %s \"%s\":\n  got  \"%s\"\n  want \"%s\"", i, auth_cases[i].user,
                     auth_cases[i].q, got, auth_cases[i].err);
        arena_fini(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_influx_errors),
        cmocka_unit_test(test_grafana_select_ast),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_meta_ast),
        cmocka_unit_test(test_multi_statement),
        cmocka_unit_test(test_bound_params),
        cmocka_unit_test(test_long_message_and_limits),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_privileges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
