#!/usr/bin/env bash
# Side-by-side: the default ONNX models on tract and on onnxruntime (the library `simkyc models
# fetch` installs), one thread each, median of RUNS runs, in one process. Needs `simkyc models fetch`.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-20}
cargo build --release --workspace --all-targets >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
# A face photo as every model's input (resized to it): network times depend on the data.
taskset -c 0 ./target/release/examples/runtime_bench "$RUNS" "$DATA/lfw-dev/images/AJ_Cook/AJ_Cook_0001.jpg"
