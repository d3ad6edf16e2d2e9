#!/usr/bin/env python3
"""Dev-only: run OpenCV's own YuNet and SFace (cv2.FaceDetectorYN, cv2.FaceRecognizerSF) on real
face images with the exact model files `simkyc models fetch` installs, and store golden outputs.

simkyc never runs OpenCV; this script is the reference our Rust pipeline must match. It writes
numbers only (boxes, landmarks, embeddings), never image bytes, to tests/golden/opencv.json.

    python3 -m venv /tmp/cvvenv && /tmp/cvvenv/bin/pip install opencv-python-headless==5.0.0.93 numpy
    cargo build --release --workspace --all-targets
    /tmp/cvvenv/bin/python tools/reference/opencv_golden.py --models ~/.local/share/simkyc/models --data ../shared/data

OpenCV sees exactly the pixels simkyc's decoder produces: each image is decoded by
target/release/examples/decode_png first. Detection runs at the image's own size (OpenCV pads the
input to a multiple of 32 on the right and bottom, as simkyc does). For the embedder alone, the
112x112 input is an exact pixel crop of the image (centred), so the Rust test rebuilds the same
network input bit for bit without committing pixels; the full-pipeline embedding uses OpenCV's
alignCrop on its own landmarks.
"""
import argparse, json, os, subprocess, tempfile
import numpy as np
import cv2

IMAGES = [
    "lfw-dev/images/Ai_Sugiyama/Ai_Sugiyama_0001.jpg",
    "lfw-dev/images/Chen_Shui-bian/Chen_Shui-bian_0001.jpg",
    "lfw-dev/images/Choi_Sung-hong/Choi_Sung-hong_0001.jpg",
    "lfw-dev/images/AJ_Cook/AJ_Cook_0001.jpg",
    "lfw-dev/images/Aaron_Guiel/Aaron_Guiel_0001.jpg",
    "lfw-dev/images/Aaron_Sorkin/Aaron_Sorkin_0001.jpg",
    "asian-wild/images/jeon_so_min/jeon_so_min_0001.jpg",
    "asian-wild/images/seungri/seungri_0001.jpg",
    "asian-wild/images/angelababy/angelababy_0001.jpg",
    "asian-wild/images/bong_joon_ho/bong_joon_ho_0001.jpg",
    "asian-celebs/images/s0529/s0529_0001.jpg",
    "casia-dev/images/c338/c338_0001.jpg",
    "casia-dev/images/c200/c200_0001.jpg",
    "pad-dev/real/46.png",
]

SCORE_THRESHOLD = 0.5
NMS_THRESHOLD = 0.3
TOP_K = 50


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="models directory with yunet_2023mar.onnx and sface_2021dec.onnx")
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../tests/golden/opencv.json"))
    ap.add_argument("--decoder", default=os.path.join(os.path.dirname(__file__), "../../target/release/examples/decode_png"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    subprocess.run([a.decoder, tmp] + [os.path.join(a.data, rel) for rel in IMAGES], check=True)
    yunet_path = os.path.join(a.models, "yunet_2023mar.onnx")
    rec = cv2.FaceRecognizerSF.create(os.path.join(a.models, "sface_2021dec.onnx"), "")
    out = {"opencv_version": cv2.__version__, "score_threshold": SCORE_THRESHOLD, "nms_threshold": NMS_THRESHOLD,
           "top_k": TOP_K, "images": []}
    for i, rel in enumerate(IMAGES):
        img = cv2.imread(os.path.join(tmp, f"{i}.png"), cv2.IMREAD_COLOR)  # BGR, as OpenCV models expect
        h, w = img.shape[:2]
        det = cv2.FaceDetectorYN.create(yunet_path, "", (w, h), SCORE_THRESHOLD, NMS_THRESHOLD, TOP_K)
        _, faces = det.detect(img)
        faces = [] if faces is None else faces
        entry = {"image": rel, "width": w, "height": h, "faces": []}
        for f in faces:
            chip = rec.alignCrop(img, f)
            feat = rec.feature(chip).ravel()
            entry["faces"].append({
                "box": [float(v) for v in f[0:4]],
                "landmarks": [float(v) for v in f[4:14]],
                "score": float(f[14]),
                "embedding": [float(v) for v in feat / np.linalg.norm(feat)],
            })
        if h >= 112 and w >= 112:
            y0, x0 = (h - 112) // 2, (w - 112) // 2
            crop = np.ascontiguousarray(img[y0:y0 + 112, x0:x0 + 112])
            feat = rec.feature(crop).ravel()
            entry["crop_embedding"] = {"rows": [y0, y0 + 112], "cols": [x0, x0 + 112],
                                       "raw": [float(v) for v in feat]}
        out["images"].append(entry)
        print(rel, len(entry["faces"]), "faces")
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
