#!/usr/bin/env bash
# The test command: installs what the tests need where it is missing
# (scripts/install-test-deps.sh), then runs every test with cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --workspace "$@"
