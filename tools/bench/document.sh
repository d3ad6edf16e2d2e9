#!/usr/bin/env bash
# Benchmark: reading a resident ID card side from a photo (`simkyc cards eval`, which times
# read_card alone: locate, rectify, detect, classify, recognise, parse, crop) on COUNT synthetic
# card photos (fronts and backs alternating), one core (taskset -c 0), for each runtime; prints
# the median per side and the per-field accuracy. Needs `simkyc models fetch`, the CJK font and
# ../shared/data (casia-dev portraits).
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-40}
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
cargo build --release --workspace --all-targets >/dev/null
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
B=./target/release/simkyc
$B cards generate --out "$OUT" --count "$COUNT" --seed 7 --year 2026 --data "$DATA" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); one core (taskset -c 0); $COUNT photos"
for rt in tract onnxruntime; do
  taskset -c 0 $B cards eval --dir "$OUT" --runtime "$rt" --json 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["report"]
print("%-12s front %7.1f ms  back %7.1f ms (median per side)  number %.1f %%  name %.1f %%  portrait crop %.1f %%" % (
    r["runtime"], r["front_ms_median"], r["back_ms_median"], r["id_number_exact_pct"], r["name_exact_pct"], r["portrait_crop_found_pct"]))
print("%-12s stages (median ms): %s" % ("", ", ".join("%s %.1f" % kv for kv in r["stage_ms_median"].items())))'
done
