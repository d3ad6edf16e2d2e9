#!/usr/bin/env python3
"""Dev-only experiment: can a linear map learned on East-Asian development identities lower the
FNMR at an FMR of 1e-3 that holds on every group? Works on the embedding cache that
`simkyc calibrate --cache FILE` writes (flip-averaged dlib embeddings).

Identities are split: the projection is fitted on one half of casia-dev, asian-wild and
asian-celebs; hyper-parameters (whitening strength beta, fusion weight lam) are chosen on a
validation split inside that half; results are reported on the other half plus the LFW
East-Asian group, none of which the projection saw.

    python3 tools/experiments/projection.py CACHE.json ../shared/data
"""
import itertools, json, re, sys
import numpy as np

cache, data = sys.argv[1], sys.argv[2].rstrip("/") + "/"
emb = {p: np.array(e, dtype=np.float64) for p, e in json.load(open(cache))["embeddings"].items() if e is not None}

def ident(p):
    return re.match(r".*/images/([^/]+)/[^/]+$", p).group(1)

def group(prefix, ids):
    return [(p, ident(p)) for p in sorted(emb) if p.startswith(data + prefix) and ident(p) in ids]

def ids_of(prefix):
    return sorted({ident(p) for p in emb if p.startswith(data + prefix)})

casia, wild, celebs = ids_of("casia-dev"), ids_of("asian-wild"), ids_of("asian-celebs")
ea = {l.strip() for l in open(data + "lfw-dev/east-asian.txt") if l.strip()}
tr_c, te_c = casia[:200], casia[200:]
tr_w, te_w = wild[::2], wild[1::2]
tr_s, te_s = celebs[::2], celebs[1::2]

def fit(items, beta):
    x = np.stack([emb[p] for p, _ in items]); mu = x.mean(0)
    w, v = np.linalg.eigh(np.cov((x - mu).T))
    return mu, v @ np.diag((w + 1e-6) ** (-beta / 2)) @ v.T

def fused_scores(items, mu, a, lam):
    x = np.stack([emb[p] for p, _ in items]); ids = np.array([i for _, i in items])
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = (x - mu) @ a; y /= np.linalg.norm(y, axis=1, keepdims=True)
    s = lam * (xn @ xn.T) + (1 - lam) * (y @ y.T)
    iu = np.triu_indices(len(items), 1)
    return s[iu], (ids[:, None] == ids[None, :])[iu]

def threshold(s, g, fmr):
    imp = np.sort(s[~g])[::-1]
    return np.nextafter(imp[int(np.floor(fmr * len(imp)))], 1)

def run(groups, mu, a, lam, fmr=1e-3):
    res = {k: fused_scores(v, mu, a, lam) for k, v in groups.items()}
    t = max(threshold(s, g, fmr) for s, g in res.values())
    return t, {k: ((s[~g] >= t).mean(), (s[g] < t).mean() if g.any() else float("nan")) for k, (s, g) in res.items()}

fit_items = group("casia-dev", set(tr_c[:100])) + group("asian-wild", set(tr_w[::2])) + group("asian-celebs", set(tr_s[::2]))
val = {"casia-val": group("casia-dev", set(tr_c[100:])), "wild-val": group("asian-wild", set(tr_w[1::2])), "celebs-val": group("asian-celebs", set(tr_s[1::2]))}
best = None
for beta, lam in itertools.product([0.25, 0.5, 1.0], [0.5, 0.7, 0.85, 1.0]):
    mu, a = fit(fit_items, beta)
    t, r = run(val, mu, a, lam)
    score = np.nanmean([v[1] for v in r.values()])
    print(f"validation beta={beta} lam={lam}: threshold {t:.4f}, mean FNMR {score*100:.1f}%")
    if best is None or score < best[0]:
        best = (score, beta, lam)
_, beta, lam = best
print(f"chosen on validation: beta={beta} lam={lam}")
mu, a = fit(group("casia-dev", set(tr_c)) + group("asian-wild", set(tr_w)) + group("asian-celebs", set(tr_s)), beta)
test = {"casia-test": group("casia-dev", set(te_c)), "wild-test": group("asian-wild", set(te_w)),
        "lfw-east-asian": group("lfw-dev", ea), "celebs-test": group("asian-celebs", set(te_s))}
for name, l in [("raw cosine", 1.0), (f"fused (beta={beta}, lam={lam})", lam)]:
    t, r = run(test, mu, a, l)
    print(f"held-out, {name}: threshold {t:.4f}; " + "; ".join(f"{k} FMR {v[0]*100:.3f}% FNMR {v[1]*100:.1f}%" for k, v in r.items()))
