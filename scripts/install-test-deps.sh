#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks: the Debian packages
# listed in scripts/test-deps.apt (real IRC clients, Chromium, nc, ...) and the npm
# packages of the browser tests. Does nothing for what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# How long to wait, at most, for an apt or dpkg already running (another
# install, unattended-upgrades) to let go of its lock, in seconds.
LOCK_WAIT="${SALA_APT_LOCK_WAIT:-300}"

# apt-get "$@", waiting up to LOCK_WAIT seconds (each call) for a lock that
# another apt or dpkg holds, rather than failing at once with "Could not get
# lock". apt itself waits for the dpkg lock (what install takes) when given
# DPkg::Lock::Timeout; it has no such wait for the lists lock of `apt-get
# update` (apt 2.6), so a run refused for a lock is tried again every 2
# seconds until the same deadline. LC_ALL=C keeps apt's message in the words
# looked for.
apt_get() {
    local deadline=$((SECONDS + LOCK_WAIT)) said status
    said=$(mktemp)
    while :; do
        status=0
        $SUDO env LC_ALL=C DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT" "$@" 2>&1 | tee "$said" || status=$?
        if [ "$status" -eq 0 ] || ! grep -q "^E: Could not get lock" "$said"; then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "install-test-deps: gave up after ${LOCK_WAIT}s waiting for another apt to finish" >&2
            break
        fi
        echo "install-test-deps: another apt holds its lock; trying again in 2s" >&2
        sleep 2
    done
    rm -f "$said"
    return "$status"
}

missing=()
while read -r pkg; do
    pkg="${pkg%%#*}"
    pkg="${pkg// /}"
    [ -z "$pkg" ] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done < scripts/test-deps.apt

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-test-deps: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    apt_get update -q
    apt_get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm ci where node_modules is missing or was installed from another lock file
# (a checkout that gained a package, such as axe-core, must not keep the old set).
if [ -f tests/browser/package.json ]; then
    want=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
    have=$(cat tests/browser/node_modules/.sala-lock-sha256 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        echo "install-test-deps: npm ci in tests/browser" >&2
        (cd tests/browser && npm ci --no-audit --no-fund)
        echo "$want" >tests/browser/node_modules/.sala-lock-sha256
    fi
fi
