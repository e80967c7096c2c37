#!/bin/bash
# SPDX-License-Identifier: MIT
# Bytes per point of part files after flush and after compaction (docs/BENCHMARKS.md,
# "Compaction").  Ingests FILE in CHUNKS time-ordered slices with a head flush after each
# (compaction held back by a long start_delay), stops, then restarts with compaction admitted
# at once (RATE = storage.compaction.max_bytes_per_sec, default 0 = unlimited) and waits until
# every merge has finished.
#   usage: bench/compact/run.sh NAME FILE CHUNKS   (env NIGHTJAR, LPBLAST, WORK, RATE)
set -e
N=$1; F=$2; CH=$3
BIN=${NIGHTJAR:-build/nightjar}; LPB=${LPBLAST:-/tmp/cbench/lpblast}; W=${WORK:-/tmp/cbench}
D=$W/$N; rm -rf "$D"; mkdir -p "$D"
PORT=$((20000 + RANDOM % 20000))
cat > "$D/a.yaml" <<Y
http: {listen: "127.0.0.1:$PORT"}
storage:
  dir: $D/data
  retention: INF
  housekeeping_interval: 500ms
  flush: {head_bytes: 1GiB, max_age: 2s}
  compaction: {start_delay: 1h}
databases: [bench]
Y
sed -e "s/start_delay: 1h/start_delay: 0s, stagger: 0s, max_bytes_per_sec: ${RATE:-0}/" "$D/a.yaml" > "$D/b.yaml"
"$BIN" --config "$D/a.yaml" > "$D/a.log" 2>&1 & P=$!
for i in $(seq 100); do curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ping" | grep -q 204 && break; sleep 0.1; done
split -n "l/$CH" "$F" "$D/chunk."
for c in "$D"/chunk.*; do
  n=$(grep -c 'head flushed' "$D/a.log" || true)
  "$LPB" -f "$c" -p "$PORT" -u '/write?db=bench' -b 5000 -c 2 -t 600 >> "$D/blast.log" 2>&1
  while [ "$(grep -c 'head flushed' "$D/a.log" || true)" -le "$n" ]; do sleep 0.2; done
done
rm -f "$D"/chunk.*
kill $P; wait $P || true
partsize() { find "$D/data/db" -name '*.tsp' -printf '%s\n' | awk '{s+=$1; n++} END {print n " parts, " s " bytes"}'; }
echo "after flush: $(partsize)"
"$BIN" --config "$D/b.yaml" > "$D/b.log" 2>&1 & P=$!
for i in $(seq 1200); do
  s=$(grep -c '"compaction started"' "$D/b.log" || true); f=$(grep -c '"compaction finished"' "$D/b.log" || true)
  [ "$s" -gt 0 ] && [ "$s" = "$f" ] && grep '"compaction finished"' "$D/b.log" | tail -1 | grep -q 'backlog=0' && break
  sleep 0.5
done
kill $P; wait $P || true
echo "after compaction: $(partsize)"
grep -h '"compaction finished"' "$D/b.log" | sed 's/.*msg=//'
