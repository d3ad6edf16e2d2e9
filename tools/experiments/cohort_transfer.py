#!/usr/bin/env python3
"""Dev-only experiment: do S-norm thresholds fitted with one cohort hold with another?

In the product the cohort cannot ship (embeddings of research data); it has to be a sample of the
operator's own gallery, which is unlike the calibration cohort in make-up and size. This script
answers whether thresholds calibrated with one cohort keep their false-match rate when scores are
normalised against a different one.

Protocol (identities split as in cohort_norm.py: even / odd in sorted order; LFW DevTrain / DevTest):
  1. calibration cohort: a fixed-size random sample of the fitting half's images (every group);
     thresholds for FMR 1e-3 and 1e-4 per group on the fitting half, the strictest kept;
  2. deployment cohorts, each of the same size, drawn from images the thresholds never saw:
       mixed    - the held-out half, every group (an operator whose gallery looks like our data);
       casia    - held-out casia-dev only (a gallery of controlled, same-camera photos);
       web      - held-out asian-wild + asian-celebs only (a gallery of uncontrolled photos);
       western  - held-out LFW DevTest images only (a population unlike the calibration one);
     an image's own identity is always left out of its cohort (the server leaves out the same
     subscriber's templates);
       matched  - every held-out group against a cohort of its own kind only (casia-dev: casia;
                  asian-wild and asian-celebs: web; LFW DevTest: western), as an operator whose
                  gallery and new registrations come from one stream;
  3. FMR and FNMR of the held-out half at the fitted thresholds, per deployment cohort, and the
     best-threshold accuracy on LFW DevTest.

    /tmp/venv/bin/python tools/experiments/cohort_transfer.py --cache /tmp/emb.json --size 1000 --ks 50,100
"""
import argparse, json, os
import numpy as np

from cohort_norm import read_pairs, list_set, threshold_for_fmr


def load(path):
    raw = json.load(open(path))["embeddings"]
    return {os.path.normpath(k): (np.asarray(v, np.float32) if v is not None else None) for k, v in raw.items()}


def halves(D):
    """Per half: group -> list of (path, identity), and the LFW pair lists."""
    lfw = os.path.join(D, "lfw-dev/images")
    ea = {l.strip() for l in open(os.path.join(D, "lfw-dev/east-asian.txt")) if l.strip()}
    imgs = {0: {}, 1: {}}
    for name, images, only in [("lfw-east-asian", lfw, ea), ("casia-dev", os.path.join(D, "casia-dev/images"), None),
                               ("asian-wild", os.path.join(D, "asian-wild/images"), None), ("asian-celebs", os.path.join(D, "asian-celebs/images"), None)]:
        items = list_set(images, only)
        ids = sorted({i for _, i in items})
        half = {i: n % 2 for n, i in enumerate(ids)}
        for h in (0, 1):
            imgs[h][name] = [(os.path.normpath(p), f"{name}/{i}") for p, i in items if half[i] == h]
    pairs = {0: read_pairs(os.path.join(D, "lfw-dev/pairsDevTrain.txt"), lfw), 1: read_pairs(os.path.join(D, "lfw-dev/pairsDevTest.txt"), lfw)}
    for h in (0, 1):
        pairs[h] = [(os.path.normpath(a), os.path.normpath(b), g) for a, b, g in pairs[h]]
        seen = {}
        for a, b, _ in pairs[h]:
            for p in (a, b):
                seen[p] = "lfw/" + os.path.basename(os.path.dirname(p))
        imgs[h]["lfw"] = sorted(seen.items())
    return imgs, pairs


def cohort(E, items, size, rng):
    items = [(p, i) for p, i in items if E.get(p) is not None]
    pick = rng.choice(len(items), size=min(size, len(items)), replace=False)
    return np.stack([E[items[j][0]] for j in pick]), np.asarray([items[j][1] for j in pick])


def norm_stats(E, items, C, ids, k):
    out = {}
    for p, i in items:
        e = E.get(p)
        if e is None:
            continue
        s = (C @ e)[ids != i]
        top = np.partition(s, -k)[-k:]
        out[p] = (float(top.mean()), float(top.std()) + 1e-6)
    return out


