#!/usr/bin/env python3
"""Dev-only experiment behind the shipped adaptation (crates/simkyc-face/src/adapt.rs): whiten the
embeddings with the mean and covariance of training faces, fuse the whitened cosine with the raw
one, and compare FNMR at an FMR of 1e-3 that must hold on every held-out group at once.

Training faces: casia-dev c200-c399, even-numbered asian-wild and asian-celebs identities (and,
for the "EA+LFWtrain" variants, the LFW DevTrain images). Held out: casia-dev c400-c499, the odd
asian-wild and asian-celebs identities, the LFW East-Asian group and LFW DevTest.

Reads the embedding caches that `simkyc calibrate --cache` and `simkyc eval --cache` write:
    python3 tools/experiments/projection.py /tmp/cache-all-flip.json /tmp/cache-lfwtest-flip.json
(one cache holding both, as docs/accuracy.md builds for SFace, can be given twice).

The "WCCN" rows whiten with the within-identity covariance of the training identities instead
(labels used; unit-length embeddings), fused with the raw cosine the same way.
"""
import sys
import json, numpy as np, re, itertools
D='../shared/data/'
c=json.load(open(sys.argv[1]))['embeddings']; c.update(json.load(open(sys.argv[2]))['embeddings'])
emb={p:np.array(e) for p,e in c.items() if e is not None}
ident=lambda p: re.match(r'.*/images/([^/]+)/[^/]+$', p).group(1)
def ids_of(prefix): return sorted({ident(p) for p in emb if p.startswith(D+prefix)})
def group(prefix, ids): return [(p,ident(p)) for p in sorted(emb) if p.startswith(D+prefix) and ident(p) in ids]
def pairs_file(f):
    L=open(D+f).read().split('\n')[1:]; out=[]
    for l in L:
        t=l.split()
        if len(t)==3: out.append((f"{D}lfw-dev/images/{t[0]}/{t[0]}_{int(t[1]):04d}.jpg", f"{D}lfw-dev/images/{t[0]}/{t[0]}_{int(t[2]):04d}.jpg", True))
        elif len(t)==4: out.append((f"{D}lfw-dev/images/{t[0]}/{t[0]}_{int(t[1]):04d}.jpg", f"{D}lfw-dev/images/{t[2]}/{t[2]}_{int(t[3]):04d}.jpg", False))
    return out
casia,wild,celebs=ids_of('casia-dev'),ids_of('asian-wild'),ids_of('asian-celebs')
ea={l.strip() for l in open(D+'lfw-dev/east-asian.txt') if l.strip()}
tr_c,te_c=casia[:200],casia[200:]; tr_w,te_w=wild[::2],wild[1::2]; tr_s,te_s=celebs[::2],celebs[1::2]
devtrain=pairs_file('lfw-dev/pairsDevTrain.txt'); devtest=pairs_file('lfw-dev/pairsDevTest.txt')
lfw_train_imgs=sorted({p for a,b,_ in devtrain for p in (a,b) if p in emb})
def fit(X,beta):
    mu=X.mean(0); w,V=np.linalg.eigh(np.cov((X-mu).T)); return mu, V@np.diag((w+1e-6)**(-beta/2))@V.T
def tf(X,mu,A,lam):
    Xn=X/np.linalg.norm(X,axis=1,keepdims=True); Y=(X-mu)@A; Y/=np.linalg.norm(Y,axis=1,keepdims=True)
    return np.hstack([np.sqrt(lam)*Xn, np.sqrt(1-lam)*Y])
def grp_scores(items,mu,A,lam):
    X=tf(np.stack([emb[p] for p,_ in items]),mu,A,lam); ids=np.array([i for _,i in items]); S=X@X.T; iu=np.triu_indices(len(items),1)
    return S[iu],(ids[:,None]==ids[None,:])[iu]
def pair_scores(pairs,mu,A,lam):
    s=[];g=[]
    for a,b,gen in pairs:
        if a in emb and b in emb:
            x=tf(np.stack([emb[a],emb[b]]),mu,A,lam); s.append(x[0]@x[1])
        else: s.append(-9)
        g.append(gen)
    return np.array(s),np.array(g)
def thr(s,g,f):
    imp=np.sort(s[~g])[::-1]; return np.nextafter(imp[int(np.floor(f*len(imp)))],1)
def report(name,mu,A,lam):
    test={'casia-test':grp_scores(group('casia-dev',set(te_c)),mu,A,lam),'wild-test':grp_scores(group('asian-wild',set(te_w)),mu,A,lam),
          'lfw-ea':grp_scores(group('lfw-dev',ea),mu,A,lam),'celebs-test':grp_scores(group('asian-celebs',set(te_s)),mu,A,lam),
          'lfw-devtest':pair_scores(devtest,mu,A,lam)}
    own={k:thr(s,g,1e-3) for k,(s,g) in test.items()}; t=max(own.values())
    # LFW devtest accuracy at best threshold
    s,g=test['lfw-devtest']; acc=max(((s>=u)==g).mean() for u in np.unique(s))
    print(f"{name:34s} t={t:.4f} by {max(own,key=own.get):11s} LFWacc {acc*100:.1f} "+" ".join(f"{k} {((s[g]<t).mean()*100 if g.any() else float('nan')):.1f}" for k,(s,g) in test.items()))
Xea=np.stack([emb[p] for p,_ in group('casia-dev',set(tr_c))+group('asian-wild',set(tr_w))+group('asian-celebs',set(tr_s))])
Xl=np.stack([emb[p] for p in lfw_train_imgs])
mu,A=fit(Xea,1.0); report('raw',mu,A,1.0)
for beta,lam in itertools.product([0.5,1.0],[0.7,0.85]):
    mu,A=fit(Xea,beta); report(f'EA-only b={beta} l={lam}',mu,A,lam)
    mu,A=fit(np.vstack([Xea,Xl]),beta); report(f'EA+LFWtrain b={beta} l={lam}',mu,A,lam)

def wccn(items,beta):
    X=np.stack([emb[p] for p,_ in items]); X=X/np.linalg.norm(X,axis=1,keepdims=True); ids=np.array([i for _,i in items])
    W=np.zeros((X.shape[1],)*2); n=0
    for u in np.unique(ids):
        m=ids==u
        if m.sum()<2: continue
        Z=X[m]-X[m].mean(0); W+=Z.T@Z; n+=m.sum()
    w,V=np.linalg.eigh(W/n); return np.zeros(X.shape[1]), V@np.diag((w+1e-4)**(-beta/2))@V.T
tr_items=group('casia-dev',set(tr_c))+group('asian-wild',set(tr_w))
lfw_tr=[(p,ident(p)) for p in lfw_train_imgs]
for beta,lam in itertools.product([0.5,1.0],[0.5,0.7,0.85]):
    mu,A=wccn(tr_items,beta); report(f'WCCN EA b={beta} l={lam}',mu,A,lam)
    mu,A=wccn(tr_items+lfw_tr,beta); report(f'WCCN EA+LFW b={beta} l={lam}',mu,A,lam)
