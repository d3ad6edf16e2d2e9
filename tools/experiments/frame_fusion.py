#!/usr/bin/env python3
"""Dev-only experiment: does fusing several live frames into one template help? Simulated on
casia-dev (5 captures per person): the "document" is capture 1 and the "live frames" are
captures 2..k+1, fused by the normalised mean (what `simkyc compare` does with several live
photos, there weighted by detection quality). Impostor trials pair one person's document with
another person's live frames. Reported at the calibrated default threshold.

    python3 tools/experiments/frame_fusion.py CACHE.json ../shared/data THRESHOLD
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
for k in [1, 2, 4]:
    gen = [unit(people[i][0]) @ unit(np.mean(people[i][1:1 + k], axis=0)) for i in ids]
    imp = [unit(people[a][0]) @ unit(np.mean(people[b][1:1 + k], axis=0)) for a in ids for b in ids if a != b]
    gen, imp = np.array(gen), np.array(imp)
    own = np.nextafter(np.sort(imp)[::-1][int(1e-3 * len(imp))], 1)
    print(f"{k} live frame(s): at {t:.4f} FNMR {np.mean(gen < t)*100:.1f}% FMR {np.mean(imp >= t)*100:.3f}%; "
          f"at its own FMR-1e-3 threshold {own:.4f} FNMR {np.mean(gen < own)*100:.1f}% ({len(gen)} genuine, {len(imp)} impostor trials)")
