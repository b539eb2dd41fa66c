#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks: the Debian packages
# listed in scripts/test-deps.apt (real IRC clients, Chromium, ...) and the npm
# packages of the browser tests. Does nothing for what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

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
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules ]; then
    echo "install-test-deps: npm ci in tests/browser" >&2
    (cd tests/browser && npm ci --no-audit --no-fund)
fi
