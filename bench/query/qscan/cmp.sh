#!/bin/bash
# Manual: the same answers (md5 of the body, epoch=ms and RFC3339) from two daemons on the same data.
# cmp.sh PORT_A PORT_B: same answers for a set of queries
A=$1; B=$2; R='time >= 1704067200000ms AND time <= 1704078000000ms'
fail=0
while IFS= read -r q; do
  for ep in ms ""; do
  a=$(curl -s -G "http://127.0.0.1:$A/query" --data-urlencode db=bench ${ep:+--data-urlencode epoch=$ep} --data-urlencode "q=$q" | md5sum)
  b=$(curl -s -G "http://127.0.0.1:$B/query" --data-urlencode db=bench ${ep:+--data-urlencode epoch=$ep} --data-urlencode "q=$q" | md5sum)
  [ "$a" = "$b" ] || { echo "DIFF: $q epoch=$ep"; fail=1; }
  done
done <<EOQ
SELECT max("usage_user") FROM "cpu" WHERE $R GROUP BY time(5m), "hostname" fill(null)
SELECT min("usage_user"),max(usage_system),spread(usage_idle) FROM "cpu" WHERE $R GROUP BY time(7m), "hostname" fill(null)
SELECT max("usage_user"), min(usage_user) FROM "cpu" WHERE $R GROUP BY time(5m) fill(none)
SELECT max("usage_user") FROM "cpu" WHERE $R AND hostname = 'host_7' GROUP BY time(1m) fill(null)
SELECT mean("usage_user"), count(usage_user), sum(usage_nice) FROM "cpu" WHERE $R GROUP BY time(10m), "hostname" fill(0)
SELECT first("usage_user"), last(usage_user) FROM "cpu" WHERE $R GROUP BY time(5m), "hostname" fill(previous) limit 3 slimit 5 soffset 2
SELECT max("usage_user") FROM "cpu" WHERE $R GROUP BY time(5m), "hostname" fill(null) ORDER BY time DESC LIMIT 4 OFFSET 1
SELECT max("usage_user") FROM "cpu" WHERE time >= 1704067234567ms AND time <= 1704071000000ms GROUP BY time(5m,1m), "hostname", region
SELECT max(usage_user) FROM cpu WHERE $R GROUP BY time(1h), *
SELECT min(usage_guest) FROM cpu WHERE $R GROUP BY time(30s), hostname slimit 20
EOQ
echo "cmp done fail=$fail"
