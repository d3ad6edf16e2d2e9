#!/usr/bin/env python3
"""How evenly face templates fill their space (docs/scale.md, "Approximate search"): the norm of
the mean template, the share of variance in the top principal directions, the participation
ratio (the effective number of dimensions, (sum of eigenvalues)^2 / sum of squares), and the
cosine between templates of different images. Reads an embedding cache of `simkyc calibrate`:
    python3 tools/experiments/embedding_spread.py /tmp/emb.json [GAUSSIAN.txt]
With a second argument it also writes the templates' mean and the Cholesky factor of their
covariance as text (one line of means, then the factor's rows), for
`tools/bench/ann_probe` to draw galleries as spread out as the real templates.
"""
import json, sys
import numpy as np

cache = json.load(open(sys.argv[1]))["embeddings"]
X = np.array([v for v in cache.values() if v])
X /= np.linalg.norm(X, axis=1, keepdims=True)
mu = X.mean(0)
w = np.linalg.eigvalsh(np.cov((X - mu).T))[::-1]
share = np.cumsum(w) / w.sum()
print(f"{len(X)} templates of {X.shape[1]} values; mean template norm {np.linalg.norm(mu):.3f}")
print("variance in the top k directions: " + ", ".join(f"k={k} {share[k - 1] * 100:.0f} %" for k in (1, 5, 10, 20, 40, 64)))
print(f"participation ratio {w.sum() ** 2 / (w ** 2).sum():.1f} of {X.shape[1]}")
n = min(3000, len(X))
S = X[:n] @ X[:n].T
iu = np.triu_indices(n, 1)
print(f"cosine between images (first {n}): mean {S[iu].mean():.3f}, sd {S[iu].std():.3f}")
if len(sys.argv) > 2:
    L = np.linalg.cholesky(np.cov((X - mu).T) + 1e-9 * np.eye(X.shape[1]))
    with open(sys.argv[2], "w") as f:
        for row in [mu] + list(L):
            f.write(" ".join(f"{v:.8e}" for v in row) + "\n")
    print(f"mean and covariance factor written to {sys.argv[2]}")
