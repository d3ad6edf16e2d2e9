#!/usr/bin/env bash
# Capture decision latency with an empty 1:N gallery and with a full one: for each size, a fresh
# SQLite data directory gets a clerk key, then (size > 0) SIZE activated registrations with sealed
# templates of the default engine's model (crates/simkyc-server/examples/gallery_load.rs), then
# `simkyc serve` loads them and the load generator runs registrations through it, one client.
# The server-side decision time (frames received -> decision stored) is the loadgen's median.
#   SIZES="0 1000000" REGISTRATIONS=60 bash tools/bench/capture_gallery.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --workspace --all-targets >/dev/null
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
MODEL=${MODEL:-sface-2021dec}
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
pid=
dir=
trap 'if [ -n "$pid" ]; then kill $pid 2>/dev/null || true; fi; if [ -n "$dir" ]; then rm -rf "$dir"; fi' EXIT
for size in ${SIZES:-0 1000000}; do
  dir=$(mktemp -d)
  key=$(SIMKYC_CAPTURE_MODE=off ./target/release/simkyc admin create-key --role clerk --data-dir "$dir" 2>/dev/null)
  if [ "$size" -gt 0 ]; then
    ./target/release/examples/gallery_load "$size" int8 "$dir" "$MODEL" | sed 's/^/  /'
  fi
  SIMKYC_RATE_LIMIT_PER_KEY=0 SIMKYC_RATE_LIMIT_PER_ADDRESS=0 SIMKYC_CAPTURE_MODE=off ./target/release/simkyc serve --listen 127.0.0.1:0 --data-dir "$dir" > "$dir/out" 2> "$dir/log" &
  pid=$!
  for _ in $(seq 1200); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
  base=$(sed -n 's/^simkyc listening on //p' "$dir/out")
  echo "== gallery of $size templates: server $base (pid $pid); $(grep -o 'gallery: loaded.*' "$dir/log" | head -1)"
  ./target/release/examples/loadgen --base "$base" --key "$key" --data "$DATA" \
    --registrations "${REGISTRATIONS:-60}" --documents "${DOCUMENTS:-5}" --concurrency 1 --burst 1 | grep -E '^capture'
  echo "server peak RSS: $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' /proc/$pid/status)"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"; pid=; dir=
done
