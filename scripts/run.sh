#!/usr/bin/env bash
# Builds simkyc, fetches the pinned models (once; offline afterwards) and runs a 1:1 comparison of
# two photos of the same person from the development data (or the photos given as arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p simkyc
./target/release/simkyc models fetch
DATA=${SIMKYC_SHARED_DATA:-../shared/data}
ID_PHOTO=${1:-$DATA/lfw-dev/images/Ai_Sugiyama/Ai_Sugiyama_0001.jpg}
LIVE_PHOTO=${2:-$DATA/lfw-dev/images/Ai_Sugiyama/Ai_Sugiyama_0002.jpg}
./target/release/simkyc compare "$ID_PHOTO" "$LIVE_PHOTO"
