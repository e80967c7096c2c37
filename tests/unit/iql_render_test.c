// SPDX-License-Identifier: MIT
/*
 * Unit tests of the InfluxQL renderer and of the compile-time SELECT checks
 * (query/iql.h).
 *
 * canonical[]: each query was sent to a real influxd 1.6.7 as
 * "SHOW QUERIES;<query>"; SHOW QUERIES lists the running query as
 * influxd's String() renders it, which is the expected text here.
 * statement_errors[]: each query was run on influxd 1.6.7 against an empty
 * database; the expected text is the statement error it answered with
 * (empty when it answered without error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query/iql.h"

static const struct {
    const char *q;
    const char *want;
} canonical[] = {
    { "SELECT mean(\"usage\") FROM \"cpu\" WHERE \"host\" = 'a' AND time >= 1672531200000ms and time <= 1672531799999ms GROUP BY time(10s) fill(null)",
      "SELECT mean(usage) FROM cpu WHERE host = 'a' AND time >= 19358d AND time <= 1672531799999ms GROUP BY time(10s)" },
    { "SELECT mean(\"usage\") FROM \"cpu\" WHERE (\"host\" =~ /^(a|c)$/ AND \"region\" = 'us') AND time >= 1672531200000ms and time <= 1672531799999ms GROUP BY time(1m), \"host\" fill(none)",
      "SELECT mean(usage) FROM cpu WHERE (host =~ /^(a|c)$/ AND region = 'us') AND time >= 19358d AND time <= 1672531799999ms GROUP BY time(1m), host fill(none)" },
    { "SELECT max(\"usage\") AS \"peak\", mean(\"usage\") * 100 FROM \"autogen\".\"cpu\" WHERE time >= 1672531200000ms and time <= 1672531799999ms GROUP BY time(1m), \"host\"::tag fill(previous) ORDER BY time DESC limit 100 slimit 5 tz('Europe/Berlin')",
      "SELECT max(usage) AS peak, mean(usage) * 100 FROM autogen.cpu WHERE time >= 19358d AND time <= 1672531799999ms GROUP BY time(1m), host::tag fill(previous) ORDER BY time DESC LIMIT 100 SLIMIT 5 TZ('Europe/Berlin')" },
    { "SELECT non_negative_derivative(mean(\"bytes_recv\"), 1s) FROM \"net\" WHERE \"interface\" =~ /^eth0$/ AND time >= 1672531200000ms and time <= 1672531799999ms GROUP BY time(10s) fill(null)",
      "SELECT non_negative_derivative(mean(bytes_recv), 1s) FROM net WHERE interface =~ /^eth0$/ AND time >= 19358d AND time <= 1672531799999ms GROUP BY time(10s)" },
    { "SELECT \"usage\" FROM \"cpu\" WHERE \"host\"::tag = 'a' AND time >= 1672531200000ms and time <= 1672531799999ms",
      "SELECT usage FROM cpu WHERE host::tag = 'a' AND time >= 19358d AND time <= 1672531799999ms" },
    { "SELECT percentile(\"latency\", 95) FROM \"http\" WHERE time >= 1672531200000ms and time <= 1672531799999ms GROUP BY time(10s), \"path\" fill(linear)",
      "SELECT percentile(latency, 95) FROM http WHERE time >= 19358d AND time <= 1672531799999ms GROUP BY time(10s), path fill(linear)" },
    { "SELECT mean(\"value\") FROM /^cpu/ WHERE time >= 1672531200000ms and time <= 1672531799999ms GROUP BY time(10s) fill(0)",
      "SELECT mean(value) FROM /^cpu/ WHERE time >= 19358d AND time <= 1672531799999ms GROUP BY time(10s) fill(0)" },
    { "SELECT mean(\"usage\") FROM \"cpu\" WHERE (\"host\" = 'a') AND time >= now() - 6h and time <= now() GROUP BY time(10s) fill(null)",
      "SELECT mean(usage) FROM cpu WHERE (host = 'a') AND time >= now() - 6h AND time <= now() GROUP BY time(10s)" },
    { "SELECT mean(\"usage\") FROM \"cpu\" WHERE time >= now() - 6h and time <= now() GROUP BY time(10s) fill(null);SELECT max(\"usage\") FROM \"cpu\" WHERE (\"host\" =~ /^(a|b)$/) AND time >= now() - 6h and time <= now() GROUP BY time(10s), \"host\" fill(null) LIMIT 100 SLIMIT 5",
      "SELECT mean(usage) FROM cpu WHERE time >= now() - 6h AND time <= now() GROUP BY time(10s);\nSELECT max(usage) FROM cpu WHERE (host =~ /^(a|b)$/) AND time >= now() - 6h AND time <= now() GROUP BY time(10s), host LIMIT 100 SLIMIT 5" },
    { "SELECT mean(\"usage\") FROM \"cpu\" WHERE time > now() - 1h GROUP BY time(1m), * fill(null)",
      "SELECT mean(usage) FROM cpu WHERE time > now() - 1h GROUP BY time(1m), *" },
    { "SELECT max(\"m\") FROM (SELECT mean(\"usage\") AS \"m\" FROM \"cpu\" WHERE time > now() - 1h GROUP BY time(1m), \"host\") WHERE time > now() - 1h GROUP BY time(5m)",
      "SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu WHERE time > now() - 1h GROUP BY time(1m), host) WHERE time > now() - 1h GROUP BY time(5m)" },
    { "SELECT mean(\"p99_ms\")  / 1000 FROM \"lat\" WHERE time > now() - 5m ORDER BY time ASC",
      "SELECT mean(p99_ms) / 1000 FROM lat WHERE time > now() - 5m ORDER BY time ASC" },
    { "SELECT \"title\", \"text\" FROM \"events\" WHERE time >= 1672531200000ms and time <= 1672531799999ms",
      "SELECT title, text FROM events WHERE time >= 19358d AND time <= 1672531799999ms" },
    { "SELECT * FROM \"cpu\" LIMIT 10",
      "SELECT * FROM cpu LIMIT 10" },
    { "SELECT *::field, \"host\"::tag FROM cpu",
      "SELECT *::field, host::tag FROM cpu" },
    { "SELECT /^us/ FROM cpu",
      "SELECT /^us/ FROM cpu" },
    { "SELECT a + b * c - d / e % f FROM m",
      "SELECT a + b * c - d / e % f FROM m" },
    { "SELECT (a + b) * c FROM m",
      "SELECT (a + b) * c FROM m" },
    { "SELECT a & b | c ^ d FROM m",
      "SELECT a & b | c ^ d FROM m" },
    { "SELECT -a, -1.5, +2, -1h, - (a) FROM m",
      "SELECT -1 * a, -1.500, 2, -1h, -1 * (a) FROM m" },
    { "SELECT count(distinct(\"host\")) FROM cpu",
      "SELECT count(distinct(host)) FROM cpu" },
    { "SELECT DISTINCT host FROM cpu",
      "SELECT DISTINCT host FROM cpu" },
    { "SELECT top(\"usage\", \"host\", 3), bottom(usage, 2) FROM cpu",
      "SELECT top(usage, host, 3), bottom(usage, 2) FROM cpu" },
    { "SELECT derivative(mean(x), 1s), difference(last(x)), moving_average(mean(x), 3), cumulative_sum(sum(x)), elapsed(x, 1ms), integral(x, 1h), holt_winters(mean(x), 10, 4) FROM m WHERE time > now() - 1d GROUP BY time(1h)",
      "SELECT derivative(mean(x), 1s), difference(last(x)), moving_average(mean(x), 3), cumulative_sum(sum(x)), elapsed(x, 1ms), integral(x, 1h), holt_winters(mean(x), 10, 4) FROM m WHERE time > now() - 1d GROUP BY time(1h)" },
    { "SELECT mean(value) FROM cpu WHERE time > '2023-01-01T00:00:00Z' AND time < '2023-01-02 00:00:00.000' - 1s",
      "SELECT mean(value) FROM cpu WHERE time > '2023-01-01T00:00:00Z' AND time < '2023-01-02 00:00:00.000' - 1s" },
    { "SELECT value FROM cpu WHERE time > 1672531200s AND time < 1672531200000000000 AND time > 100u AND time > 5\302\265 AND time > 1d AND time > 2w",
      "SELECT value FROM cpu WHERE time > 19358d AND time < 1672531200000000000 AND time > 100u AND time > 5u AND time > 1d AND time > 2w" },
    { "SELECT value FROM cpu WHERE host != 'a' AND host <> 'b' AND v < 1 AND v <= 2 AND v > 3 AND v >= 4 OR host !~ /x\\/y/",
      "SELECT value FROM cpu WHERE host != 'a' AND host != 'b' AND v < 1 AND v <= 2 AND v > 3 AND v >= 4 OR host !~ /x\\/y/" },
    { "SELECT value FROM cpu WHERE b = true OR b = false",
      "SELECT value FROM cpu WHERE b = true OR b = false" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m, -30s)",
      "SELECT mean(value) FROM cpu GROUP BY time(1m, -30s)" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m, now())",
      "SELECT mean(value) FROM cpu GROUP BY time(1m, now())" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1h, 15m), /^ho/ fill(-1.5)",
      "SELECT mean(value) FROM cpu GROUP BY time(1h, 15m), /^ho/ fill(-1.5)" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1h) fill(2500000)",
      "SELECT mean(value) FROM cpu GROUP BY time(1h) fill(2500000)" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1h) fill(2500000.5)",
      "SELECT mean(value) FROM cpu GROUP BY time(1h) fill(2.5000005e+06)" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1h) fill(0.00001)",
      "SELECT mean(value) FROM cpu GROUP BY time(1h) fill(1e-05)" },
    { "SELECT value FROM cpu LIMIT 1 OFFSET 2 SLIMIT 3 SOFFSET 4",
      "SELECT value FROM cpu LIMIT 1 OFFSET 2 SLIMIT 3 SOFFSET 4" },
    { "SELECT value FROM \"db\".\"rp\".\"m\", \"db\"..\"m\", rp.m, /x/, db.rp./y/, rp./z/",
      "SELECT value FROM db.rp.m, db..m, rp.m, /x/, db.rp./y/, rp./z/" },
    { "SELECT \"a.b\", \"a\".\"b\" FROM m",
      "SELECT \"a.b\", \"a.b\" FROM m" },
    { "SELECT value INTO \"db\".\"rp\".\"m2\" FROM m",
      "SELECT value INTO db.rp.m2 FROM m" },
    { "SELECT value INTO db.rp.:MEASUREMENT FROM /.*/",
      "SELECT value INTO db.rp.:MEASUREMENT FROM /.*/" },
    { "SELECT value INTO m2 FROM m",
      "SELECT value INTO m2 FROM m" },
    { "SELECT 1.0, 0.5, .5, 5., 1.23456, 100, 9223372036854775807, -9223372036854775808, 18446744073709551615 FROM m",
      "SELECT 1.000, 0.500, 0.500, 5.000, 1.235, 100, 9223372036854775807, -9223372036854775808, 18446744073709551615 FROM m" },
    { "SELECT value FROM m ORDER BY DESC",
      "SELECT value FROM m ORDER BY DESC" },
    { "SELECT value FROM m ORDER BY time",
      "SELECT value FROM m ORDER BY time ASC" },
    { "SELECT value FROM m tz('UTC')",
      "SELECT value FROM m TZ('UTC')" },
    { "SELECT value FROM m -- comment",
      "SELECT value FROM m" },
    { "select value /* c */ from m where \"host\"='x'",
      "SELECT value FROM m WHERE host = 'x'" },
    { "SHOW DATABASES",
      "SHOW DATABASES" },
    { "SHOW RETENTION POLICIES",
      "SHOW RETENTION POLICIES" },
    { "SHOW RETENTION POLICIES on \"mydb\"",
      "SHOW RETENTION POLICIES ON mydb" },
    { "SHOW measurements",
      "SHOW MEASUREMENTS" },
    { "SHOW MEASUREMENTS LIMIT 1",
      "SHOW MEASUREMENTS LIMIT 1" },
    { "SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /(\?i)cp/ LIMIT 100 OFFSET 5",
      "SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /(\?i)cp/ LIMIT 100 OFFSET 5" },
    { "SHOW MEASUREMENTS WITH MEASUREMENT = \"cpu\"",
      "SHOW MEASUREMENTS WITH MEASUREMENT = cpu" },
    { "SHOW MEASUREMENTS WHERE \"region\"::tag = 'eu-west' LIMIT 100",
      "SHOW MEASUREMENTS WHERE region::tag = 'eu-west' LIMIT 100" },
    { "SHOW TAG KEYS",
      "SHOW TAG KEYS" },
    { "SHOW TAG KEYS ON db FROM \"cpu\" WHERE time > now() - 12h LIMIT 5 OFFSET 1 SLIMIT 2 SOFFSET 3",
      "SHOW TAG KEYS ON db FROM cpu WHERE time > now() - 12h LIMIT 5 OFFSET 1 SLIMIT 2 SOFFSET 3" },
    { "SHOW TAG VALUES WITH KEY = \"host\"",
      "SHOW TAG VALUES WITH KEY = host" },
    { "SHOW TAG VALUES FROM \"cpu\" WITH KEY = \"host\" WHERE \"region\" = 'us' AND time > now() - 12h",
      "SHOW TAG VALUES FROM cpu WITH KEY = host WHERE region = 'us' AND time > now() - 12h" },
    { "SHOW TAG VALUES ON db FROM cpu, mem WITH KEY != \"host\" LIMIT 3",
      "SHOW TAG VALUES ON db FROM cpu, mem WITH KEY != host LIMIT 3" },
    { "SHOW TAG VALUES WITH KEY =~ /^h/",
      "SHOW TAG VALUES WITH KEY =~ /^h/" },
    { "SHOW TAG VALUES WITH KEY !~ /^h/",
      "SHOW TAG VALUES WITH KEY !~ /^h/" },
    { "SHOW TAG VALUES WITH KEY IN (\"host\", \"region\")",
      "SHOW TAG VALUES WITH KEY IN (host, region)" },
    { "SHOW FIELD KEYS",
      "SHOW FIELD KEYS" },
    { "SHOW FIELD KEYS ON db FROM \"autogen\".\"cpu\" LIMIT 2",
      "SHOW FIELD KEYS ON db FROM autogen.cpu LIMIT 2" },
    { "SHOW SERIES",
      "SHOW SERIES" },
    { "SHOW SERIES ON db FROM cpu WHERE host = 'a' LIMIT 10 OFFSET 2",
      "SHOW SERIES ON db FROM cpu WHERE host = 'a' LIMIT 10 OFFSET 2" },
    { "SHOW SERIES CARDINALITY",
      "SHOW SERIES CARDINALITY" },
    { "SHOW SERIES EXACT CARDINALITY ON db FROM cpu WHERE host = 'a' GROUP BY host LIMIT 1 OFFSET 1",
      "SHOW SERIES EXACT CARDINALITY ON db FROM cpu WHERE host = 'a' GROUP BY host LIMIT 1 OFFSET 1" },
    { "SHOW MEASUREMENT CARDINALITY",
      "SHOW MEASUREMENT CARDINALITY" },
    { "SHOW MEASUREMENT EXACT CARDINALITY ON db",
      "SHOW MEASUREMENT EXACT CARDINALITY ON db" },
    { "SHOW TAG KEY CARDINALITY",
      "SHOW TAG KEY CARDINALITY" },
    { "SHOW TAG KEY EXACT CARDINALITY FROM cpu",
      "SHOW TAG KEY EXACT CARDINALITY FROM cpu" },
    { "SHOW TAG VALUES CARDINALITY WITH KEY = \"host\"",
      "SHOW TAG VALUES CARDINALITY WITH KEY = host" },
    { "SHOW TAG VALUES EXACT CARDINALITY ON db FROM cpu WITH KEY = host",
      "SHOW TAG VALUES EXACT CARDINALITY ON db FROM cpu WITH KEY = host" },
    { "SHOW FIELD KEY CARDINALITY",
      "SHOW FIELD KEY CARDINALITY" },
    { "SHOW FIELD KEY EXACT CARDINALITY ON db",
      "SHOW FIELD KEY EXACT CARDINALITY ON db" },
    { "SHOW USERS",
      "SHOW USERS" },
    { "SHOW GRANTS FOR bob",
      "SHOW GRANTS FOR bob" },
    { "SHOW QUERIES",
      "SHOW QUERIES" },
    { "SHOW STATS",
      "SHOW STATS" },
    { "SHOW STATS FOR 'httpd'",
      "SHOW STATS FOR 'httpd'" },
    { "SHOW DIAGNOSTICS",
      "SHOW DIAGNOSTICS" },
    { "SHOW DIAGNOSTICS FOR 'build'",
      "SHOW DIAGNOSTICS FOR 'build'" },
    { "SHOW SHARDS",
      "SHOW SHARDS" },
    { "SHOW SHARD GROUPS",
      "SHOW SHARD GROUPS" },
    { "SHOW SUBSCRIPTIONS",
      "SHOW SUBSCRIPTIONS" },
    { "SHOW CONTINUOUS QUERIES",
      "SHOW CONTINUOUS QUERIES" },
    { "create database \"x\"",
      "CREATE DATABASE x" },
    { "CREATE DATABASE tmpdb1 WITH DURATION 30d REPLICATION 1 SHARD DURATION 1h NAME \"rp1\"",
      "CREATE DATABASE tmpdb1 WITH DURATION 720h0m0s REPLICATION 1 SHARD DURATION 1h0m0s NAME rp1" },
    { "CREATE DATABASE tmpdb2 WITH DURATION INF",
      "CREATE DATABASE tmpdb2 WITH DURATION 0s" },
    { "CREATE DATABASE tmpdb3 WITH NAME foo",
      "CREATE DATABASE tmpdb3 WITH NAME foo" },
    { "DROP DATABASE nosuchdb",
      "DROP DATABASE nosuchdb" },
    { "DROP MEASUREMENT \"nosuch\"",
      "DROP MEASUREMENT nosuch" },
    { "CREATE RETENTION POLICY \"rpx\" ON \"db\" DURATION 30d REPLICATION 1 SHARD DURATION 1h DEFAULT",
      "CREATE RETENTION POLICY rpx ON db DURATION 30d REPLICATION 1 SHARD DURATION 1h DEFAULT" },
    { "CREATE RETENTION POLICY rpy ON db DURATION INF REPLICATION 1",
      "CREATE RETENTION POLICY rpy ON db DURATION 0s REPLICATION 1" },
    { "ALTER RETENTION POLICY rpx ON db DURATION 2d REPLICATION 1 SHARD DURATION 2h DEFAULT",
      "ALTER RETENTION POLICY rpx ON db DURATION 2d REPLICATION 1 SHARD DURATION 2h DEFAULT" },
    { "ALTER RETENTION POLICY \"default\" ON db SHARD DURATION 90m",
      "ALTER RETENTION POLICY \"default\" ON db SHARD DURATION 90m" },
    { "DROP RETENTION POLICY rpz ON db",
      "DROP RETENTION POLICY rpz ON db" },
    { "DROP SERIES FROM cpu WHERE host = 'zz'",
      "DROP SERIES FROM cpu WHERE host = 'zz'" },
    { "DROP SERIES WHERE host = 'zz'",
      "DROP SERIES WHERE host = 'zz'" },
    { "DELETE FROM cpu WHERE time < '2000-01-01T00:00:00Z'",
      "DELETE FROM cpu WHERE time < '2000-01-01T00:00:00Z'" },
    { "DELETE WHERE host = 'zz'",
      "DELETE WHERE host = 'zz'" },
    { "CREATE USER bob WITH PASSWORD 'secret'",
      "CREATE USER bob WITH PASSWORD [REDACTED]" },
    { "CREATE USER \"admin\" WITH PASSWORD 'x' WITH ALL PRIVILEGES",
      "CREATE USER admin WITH PASSWORD [REDACTED] WITH ALL PRIVILEGES" },
    { "SET PASSWORD FOR bob = 'new'",
      "SET PASSWORD FOR bob = [REDACTED]" },
    { "GRANT READ ON db TO bob",
      "GRANT READ ON db TO bob" },
    { "GRANT ALL ON \"db\" TO bob",
      "GRANT ALL PRIVILEGES ON db TO bob" },
    { "GRANT ALL PRIVILEGES TO bob",
      "GRANT ALL PRIVILEGES TO bob" },
    { "REVOKE WRITE ON db FROM bob",
      "REVOKE WRITE ON db FROM bob" },
    { "REVOKE ALL PRIVILEGES FROM bob",
      "REVOKE ALL PRIVILEGES FROM bob" },
    { "DROP USER nosuchuser",
      "DROP USER nosuchuser" },
    { "KILL QUERY 123456",
      "KILL QUERY 123456" },
    { "KILL QUERY 1 ON \"host:8086\"",
      "KILL QUERY 1 ON \"host:8086\"" },
    { "DROP SHARD 999999",
      "DROP SHARD 999999" },
    { "DROP CONTINUOUS QUERY nocq ON db",
      "DROP CONTINUOUS QUERY nocq ON db" },
    { "EXPLAIN SELECT mean(value) FROM cpu",
      "EXPLAIN SELECT mean(value) FROM cpu" },
    { "EXPLAIN ANALYZE SELECT value FROM cpu",
      "EXPLAIN ANALYZE SELECT value FROM cpu" },
    { "SELECT value::float, value::integer, value::string, value::boolean, value::unsigned, value::field, value::tag FROM m",
      "SELECT value::float, value::integer, value::string, value::boolean, value::unsigned, value::field, value::tag FROM m" },
    { "SELECT max(value), host FROM cpu",
      "SELECT max(value), host FROM cpu" },
    { "SELECT sample(value, 3), mode(value), median(value), spread(value), stddev(value), first(value), last(value), min(value), sum(value), count(value) FROM cpu",
      "SELECT sample(value, 3), mode(value), median(value), spread(value), stddev(value), first(value), last(value), min(value), sum(value), count(value) FROM cpu" },
    { "SELECT mean(*) FROM cpu",
      "SELECT mean(*) FROM cpu" },
    { "SELECT mean(/^u/) FROM cpu",
      "SELECT mean(/^u/) FROM cpu" },
    { "SELECT value FROM cpu WHERE time > now() - 1h AND (\"host\" = 'a' OR \"host\" = 'b') AND NOT_A_KEYWORD = 1",
      "SELECT value FROM cpu WHERE time > now() - 1h AND (host = 'a' OR host = 'b') AND NOT_A_KEYWORD = 1" },
    { "SELECT \"time\", value FROM cpu",
      "SELECT time, value FROM cpu" },
    { "SELECT ln(value), pow(value, 2), abs(value) FROM cpu",
      "SELECT ln(value), pow(value, 2), abs(value) FROM cpu" },
    { "CREATE DATABASE t5 WITH DURATION 90m SHARD DURATION 1500ms NAME x",
      "CREATE DATABASE t5 WITH DURATION 1h30m0s SHARD DURATION 1.5s NAME x" },
    { "CREATE DATABASE t6 WITH SHARD DURATION 100u",
      "CREATE DATABASE t6 WITH SHARD DURATION 100\302\265s" },
    { "CREATE DATABASE t7 WITH SHARD DURATION 1001u",
      "CREATE DATABASE t7 WITH SHARD DURATION 1.001ms" },
    { "CREATE CONTINUOUS QUERY cqa ON db BEGIN SELECT mean(v) INTO m2 FROM m GROUP BY time(1m) END",
      "CREATE CONTINUOUS QUERY cqa ON db BEGIN SELECT mean(v) INTO m2 FROM m GROUP BY time(1m) END" },
    { "CREATE CONTINUOUS QUERY \"cq b\" ON db RESAMPLE EVERY 2m FOR 1h BEGIN SELECT mean(v) INTO db.rpx.m2 FROM m GROUP BY time(1m), * END",
      "CREATE CONTINUOUS QUERY \"cq b\" ON db RESAMPLE EVERY 2m FOR 1h BEGIN SELECT mean(v) INTO db.rpx.m2 FROM m GROUP BY time(1m), * END" },
    { "CREATE CONTINUOUS QUERY cqc ON db RESAMPLE FOR 1h BEGIN SELECT v INTO m2 FROM m END",
      "CREATE CONTINUOUS QUERY cqc ON db RESAMPLE FOR 1h BEGIN SELECT v INTO m2 FROM m END" },
    { "CREATE CONTINUOUS QUERY cqd ON \"db\" RESAMPLE EVERY 90s BEGIN SELECT max(v) AS mx INTO \"db\".\"rpx\".:MEASUREMENT FROM /.*/ WHERE host = 'a' GROUP BY time(30m, 15m), host fill(0) END",
      "CREATE CONTINUOUS QUERY cqd ON db RESAMPLE EVERY 90s BEGIN SELECT max(v) AS mx INTO db.rpx.:MEASUREMENT FROM /.*/ WHERE host = 'a' GROUP BY time(30m, 15m), host fill(0) END" },
    { "CREATE SUBSCRIPTION s1 ON db.rpx DESTINATIONS ALL 'udp://h:1', 'udp://h:2'",
      "CREATE SUBSCRIPTION s1 ON db.rpx DESTINATIONS ALL 'udp://h:1', 'udp://h:2'" },
    { "CREATE SUBSCRIPTION \"s 2\" ON \"db\".\"rpx\" DESTINATIONS ANY 'http://x:9'",
      "CREATE SUBSCRIPTION \"s 2\" ON db.rpx DESTINATIONS ANY 'http://x:9'" },
    { "DROP SUBSCRIPTION s1 ON db.rpx",
      "DROP SUBSCRIPTION s1 ON db.rpx" },
    { "DROP SUBSCRIPTION \"s 2\" ON \"db\".\"rpx\"",
      "DROP SUBSCRIPTION \"s 2\" ON db.rpx" },
    { "SELECT a FROM m WHERE c =~ /\\Qa.b\\E/",
      "SELECT a FROM m WHERE c =~ /\\Qa.b\\E/" },
    { "SELECT a FROM m WHERE c =~ /\\p{L}+/",
      "SELECT a FROM m WHERE c =~ /\\p{L}+/" },
    { "SELECT a FROM m WHERE c =~ /[[:alpha:]]/",
      "SELECT a FROM m WHERE c =~ /[[:alpha:]]/" },
    { "SELECT a FROM m WHERE c =~ /a\\z/",
      "SELECT a FROM m WHERE c =~ /a\\z/" },
    { "SELECT a FROM m WHERE c =~ /(\?s)a.b/",
      "SELECT a FROM m WHERE c =~ /(\?s)a.b/" },
    { "SELECT a FROM m WHERE c =~ /(\?U)a+/",
      "SELECT a FROM m WHERE c =~ /(\?U)a+/" },
    { "SELECT a FROM m WHERE c =~ /\\x{41}/",
      "SELECT a FROM m WHERE c =~ /\\x{41}/" },
    { "SELECT a FROM m WHERE c =~ /a{,2}/",
      "SELECT a FROM m WHERE c =~ /a{,2}/" },
    { "SELECT a FROM m WHERE c =~ /(\?i:a)/",
      "SELECT a FROM m WHERE c =~ /(\?i:a)/" },
    { "SELECT a FROM m WHERE c =~ /.*/",
      "SELECT a FROM m WHERE c =~ /.*/" },
    { "SELECT a FROM m WHERE c =~ /^(a|b\\.c|d\\-e)$/",
      "SELECT a FROM m WHERE c =~ /^(a|b\\.c|d\\-e)$/" },
    { "SELECT a FROM m WHERE c =~ /[]a]/",
      "SELECT a FROM m WHERE c =~ /[]a]/" },
    { "SELECT a FROM m WHERE c =~ /[^]a]/",
      "SELECT a FROM m WHERE c =~ /[^]a]/" },
    { "SELECT a FROM m WHERE c =~ /[a-]/",
      "SELECT a FROM m WHERE c =~ /[a-]/" },
    { "SELECT a FROM m WHERE c =~ /[-a]/",
      "SELECT a FROM m WHERE c =~ /[-a]/" },
    { "SELECT a FROM m WHERE c =~ /[\\]]/",
      "SELECT a FROM m WHERE c =~ /[\\]]/" },
    { "SELECT a FROM m WHERE c =~ /[a\\-z]/",
      "SELECT a FROM m WHERE c =~ /[a\\-z]/" },
    { "SELECT a FROM m WHERE c =~ /[[:^alpha:]]/",
      "SELECT a FROM m WHERE c =~ /[[:^alpha:]]/" },
    { "SELECT a FROM m WHERE c =~ /(\?i-s:a)/",
      "SELECT a FROM m WHERE c =~ /(\?i-s:a)/" },
    { "SELECT a FROM m WHERE c =~ /\\x41/",
      "SELECT a FROM m WHERE c =~ /\\x41/" },
    { "SELECT a FROM m WHERE c =~ /\\x{1F600}+/",
      "SELECT a FROM m WHERE c =~ /\\x{1F600}+/" },
    { "SELECT a FROM m WHERE c =~ /\\pN*/",
      "SELECT a FROM m WHERE c =~ /\\pN*/" },
    { "SELECT a FROM m WHERE c =~ /\\p{Greek}*/",
      "SELECT a FROM m WHERE c =~ /\\p{Greek}*/" },
    { "SELECT a FROM m WHERE c =~ /a{3,1000}/",
      "SELECT a FROM m WHERE c =~ /a{3,1000}/" },
    { "SELECT a FROM m WHERE c =~ /\\12/",
      "SELECT a FROM m WHERE c =~ /\\12/" },
    { "SELECT a FROM m WHERE c =~ /\\b\\B\\A\\z/",
      "SELECT a FROM m WHERE c =~ /\\b\\B\\A\\z/" },
    { "SELECT a FROM m WHERE c =~ /a{2}\?/",
      "SELECT a FROM m WHERE c =~ /a{2}\?/" },
    { "SELECT a FROM m WHERE c =~ /x{2}{,3}/",
      "SELECT a FROM m WHERE c =~ /x{2}{,3}/" },
    { "SELECT a FROM m WHERE c =~ /\\pZ/",
      "SELECT a FROM m WHERE c =~ /\\pZ/" },
    { "SELECT a FROM m WHERE c =~ /\303\251+/",
      "SELECT a FROM m WHERE c =~ /\303\251+/" },
    { "SELECT a FROM m WHERE c =~ /a{0}/",
      "SELECT a FROM m WHERE c =~ /a{0}/" },
    { "SELECT a FROM m WHERE c =~ /()/",
      "SELECT a FROM m WHERE c =~ /()/" },
    { "SHOW MEASUREMENTS LIMIT 100",
      "SHOW MEASUREMENTS LIMIT 100" },
    { "SHOW MEASUREMENTS WHERE \"host\" = 'a' LIMIT 100",
      "SHOW MEASUREMENTS WHERE host = 'a' LIMIT 100" },
    { "SHOW FIELD KEYS FROM \"cpu\"",
      "SHOW FIELD KEYS FROM cpu" },
    { "SHOW FIELD KEYS FROM \"autogen\".\"cpu\"",
      "SHOW FIELD KEYS FROM autogen.cpu" },
    { "SHOW TAG KEYS FROM \"cpu\"",
      "SHOW TAG KEYS FROM cpu" },
    { "SHOW TAG KEYS FROM \"cpu\" WHERE time > now() - 12h",
      "SHOW TAG KEYS FROM cpu WHERE time > now() - 12h" },
    { "SHOW TAG VALUES WITH KEY = \"shard\" WHERE \"region\"::tag = 'eu' AND time > now() - 12h",
      "SHOW TAG VALUES WITH KEY = \"shard\" WHERE region::tag = 'eu' AND time > now() - 12h" },
    { "SELECT mean(\"usage\") FROM \"cpu\" WHERE \"host\" = 'select tag value' AND time >= now() - 6h and time <= now() GROUP BY time(200ms) fill(null)",
      "SELECT mean(usage) FROM cpu WHERE host = 'select tag value' AND time >= now() - 6h AND time <= now() GROUP BY time(200ms)" },
    { "SELECT last(\"v\") FROM \"m\" WHERE time >= now() - 1h AND \"k\" = 'v' GROUP BY time(1m) fill(null) ORDER BY time ASC",
      "SELECT last(v) FROM m WHERE time >= now() - 1h AND k = 'v' GROUP BY time(1m) ORDER BY time ASC" },
    { "SELECT \"v\" FROM \"m\" WHERE \"path\" = 'a\\\\b' AND \"q\" = 'it\\'s' AND time >= now() - 1h",
      "SELECT v FROM m WHERE path = 'a\\\\b' AND q = 'it\\'s' AND time >= now() - 1h" },
    { "SELECT v FROM m LIMIT 007",
      "SELECT v FROM m LIMIT 7" },
    { "SELECT v FROM m WHERE x = 000123",
      "SELECT v FROM m WHERE x = 123" },
    { "SELECT v FROM m WHERE x = 1.50000000000000000000001",
      "SELECT v FROM m WHERE x = 1.500" },
    { "SELECT v FROM m WHERE x = 9223372036854775808",
      "SELECT v FROM m WHERE x = 9223372036854775808" },
    { "SELECT v FROM m WHERE time > 9223372036854775807ns",
      "SELECT v FROM m WHERE time > 9223372036854775807ns" },
    { "SELECT v FROM m WHERE time > 1h1h",
      "SELECT v FROM m WHERE time > 2h" },
    { "SELECT v FROM m WHERE time > 1ms1ms1u1ns",
      "SELECT v FROM m WHERE time > 2001001ns" },
    { "SELECT v FROM m WHERE time > 0s",
      "SELECT v FROM m WHERE time > 0s" },
    { "SELECT v FROM m WHERE time > 0",
      "SELECT v FROM m WHERE time > 0" },
};

