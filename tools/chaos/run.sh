#!/usr/bin/env bash
# Crash-safety run: a real `simkyc serve` under a load of registration starts, captures,
# activations and terminations, killed with SIGKILL at random moments, CYCLES times (default 20)
# per backend: SQLite, and PostgreSQL when SIMKYC_TEST_POSTGRES_URL names a role that may create
# databases (.ci/run sets one up). After each kill it checks `simkyc audit verify`, SQLite's
# integrity_check, that no registration is half-written, that stored SIM counts equal active
# SIMs, and after the restart that every acknowledged state is present (crates/simkyc/tests/chaos.rs).
# Usage: tools/chaos/run.sh [CYCLES]    (SIMKYC_CHAOS_SEED=N replays a run)
set -euo pipefail
cd "$(dirname "$0")/../.."
cycles=${1:-20}
cargo build --release -p simkyc --tests
./target/release/simkyc models fetch >/dev/null
SIMKYC_CHAOS_CYCLES=$cycles SIMKYC_REQUIRE_MODELS=1 SIMKYC_REQUIRE_DATA=1 \
  cargo test --release -p simkyc --test chaos -- --nocapture --test-threads=1
