#!/bin/sh
# SPDX-License-Identifier: MIT
# Old/new build pairs: one lpblast run (5,000-line batches) into a fresh dir; prints points/s, the
# daemon CPU-s (user+sys from /proc), VmHWM and the load. Needs ./lpblast. Not run by ctest.
# bench/ingest/blast.sh NIGHTJAR FILE.lp [CONNS]: fresh dir, blast FILE, print points/s, daemon CPU-s, VmHWM
B=$1; F=$2; C=${3:-2}; PORT=18981; D=${TMPDIR:-/tmp}/njblast.$$
rm -rf $D; mkdir -p $D
printf 'http: {listen: "127.0.0.1:%s"}\nlog: {level: info}\nstorage: {dir: %s/data, retention: INF}\ninternal: {enabled: false}\ndatabases: [bench]\n' $PORT $D > $D/nj.yaml
"$B" --config $D/nj.yaml > $D/log 2>&1 &
P=$!
for i in $(seq 100); do curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/ping 2>/dev/null | grep -q 204 && break; sleep 0.1; done
L0=$(cut -d' ' -f1 /proc/loadavg)
R=$(./lpblast -f $F -p $PORT -u '/write?db=bench' -b 5000 -c $C -t 300 | grep RESULT)
CPU=$(awk -v t=$(getconf CLK_TCK) '{printf "%.2f", ($14+$15)/t}' /proc/$P/stat)
HWM=$(grep VmHWM /proc/$P/status | awk '{print $2}')
echo "pts/s=$(echo "$R" | sed 's/.*points_per_s=\([0-9]*\).*/\1/') cpu_s=$CPU hwm_kb=$HWM load=$L0 non2xx=$(echo "$R" | sed 's/.*non2xx=\([0-9]*\).*/\1/') p99=$(echo "$R" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')"
kill -9 $P; wait $P 2>/dev/null; rm -rf $D
