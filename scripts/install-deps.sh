#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Installs every Debian package Nightjar needs to build, run and test.
# Idempotent: when every package is already installed it does nothing (no
# apt-get update, no network).  Package services (influxdb, prometheus, ...)
# are prevented from starting during the install with a policy-rc.d that
# exits 101; the tests start their own peers on loopback ports.
set -eu

PKGS="
build-essential cmake pkg-config clang libclang-rt-14-dev
libuv1-dev libzstd-dev libcurl4-openssl-dev libyaml-dev libpcre2-dev
libhttp-parser-dev zlib1g-dev libxxhash-dev libcmocka-dev
python3 curl ca-certificates
prometheus
influxdb influxdb-client
"

# The npm `influx` client for tests/integration/test_write_clients.py, into
# tests/clients/node_modules with `npm ci` (the lock file pins it), only when
# it is missing.  Debian's nodejs and npm only when node/npm are not on PATH.
install_node_clients() {
    clients="$(cd "$(dirname "$0")/.." && pwd)/tests/clients"
    if [ -d "$clients/node_modules/influx" ]; then
        return 0
    fi
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: installing nodejs npm"
        S=""
        if [ "$(id -u)" -ne 0 ]; then S="sudo"; fi
        DEBIAN_FRONTEND=noninteractive $S apt-get update -q
        DEBIAN_FRONTEND=noninteractive $S apt-get install -y -q --no-install-recommends nodejs npm
    fi
    echo "install-deps: npm ci in $clients"
    (cd "$clients" && npm ci --no-audit --no-fund)
}

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    install_node_clients
    exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

policy=/usr/sbin/policy-rc.d
had_policy=0
if [ -e "$policy" ]; then had_policy=1; fi
if [ "$had_policy" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT INT TERM
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
install_node_clients
echo "install-deps: done"
