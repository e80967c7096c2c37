#!/bin/sh
# SPDX-License-Identifier: MIT
# Manual query benchmark (issue #5): Grafana panel queries on Nightjar, InfluxDB 1.6 and
# VictoriaMetrics in the same run; medians of curl time_total.  Not run by ctest.
#
#   bench/query/run.sh [SETS] [REPEAT]      (defaults: d100,devops,ops,ops100k 21)
#
# Environment: WORK (scratch dir with the generated .lp files, default /tmp/nj-qbench; several
# GB), NIGHTJAR (binary; default: a Release build of a clean `git archive HEAD` in $WORK),
# NIGHTJAR_B (a second binary, e.g. the old one, timed on a copy of the first one's settled data:
# paired old/new runs), SHARED (shared/bench with gen_lp.py and lpblast.c, default /work/shared/bench).
# Peers: scripts/install-bench-deps.sh.  See bench/query/run.py for what is measured.
set -eu
SETS=${1:-d100,devops,ops,ops100k}
REPEAT=${2:-21}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
WORK=${WORK:-/tmp/nj-qbench}
SHARED=${SHARED:-/work/shared/bench}
mkdir -p "$WORK"
cc -O2 -o "$WORK/lpblast" "$SHARED/lpblast.c" -lpthread
if [ -z "${NIGHTJAR:-}" ]; then
    rev=$(git -C "$repo" rev-parse --short HEAD)
    rm -rf "$WORK/src-$rev" && mkdir -p "$WORK/src-$rev"
    git -C "$repo" archive HEAD | tar -x -C "$WORK/src-$rev"
    CC=${CC:-clang} cmake -S "$WORK/src-$rev" -B "$WORK/build-$rev" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
    cmake --build "$WORK/build-$rev" -j2 --target nightjar >/dev/null
    NIGHTJAR="$WORK/build-$rev/nightjar"
fi
echo "# nightjar $("$NIGHTJAR" --version 2>/dev/null || true) commit $(git -C "$repo" rev-parse --short HEAD)"
echo "# loadavg before: $(cat /proc/loadavg)"
python3 "$here/run.py" --dir "$WORK" --nightjar "$NIGHTJAR" --lpblast "$WORK/lpblast" \
    --sets "$SETS" --repeat "$REPEAT" --servers "${SERVERS:-nightjar,influxdb,victoria}" \
    ${NIGHTJAR_B:+--nightjar-b "$NIGHTJAR_B"} --json "$WORK/query-bench-$(echo "$SETS" | tr , -).json"
echo "# loadavg after: $(cat /proc/loadavg)"