def group_scores(E, imgs, pairs, st):
    """Genuine and impostor S-norm scores per group (st None: raw cosine)."""
    res = {}
    for g, items in imgs.items():
        if g == "lfw":
            continue
        # An image without a face scores -inf with everyone: a genuine pair lost, never a match.
        P = [p for p, _ in items]
        ok = np.asarray([E.get(p) is not None for p in P])
        dim = len(next(E[p] for p in P if E.get(p) is not None))
        M = np.stack([E[p] if E.get(p) is not None else np.zeros(dim, np.float32) for p in P])
        S = M @ M.T
        if st is not None:
            m = np.asarray([st[p][0] if p in st else 0.0 for p in P])
            sd = np.asarray([st[p][1] if p in st else 1.0 for p in P])
            S = 0.5 * ((S - m[:, None]) / sd[:, None] + (S - m[None, :]) / sd[None, :])
        S[~ok, :] = -np.inf
        S[:, ~ok] = -np.inf
        lab = np.asarray([i for _, i in items])
        iu = np.triu_indices(len(P), 1)
        same = lab[iu[0]] == lab[iu[1]]
        res[g] = (S[iu][same], S[iu][~same])
    gen, imp = [], []
    for a, b, same in pairs:
        if E.get(a) is None or E.get(b) is None:
            s = -np.inf
        else:
            s = float(E[a] @ E[b])
            if st is not None:
                (ma, sa), (mb, sb) = st[a], st[b]
                s = 0.5 * ((s - ma) / sa + (s - mb) / sb)
        (gen if same else imp).append(s)
    res["lfw"] = (np.asarray(gen), np.asarray(imp))
    return res


def best_accuracy(gen, imp):
    s = np.concatenate([gen, imp])
    y = np.concatenate([np.ones(len(gen)), np.zeros(len(imp))])
    best = 0.0
    for t in np.unique(s):
        best = max(best, ((s >= t) == y).mean())
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--ks", default="50,100")
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    E = load(a.cache)
    imgs, pairs = halves(a.data)
    all_fit = [x for items in imgs[0].values() for x in items]
    held = imgs[1]
    deploy = {
        "mixed": [x for items in held.values() for x in items],
        "casia": held["casia-dev"],
        "web": held["asian-wild"] + held["asian-celebs"],
    }
    ea = {l.strip() for l in open(os.path.join(a.data, "lfw-dev/east-asian.txt")) if l.strip()}
    deploy["western"] = [x for x in held["lfw"] if x[1].split("/", 1)[1] not in ea]
    print({k: len(v) for k, v in deploy.items()}, "images available per deployment cohort")

    raw_fit = group_scores(E, imgs[0], pairs[0], None)
    raw_held = group_scores(E, imgs[1], pairs[1], None)
    report("raw cosine", raw_fit, {"-": raw_held})
    for k in map(int, a.ks.split(",")):
        for seed in range(a.seeds):
            rng = np.random.default_rng(seed)
            C, ids = cohort(E, all_fit, a.size, rng)
            fit = group_scores(E, imgs[0], pairs[0], norm_stats(E, [x for it in imgs[0].values() for x in it], C, ids, k))
            outs = {}
            for name, items in deploy.items():
                Cd, idd = cohort(E, items, a.size, rng)
                outs[f"{name}({len(Cd)})"] = group_scores(E, held, pairs[1], norm_stats(E, [x for it in held.values() for x in it], Cd, idd, k))
            # matched: every group normalised against a cohort of its own kind only, as an
            # operator whose gallery and new registrations come from one stream would be.
            own = {"casia-dev": "casia", "asian-wild": "web", "asian-celebs": "web", "lfw": "western"}
            matched = {}
            for g in held:
                if g not in own:
                    continue
                Cd, idd = cohort(E, deploy[own[g]], a.size, rng)
                res = group_scores(E, {g: held[g]} if g != "lfw" else {}, pairs[1] if g == "lfw" else [], norm_stats(E, held[g], Cd, idd, k))
                matched[g] = res[g]
            outs["matched"] = matched
            report(f"S-norm k={k} cohort={a.size} seed={seed}", fit, outs)


def report(title, fit, outs):
    print(f"\n== {title}")
    for target in (1e-3, 1e-4):
        own = {g: threshold_for_fmr(imp, target) for g, (gen, imp) in fit.items()}
        t = max(own.values())
        print(f"  FMR target {target:.0e}: threshold {t:.4f} set by {max(own, key=own.get)}")
        for name, held in outs.items():
            parts = []
            worst = 0.0
            for g, (gen, imp) in held.items():
                fmr = (imp >= t).mean()
                worst = max(worst, fmr / target)
                fnmr = (gen < t).mean() if len(gen) else float("nan")
                parts.append(f"{g} {fnmr*100:.1f}%/{fmr*100:.3f}%")
            acc = best_accuracy(*held["lfw"]) if target == 1e-3 and "lfw" in held else None
            print(f"    deploy {name:>14}: FNMR/FMR " + "; ".join(parts) + f" | worst FMR {worst:.2f}x target" + (f" | LFW DevTest acc {acc*100:.1f}%" if acc else ""))


if __name__ == "__main__":
    main()
