#!/usr/bin/env bash
# Service benchmark: for each inference runtime and client count, starts `simkyc serve` on a fresh
# SQLite (or DATABASE_URL) database, then the load generator in a second process
# (crates/simkyc-server/examples/loadgen.rs): throughput and server-side decision latency for
# full registrations, then a burst of concurrent activations checked for lost, duplicated or
# over-limit SIMs, and the server's peak RSS.
#   RUNTIMES="tract onnxruntime" CLIENTS="1 4" REGISTRATIONS=200 DOCUMENTS=20 BURST=64 bash tools/bench/service.sh
# SIMKYC=/path/to/other/simkyc runs another build of the server (an A/B in one session).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --workspace --all-targets >/dev/null
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
SIMKYC=${SIMKYC:-./target/release/simkyc}
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
pid=
dir=
trap 'if [ -n "$pid" ]; then kill $pid 2>/dev/null || true; fi; if [ -n "$dir" ]; then rm -rf "$dir"; fi' EXIT
for runtime in ${RUNTIMES:-tract onnxruntime}; do
  for clients in ${CLIENTS:-1 4}; do
    dir=$(mktemp -d)
    db=()
    if [ -n "${DATABASE_URL:-}" ]; then db=(--database-url "$DATABASE_URL"); fi
    key=$(SIMKYC_CAPTURE_MODE=off "$SIMKYC" admin create-key --role clerk --data-dir "$dir" "${db[@]}" 2>/dev/null)
    # lfw-dev stills are photos of photos: with the default capture checks they are refused as
    # attacks before matching, which would skip half the pipeline. `off` measures the full
    # matching path; the capture checks' cost is capture_checks_bench's.
    # Capacity, not the abuse limits, is measured: one key drives the whole load.
    SIMKYC_RATE_LIMIT_PER_KEY=0 SIMKYC_RATE_LIMIT_PER_ADDRESS=0 SIMKYC_RUNTIME=$runtime SIMKYC_CAPTURE_MODE=off "$SIMKYC" serve --listen 127.0.0.1:0 --data-dir "$dir" "${db[@]}" > "$dir/out" 2> "$dir/log" &
    pid=$!
    for _ in $(seq 300); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
    base=$(sed -n 's/^simkyc listening on //p' "$dir/out")
    echo "== runtime $runtime, $clients client(s): server $base (pid $pid)"
    ./target/release/examples/loadgen --base "$base" --key "$key" --data "$DATA" \
      --registrations "${REGISTRATIONS:-200}" --documents "${DOCUMENTS:-20}" --concurrency "$clients" --burst "${BURST:-64}"
    echo "server peak RSS: $(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' /proc/$pid/status); resident at the end: $(awk '/VmRSS/ { printf "%.0f MB", $2 / 1024 }' /proc/$pid/status)"
    if [ -n "${SMAPS:-}" ]; then cat /proc/$pid/smaps_rollup; awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6} /^Rss:/{rss[name]+=$2} END{for (n in rss) if (rss[n] > 4096) printf "%8d kB %s\n", rss[n], n}' /proc/$pid/smaps | sort -rn | head; gdb -p $pid -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || true; grep -A1 -E '^(Total|system bytes|in use bytes)' "$dir/log" | tail -n 4; fi
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$dir"; pid=; dir=
  done
done
