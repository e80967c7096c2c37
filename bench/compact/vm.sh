#!/bin/bash
# SPDX-License-Identifier: MIT
# VictoriaMetrics' settled data directory size for the same FILE (run beside run.sh).
#   usage: bench/compact/vm.sh NAME FILE   (env LPBLAST, WORK)
N=$1; F=$2; LPB=${LPBLAST:-/tmp/cbench/lpblast}; W=${WORK:-/tmp/cbench}
D=$W/vm-$N; rm -rf "$D"; mkdir -p "$D"
PORT=$((20000 + RANDOM % 20000))
victoria-metrics -storageDataPath="$D/data" -retentionPeriod=100y -httpListenAddr="127.0.0.1:$PORT" > "$D/vm.log" 2>&1 & P=$!
for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
"$LPB" -f "$F" -p "$PORT" -u '/write?db=bench' -b 5000 -c 2 -t 600 > "$D/blast.log" 2>&1
curl -s "http://127.0.0.1:$PORT/internal/force_flush" > /dev/null; sleep 5
curl -s "http://127.0.0.1:$PORT/internal/force_merge?partition_prefix=2024" > /dev/null; sleep 20
echo "vm $N settled: $(du -sb "$D/data" | cut -f1) bytes; rows $(curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^vm_rows\{type="storage/(small|big)"\}' | awk '{s+=$2} END {print s}')"
kill $P; wait $P 2>/dev/null
