#!/usr/bin/env bash
# Service benchmark: starts `simkyc serve` on a fresh SQLite (or DATABASE_URL) database, then the
# load generator in a second process (crates/simkyc-server/examples/loadgen.rs): throughput and
# server-side decision latency for full registrations, then a burst of concurrent activations
# checked for lost, duplicated or over-limit SIMs. Prints the server's peak RSS at the end.
#   REGISTRATIONS=1000 DOCUMENTS=100 CONCURRENCY=4 BURST=64 bash tools/bench/service.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p simkyc -p simkyc-server --example loadgen
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
db=()
if [ -n "${DATABASE_URL:-}" ]; then db=(--database-url "$DATABASE_URL"); fi
key=$(SIMKYC_CAPTURE_MODE=off ./target/release/simkyc admin create-key --role clerk --data-dir "$dir" "${db[@]}" 2>/dev/null)
# lfw-dev stills are photos of photos: with the default capture checks they are refused as
# attacks before matching, which would skip half the pipeline. `off` measures the full matching
# path; the capture checks add 8.4 ms per frame (capture_checks_bench).
SIMKYC_CAPTURE_MODE=off ./target/release/simkyc serve --listen 127.0.0.1:0 --data-dir "$dir" "${db[@]}" > "$dir/out" 2> "$dir/log" &
pid=$!
for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^simkyc listening on //p' "$dir/out")
echo "server $base (pid $pid), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
./target/release/examples/loadgen --base "$base" --key "$key" --data "$DATA" \
  --registrations "${REGISTRATIONS:-200}" --documents "${DOCUMENTS:-20}" --concurrency "${CONCURRENCY:-4}" --burst "${BURST:-64}"
echo "server peak RSS: $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' /proc/$pid/status)"
