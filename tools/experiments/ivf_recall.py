#!/usr/bin/env python3
"""Can a partitioned (IVF) index skip most of a face gallery? docs/scale.md, "Approximate search".

Draws a synthetic gallery from a Gaussian with the mean and full covariance of the real
development templates (so it is as spread out as the real ones), normalised to unit length;
clusters it with spherical k-means (sqrt(N) lists, 12 iterations); then, for each number of
lists probed, reports recall@10 against the exact scan for impostor probes, and how often a
mated probe (a gallery template moved to cosine 0.5 / 0.6 / 0.7) falls in a probed list.
    python3 tools/experiments/ivf_recall.py /tmp/emb.json [N]
"""
import json, sys
import numpy as np

rng = np.random.default_rng(0)
cache = json.load(open(sys.argv[1]))["embeddings"]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
X = np.array([v for v in cache.values() if v])
X /= np.linalg.norm(X, axis=1, keepdims=True)
mu = X.mean(0)
L = np.linalg.cholesky(np.cov((X - mu).T) + 1e-9 * np.eye(X.shape[1]))


def draw(k):
    Y = (mu + rng.standard_normal((k, X.shape[1])) @ L.T).astype(np.float32)
    return Y / np.linalg.norm(Y, axis=1, keepdims=True)


G, Q = draw(n), draw(200)
S = Q @ G.T
exact = np.argsort(-S, axis=1)[:, :10]
lists = int(np.sqrt(n))
C = G[rng.choice(n, lists, replace=False)].copy()
for _ in range(12):
    a = np.argmax(G @ C.T, axis=1)
    for k in range(lists):
        m = a == k
        if m.any():
            C[k] = G[m].mean(0)
            C[k] /= np.linalg.norm(C[k])
a = np.argmax(G @ C.T, axis=1)
order = np.argsort(-(Q @ C.T), axis=1)
print(f"{n} synthetic templates, {lists} lists; cosine between templates {np.mean(G[:2000] @ G[2000:4000].T):.3f}")
probes = [1, 4, 16, 32, 64, 128]
for p in probes:
    recall, scanned = [], []
    for q in range(len(Q)):
        cand = np.where(np.isin(a, order[q, :p]))[0]
        scanned.append(len(cand) / n)
        top = cand[np.argsort(-S[q, cand])[:10]]
        recall.append(len(set(top) & set(exact[q])) / 10)
    print(f"lists probed {p:4d}: recall@10 {np.mean(recall):.3f}, gallery scanned {np.mean(scanned) * 100:.1f} %")
idx = rng.choice(n, 200, replace=False)
for c in (0.5, 0.6, 0.7):
    F = draw(200)
    F -= (F * G[idx]).sum(1, keepdims=True) * G[idx]
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    P = c * G[idx] + np.sqrt(1 - c * c) * F
    od = np.argsort(-(P @ C.T), axis=1)
    found = ", ".join(f"{p}: {np.mean([a[i] in od[q, :p] for q, i in enumerate(idx)]) * 100:.0f} %" for p in probes[:5])
    print(f"mate at cosine {c}: in a probed list, by lists probed — {found}")
