"""Language-removal levers on the embeddings themselves (issue 16), measured on dev and only there: XQuAD
paragraph vectors (no passage windows), all queries against one pooled set of 9 languages, exact cosine in
numpy, scored as `evaluate.py --pooled --mixed` does. Levers: centring each language on its centroid,
projecting out the centroid-difference directions, LIR (each language's top singular vectors), z against all
of a language's documents. Embeddings come from the on-disk cache when present.

    python benchmarks/mixed_vector_levers.py [BENCH]
"""
import sys

import numpy as np

from xlqe_lite.evaluation import XquadBench, evaluate, lang_of
from xlqe_lite.models.embedding_cache import encode_cached, encode_documents_cached
from xlqe_lite.models.encoder import Encoder

bench = XquadBench.load(sys.argv[1] if len(sys.argv) > 1 else "../shared/bench", "paragraph")
enc = Encoder.load("multilingual-e5-small", threads=2)
docs = [d for l in bench.langs for d in bench.corpora[l]]
ids = np.array([i for i, _ in docs]); dl = np.array([lang_of(i) for i in ids])
s = enc.vector_settings(True)
D, _ = encode_documents_cached(enc, [t for _, t in docs], s.passage_tokens or 0, s.passage_stride or 0)
Q, qids = [], []
for ql, qs in bench.queries.items():
    Q.append(encode_cached(enc, [t for _, t in qs], "query")); qids += [q for q, _ in qs]
Q = np.vstack(Q); ql = np.array([lang_of(q) for q in qids])
langs = bench.langs
cent = {l: D[dl == l].mean(0) for l in langs}
qcent = {l: Q[ql == l].mean(0) for l in langs}

def report(name, S):
    top = np.argsort(-S, axis=1)[:, :100]
    run = {q: list(ids[t]) for q, t in zip(qids, top)}
    r = evaluate(bench.qrels, run, pooled=True, mixed=True)
    print(f"{name:55s} mixedCROSS {r['mixed']['CROSS']['nDCG@10']:.4f} mixedMONO {r['mixed']['MONO']['nDCG@10']:.4f} "
          f"pooled {r['pooled']['nDCG@10']:.4f} pairCROSS {r['macro']['CROSS']['nDCG@10']:.4f}", flush=True)

def norm(X): return X / np.linalg.norm(X, axis=1, keepdims=True)
report("raw cosine", Q @ D.T)
# centering: docs by their language centroid, queries by their (true) language's query centroid
Dc = norm(D - np.stack([cent[l] for l in dl]))
Qc_doc = norm(Q - np.stack([cent[l] for l in ql]))
report("centre docs+queries by doc-language centroids", Qc_doc @ Dc.T)
Qc_q = norm(Q - np.stack([qcent[l] for l in ql]))
report("centre queries by query centroids (oracle lang)", Qc_q @ Dc.T)
# global projection out of the centroid subspace
C = np.stack([cent[l] for l in langs]); Cm = C - C.mean(0)
U, sv, _ = np.linalg.svd(Cm.T, full_matrices=False)
for r in (1, 2, 4, 8):
    P = np.eye(D.shape[1]) - U[:, :r] @ U[:, :r].T
    report(f"project out {r} centroid-difference directions (query only)", norm(Q @ P) @ D.T)
    report(f"project out {r} dirs (both, renormalised)", norm(Q @ P) @ norm(D @ P).T)
# LIR: per-language top-r singular vectors of uncentred embeddings
for r in (1, 2, 3, 5):
    Pl = {}
    for l in langs:
        _, _, Vt = np.linalg.svd(D[dl == l], full_matrices=False)
        V = Vt[:r].T; Pl[l] = np.eye(D.shape[1]) - V @ V.T
    Dl = norm(np.vstack([D[i] @ Pl[dl[i]] for i in range(len(D))]))
    Ql = norm(np.vstack([Q[i] @ Pl[ql[i]] for i in range(len(Q))]))
    report(f"LIR r={r} (oracle query lang)", Ql @ Dl.T)
# per-language null z: (s - q.mu_L)/sqrt(q S_L q)
S = Q @ D.T
Z = np.empty_like(S)
for l in langs:
    m = dl == l; X = D[m]; mu = X.mean(0); Cv = np.cov(X.T)
    Z[:, m] = (S[:, m] - (Q @ mu)[:, None]) / np.sqrt(np.einsum("ij,jk,ik->i", Q, Cv, Q))[:, None]
report("null z per language (all docs of the language)", Z)
