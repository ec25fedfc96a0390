"""Would a learned merge beat the calibrated one? A linear score over each candidate's per-language features,
fitted with a pairwise logistic loss and scored by cross-validation split by paragraph (XQuAD dev; dev, tuned).

    cd benchmarks && python learned_merge.py ../out/lists-para-win.pkl --bench ../../shared/bench

The lists are the replay's (`mixed_replay.Replay`: collected BM25 lists, dense lists recomputed with the
query moved toward each language), fused per language as the engine fuses them. Per candidate of language L:
its fused score's z on L's first 5 and first 100 (what `calibrated_merge` averages), its dense cosine's z on
the same heads, its BM25 score's z, its gap to the next candidate of L, and whether L is the query's language.
Folds: the relevant paragraph's number // 48 (five blocks of consecutive paragraphs, so of articles); a
query's candidates from every paragraph enter its fold's training, but no weight sees its own answer.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from mixed_replay import Replay
from tune_mixed import report
from xlqe_lite._core import fuse
from xlqe_lite.evaluation import lang_of
from xlqe_lite._core import language_script
from xlqe_lite.search import FusionConfig

FEATURES = ["z5", "z100", "dz5", "dz100", "bz", "gap", "same", "same*z5", "top"]
DEPTH = 30  # candidates per language that enter the merge's features (the rest keep their calibrated order)


def zs(values: np.ndarray, n: int) -> np.ndarray:
    head = values[:n]
    sd = head.std()
    return (values - head.mean()) / sd if sd > 0 else np.zeros_like(values)


def candidates(replay: Replay, fusion: FusionConfig) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per query: candidate ids and their feature rows."""
    out = {}
    data = replay.data
    for qid, rec in data["queries"].items():
        dense = replay.dense(replay.row[qid], fusion.passage_weight, fusion.centroid_shift)
        qlang = rec["guess"]
        script = language_script(qlang) if qlang else rec["script"]
        ids, rows = [], []
        for dl in data["langs"]:
            lex = rec["bm25"][dl]
            items = [[fusion.lexical_weight(qlang, script, dl)] * len(lex), None]
            fused = fuse([lex, dense[dl]], [1.0, fusion.dense], fusion.method, fusion.rrf_k, 200, items)
            f = np.array([x for _, x, _ in fused], dtype=np.float64)
            if not len(f):
                continue
            z5, z100 = zs(f, 5), zs(f, 100)
            dv = np.array([x for _, x in dense[dl]], dtype=np.float64)
            dmap = {d: x for d, x in dense[dl]}
            dcos = np.array([dmap.get(d, dv.min()) for d, _, _ in fused])
            dh5, dh100 = dv[:5], dv[:100]
            dz5 = (dcos - dh5.mean()) / (dh5.std() or 1.0)
            dz100 = (dcos - dh100.mean()) / (dh100.std() or 1.0)
            bv = np.array([x for _, x in lex], dtype=np.float64)
            bmap = {d: x for d, x in lex}
            if len(bv) > 1 and bv.std() > 0:
                bz = np.array([(bmap[d] - bv.mean()) / bv.std() if d in bmap else (bv.min() - bv.mean()) / bv.std()
                               for d, _, _ in fused])
            else:
                bz = np.zeros(len(fused))
            sd = f[:100].std() or 1.0
            gap = np.append((f[:-1] - f[1:]) / sd, 0.0)
            same = float(dl == qlang)
            top = np.zeros(len(f))
            top[0] = 1.0
            for i, (d, _, _) in enumerate(fused[:DEPTH]):
                ids.append(d)
                rows.append([z5[i], z100[i], dz5[i], dz100[i], bz[i], gap[i], same, same * z5[i], top[i]])
        out[qid] = (ids, np.array(rows))
    return out


