#!/usr/bin/env python3
"""What would dropping flip averaging on the live side cost? (README, "Against the speed targets")

Flip averaging embeds each chip and its mirror: two SFace passes a face, most of a decision's
CPU. The document photo is embedded once per registration, the live frames on every capture, so
a server short of capacity could keep the flip for the document only. This computes, on the
calibration groups (same pairs as `simkyc calibrate`), the common FMR-1e-3 / 1e-4 thresholds and
each group's FNMR for: flip on both sides (the default), flip on neither, and flip on the
document side only (the first image of each pair as the document).

    simkyc calibrate --data ../shared/data --out /tmp/t.toml --cache /tmp/emb.json --no-open-set
    simkyc calibrate --data ../shared/data --out /tmp/t-noflip.toml --cache /tmp/emb-noflip.json --no-open-set --no-flip
    python3 tools/experiments/live_flip.py /tmp/emb.json /tmp/emb-noflip.json [DEFAULT STRICT]

With DEFAULT and STRICT (the built-in thresholds, calibrated with flip on both sides), it also
reports every group's FMR and FNMR there, as a server with `live_flip = false` decides.
"""
import json, os, sys
import numpy as np

from cohort_norm import read_pairs, list_set, threshold_for_fmr

D = "../shared/data"


def load(path):
    E = json.load(open(path))["embeddings"]
    return {p: (np.asarray(v, np.float32) / np.linalg.norm(v)) for p, v in E.items() if v is not None}


def all_pairs(items, doc, live):
    """Scores of every pair i < j (image i as the document) and whether they are genuine."""
    ok = [(p, n) for p, n in items if p in doc and p in live]
    miss = len(items) - len(ok)
    A = np.stack([doc[p] for p, _ in ok])
    B = np.stack([live[p] for p, _ in ok])
    ids = np.array([n for _, n in ok])
    iu = np.triu_indices(len(ok), 1)
    return (A @ B.T)[iu], (ids[:, None] == ids[None, :])[iu], miss


def listed_pairs(pairs, doc, live):
    s = np.array([float(doc[a] @ live[b]) if a in doc and b in live else -np.inf for a, b, _ in pairs], np.float32)
    return s, np.array([g for _, _, g in pairs]), 0


def main():
    F, N = load(sys.argv[1]), load(sys.argv[2])
    lfw = os.path.join(D, "lfw-dev/images")
    ea = {l.strip() for l in open(os.path.join(D, "lfw-dev/east-asian.txt")) if l.strip()}
    groups = {
        "lfw-devtrain": lambda d, l: listed_pairs(read_pairs(os.path.join(D, "lfw-dev/pairsDevTrain.txt"), lfw), d, l),
        "lfw-east-asian": lambda d, l: all_pairs(list_set(lfw, ea), d, l),
        "casia-dev": lambda d, l: all_pairs(list_set(os.path.join(D, "casia-dev/images")), d, l),
        "asian-wild": lambda d, l: all_pairs(list_set(os.path.join(D, "asian-wild/images")), d, l),
        "asian-celebs": lambda d, l: all_pairs(list_set(os.path.join(D, "asian-celebs/images")), d, l),
    }
    for name, (doc, live) in {"flip on both sides (default)": (F, F), "flip on neither": (N, N), "flip on the document only": (F, N)}.items():
        scores = {g: f(doc, live) for g, f in groups.items()}
        for target in (1e-3, 1e-4):
            own = {g: threshold_for_fmr(s[~gen], target) for g, (s, gen, _) in scores.items()}
            t = max(own.values())
            fnmr = "; ".join(f"{g} {(s[gen] < t).mean() * 100:.1f} %" for g, (s, gen, _) in scores.items() if gen.any())
            print(f"{name:30s} FMR {target:.0e}: threshold {t:.4f} (set by {max(own, key=own.get)}); FNMR {fnmr}")
        for t in (float(x) for x in sys.argv[3:5]):
            rates = "; ".join(f"{g} FMR {(s[~gen] >= t).mean() * 100:.3f} % FNMR {(s[gen] < t).mean() * 100 if gen.any() else float('nan'):.1f} %" for g, (s, gen, _) in scores.items())
            print(f"{name:30s} at the built-in {t:.4f}: {rates}")


if __name__ == "__main__":
    main()
