#!/usr/bin/env bash
# The test command: installs what the tests need where it is missing
# (scripts/install-test-deps.sh), then runs every test with cargo, then the
# IRC door against irctest's core selection (tests/irctest/run-core.sh),
# which fails if fewer tests pass than its floor.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace "$@"
tests/irctest/run-core.sh
