#!/usr/bin/env bash
# Side-by-side: the same ONNX models on tract (simkyc) and on onnxruntime from PyPI, one thread
# each, in one run. Needs `simkyc models fetch` and a Python with onnxruntime+numpy (PYTHON=...).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-20}
PY=${PYTHON:-python3}
cargo build --release -p simkyc-face --example tract_bench >/dev/null
MODELS=${SIMKYC_MODELS_DIR:-$HOME/.local/share/simkyc/models}
./target/release/examples/tract_bench "$RUNS" | tee /tmp/tract_bench.txt
read -r H W < <(sed -n 's/.*dlib-mmod \[1, 3, \([0-9]*\), \([0-9]*\)\].*/\1 \2/p' /tmp/tract_bench.txt)
"$PY" tools/bench/ort_bench.py "$MODELS" "$H" "$W" "$RUNS"
