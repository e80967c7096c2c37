#!/bin/sh
# SPDX-License-Identifier: MIT
# Restart after kill -9: DIR made by "replay.sh make" (DIR/data.orig, DIR/nj.yaml). Starts NIGHTJAR on a
# copy and polls a one-line write every 20 ms; prints seconds from exec to the first 204, the
# process CPU-s and the daemon's "wal replayed" figures. Manual benchmark, not run by ctest.
# bench/ingest/restart.sh NIGHTJAR DIR : restart on a copy of DIR/data.orig; time from exec to the first 204 of a one-line write
B=$1; D=$2; PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' $D/nj.yaml)
rm -rf "$D/data"; cp -r "$D/data.orig" "$D/data"; sync
T0=$(date +%s.%N)
"$B" --config "$D/nj.yaml" > "$D/log4" 2>&1 &
P=$!
while :; do
  c=$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'probe v=1' "http://127.0.0.1:$PORT/write?db=bench" 2>/dev/null)
  [ "$c" = 204 ] && break
  sleep 0.02
done
T1=$(date +%s.%N)
CPU=$(awk -v t=$(getconf CLK_TCK) '{printf "%.2f", ($14+$15)/t}' /proc/$P/stat)
echo "first_204_s=$(echo "$T1 - $T0" | bc) cpu_s=$CPU load=$(cut -d' ' -f1 /proc/loadavg) $(grep 'wal replayed' $D/log4 | sed 's/.*records=[0-9]* //')"
kill -TERM $P; wait $P 2>/dev/null