static const struct {
    const char *q;
    const char *err;
} statement_errors[] = {
    { "SELECT mean(value), value FROM cpu", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT value FROM cpu GROUP BY time(1m)", "GROUP BY requires at least one aggregate function" },
    { "SELECT value FROM cpu GROUP BY time(1m) fill(none)", "fill(none) must be used with a function" },
    { "SELECT value FROM cpu fill(none)", "fill(none) must be used with a function" },
    { "SELECT mean(value) FROM cpu fill(none)", "" },
    { "SELECT mean(*) FROM cpu GROUP BY time()", "time dimension expected 1 or 2 arguments" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m, 2m, 3m)", "time dimension expected 1 or 2 arguments" },
    { "SELECT mean(value) FROM cpu GROUP BY time(value)", "time dimension must have duration argument" },
    { "SELECT foo(value) FROM cpu", "undefined function foo()" },
    { "SELECT mean() FROM cpu", "invalid number of arguments for mean, expected 1, got 0" },
    { "SELECT mean(value, 1) FROM cpu", "invalid number of arguments for mean, expected 1, got 2" },
    { "SELECT percentile(value) FROM cpu", "invalid number of arguments for percentile, expected 2, got 1" },
    { "SELECT derivative(value, 1) FROM cpu", "second argument to derivative must be a duration, got *influxql.IntegerLiteral" },
    { "SELECT top(value) FROM cpu", "invalid number of arguments for top, expected at least 2, got 1" },
    { "SELECT count(distinct(value)), value FROM cpu", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT distinct(value), mean(value) FROM cpu", "aggregate function distinct() cannot be combined with other functions or fields" },
    { "SELECT top(value, 3), mean(value) FROM cpu", "selector function top() cannot be combined with other functions" },
    { "SELECT mean(value) FROM cpu WHERE time > now() - 1h GROUP BY time(1m) fill(linear) ORDER BY time DESC LIMIT 0", "" },
    { "SELECT mean(\"value\") FROM \"cpu\" WHERE \"host\" = 'select tag value' AND time >= now() - 6h", "" },
    { "SELECT value FROM cpu fill(0)", "" },
    { "SELECT value FROM cpu GROUP BY time(1m) fill(previous)", "GROUP BY requires at least one aggregate function" },
    { "SELECT max(value), host FROM cpu", "" },
    { "SELECT max(value), min(value), host FROM cpu", "mixing multiple selector functions with tags or fields is not supported" },
    { "SELECT top(value, 2), host FROM cpu", "" },
    { "SELECT mean(value), host FROM cpu", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT derivative(value) FROM cpu", "" },
    { "SELECT derivative(value, 1s, 2) FROM cpu", "invalid number of arguments for derivative, expected at least 1 but no more than 2, got 3" },
    { "SELECT derivative(mean(value)) FROM cpu", "derivative aggregate requires a GROUP BY interval" },
    { "SELECT derivative(mean(value)) FROM cpu WHERE time > now() - 1h GROUP BY time(1m)", "" },
    { "SELECT elapsed(value, 1) FROM cpu", "second argument to elapsed must be a duration, got *influxql.IntegerLiteral" },
    { "SELECT moving_average(value) FROM cpu", "invalid number of arguments for moving_average, expected 2, got 1" },
    { "SELECT moving_average(value, 1.5) FROM cpu", "second argument for moving_average must be an integer, got *influxql.NumberLiteral" },
    { "SELECT percentile(value, 'a') FROM cpu", "expected float argument in percentile()" },
    { "SELECT top(value, 'a') FROM cpu", "expected integer as last argument in top(), found 'a'" },
    { "SELECT top(value, 0) FROM cpu", "limit (0) in top function must be at least 1" },
    { "SELECT count(value) FROM cpu GROUP BY time(1m)", "" },
    { "SELECT 1 FROM cpu", "field must contain at least one variable" },
    { "SELECT time FROM cpu", "at least 1 non-time field must be queried" },
    { "SELECT mean(value) + 1 FROM cpu", "" },
    { "SELECT mean(value) + value FROM cpu", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT value FROM cpu GROUP BY host", "" },
    { "SELECT mean(value) FROM cpu GROUP BY time(1m), time(2m)", "multiple time dimensions not allowed" },
    { "SELECT distinct(value) FROM cpu", "" },
    { "SELECT distinct(value), host FROM cpu", "aggregate function distinct() cannot be combined with other functions or fields" },
    { "SELECT count(distinct(value)) FROM cpu", "" },
    { "SELECT mean(distinct(value)) FROM cpu", "expected field argument in mean()" },
    { "SELECT sum(mean(value)) FROM cpu", "expected field argument in sum()" },
    { "SELECT difference(value), value FROM cpu", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT cumulative_sum(value) FROM cpu GROUP BY time(1m)", "aggregate function required inside the call to cumulative_sum" },
    { "SELECT holt_winters(value, 1, 1) FROM cpu", "must use aggregate function with holt_winters" },
    { "SELECT holt_winters(mean(value), 1, 1) FROM cpu", "holt_winters aggregate requires a GROUP BY interval" },
    { "SELECT median(value), mode(value), spread(value), stddev(value), sum(value), first(value), last(value), min(value), integral(value), sample(value, 2), count(value) FROM cpu", "" },
    { "SELECT integral(value, 1s, 2) FROM cpu", "invalid number of arguments for integral, expected at least 1 but no more than 2, got 3" },
    { "SELECT sample(value) FROM cpu", "invalid number of arguments for sample, expected 2, got 1" },
    { "SELECT bottom(value, host, 2) FROM cpu", "" },
    { "SELECT top(value, 2, 3) FROM cpu", "only fields or tags are allowed in top(), found 2" },
    { "SELECT mean(value) FROM cpu GROUP BY time(0s)", "" },
    { "SELECT mean(value) FROM cpu GROUP BY time(-1s)", "" },
    { "SELECT percentile(value, 50), value FROM cpu", "" },
    { "SELECT max(value), min(value) FROM cpu fill(none)", "" },
    { "SELECT mean(value), mean(value) FROM cpu", "" },
    { "SELECT ln(value) FROM cpu", "" },
    { "SELECT mean(value) FROM cpu WHERE time > now() - 1h GROUP BY time(1m) fill(none) LIMIT 2", "" },
    { "SELECT mean(v) FROM m GROUP BY time", "time() is a function and expects at least one argument" },
    { "SELECT mean(v) FROM m GROUP BY TIME", "time() is a function and expects at least one argument" },
    { "SELECT mean(v) FROM m GROUP BY 1", "only time and tag dimensions allowed" },
    { "SELECT mean(v) FROM m GROUP BY 'a'", "only time and tag dimensions allowed" },
    { "SELECT mean(v) FROM m GROUP BY time(0s), time(1m)", "" },
    { "SELECT mean(v) FROM m GROUP BY time(1m, 1)", "time dimension offset must be duration or now()" },
    { "SELECT mean(v) FROM m GROUP BY time(1m, foo())", "time dimension offset function must be now()" },
    { "SELECT mean(v) FROM m GROUP BY time(1m, now(1))", "time dimension offset now() function requires no arguments" },
    { "SELECT mean(v) FROM m GROUP BY time(1m, '2020-01-01T00:00:00Z')", "invalid time dimension offset: '2020-01-01T00:00:00Z'" },
    { "SELECT mean(v) FROM m GROUP BY host::tag, *, /x/", "" },
    { "SELECT mean(value) FROM cpu GROUP BY timSEe(1m, now())", "only time() calls allowed in dimensions" },
    { "SELECT mean(v) FROM m GROUP BY host + 1", "only time and tag dimensions allowed" },
    { "SELECT value FROM cpu fill(linear)", "fill(linear) must be used with a function" },
    { "SELECT moving_average(value, 1) FROM cpu", "moving_average window must be greater than 1, got 1" },
    { "SELECT sample(value, 1) FROM cpu", "" },
    { "SELECT sample(value, 'x') FROM cpu", "expected integer argument in sample()" },
    { "SELECT derivative(value, -1s) FROM cpu", "duration argument must be positive, got -1s" },
    { "SELECT derivative(value, 0s) FROM cpu", "duration argument must be positive, got 0s" },
    { "SELECT top(value, host, 'a') FROM cpu", "expected integer as last argument in top(), found 'a'" },
    { "SELECT top(1, 2) FROM cpu", "expected first argument to be a field in top(), found 1" },
    { "SELECT bottom(value, 2), bottom(value, 3) FROM cpu", "selector function bottom() cannot be combined with other functions" },
    { "SELECT max(value), time FROM cpu", "" },
    { "SELECT time AS t, value FROM cpu", "" },
    { "SELECT count(*) FROM cpu", "" },
    { "SELECT count(/x/) FROM cpu", "" },
    { "SELECT first(value), last(value), host FROM cpu", "mixing multiple selector functions with tags or fields is not supported" },
    { "SELECT distinct(value), distinct(v2) FROM cpu", "aggregate function distinct() cannot be combined with other functions or fields" },
    { "SELECT DISTINCT value FROM cpu", "" },
    { "SELECT DISTINCT value, host FROM cpu", "aggregate function distinct() cannot be combined with other functions or fields" },
    { "SELECT mean(value) * 2 + max(value) FROM cpu", "" },
    { "SELECT abs(value), ln(mean(value)) FROM cpu", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT 1 + 2 FROM cpu", "field must contain at least one variable" },
    { "SELECT value + 1 FROM cpu", "" },
    { "SELECT (value) FROM cpu", "" },
    { "SELECT * FROM cpu GROUP BY time(1m)", "GROUP BY requires at least one aggregate function" },
    { "SELECT mean(*), host FROM cpu", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT percentile(value, 50.5) FROM cpu", "" },
    { "SELECT elapsed(value) FROM cpu", "" },
    { "SELECT integral(value, 0s) FROM cpu", "duration argument must be positive, got 0s" },
    { "SELECT holt_winters_with_fit(mean(value), 1, 1) FROM cpu GROUP BY time(1m)", "" },
    { "SELECT holt_winters(mean(value), 1) FROM cpu GROUP BY time(1m)", "invalid number of arguments for holt_winters, expected 3, got 2" },
    { "SELECT top(\"usage\", \"host\", 3), bottom(usage, SERIES2) FROM cpu", "selector function top() cannot be combined with other functions" },
    { "SELECT top(usage, 3), bottom(usage, 2) FROM cpu", "selector function top() cannot be combined with other functions" },
    { "SELECT mean(usage), top(usage, 2) FROM cpu", "selector function top() cannot be combined with other functions" },
    { "SELECT elapsed(x, 1ms) FROM m WHERE time > now() - 1d GROUP BY time(1h)", "aggregate function required inside the call to elapsed" },
    { "SELECT elapsed(mean(x), 1ms) FROM m WHERE time > now() - 1d GROUP BY time(1h)", "" },
    { "SELECT elapsed(mean(x)) FROM m", "elapsed aggregate requires a GROUP BY interval" },
    { "SELECT integral(x, 1h) FROM m WHERE time > now() - 1d GROUP BY time(1h)", "" },
    { "SELECT integral(mean(x)) FROM m", "expected field argument in integral()" },
    { "SELECT elapsed(x), x FROM m", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT integral(x), x FROM m", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT top(x, 2), top(y, 3) FROM m", "selector function top() cannot be combined with other functions" },
    { "SELECT count(x), top(y, 3) FROM m", "selector function top() cannot be combined with other functions" },
    { "SELECT max(m) FROM (SELECT mean(v), v AS m FROM cpu) ", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT max(m), m FROM (SELECT mean(v), v AS m FROM cpu)", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT max(m), m FROM (SELECT v AS m FROM cpu)", "" },
    { "SELECT m FROM (SELECT mean(v) AS m FROM cpu GROUP BY time(1m))", "" },
    { "SELECT m FROM (SELECT v AS m FROM cpu GROUP BY time(1m))", "fill(none) must be used with a function" },
    { "SELECT mean(m) FROM (SELECT top(v, 2) AS m FROM cpu) GROUP BY time(1m)", "" },
    { "SELECT mean(m) FROM (SELECT foo(v) AS m FROM cpu), (SELECT v FROM cpu GROUP BY time(1m))", "undefined function foo()" },
    { "SELECT derivative(m) FROM (SELECT mean(v) AS m FROM cpu WHERE time > now() - 1h GROUP BY time(1m))", "" },
    { "SELECT m FROM (SELECT m FROM (SELECT mean(v), v AS m FROM cpu))", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT m FROM (SELECT v AS m FROM cpu GROUP BY time(1m) fill(0))", "GROUP BY requires at least one aggregate function" },
    { "SELECT m FROM (SELECT v AS m FROM cpu fill(linear))", "fill(linear) must be used with a function" },
    { "SELECT mean(m), m FROM (SELECT foo(v) AS m FROM cpu)", "mixing aggregate and non-aggregate queries is not supported" },
    { "SELECT m FROM (SELECT v AS m FROM cpu GROUP BY time(1m) fill(null))", "fill(none) must be used with a function" },
    { "SELECT m FROM (SELECT time FROM cpu)", "at least 1 non-time field must be queried" },
    { "SELECT m FROM (SELECT mean(v) AS m FROM cpu), (SELECT v FROM cpu GROUP BY time(1m))", "fill(none) must be used with a function" },
};

static int parse(struct arena *a, const char *q, struct iql_query **out, struct buf *msg)
{
    struct err e;
    return iql_parse(q, strlen(q), NULL, a, out, &e, msg);
}

static void test_canonical(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof canonical / sizeof canonical[0]; i++) {
        struct arena a;
        arena_init(&a, 0, 0);
        struct iql_query *q;
        struct buf msg, b;
        buf_init(&msg, 0);
        buf_init(&b, 0);
        if (parse(&a, canonical[i].q, &q, &msg))
            fail_msg("#%zu \"%s\": %s", i, canonical[i].q, msg.p);
        assert_int_equal(iql_render_query(&b, q), 0);
        if (strcmp(b.p ? b.p : "", canonical[i].want) != 0)
            fail_msg("#%zu \"%s\":\n  got  \"%s\"\n  want \"%s\"", i, canonical[i].q,
                     b.p ? b.p : "", canonical[i].want);
        buf_fini(&msg);
        buf_fini(&b);
        arena_fini(&a);
    }
}

/* The renderer is lossy exactly where InfluxDB's is (see iql_ast.c). */
static bool lossy(const char *text)
{
    if (strstr(text, "[REDACTED]") || strstr(text, "DISTINCT ") || strstr(text, "e+") ||
        strstr(text, "e-0"))
        return true;
    /* CREATE DATABASE uses Go's Duration.String(): "1.5s", "100\u00b5s" */
    return strncmp(text, "CREATE DATABASE", 15) == 0 &&
           (strchr(text, '.') || strstr(text, "\xc2\xb5"));
}

/* render(parse(render(parse(q)))) == render(parse(q)) */
static void test_round_trip(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof canonical / sizeof canonical[0]; i++) {
        struct arena a;
        arena_init(&a, 0, 0);
        struct iql_query *q;
        struct buf msg, b1, b2;
        buf_init(&msg, 0);
        buf_init(&b1, 0);
        buf_init(&b2, 0);
        assert_int_equal(parse(&a, canonical[i].q, &q, &msg), 0);
        assert_int_equal(iql_render_query(&b1, q), 0);
        if (!lossy(b1.p)) {
            if (parse(&a, b1.p, &q, &msg))
                fail_msg("#%zu re-parse of \"%s\": %s", i, b1.p, msg.p);
            assert_int_equal(iql_render_query(&b2, q), 0);
            assert_string_equal(b1.p, b2.p);
            checked++;
        }
        buf_fini(&msg);
        buf_fini(&b1);
        buf_fini(&b2);
        arena_fini(&a);
    }
    assert_true(checked > 100);
}

static void test_statement_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof statement_errors / sizeof statement_errors[0]; i++) {
        struct arena a;
        arena_init(&a, 0, 0);
        struct iql_query *q;
        struct buf msg;
        buf_init(&msg, 0);
        if (parse(&a, statement_errors[i].q, &q, &msg))
            fail_msg("#%zu \"%s\": %s", i, statement_errors[i].q, msg.p);
        assert_int_equal(q->nstmts, 1);
        assert_int_equal(q->stmts[0]->kind, IQL_STMT_SELECT);
        struct err e;
        int rc = iql_select_check(q->stmts[0]->select, &e);
        if (statement_errors[i].err[0] == '\0') {
            if (rc)
                fail_msg("#%zu \"%s\": unexpected \"%s\"", i, statement_errors[i].q, e.msg);
        } else {
            if (rc != ERR_INVAL || strcmp(e.msg, statement_errors[i].err) != 0)
                fail_msg("#%zu \"%s\":\n  got  (%d) \"%s\"\n  want \"%s\"", i,
                         statement_errors[i].q, rc, rc ? e.msg : "",
                         statement_errors[i].err);
        }
        buf_fini(&msg);
        arena_fini(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_statement_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
