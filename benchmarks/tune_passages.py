"""How long documents are cut into passage windows, and how much the best window counts.

For each window setting (tokens / stride) every document of the bench is cut by the encoder's own
`passage_windows_many` and embedded (cached on disk), and each query is scored against every document
of every language exactly as the index scores them: `(1 - w) * cos(query, document) + w * max over
the document's windows of cos(query, window)` (documents that fit in one window: their own score).
Exact scores over all 240 (or ~1,200) documents per language, so no ANN noise; nDCG@10 per (query
language, document language) pair, macro over pairs, as the bench's evaluate.py (one relevant
document per pair, so nDCG@10 = 1 / log2(rank + 1) within the top 10).

    python benchmarks/tune_passages.py --windows 64/32,48/24,40/20,32/16,24/12 --weights 0,0.3,0.5,0.7,1
    python benchmarks/tune_passages.py --level sentence --windows 32/16 --weights 0,0.5
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

from xlqe_lite.models.embedding_cache import encode_cached, encode_documents_cached  # noqa: E402
from xlqe_lite.models.encoder import Encoder  # noqa: E402
from xlqe_lite.evaluation import XquadBench  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--level", default="paragraph", choices=["paragraph", "sentence"])
    ap.add_argument("--model", default="multilingual-e5-small")
    ap.add_argument("--windows", default="64/32,40/20,32/16", help="tokens/stride settings, comma-separated")
    ap.add_argument("--weights", default="0,0.3,0.5,0.7,1", help="shares of the best window, comma-separated")
    a = ap.parse_args()
    enc = Encoder.load(a.model, threads=os.cpu_count() or 2)
    bench = XquadBench.load(a.bench, a.level)
    weights = [float(w) for w in a.weights.split(",")]
    queries = {L: encode_cached(enc, [t for _, t in bench.queries[L]], "query") for L in bench.langs}
    # The relevant document of each query in each document language, as a row number of that corpus.
    gold: dict[tuple[str, str], np.ndarray] = {}
    for D in bench.langs:
        row = {doc_id: i for i, (doc_id, _) in enumerate(bench.corpora[D])}
        for Q in bench.langs:
            gold[(Q, D)] = np.array([next((row[d] for d in bench.qrels[qid] if d in row), -1) for qid, _ in bench.queries[Q]])

    print(f"{a.level} level, {len(bench.langs)} languages, {sum(len(q) for q in bench.queries.values())} queries; "
          f"nDCG@10 macro over cross-language / same-language pairs")
    print(f"{'windows':>9} {'per doc':>8} {'weight':>7} {'cross':>8} {'mono':>8} {'cross-script':>13}")
    script_of = {"en": "Latn", "es": "Latn", "de": "Latn", "tr": "Latn", "ru": "Cyrl", "ar": "Arab", "th": "Thai",
                 "zh": "Hani", "hi": "Deva", "el": "Grek", "vi": "Latn", "ro": "Latn"}
    for setting in a.windows.split(","):
        tokens, stride = (int(x) for x in setting.split("/"))
        t0 = time.perf_counter()
        own, best, per_doc = {}, {}, []
        for D in bench.langs:
            texts = [t for _, t in bench.corpora[D]]
            vectors, windows = encode_documents_cached(enc, texts, tokens, stride)
            own[D] = vectors
            best[D] = (vectors, windows)
            per_doc.append(np.mean([len(w) for w in windows]))
        # Per pair: each query's similarity to every document and to every document's best window.
        parts: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for D in bench.langs:
            vectors, windows = best[D]
            counts = np.array([len(win) for win in windows])
            flat = np.concatenate([win for win in windows if len(win)]) if counts.sum() else np.zeros((0, enc.dim), np.float32)
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            for Q in bench.langs:
                s_own = queries[Q] @ vectors.T
                s_best = s_own.copy()
                if len(flat):
                    windowed = counts > 0
                    s_best[:, windowed] = np.maximum.reduceat(queries[Q] @ flat.T, starts[windowed], axis=1)
                parts[(Q, D)] = (s_own, s_best)
        for w in weights:
            cross, mono, script = [], [], []
            for (Q, D), (s_own, s_best) in parts.items():
                score = (1 - w) * s_own + w * s_best
                g = gold[(Q, D)]
                ok = g >= 0
                target = score[np.arange(len(g)), np.maximum(g, 0)]
                rank = (score > target[:, None]).sum(axis=1)
                ndcg = np.where(ok & (rank < 10), 1 / np.log2(rank + 2), 0.0)[ok].mean()
                (mono if Q == D else cross).append(ndcg)
                if script_of.get(Q, Q) != script_of.get(D, D):
                    script.append(ndcg)
            print(f"{setting:>9} {np.mean(per_doc):8.1f} {w:7.2f} {np.mean(cross):8.4f} {np.mean(mono):8.4f} {np.mean(script):13.4f}")
        print(f"  ({setting}: {time.perf_counter() - t0:.0f} s including any encoding)", flush=True)


if __name__ == "__main__":
    main()
