#!/usr/bin/env bash
# Builds simkyc, fetches the pinned models (once; offline afterwards) and runs the registration
# service on an embedded SQLite database in ~/.local/share/simkyc/data (override with
# SIMKYC_DATA_DIR, SIMKYC_LISTEN or a config file: see docs/configuration.md). On first start it
# prints an admin key and a clerk key for trying the API; Ctrl-C stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build as scripts/test.sh and the benchmarks (one feature set, one target directory),
# so switching between them rebuilds nothing.
cargo build --release --workspace --all-targets
./target/release/simkyc models fetch
BIN=./target/release/simkyc
DATA_DIR=${SIMKYC_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/simkyc/data}
if [ ! -e "$DATA_DIR/simkyc.db" ]; then
  mkdir -p "$DATA_DIR"
  echo "first start: creating staff keys (shown once; keep them)"
  echo "  admin key: $($BIN admin create-key --role admin --label first-admin --data-dir "$DATA_DIR" 2>/dev/null)"
  echo "  clerk key: $($BIN admin create-key --role clerk --label first-clerk --data-dir "$DATA_DIR" 2>/dev/null)"
fi
exec $BIN serve --data-dir "$DATA_DIR" "$@"
