#!/usr/bin/env python3
"""Dev-only: run dlib itself (PyPI `dlib-bin`) on real face images and store golden outputs.

simkyc never runs dlib; this script is the reference our Rust loaders must match. It writes
numbers only (boxes, landmarks, descriptors), never image bytes, to tests/golden/dlib.json.

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install dlib-bin==20.0.1.post1 numpy pillow
    cargo build --release --workspace --all-targets
    /tmp/refvenv/bin/python tools/reference/dlib_golden.py --models DIR_WITH_DAT_FILES --data ../shared/data

dlib sees exactly the pixels simkyc's decoder produces (JPEG decoders differ by a few levels, which
moves landmarks by a pixel): each image is decoded by target/release/examples/decode_png first.

Images are addressed relative to the data folder. For the embedder, the 150x150 input is an exact
pixel crop of the image (rows/cols 50..200 of a 250x250 LFW image, which holds a roughly centred
face), so the Rust test can rebuild the same network input bit for bit without committing pixels.
"""
import argparse, json, os, subprocess, tempfile
import numpy as np
from PIL import Image
import dlib

IMAGES = [
    "lfw-dev/images/Ai_Sugiyama/Ai_Sugiyama_0001.jpg",
    "lfw-dev/images/Chen_Shui-bian/Chen_Shui-bian_0001.jpg",
    "lfw-dev/images/Choi_Sung-hong/Choi_Sung-hong_0001.jpg",
    "lfw-dev/images/AJ_Cook/AJ_Cook_0001.jpg",
    "lfw-dev/images/Aaron_Guiel/Aaron_Guiel_0001.jpg",
    "asian-wild/images/jeon_so_min/jeon_so_min_0001.jpg",
    "asian-wild/images/seungri/seungri_0001.jpg",
    "asian-celebs/images/s0529/s0529_0001.jpg",
    "casia-dev/images/c338/c338_0001.jpg",
    "casia-dev/images/c200/c200_0001.jpg",
    "casia-dev/images/c206/c206_0001.jpg",
    "casia-dev/images/c207/c207_0001.jpg",
    "lfw-dev/images/Aaron_Sorkin/Aaron_Sorkin_0001.jpg",
    "lfw-dev/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg",
    "asian-wild/images/angelababy/angelababy_0001.jpg",
    "asian-wild/images/bong_joon_ho/bong_joon_ho_0001.jpg",
    "pad-dev/real/46.png",
]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../tests/golden/dlib.json"))
    ap.add_argument("--decoder", default=os.path.join(os.path.dirname(__file__), "../../target/release/examples/decode_png"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    subprocess.run([a.decoder, tmp] + [os.path.join(a.data, rel) for rel in IMAGES], check=True)
    det = dlib.cnn_face_detection_model_v1(os.path.join(a.models, "mmod_human_face_detector.dat"))
    sp = dlib.shape_predictor(os.path.join(a.models, "shape_predictor_5_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(os.path.join(a.models, "dlib_face_recognition_resnet_model_v1.dat"))
    out = {"dlib_version": dlib.__version__, "images": []}
    for i, rel in enumerate(IMAGES):
        img = np.asarray(Image.open(os.path.join(tmp, f"{i}.png")).convert("RGB"))
        entry = {"image": rel, "detections": [], "faces": []}
        for d in det(img, 0):
            r = d.rect
            entry["detections"].append({"left": r.left(), "top": r.top(), "right": r.right(), "bottom": r.bottom(), "confidence": d.confidence})
            s = sp(img, r)
            chip = dlib.get_face_chip(img, s, size=150, padding=0.25)
            entry["faces"].append({
                "rect": [r.left(), r.top(), r.right(), r.bottom()],
                "landmarks": [[s.part(i).x, s.part(i).y] for i in range(s.num_parts)],
                "descriptor": list(rec.compute_face_descriptor(chip)),
            })
        # A fixed box for the landmark check that does not depend on detection.
        h, w = img.shape[:2]
        box = dlib.rectangle(w // 4, h // 4, 3 * w // 4, 3 * h // 4)
        s = sp(img, box)
        entry["fixed_box"] = {"rect": [box.left(), box.top(), box.right(), box.bottom()],
                              "landmarks": [[s.part(i).x, s.part(i).y] for i in range(s.num_parts)]}
        if img.shape[0] >= 200 and img.shape[1] >= 200:
            crop = np.ascontiguousarray(img[50:200, 50:200])
            entry["crop_descriptor"] = {"rows": [50, 200], "cols": [50, 200], "descriptor": list(rec.compute_face_descriptor(crop))}
        out["images"].append(entry)
        print(rel, len(entry["detections"]), "detections")
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)

if __name__ == "__main__":
    main()
