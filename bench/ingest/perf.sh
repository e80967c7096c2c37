#!/bin/sh
# Profile Nightjar ingest (perf record -p during lpblast -c 2) and then its WAL replay after kill -9.
# Usage: WORK=dir NIGHTJAR_BUILD=build-dir bench/ingest/perf.sh FILE.lp ; perf report -i $WORK/perfrun/{ingest,replay}.data
set -u
cd "${WORK:-/tmp/njbench}"   # needs ./lpblast and the .lp file here
B=${NIGHTJAR_BUILD:-/tmp/njbench/build-736cd9f}
D=$PWD/perfrun; rm -rf $D; mkdir -p $D
PORT=18931
printf 'http: {listen: "127.0.0.1:%s"}\nlog: {level: info}\nstorage: {dir: %s/data, retention: INF}\ninternal: {enabled: false}\ndatabases: [bench]\n' $PORT $D > $D/nj.yaml
$B/nightjar --config $D/nj.yaml > $D/log1 2>&1 &
NJ=$!
for i in $(seq 100); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/ping 2>/dev/null | grep -q 204 && break; sleep 0.1; done
# Two small writes first: libuv starts its worker threads on first use, and
# perf record -p does not follow threads created after it attached.
curl -s -XPOST "http://127.0.0.1:$PORT/write?db=bench" --data-binary 'warm v=1 1' &
W=$!
curl -s -XPOST "http://127.0.0.1:$PORT/write?db=bench" --data-binary 'warm v=1 2'; wait $W
perf record -F 499 -g -p $NJ -o $D/ingest.data > $D/perf1.log 2>&1 &
PERF=$!
sleep 0.5
./lpblast -f ${1:-ops-1h.lp} -p $PORT -u '/write?db=bench' -b 5000 -c 2 -t 300 | grep RESULT
kill -INT $PERF; wait $PERF
grep -E 'Threads|VmHWM' /proc/$NJ/status
kill -9 $NJ; wait $NJ 2>/dev/null
perf record -F 999 -g -o $D/replay.data -- $B/nightjar --config $D/nj.yaml > $D/log2 2>&1 &
PERF=$!
for i in $(seq 600); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/ping 2>/dev/null | grep -q 204 && break; sleep 0.1; done
grep 'wal replayed' $D/log2
NJ2=$(pgrep -P $PERF nightjar)
kill -TERM $NJ2; wait $PERF
echo perf-done
