#!/usr/bin/env python3
"""Dev-only: run RapidOCR's own Python pipeline (PyPI rapidocr-onnxruntime==1.4.4, the package
whose PP-OCR models `simkyc models fetch` installs) on synthetic card photos, and store what it
reads as golden outputs for crates/simkyc-ocr/tests/ppocr_golden.rs. Numbers and text only.

    python3 -m venv /tmp/ocrvenv
    /tmp/ocrvenv/bin/pip install --no-deps rapidocr_onnxruntime==1.4.4
    /tmp/ocrvenv/bin/pip install opencv-python-headless pyclipper shapely pyyaml onnxruntime==1.32.0 "numpy<3" pillow six tqdm
    cargo build --release --workspace --all-targets
    /tmp/ocrvenv/bin/python tools/reference/ppocr_golden.py --data ../shared/data

The photos come from `simkyc cards generate --seed 20261202 --year 2026 --png`: the PNG holds the pixels
simkyc's JPEG decoder produces, so both pipelines see the same image. RapidOCR runs with
`limit_type: max` (which in 1.4.4 resizes to 960, 1500 or 2000 pixels by the image's longer side,
whatever `limit_side_len` says; the Rust test does the same) and one line per recogniser batch.
"""
import argparse, json, os, subprocess, tempfile

import cv2
from rapidocr_onnxruntime import RapidOCR

SEED = 20261202
COUNT = 6
LIMIT = 960

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--simkyc", default="target/release/simkyc")
    ap.add_argument("--out", default="tests/golden/ppocr.json")
    a = ap.parse_args()
    engine = RapidOCR(det_limit_type="max", det_limit_side_len=LIMIT, rec_batch_num=1, cls_batch_num=1)
    out = {"seed": SEED, "det_limit_max": LIMIT, "text_score": 0.5, "images": []}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([a.simkyc, "cards", "generate", "--out", tmp, "--count", str(COUNT), "--seed", str(SEED),
                        "--data", a.data, "--year", "2026", "--png"], check=True)
        for i in range(COUNT):
            img = cv2.imread(os.path.join(tmp, f"card_{i:04d}.png"))
            result, _ = engine(img)
            lines = [{"box": [[float(x), float(y)] for x, y in box], "text": text, "score": float(score)}
                     for box, text, score in (result or [])]
            out["images"].append({"index": i, "lines": lines})
            print(i, [l["text"] for l in lines])
    with open(a.out, "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)

if __name__ == "__main__":
    main()
