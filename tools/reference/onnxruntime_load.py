"""Dev-only: loads every ONNX model of the installed manifest in onnxruntime and runs it once on
a random input of its declared shape, to show the converted graphs are standard ONNX (tract is
what simkyc itself runs). Usage: python onnxruntime_load.py [MODELS_DIR]"""
import os, sys, numpy as np, onnxruntime as ort

d = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.local/share/simkyc/models")
for f in sorted(os.listdir(d)):
    if not f.endswith(".onnx"):
        continue
    s = ort.InferenceSession(os.path.join(d, f), providers=["CPUExecutionProvider"])
    feeds = {}
    for i in s.get_inputs():
        shape = [x if isinstance(x, int) else 256 for x in i.shape]
        feeds[i.name] = np.random.rand(*shape).astype(np.float32)
    outs = s.run(None, feeds)
    print(f, "inputs", [i.shape for i in s.get_inputs()], "outputs", [o.shape for o in outs])
