#!/usr/bin/env python3
"""Dev-only experiment: how should several live frames be scored against one document photo?

Simulated on casia-dev (5 captures per person): the "document" is capture 1 and the "live frames"
are captures 2..k+1. Impostor trials pair one person's document with another person's frames.
Two ways to score them:
  fused - cosine to the re-normalised mean of the frames (what `simkyc compare` and the stored
          live template did before);
  mean  - the mean of the frames' cosines, i.e. the dot product with the mean template left
          un-normalised (what the service's 1:1 match did, and now everything does).
Reported at the calibrated default threshold and at each mode's own FMR-1e-3 threshold, for all
subjects and for each half (even / odd in sorted order).

With --frames CACHE2 (embeddings of consecutive webcam frames, e.g. pad-dev real2.webm at 5 fps
written by `simkyc eval --cache`) it also prints ‖mean of k consecutive frames‖: the factor by
which re-normalising inflates a score against a k-frame template.

    python3 tools/experiments/frame_fusion.py CACHE.json ../shared/data THRESHOLD [--frames CACHE2]
"""
import json, sys
import numpy as np

cache, data, t = sys.argv[1], sys.argv[2].rstrip("/") + "/", float(sys.argv[3])
emb = {p: np.array(e) for p, e in json.load(open(cache))["embeddings"].items() if e is not None}
people = {}
for p in sorted(emb):
    if p.startswith(data + "casia-dev/images/"):
        people.setdefault(p.split("/")[-2], []).append(emb[p])
people = {k: v for k, v in people.items() if len(v) == 5}
ids = sorted(people)
unit = lambda v: v / np.linalg.norm(v)


def score(doc, frames, mode):
    if mode == "fused":
        return unit(doc) @ unit(np.mean([unit(f) for f in frames], axis=0))
    return float(np.mean([unit(doc) @ unit(f) for f in frames]))


for half in (None, 0, 1):
    sel = [i for n, i in enumerate(ids) if half is None or n % 2 == half]
    for k in [1, 2, 3, 4]:
        for mode in ("fused", "mean"):
            gen = np.array([score(people[i][0], people[i][1:1 + k], mode) for i in sel])
            imp = np.array([score(people[a][0], people[b][1:1 + k], mode) for a in sel for b in sel if a != b])
            own = np.nextafter(np.sort(imp)[::-1][int(1e-3 * len(imp))], 1)
            print(f"{'all' if half is None else 'half ' + str(half)}: {k} frame(s), {mode:5}: at {t:.4f} FNMR {np.mean(gen < t)*100:.1f}% "
                  f"FMR {np.mean(imp >= t)*100:.3f}%; own FMR-1e-3 threshold {own:.4f} FNMR {np.mean(gen < own)*100:.1f}% "
                  f"({len(gen)} genuine, {len(imp)} impostor trials)")

if "--frames" in sys.argv:
    d = json.load(open(sys.argv[sys.argv.index("--frames") + 1]))["embeddings"]
    E = np.stack([unit(np.array(d[k])) for k in sorted(d) if d[k] is not None])
    print(f"{len(E)} webcam frames; median cosine between two of them {np.median((E @ E.T)[np.triu_indices(len(E), 1)]):.3f}")
    for k in (2, 3, 4, 5, 8):
        n = np.median([np.linalg.norm(E[i:i + k].mean(0)) for i in range(len(E) - k)])
        print(f"  {k} consecutive frames: median ‖mean‖ {n:.3f}: a re-normalised template inflates scores by {(1 / n - 1) * 100:.0f} %")
