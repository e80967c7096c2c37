#!/bin/sh
# SPDX-License-Identifier: MIT
# Restart timing on a fixed WAL, to compare builds on the same bytes (docs/BENCHMARKS.md).
#   bench/ingest/replay.sh make NIGHTJAR FILE.lp DIR   blast FILE into a fresh DIR (lpblast -c 2), kill -9,
#                                                      keep the data as DIR/data.orig
#   bench/ingest/replay.sh run NIGHTJAR DIR            restart on a copy of DIR/data.orig; print the
#                                                      daemon's "wal replayed" line and its CPU time
# Needs ./lpblast (shared/bench) in the current directory for "make". Not run by ctest.
set -u
cmd=$1; B=$2
PORT=${PORT:-18951}
if [ "$cmd" = make ]; then
    F=$3; D=$4
    rm -rf "$D"; mkdir -p "$D"
    printf 'http: {listen: "127.0.0.1:%s"}\nlog: {level: info}\nstorage: {dir: %s/data, retention: INF}\ninternal: {enabled: false}\ndatabases: [bench]\n' $PORT "$D" > "$D/nj.yaml"
    "$B" --config "$D/nj.yaml" > "$D/log1" 2>&1 &
    NJ=$!
    for i in $(seq 100); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/ping 2>/dev/null | grep -q 204 && break; sleep 0.1; done
    ./lpblast -f "$F" -p $PORT -u '/write?db=bench' -b 5000 -c 2 -t 300 | grep RESULT
    kill -9 $NJ; wait $NJ 2>/dev/null
    cp -r "$D/data" "$D/data.orig"
    exit 0
fi
D=$3
rm -rf "$D/data"; cp -r "$D/data.orig" "$D/data"
"$B" --config "$D/nj.yaml" > "$D/log2" 2>&1 &
P=$!
for i in $(seq 600); do grep -q 'wal replayed' "$D/log2" 2>/dev/null && break; sleep 0.1; done
echo "load $(cut -d' ' -f1-3 /proc/loadavg) $(grep 'wal replayed' "$D/log2" | sed 's/.*segments/segments/')"
sleep 0.3
awk -v t=$(getconf CLK_TCK) '{printf "cpu user %.2f sys %.2f s\n", $14/t, $15/t}' /proc/$P/stat
kill -TERM $P; wait $P 2>/dev/null
