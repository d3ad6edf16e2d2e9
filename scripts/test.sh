#!/usr/bin/env bash
# Runs every test: builds in release mode (model tests need optimised inference), fetches the
# pinned models once (cached afterwards), then runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --all-targets
./target/release/simkyc models fetch
# The console's browser test drives headless Chromium with playwright-core (pinned in package-lock.json).
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix crates/simkyc-server/tests/console --no-audit --no-fund --loglevel=error
fi
export SIMKYC_REQUIRE_MODELS=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --release --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
exit $status
