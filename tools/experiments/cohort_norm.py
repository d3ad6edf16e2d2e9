#!/usr/bin/env python3
"""Dev-only experiment: does cohort score normalisation (adaptive S-norm) close the gap between
the development groups' impostor distributions, on identities it was not fitted on?

Reads an embedding cache written by `simkyc calibrate --cache FILE` (unit embeddings per image),
splits every development set's identities in two halves (even / odd in sorted order; LFW: DevTrain
pairs to fit, DevTest pairs held out), and for each method:

  1. fits on the first half: the cohort (the first half's images) and, per group, the threshold for
     FMR 1e-3 and 1e-4; the strictest group's threshold is kept, as `simkyc calibrate` does;
  2. applies that threshold to the held-out half (identities never seen in the cohort or the
     fitting) and reports FMR and FNMR per group.

Methods: raw cosine; adaptive S-norm (top-K cohort scores of each side, mean and standard
deviation: s' = ((s - m_a)/sd_a + (s - m_b)/sd_b) / 2); and the mean-only variant
(s' = s - (m_a + m_b) / 2). Within the fitting half, an image's cohort excludes its own identity.

    /tmp/venv/bin/python tools/experiments/cohort_norm.py --cache /tmp/emb.json --data ../shared/data
"""
import argparse, json, os
from collections import defaultdict
import numpy as np


def read_pairs(path, images):
    lines = open(path).read().split("\n")
    n = int(lines[0].split()[0])
    out = []
    for i, l in enumerate(x for x in lines[1:] if x.strip()):
        f = l.split("\t")
        p = lambda name, k: os.path.join(images, name, f"{name}_{int(k):04d}.jpg")
        if len(f) == 3:
            out.append((p(f[0], f[1]), p(f[0], f[2]), True))
        else:
            out.append((p(f[0], f[1]), p(f[2], f[3]), False))
    return out


def list_set(images, only=None):
    out = []
    for name in sorted(os.listdir(images)):
        if only is not None and name not in only:
            continue
        d = os.path.join(images, name)
        for f in sorted(os.listdir(d)):
            out.append((os.path.join(d, f), name))
    return out


