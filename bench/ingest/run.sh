#!/bin/sh
# SPDX-License-Identifier: MIT
# Manual ingest benchmark, Nightjar side by side with VictoriaMetrics and InfluxDB 1.6
# (docs/BENCHMARKS.md). Not run by ctest.
#
#   bench/ingest/run.sh [SPAN] [REPEAT]        (defaults: 1h 3; SPAN like 1h, 30m or 3600 seconds)
#
# Environment: WORK (scratch dir, default /tmp/nj-ingest-bench; hundreds of MB, removed at the end
# unless KEEP=1), NIGHTJAR (binary; default: build one in $WORK from a clean `git archive HEAD`),
# SHARED (shared/bench dir with gen_lp.py and lpblast.c, default /work/shared/bench),
# SERVERS (default nightjar,victoria,influxdb), CONNS (default 2,8).
# Peers: scripts/install-bench-deps.sh.
set -eu
SPAN=${1:-1h}
REPEAT=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
WORK=${WORK:-/tmp/nj-ingest-bench}
SHARED=${SHARED:-/work/shared/bench}
mkdir -p "$WORK"

cc -O2 -o "$WORK/lpblast" "$SHARED/lpblast.c" -lpthread

if [ -z "${NIGHTJAR:-}" ]; then
    rev=$(git -C "$repo" rev-parse --short HEAD)
    rm -rf "$WORK/src-$rev" && mkdir -p "$WORK/src-$rev"
    git -C "$repo" archive HEAD | tar -x -C "$WORK/src-$rev"
    cmake -S "$WORK/src-$rev" -B "$WORK/build-$rev" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$WORK/build-$rev" -j2 --target nightjar >/dev/null
    NIGHTJAR="$WORK/build-$rev/nightjar"
fi

case $SPAN in
    *h) span_s=$(( ${SPAN%h} * 3600 )) ;;
    *m) span_s=$(( ${SPAN%m} * 60 )) ;;
    *[!0-9]*|'') echo "SPAN must be like 1h, 30m or 3600" >&2; exit 2 ;;
    *) span_s=$SPAN
       if [ $(( span_s % 3600 )) -eq 0 ]; then SPAN=$(( span_s / 3600 ))h; else SPAN=$(( span_s / 60 ))m; fi ;;
esac
python3 "$SHARED/gen_lp.py" --workload devops --seed 1 --series 1000 --interval 10s --span "$SPAN" > "$WORK/devops-$SPAN.lp"
python3 "$SHARED/gen_lp.py" --workload ops --seed 1 --series 3334 --interval 10s --span "$SPAN" > "$WORK/ops-$SPAN.lp"

echo "# loadavg before: $(cat /proc/loadavg)"
python3 "$here/run.py" --file "$WORK/devops-$SPAN.lp" --file "$WORK/ops-$SPAN.lp" \
    --servers "${SERVERS:-nightjar,victoria,influxdb}" --conns "${CONNS:-2,8}" --repeat "$REPEAT" --span-s "$span_s" \
    --lpblast "$WORK/lpblast" --tmp "$WORK" --nightjar "$NIGHTJAR" --replay --json "$WORK/ingest.json"
echo "# loadavg after: $(cat /proc/loadavg)"

[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"/*.lp "$WORK"/src-* "$WORK"/nightjar-* "$WORK"/victoria-* "$WORK"/influxdb-*
