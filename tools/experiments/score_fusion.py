#!/usr/bin/env python3
"""Dev-only experiment: score-level fusion of SFace with dlib's ResNet, judged on identities held
apart from the fitting, with the same protocol as tools/experiments/cohort_norm.py.

The fused score is s = s_sface + w * s_dlib (a linear fusion: up to a scale, what a logistic
regression on the two scores gives). The weight w is chosen on the first half of every set's
identities (even / odd in sorted order; LFW: DevTrain) as the one with the lowest mean FNMR
over the groups at the common FMR-1e-3 point; that point is fitted on the first half too; the
figures are on the second half (LFW: DevTest).

    simkyc calibrate --cache /tmp/emb-sface.json ...          # default engine
    simkyc calibrate --cache /tmp/emb-dlib.json --embedder dlib-resnet-v1 --no-adaptation ...   # on YuNet's points
    simkyc eval --pairs .../pairsDevTest.txt --cache /tmp/emb-sface.json (and emb-dlib.json)    # adds DevTest's images
    python3 tools/experiments/score_fusion.py --sface /tmp/emb-sface.json --dlib /tmp/emb-dlib.json

dlib's cached embeddings are raw (the adaptation was fitted on some of these identities, so it is
left out to keep the held-out half honest).
"""
import argparse
import numpy as np

from cohort_norm import threshold_for_fmr
from cohort_transfer import load, halves


def groups(D):
    """Per half: group -> every pair of its images (LFW: the DevTrain / DevTest pair lists)."""
    imgs, lfw = halves(D)
    out = {0: {}, 1: {}}
    for h in (0, 1):
        for name, P in imgs[h].items():
            if name != "lfw":
                out[h][name] = [(P[x][0], P[y][0], P[x][1] == P[y][1]) for x in range(len(P)) for y in range(x + 1, len(P))]
        out[h]["lfw"] = lfw[h]
    return out


def scores(E, pairs):
    out = np.full(len(pairs), -np.inf, np.float32)
    for k, (a, b, _) in enumerate(pairs):
        if E.get(a) is not None and E.get(b) is not None:
            out[k] = float(E[a] @ E[b])
    return out


def evaluate(fit, held, target):
    own = {g: threshold_for_fmr(s[~gen], target) for g, (s, gen) in fit.items()}
    t = max(own.values())
    res = {}
    for g, (s, gen) in held.items():
        res[g] = ((s[~gen] >= t).mean(), (s[gen] < t).mean() if gen.any() else float("nan"))
    fit_fnmr = np.nanmean([(s[gen] < t).mean() if gen.any() else np.nan for s, gen in fit.values()])
    return t, res, fit_fnmr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sface", required=True)
    ap.add_argument("--dlib", required=True)
    ap.add_argument("--data", default="../shared/data")
    a = ap.parse_args()
    S, L = load(a.sface), load(a.dlib)
    G = groups(a.data)
    cache = {h: {g: (scores(S, p), scores(L, p), np.asarray([x[2] for x in p])) for g, p in G[h].items()} for h in (0, 1)}
    best = None
    # A pair with a failed image (either engine found no face) fails under fusion: -inf.
    fuse = lambda s1, s2, w: s1 if w == 0 else np.where(np.isfinite(s2), s1 + w * np.where(np.isfinite(s2), s2, 0.0), -np.inf)
    for w in np.round(np.arange(0.0, 1.01, 0.1), 2):
        fused = {h: {g: (fuse(s1, s2, w), gen) for g, (s1, s2, gen) in cache[h].items()} for h in (0, 1)}
        _, _, fit_fnmr = evaluate(fused[0], fused[1], 1e-3)
        print(f"w = {w:.1f}: mean FNMR on the fitting half {fit_fnmr * 100:.2f} %")
        if best is None or fit_fnmr < best[0]:
            best = (fit_fnmr, w)
    for w in sorted({0.0, best[1], 0.5}):
        fused = {h: {g: (fuse(s1, s2, w), gen) for g, (s1, s2, gen) in cache[h].items()} for h in (0, 1)}
        for target in (1e-3, 1e-4):
            t, res, _ = evaluate(fused[0], fused[1], target)
            print(f"held out, w = {w:.1f} {'(SFace alone)' if w == 0 else '(chosen on the fitting half)'}, @{target:.0e}: " +
                  "; ".join(f"{g} FMR {fmr * 100:.3f}% FNMR {fnmr * 100:.1f}%" for g, (fmr, fnmr) in res.items()))


if __name__ == "__main__":
    main()
