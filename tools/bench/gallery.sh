#!/usr/bin/env bash
# Exact 1:N search at a gallery of N templates (default 1,000,000): simkyc's in-memory gallery at
# each precision and faiss-cpu's IndexFlatIP (when the given Python has faiss), on one core
# (taskset -c 0), in one session, RUNS times (default 3). Results: docs/scale.md.
# Usage: tools/bench/gallery.sh [N] [RUNS]    PYTHON=/path/to/python-with-faiss
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000000}
runs=${2:-3}
cargo build --release -q -p simkyc-gallery --examples
for r in $(seq "$runs"); do
  echo "run $r"
  taskset -c 0 ./target/release/examples/gallery_bench "$n" 128 21
  if "${PYTHON:-python3}" -c "import faiss" 2>/dev/null; then
    taskset -c 0 "${PYTHON:-python3}" tools/bench/gallery_faiss.py "$n" 128 21
  else
    echo "faiss-cpu not installed for ${PYTHON:-python3}: pip install faiss-cpu numpy"
  fi
done
