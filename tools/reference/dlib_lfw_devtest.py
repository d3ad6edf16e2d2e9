#!/usr/bin/env python3
"""Dev-only: dlib's own face-recognition pipeline (PyPI dlib-bin: MMOD CNN detector, 5-point
shape predictor, ResNet descriptor, as in dlib's dnn_face_recognition example) on an LFW-format
pair file, to know what the model itself reaches on the data we report on. Prints best-threshold
accuracy, the same protocol `simkyc eval` uses for files without folds.

    /tmp/refvenv/bin/python tools/reference/dlib_lfw_devtest.py MODELS_DIR ../shared/data/lfw-dev
"""
import sys, os
import numpy as np
from PIL import Image
import dlib

models, lfw = sys.argv[1], sys.argv[2]
det = dlib.cnn_face_detection_model_v1(os.path.join(models, "mmod_human_face_detector.dat"))
sp = dlib.shape_predictor(os.path.join(models, "shape_predictor_5_face_landmarks.dat"))
rec = dlib.face_recognition_model_v1(os.path.join(models, "dlib_face_recognition_resnet_model_v1.dat"))
lines = open(os.path.join(lfw, "pairsDevTest.txt")).read().split("\n")[1:]
pairs = []
for l in lines:
    t = l.split()
    if len(t) == 3:
        pairs.append(((t[0], int(t[1])), (t[0], int(t[2])), True))
    elif len(t) == 4:
        pairs.append(((t[0], int(t[1])), (t[2], int(t[3])), False))
cache = {}
def emb(ref):
    if ref not in cache:
        name, i = ref
        img = np.asarray(Image.open(os.path.join(lfw, "images", name, f"{name}_{i:04d}.jpg")).convert("RGB"))
        dets = det(img, 0)
        if len(dets) == 0:
            cache[ref] = None
        else:
            d = max(dets, key=lambda d: d.rect.area())
            cache[ref] = np.array(rec.compute_face_descriptor(img, sp(img, d.rect)))
    return cache[ref]
scores, labels = [], []
for a, b, g in pairs:
    ea, eb = emb(a), emb(b)
    scores.append(-np.linalg.norm(ea - eb) if ea is not None and eb is not None else -np.inf)
    labels.append(g)
scores, labels = np.array(scores), np.array(labels)
best = max(((scores >= t) == labels).mean() for t in np.unique(scores[np.isfinite(scores)]))
print(f"dlib 20 reference pipeline on {len(pairs)} DevTest pairs: best-threshold accuracy {best*100:.2f}%, "
      f"images without a face: {sum(v is None for v in cache.values())}")
