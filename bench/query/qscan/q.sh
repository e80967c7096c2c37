#!/bin/sh
# Manual (helper qscan, docs/BENCHMARKS.md "All-series queries (qscan)"): one /query call per
# round; SET dev = devops 1,000 hosts max by 5m, ops = 2,126 shards; data as bench/query/run.py loads it.
# q.sh PORT SET N -> runs the query N times, prints times
PORT=$1; SET=$2; N=${3:-10}
if [ "$SET" = dev ]; then
Q='SELECT max("usage_user") FROM "cpu" WHERE time >= 1704067200000ms AND time <= 1704078000000ms GROUP BY time(5m), "hostname" fill(null)'
else
Q='SELECT max("msgs_per_sec") FROM "gateway" WHERE time >= 1704067200000ms AND time <= 1704078000000ms GROUP BY time(5m), "shard" fill(null)'
fi
i=0; while [ $i -lt $N ]; do
curl -s -G "http://127.0.0.1:$PORT/query" --data-urlencode db=bench --data-urlencode epoch=ms --data-urlencode "q=$Q" -o /dev/null -w '%{time_total}\n'
i=$((i+1)); done
