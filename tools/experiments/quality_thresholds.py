#!/usr/bin/env python3
"""Dev-only experiment: quality-aware thresholds, judged on identities held apart from the fitting.

Each image gets its capture-quality measures from `simkyc quality --json` (inter-eye distance,
sharpness, yaw). A pair's quality is the worse of its two images' bins, the bins being the
tertiles of the measure over the fitting half's images. Per pair-quality bin, the threshold for
FMR 1e-3 (and 1e-4) is found on every group with enough impostor pairs in that bin (at least
`--min-impostors`), and the strictest is kept, exactly as `simkyc calibrate` does for one
threshold. The bins' thresholds are then applied to the held-out half (identities split even /
odd as in cohort_norm.py; LFW DevTrain / DevTest) and FMR / FNMR reported per group, beside the
single threshold fitted the same way.

    simkyc quality --json IMAGES... > /tmp/quality.jsonl      # every image in the cache
    python3 tools/experiments/quality_thresholds.py --cache /tmp/emb.json --quality /tmp/quality.jsonl
"""
import argparse, json
import numpy as np

from cohort_norm import threshold_for_fmr
from cohort_transfer import load, halves

MEASURES = {
    "inter_eye_px": lambda m: m["inter_eye_px"],
    "sharpness": lambda m: m["sharpness"],
    "frontal (-|yaw|)": lambda m: -abs(m["yaw"]),
}


def pair_lists(E, imgs, pairs):
    """Per group: arrays (a, b, score, genuine) over every pair (LFW: its pair list)."""
    out = {}
    for g, items in imgs.items():
        if g == "lfw":
            continue
        P = [p for p, _ in items]
        lab = [i for _, i in items]
        A, B, S, G = [], [], [], []
        for x in range(len(P)):
            for y in range(x + 1, len(P)):
                A.append(P[x]); B.append(P[y]); G.append(lab[x] == lab[y])
                ea, eb = E.get(P[x]), E.get(P[y])
                S.append(float(ea @ eb) if ea is not None and eb is not None else -np.inf)
        out[g] = (A, B, np.asarray(S), np.asarray(G))
    A, B, S, G = [], [], [], []
    for a, b, same in pairs:
        A.append(a); B.append(b); G.append(same)
        ea, eb = E.get(a), E.get(b)
        S.append(float(ea @ eb) if ea is not None and eb is not None else -np.inf)
    out["lfw"] = (A, B, np.asarray(S), np.asarray(G))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--quality", required=True)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--min-impostors", type=int, default=2000)
    a = ap.parse_args()
    E = load(a.cache)
    Q = {}
    for line in open(a.quality):
        j = json.loads(line)
        if j.get("measures"):
            Q[j["image"]] = j["measures"]
    imgs, pairs = halves(a.data)
    fit, held = pair_lists(E, imgs[0], pairs[0]), pair_lists(E, imgs[1], pairs[1])
    fit_images = {p for items in imgs[0].values() for p, _ in items}
    for name, f in MEASURES.items():
        vals = np.asarray([f(Q[p]) for p in fit_images if p in Q])
        edges = np.quantile(vals, [1 / 3, 2 / 3])
        # An image without measures (no face) is in the lowest bin; its pairs score -inf anyway.
        bin_of = lambda p: int(np.searchsorted(edges, f(Q[p]), side="right")) if p in Q else 0
        print(f"\n== {name}: bin edges {edges.round(3).tolist()}")
        pb_fit = {grp: np.asarray([min(bin_of(x), bin_of(y)) for x, y in zip(A, B)]) for grp, (A, B, _, _) in fit.items()}
        pb_held = {grp: np.asarray([min(bin_of(x), bin_of(y)) for x, y in zip(A, B)]) for grp, (A, B, _, _) in held.items()}
        for target in (1e-3, 1e-4):
            single = max(threshold_for_fmr(s[~g], target) for _, _, s, g in fit.values())
            per_bin = []
            for b in range(3):
                own = {}
                for grp, (A, B, s, g) in fit.items():
                    m = pb_fit[grp] == b
                    imp = s[m & ~g]
                    if len(imp) >= a.min_impostors:
                        own[grp] = threshold_for_fmr(imp, target)
                t = max(own.values()) if own else single
                per_bin.append(t)
                print(f"  @{target:.0e} bin {b}: threshold {t:.4f} set by {max(own, key=own.get) if own else 'none (single)'} (groups {sorted(own)})")
            print(f"  @{target:.0e} single threshold {single:.4f}")
            for grp, (A, B, s, g) in held.items():
                tb = np.asarray(per_bin)[pb_held[grp]]
                fmr_b, fmr_s = (s[~g] >= tb[~g]).mean(), (s[~g] >= single).mean()
                fnmr_b = (s[g] < tb[g]).mean() if g.any() else float("nan")
                fnmr_s = (s[g] < single).mean() if g.any() else float("nan")
                print(f"    held out {grp:>15}: FNMR {fnmr_s*100:5.1f}% -> {fnmr_b*100:5.1f}%   FMR {fmr_s*100:.3f}% -> {fmr_b*100:.3f}% ({fmr_b/target:.2f}x target)")


if __name__ == "__main__":
    main()
