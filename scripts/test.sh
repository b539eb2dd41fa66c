#!/usr/bin/env bash
# The test command: installs what the tests need where it is missing
# (scripts/install-test-deps.sh), then runs every test with cargo, then the
# IRC door against irctest's core and IRCv3 selections (tests/irctest/run-core.sh,
# run-ircv3.sh), each failing if fewer tests pass than its floor.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace "$@"
tests/irctest/run-core.sh
tests/irctest/run-ircv3.sh
