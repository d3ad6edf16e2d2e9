#!/usr/bin/env python3
"""Dev-only reference for tools/bench/compare.sh: face_recognition's default pipeline in dlib's
C++ (PyPI dlib-bin): HOG detector with one upsampling, the 5-point shape predictor, the ResNet
descriptor (one jitter), on the same image files `simkyc compare` gets, models loaded first.
Prints the median wall time of RUNS runs over all the images in one line.
Usage: dlib_reference.py MODELS_DIR RUNS IMAGE..."""
import statistics
import sys
import time

import dlib

models, runs, images = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
detector = dlib.get_frontal_face_detector()
sp = dlib.shape_predictor(f"{models}/shape_predictor_5_face_landmarks.dat")
net = dlib.face_recognition_model_v1(f"{models}/dlib_face_recognition_resnet_model_v1.dat")


def once():
    faces = 0
    for p in images:
        img = dlib.load_rgb_image(p)  # decoding is timed, as in simkyc compare
        for r in detector(img, 1):
            net.compute_face_descriptor(img, sp(img, r), 1)
            faces += 1
    return faces


once()
t = []
for _ in range(runs):
    a = time.perf_counter()
    n = once()
    t.append((time.perf_counter() - a) * 1e3)
print(f"dlib C++ {dlib.__version__} (HOG upsample 1, 5 points, ResNet): median {statistics.median(t):.1f} ms over {len(images)} images, {n} faces, {runs} runs")
