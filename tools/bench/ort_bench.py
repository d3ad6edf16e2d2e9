#!/usr/bin/env python3
"""Dev-only: time the installed ONNX models under onnxruntime (one thread) at the shapes that
crates/simkyc-face/examples/tract_bench.rs uses, for the tract-vs-onnxruntime comparison.
Usage: ort_bench.py MODELS_DIR CANVAS_H CANVAS_W RUNS"""
import sys, time, numpy as np, onnxruntime as ort
d, ch, cw, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
opts = ort.SessionOptions(); opts.intra_op_num_threads = 1; opts.inter_op_num_threads = 1
for name, f, shape in [("dlib-resnet-v1", "dlib_resnet_v1.onnx", (1, 3, 150, 150)), ("dlib-mmod", "dlib_mmod_face.onnx", (1, 3, ch, cw))]:
    s = ort.InferenceSession(f"{d}/{f}", opts, providers=["CPUExecutionProvider"])
    x = ((np.arange(np.prod(shape)) * 7919 % 255) / 256.0 - 0.5).astype(np.float32).reshape(shape)
    s.run(None, {"input": x})
    t = []
    for _ in range(runs):
        a = time.perf_counter(); s.run(None, {"input": x}); t.append((time.perf_counter() - a) * 1e3)
    t.sort()
    print(f"onnxruntime {ort.__version__} {name} {list(shape)}: median {t[runs//2]:.2f} ms (min {t[0]:.2f}, max {t[-1]:.2f}, {runs} runs)")
