#!/usr/bin/env bash
# The IRC door against irctest's core selection (RFC 1459/2812, no IRCv3, no
# services): builds the release server, runs the vendored suite
# (../shared/irctest) through this folder's controller, prints pytest's
# summary, and fails if fewer tests pass than the floor in core-floor.txt.
# The first run makes the suite's venv (pip, from PyPI); set IRCTEST_VENV to
# move it. Extra arguments go to pytest (e.g. -k WHO). IRCTEST_SELECTION=ircv3
# runs the IRCv3 selection against ircv3-floor.txt instead (run-ircv3.sh).
set -euo pipefail
selection=${IRCTEST_SELECTION:-core}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
suite="$repo/../shared/irctest/run.sh"
[ -x "$suite" ] || { echo "run-core: $suite is missing (irctest is vendored in ../shared/irctest)" >&2; exit 2; }
cd "$repo"
cargo build --release --bin server
bin="${CARGO_TARGET_DIR:-$repo/target}/release/server"
floor=$(tr -dc 0-9 < "$here/$selection-floor.txt")
out=$(mktemp)
# irctest keeps the ports it hands out in $TMPDIR/irctest_ports.json: a
# private TMPDIR keeps another run on this machine (or a killed one, which
# can leave that file empty) from breaking this one.
private_tmp=$(mktemp -d)
trap 'rm -rf "$out" "$private_tmp"' EXIT
export TMPDIR="$private_tmp"
status=0
"$suite" --controller-dir "$here" --bin "$bin" "$selection" "$@" >"$out" 2>&1 || status=$?
# The short summary (failures by name) and the counts, not every test's log.
sed -n '/short test summary info/,$p' "$out"
summary=$(tail -n 1 "$out")
passed=$(grep -o '[0-9]\+ passed' <<<"$summary" | tr -dc 0-9 || true)
passed=${passed:-0}
echo "irctest $selection: $summary (floor: $floor passed)"
if [ "$passed" -lt "$floor" ]; then
    [ "$status" -ne 0 ] && [ -z "$(grep -o 'passed' <<<"$summary" || true)" ] && tail -n 40 "$out"
    echo "irctest $selection: $passed passed, below the floor of $floor" >&2
    exit 1
fi
