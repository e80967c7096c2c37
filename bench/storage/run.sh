#!/bin/sh
# SPDX-License-Identifier: MIT
# Storage-at-rest benchmark (issue #4): Nightjar, VictoriaMetrics and InfluxDB 1.6 in one run
# on the shared/bench reference sets (docs/BENCHMARKS.md "Storage at rest (issue #4)").
# Manual; not run by ctest.
#
#   bench/storage/run.sh [SERVERS]          (default nightjar,victoria,influxdb)
#
# Environment: WORK (scratch dir, default /tmp/nj-storage-bench; ~1.5 GB of line protocol is
# kept there between runs, delete it by hand), NIGHTJAR (binary; default: built from a clean
# `git archive HEAD` in $WORK), SHARED (default /work/shared/bench), RSS_HOSTS (devops hosts for
# the RSS-per-field-series runs, default "10000 100000" = 100 k and 1 M field-series; "" skips).
# Peers: scripts/install-bench-deps.sh.  Also prints bench/storage/partstat.py's byte breakdown
# of Nightjar's settled parts.
set -eu
SERVERS=${1:-nightjar,victoria,influxdb}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
WORK=${WORK:-/tmp/nj-storage-bench}
SHARED=${SHARED:-/work/shared/bench}
RSS_HOSTS=${RSS_HOSTS-10000 100000}
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

gen() { # file, gen_lp.py args...
    f=$1
    shift
    if [ ! -s "$WORK/$f" ]; then
        python3 "$SHARED/gen_lp.py" "$@" > "$WORK/$f.tmp"
        mv "$WORK/$f.tmp" "$WORK/$f"
    fi
}
gen devops.lp --workload devops --seed 1 --series 1000 --interval 10s --span 3h
gen ops.lp --workload ops --seed 1 --series 3334 --interval 10s --span 3h
rss=""
for h in $RSS_HOSTS; do
    gen "rss-$h.lp" --workload devops --seed 1 --series "$h" --interval 10s --span 30s
    rss="$rss --series-rss $((h * 10))=$WORK/rss-$h.lp"
done

echo "# nightjar $NIGHTJAR ($(git -C "$repo" rev-parse --short HEAD)); loadavg $(cat /proc/loadavg)"
# shellcheck disable=SC2086
python3 "$here/run.py" --file "devops=$WORK/devops.lp" --file "ops=$WORK/ops.lp" $rss \
    --servers "$SERVERS" --nightjar "$NIGHTJAR" --lpblast "$WORK/lpblast" --tmp "$WORK" \
    --json "$WORK/storage.json"
echo "# loadavg after: $(cat /proc/loadavg)"
