#!/usr/bin/env bash
# Benchmark: an active challenge over 32 real frames on one core (taskset -c 0), models loaded
# per run, as `simkyc compare --live-frames` reports it (`ms`: decode, mesh tracking, the three
# key frames' full analysis, the document photo, the decision). Frames: pad-dev/real2.webm at
# 5 fps, 0-6.4 s; the document photo is its frame at 8 s. Median of RUNS runs per runtime.
# OTHER=path/to/another/simkyc interleaves a second binary run by run (before/after a change).
#   RUNS=7 RUNTIMES="onnxruntime tract" bash tools/bench/challenge.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-7}
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
cargo build --release --workspace --all-targets >/dev/null
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
mkdir -p "$OUT/all" "$OUT/frames"
ffmpeg -loglevel error -i "$DATA/pad-dev/real2.webm" -vf fps=5 "$OUT/all/real2_%04d.jpg"
for i in $(seq -f %04g 1 32); do cp "$OUT/all/real2_$i.jpg" "$OUT/frames/"; done
DOC="$OUT/all/real2_0041.jpg"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); one core (taskset -c 0)"
bins=(./target/release/simkyc)
if [ -n "${OTHER:-}" ]; then bins+=("$OTHER"); fi
one() { # binary, runtime -> ms (compare exits non-zero on a refused capture: the timing stands)
  { taskset -c 0 "$1" compare "$DOC" --live-frames "$OUT/frames" --actions turn_left,turn_right --json --runtime "$2" 2>/dev/null || true; } |
    sed -n 's/.*"ms":\([0-9.]*\).*/\1/p'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for runtime in ${RUNTIMES:-onnxruntime tract}; do
  runs=()
  for _ in $(seq "$RUNS"); do
    for k in "${!bins[@]}"; do runs[k]="${runs[k]:-}$(one "${bins[k]}" "$runtime") "; done
  done
  for k in "${!bins[@]}"; do
    printf '%-12s %-40s median %6.0f ms   runs: %s\n' "$runtime" "${bins[k]}" "$(echo "${runs[k]}" | tr ' ' '\n' | grep . | median)" "${runs[k]}"
  done
done
