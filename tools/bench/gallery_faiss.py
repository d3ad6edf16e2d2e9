#!/usr/bin/env python3
"""faiss-cpu IndexFlatIP, the reference for the exact 1:N scan (docs/scale.md).

Usage: python3 tools/bench/gallery_faiss.py [N] [DIM] [QUERIES]   (defaults 1000000 128 21)
Needs `pip install faiss-cpu numpy` (dev-only). One thread, one query at a time, as the
service searches; prints the median and p95 search time. Run it beside
`target/release/examples/gallery_bench` in the same session (tools/bench/gallery.sh).
"""
import statistics
import sys
import time

import faiss
import numpy as np


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    dim = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    queries = int(sys.argv[3]) if len(sys.argv) > 3 else 21
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(dim)
    index.add(x)
    times = []
    for _ in range(queries):
        q = rng.standard_normal((1, dim), dtype=np.float32)
        q /= np.linalg.norm(q)
        t = time.perf_counter()
        index.search(q, 10)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, len(times) * 95 // 100)]
    print(f"faiss {faiss.__version__} IndexFlatIP f32, {n} x {dim}, one thread: search median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