def fit(pairs_x: np.ndarray, weights: np.ndarray, l2: float = 1e-3, steps: int = 100) -> np.ndarray:
    """Weights minimising the weighted mean of log(1 + exp(-w.(x_rel - x_other))) + l2 |w|^2 (Newton)."""
    w = np.zeros(pairs_x.shape[1])
    weights = weights / weights.sum()
    for _ in range(steps):
        m = pairs_x @ w
        p = 1.0 / (1.0 + np.exp(np.clip(m, -50, 50)))  # sigmoid(-m)
        grad = -(pairs_x * (weights * p)[:, None]).sum(axis=0) + 2 * l2 * w
        hess = (pairs_x * (weights * p * (1 - p))[:, None]).T @ pairs_x + 2 * l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def pairs(cands: dict, qrels: dict, qids: list[str], rng: np.random.Generator, hard: int = 30,
          easy: int = 30, own: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """x_rel - x_other for each relevant candidate against non-relevant ones: the `hard` that the calibrated
    score (mean of z5, z100) ranks highest and `easy` drawn from the rest, with weights that give each
    (query, answer language) unit the same total, times `own` for the query's own language (8: as much as all
    others together, since mixed MONO and mixed CROSS are separate targets)."""
    rows, weights = [], []
    for qid in qids:
        ids, x = cands[qid]
        if not len(ids):
            continue
        rel = np.array([qrels[qid].get(d, 0) > 0 for d in ids])
        base = (x[:, 0] + x[:, 1]) / 2
        neg = np.where(~rel)[0]
        neg = neg[np.argsort(-base[neg], kind="stable")]
        chosen = np.concatenate([neg[:hard], rng.choice(neg[hard:], min(easy, len(neg) - hard), replace=False)
                                 if len(neg) > hard else neg[:0]])
        for r in np.where(rel)[0]:
            same = x[r, FEATURES.index("same")] > 0
            rows.extend(x[r] - x[chosen])
            weights.extend([(own if same else 1.0) / len(chosen)] * len(chosen))
    return np.array(rows), np.array(weights)


def ranked(cands: dict, w: np.ndarray, qids: list[str]) -> dict[str, list[str]]:
    run = {}
    for qid in qids:
        ids, x = cands[qid]
        s = x @ w if len(ids) else np.zeros(0)
        order = sorted(range(len(ids)), key=lambda i: (-s[i], ids[i]))
        run[qid] = [ids[i] for i in order[:100]]
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lists")
    ap.add_argument("--bench", default="../shared/bench")
    ap.add_argument("--level", default="paragraph", choices=["paragraph", "sentence"])
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    replay = Replay(args.bench, args.level, args.lists, "multilingual-e5-small")
    fusion = FusionConfig()
    cands = candidates(replay, fusion)
    qrels = replay.data["qrels"]
    qids = list(cands)
    baseline = np.array([0.5, 0.5] + [0.0] * (len(FEATURES) - 2))
    report("calibrated (z5+z100)/2 on the first 30 per language", replay.data, ranked(cands, baseline, qids))

    def block(qid: str) -> int:
        answer = next(d for d, r in qrels[qid].items() if r > 0)
        number = int(answer.split(".")[0].split("-p")[-1]) if "-p" in answer else hash(answer)
        return number * args.folds // 240 if args.level == "paragraph" else abs(hash(answer.split(".")[0])) % args.folds

    fold_of = {q: block(q) for q in qids}
    rng = np.random.default_rng(7)
    for l2, own in ((1e-4, 8.0), (1e-2, 8.0), (1e-4, 1.0)):
        run: dict[str, list[str]] = {}
        weights = []
        for k in range(args.folds):
            train = [q for q in qids if fold_of[q] != k]
            test = [q for q in qids if fold_of[q] == k]
            w = fit(*pairs(cands, qrels, train, rng, own=own), l2=l2)
            weights.append(w)
            run.update(ranked(cands, w, test))
        report(f"learned, {args.folds}-fold by paragraph, l2 {l2}, own {own}", replay.data, run)
        print("  weights (mean over folds):", dict(zip(FEATURES, np.round(np.mean(weights, axis=0), 3))))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
