#!/usr/bin/env bash
# Benchmark: `simkyc compare` on two 640×480 JPEG frames made from development photos, models
# loaded, median of RUNS runs per stage, default and previous engine; then peak RSS of one run. Needs `simkyc models fetch`.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-7}
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
cargo build --release -p simkyc -p simkyc-face --examples --bins >/dev/null
OUT=$(mktemp -d)
./target/release/examples/bench_frames 640 480 "$OUT" "$DATA/asian-wild/images/seungri/seungri_0001.jpg" "$DATA/asian-wild/images/seungri/seungri_0002.jpg" >/dev/null
B=./target/release/simkyc
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "default engine (YuNet + SFace, flip):"
$B compare "$OUT/frame0_640x480.jpg" "$OUT/frame1_640x480.jpg" --repeat "$RUNS" | tail -1
echo "default engine without flip averaging:"
$B compare "$OUT/frame0_640x480.jpg" "$OUT/frame1_640x480.jpg" --repeat "$RUNS" --no-flip | tail -1
echo "previous engine (dlib MMOD + ResNet, flip, adaptation):"
$B compare "$OUT/frame0_640x480.jpg" "$OUT/frame1_640x480.jpg" --repeat "$RUNS" --detector dlib-mmod --embedder dlib-resnet-v1 | tail -1
/usr/bin/time -f "peak RSS (default engine): %M KiB" $B compare "$OUT/frame0_640x480.jpg" "$OUT/frame1_640x480.jpg" 2>&1 >/dev/null | tail -1
rm -rf "$OUT"
