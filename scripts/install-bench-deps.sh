#!/bin/sh
# Install the benchmark peers that bench/ingest/run.sh compares Nightjar against.
# Idempotent; needs root. Not called by `make test` or ctest.
#   - victoria-metrics (Debian 1.79.x): its package would start a system service on install;
#     a temporary /usr/sbin/policy-rc.d that exits 101 stops that. An existing policy-rc.d is
#     left exactly as it was.
#   - influxdb (Debian 1.6.x) is installed the same way if missing.
# The benchmark runs each server by hand on a temp dir and 127.0.0.1; nothing here enables a service.
set -eu

need=""
command -v victoria-metrics >/dev/null 2>&1 || need="$need victoria-metrics"
command -v influxd >/dev/null 2>&1 || need="$need influxdb"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v python3 >/dev/null 2>&1 || need="$need python3"
if [ -z "$need" ]; then
    echo "install-bench-deps: nothing to do (victoria-metrics, influxd, cc, python3 present)"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-bench-deps: need root to apt-get install:$need" >&2
    exit 1
fi

guard=/usr/sbin/policy-rc.d
made_guard=0
if [ ! -e "$guard" ]; then
    printf '#!/bin/sh\n# temporary, from nightjar scripts/install-bench-deps.sh\nexit 101\n' > "$guard"
    chmod 755 "$guard"
    made_guard=1
fi
cleanup() { [ "$made_guard" = 1 ] && rm -f "$guard"; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $need

# In case a service got enabled anyway, make sure it is not running: the benchmark starts its own.
for svc in victoria-metrics influxdb; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl stop "$svc" || true
    fi
done
echo "install-bench-deps: installed:$need"