def threshold_for_fmr(imp, fmr):
    imp = np.sort(imp)[::-1]
    k = int(np.floor(fmr * len(imp)))
    # Scores at or above the threshold match: the (k+1)-th highest impostor must be below it.
    return np.nextafter(imp[k], np.inf) if k < len(imp) else -np.inf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--ks", default="25,50,100,200,400")
    a = ap.parse_args()
    raw = json.load(open(a.cache))["embeddings"]
    emb = {k: (np.asarray(v, np.float32) if v is not None else None) for k, v in raw.items()}
    key = lambda p: p if p in emb else os.path.normpath(p)
    norm = {os.path.normpath(k): v for k, v in emb.items()}
    get = lambda p: norm.get(os.path.normpath(p))

    D = a.data
    lfw = os.path.join(D, "lfw-dev/images")
    ea = [l.strip() for l in open(os.path.join(D, "lfw-dev/east-asian.txt")) if l.strip()]
    halves = {0: [], 1: []}  # per half: list of (group, images with identity) or pair lists
    groups = {0: {}, 1: {}}
    for set_name, images, only in [("lfw-east-asian", lfw, set(ea)), ("casia-dev", os.path.join(D, "casia-dev/images"), None),
                                    ("asian-wild", os.path.join(D, "asian-wild/images"), None), ("asian-celebs", os.path.join(D, "asian-celebs/images"), None)]:
        imgs = list_set(images, only)
        ids = sorted({i for _, i in imgs})
        half_of = {i: n % 2 for n, i in enumerate(ids)}
        for h in (0, 1):
            groups[h][set_name] = ("all", [(p, f"{set_name}/{i}") for p, i in imgs if half_of[i] == h])
    groups[0]["lfw"] = ("pairs", read_pairs(os.path.join(D, "lfw-dev/pairsDevTrain.txt"), lfw))
    groups[1]["lfw"] = ("pairs", read_pairs(os.path.join(D, "lfw-dev/pairsDevTest.txt"), lfw))

    # Cohort: every image of the fitting half (identity-labelled), LFW DevTrain images included.
    cohort, cohort_ids = [], []
    for g, (kind, items) in groups[0].items():
        if kind == "all":
            for p, i in items:
                e = get(p)
                if e is not None:
                    cohort.append(e)
                    cohort_ids.append(i)
    lfw_train_imgs = {}
    for pa, pb, _ in groups[0]["lfw"][1]:
        for p in (pa, pb):
            lfw_train_imgs[p] = "lfw/" + os.path.basename(os.path.dirname(p))
    for p, i in lfw_train_imgs.items():
        e = get(p)
        if e is not None:
            cohort.append(e)
            cohort_ids.append(i)
    C = np.stack(cohort)
    cohort_ids = np.asarray(cohort_ids)
    print(f"cohort: {len(C)} images of the fitting half")

    def stats(paths_ids, k):
        """top-k cohort mean and sd for each image (own identity excluded)."""
        out = {}
        for p, i in paths_ids:
            e = get(p)
            if e is None or p in out:
                continue
            s = C @ e
            s = s[cohort_ids != i]
            top = np.partition(s, -k)[-k:]
            out[p] = (top.mean(), top.std() + 1e-6)
        return out

    def scores(h, method, k):
        res = {}
        for g, (kind, items) in groups[h].items():
            if kind == "all":
                ident = {p: i for p, i in items}
                paths = [p for p, _ in items]
            else:
                ident = {}
                for pa, pb, _ in items:
                    ident[pa] = "lfw/" + os.path.basename(os.path.dirname(pa))
                    ident[pb] = "lfw/" + os.path.basename(os.path.dirname(pb))
                paths = list(ident)
            st = stats(list(ident.items()), k) if method != "raw" else {}
            E = {p: get(p) for p in paths}
            gen, imp = [], []
            if kind == "all":
                P = [p for p in paths if E[p] is not None]
                failed = len(paths) - len(P)
                M = np.stack([E[p] for p in P])
                S = M @ M.T
                if method != "raw":
                    m = np.asarray([st[p][0] for p in P])
                    sd = np.asarray([st[p][1] for p in P])
                    if method == "snorm":
                        S = 0.5 * ((S - m[:, None]) / sd[:, None] + (S - m[None, :]) / sd[None, :])
                    else:
                        S = S - 0.5 * (m[:, None] + m[None, :])
                labels = np.asarray([ident[p] for p in P])
                iu = np.triu_indices(len(P), 1)
                same = labels[iu[0]] == labels[iu[1]]
                vals = S[iu]
                gen, imp = list(vals[same]), list(vals[~same])
                assert failed == 0, f"{failed} failed images in {g}: count them as -inf pairs"
            else:
                for pa, pb, same in items:
                    s = pair(E, st, pa, pb, method)
                    (gen if same else imp).append(s)
            res[g] = (np.asarray(gen), np.asarray(imp))
        return res

    def pair(E, st, a_, b_, method):
        ea_, eb = E[a_], E[b_]
        if ea_ is None or eb is None:
            return -np.inf
        s = float(ea_ @ eb)
        if method == "raw":
            return s
        (ma, sa), (mb, sb) = st[a_], st[b_]
        if method == "snorm":
            return 0.5 * ((s - ma) / sa + (s - mb) / sb)
        return s - 0.5 * (ma + mb)

    methods = [("raw", 0)] + [(m, int(k)) for m in ("snorm", "mean") for k in a.ks.split(",")]
    for method, k in methods:
        fit = scores(0, method, k)
        held = scores(1, method, k)
        line = [f"{method}{'' if method == 'raw' else ' k=' + str(k)}"]
        for target in (1e-3, 1e-4):
            own = {g: threshold_for_fmr(imp, target) for g, (gen, imp) in fit.items()}
            t = max(own.values())
            by = max(own, key=own.get)
            parts = []
            for g, (gen, imp) in held.items():
                fmr = (imp >= t).mean()
                fnmr = (gen < t).mean() if len(gen) else float("nan")
                parts.append(f"{g} FMR {fmr*100:.3f}% FNMR {fnmr*100:.1f}%")
            line.append(f"  @{target:.0e} (set by {by}): " + "; ".join(parts))
        print("\n".join(line), flush=True)


if __name__ == "__main__":
    main()
