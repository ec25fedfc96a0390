"""Choosing the fusion defaults on the bench's dev data (and only there).

    python benchmarks/tune_fusion.py --lexical out/bm25.run --dense out/dense.run --qrels ../shared/bench/xquad/qrels.paragraph.tsv

Takes a BM25 run and a dense run of the same queries (from `xlqe eval --mode bm25|dense`), fuses them with
each candidate method and weight, and prints macro nDCG@10 over cross- and same-language pairs plus the worst
pair's margin against the better single retriever. The lexical weight may differ for same-language,
same-script and cross-script pairs, which is what the grid explores.
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict

from xlqe_lite._core import fuse
from xlqe_lite.evaluation import evaluate, lang_of, read_qrels

SCRIPT = {"en": "latn", "es": "latn", "de": "latn", "tr": "latn", "ru": "cyrl", "ar": "arab", "th": "thai", "zh": "hani", "hi": "deva"}


def read_scored(path: str) -> dict[str, list[tuple[str, float, str]]]:
    rows: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            q, _, d, _, score, _ = line.split()
            rows[q].append((d, float(score), lang_of(d)))
    return rows


def pair_kind(q_lang: str, d_lang: str) -> str:
    if q_lang == d_lang:
        return "same"
    return "script" if SCRIPT.get(q_lang) == SCRIPT.get(d_lang) else "cross"


def fused_run(lex, dense, method: str, weights: dict[str, float], rrf_k: float) -> dict[str, list[str]]:
    run = {}
    for q in set(lex) | set(dense):
        ql = lang_of(q)
        by_d: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
        for hit in lex.get(q, []):
            by_d[hit[2]][0].append(hit)
        for hit in dense.get(q, []):
            by_d[hit[2]][1].append(hit)
        ranked: list[str] = []
        for d_lang, (lx, dn) in by_d.items():
            w = weights[pair_kind(ql, d_lang)]
            out = fuse([[(i, s) for i, s, _ in lx], [(i, s) for i, s, _ in dn]], [w, 1.0], method, rrf_k, 100)
            ranked += [i for i, _, _ in out]
        run[q] = ranked
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lexical", required=True)
    ap.add_argument("--dense", required=True)
    ap.add_argument("--qrels", required=True)
    a = ap.parse_args()
    qrels = read_qrels(a.qrels)
    lex, dense = read_scored(a.lexical), read_scored(a.dense)
    base = {name: evaluate(qrels, {q: [d for d, _, _ in hits] for q, hits in run.items()}) for name, run in (("bm25", lex), ("dense", dense))}
    best_single = {p: max(base["bm25"]["pairs"][p]["nDCG@10"], base["dense"]["pairs"][p]["nDCG@10"]) for p in base["dense"]["pairs"]}
    for name, r in base.items():
        print(f"{name:28s} cross {r['macro']['CROSS']['nDCG@10']:.4f}  mono {r['macro']['MONO']['nDCG@10']:.4f}")
    grids = {
        "rrf": [((1.0, 1.0, 1.0), 60.0)],
        "minmax": [(w, 0.0) for w in itertools.product([0.3, 0.5, 0.7, 1.0], [0.1, 0.2], [0.0, 0.05])],
        "zscore": [(w, 0.0) for w in itertools.product([0.3, 0.5, 0.7, 1.0], [0.1, 0.2], [0.0, 0.05])],
        "rrf-weighted": [(w, 60.0) for w in itertools.product([0.5, 1.0], [0.1, 0.3], [0.0, 0.1])],
    }
    for method, grid in grids.items():
        for (same, script, cross), rrf_k in grid:
            weights = {"same": same, "script": script, "cross": cross}
            run = fused_run(lex, dense, "rrf" if method.startswith("rrf") else method, weights, rrf_k)
            r = evaluate(qrels, run)
            worst = min(r["pairs"][p]["nDCG@10"] - best_single[p] for p in r["pairs"])
            print(f"{method:8s} same={same:<4} script={script:<4} cross={cross:<4}  cross {r['macro']['CROSS']['nDCG@10']:.4f}  "
                  f"mono {r['macro']['MONO']['nDCG@10']:.4f}  worst pair vs best single {worst:+.4f}")


if __name__ == "__main__":
    main()
