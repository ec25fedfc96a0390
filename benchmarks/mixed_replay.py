"""Replaying the engine's mixed-index merge from cached vectors, to see where the answer in another language
loses and how the merge's settings move it (XQuAD dev; dev, tuned).

    python benchmarks/tune_mixed.py collect --bench ../shared/bench --out out/lists-para-win.pkl
    python benchmarks/mixed_replay.py out/lists-para-win.pkl            # diagnosis, then passage weight and heads

The BM25 lists and query-language guesses come from `tune_mixed.py collect`; the dense lists are recomputed
here from the cached document, passage-window and query vectors of the same encoder (exact cosines, as the
engine scans a language's part below `exact_below`), so any passage weight can be replayed. With the default
settings the replay gives the engine's figures (`xlqe eval --pooled`) to four decimals.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections import Counter

import numpy as np

from tune_mixed import engine_run, report
from xlqe_lite.evaluation import XquadBench, lang_of
from xlqe_lite.models.embedding_cache import encode_cached, encode_documents_cached
from xlqe_lite.models.encoder import Encoder
from xlqe_lite.search import FusionConfig


class Replay:
    def __init__(self, bench_dir: str, level: str, lists: str, encoder: str) -> None:
        bench = XquadBench.load(bench_dir, level)
        enc = Encoder.load(encoder)
        docs = [doc for d in bench.langs for doc in bench.corpora[d]]
        st = enc.vector_settings(True)
        doc_vectors, passages = encode_documents_cached(enc, [t for _, t in docs], st.passage_tokens or 0,
                                                        st.passage_stride or 0)
        qids = [q for qs in bench.queries.values() for q, _ in qs]
        qv = np.concatenate([encode_cached(enc, [t for _, t in qs], "query") for qs in bench.queries.values()])
        with open(lists, "rb") as f:
            self.data = pickle.load(f)
        self.langs = bench.langs
        self.doc_ids = np.array([i for i, _ in docs])
        doc_lang = np.array([lang_of(i) for i, _ in docs])
        self.by_lang = {lang: np.where(doc_lang == lang)[0] for lang in self.langs}
        self.row = {q: i for i, q in enumerate(qids)}
        self.own = qv @ doc_vectors.T
        # Each document's best passage window (-inf for a document without windows).
        self.best = np.full_like(self.own, -np.inf)
        for j, p in enumerate(passages):
            if len(p):
                self.best[:, j] = (qv @ p.T).max(axis=1)

    def dense(self, qi: int, pw: float, depth: int = 100) -> dict[str, list[tuple[str, float]]]:
        out = {}
        for lang, idx in self.by_lang.items():
            own, best = self.own[qi, idx], self.best[qi, idx]
            s = np.where(np.isfinite(best), (1 - pw) * own + pw * best, own)
            top = np.argsort(-s, kind="stable")[:depth]
            out[lang] = [(str(self.doc_ids[idx[t]]), float(s[t])) for t in top]
        return out

    def run(self, pw: float = 0.5, heads: tuple[int, ...] = (10, 100)) -> dict[str, list[str]]:
        """The engine's merge (`tune_mixed.engine_run`) over the collected BM25 lists and dense lists replayed
        with passage weight `pw`."""
        queries = {qid: {**rec, "dense": self.dense(self.row[qid], pw)} for qid, rec in self.data["queries"].items()}
        return engine_run({**self.data, "queries": queries}, FusionConfig(calibration_heads=heads))

    def report(self, name: str, run: dict[str, list[str]]) -> None:
        report(name, self.data, run)

    def diagnose(self, run: dict[str, list[str]]) -> None:
        """For each query and other language D: the rank of D's answer once the evaluator has removed the
        other languages' answers, and the language of up to three documents ranked above it."""
        place: Counter = Counter()
        above: Counter = Counter()
        for qid, ranked in run.items():
            q = lang_of(qid)
            rel = {d for d, r in self.data["qrels"][qid].items() if r > 0}
            for d_lang in self.langs:
                if d_lang == q:
                    continue
                answer = next(d for d in rel if lang_of(d) == d_lang)
                kept = [d for d in ranked if d == answer or d not in rel]
                if answer not in kept:
                    place["not in the top 100"] += 1
                    continue
                r = kept.index(answer)
                place["first" if r == 0 else "2-10" if r < 10 else "11-100"] += 1
                for d in kept[:r][:3]:
                    above["query's language" if lang_of(d) == q else "answer's language" if lang_of(d) == d_lang else "a third language"] += 1
        total = sum(place.values())
        print("answer's place:", {k: f"{v / total:.3f}" for k, v in place.items()})
        n = sum(above.values())
        print("ranked above it:", {k: f"{v / n:.3f}" for k, v in above.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("lists", help="the pickle of `tune_mixed.py collect`")
    ap.add_argument("--bench", default="../shared/bench")
    ap.add_argument("--level", default="paragraph", choices=["paragraph", "sentence"])
    ap.add_argument("--encoder", default="multilingual-e5-small")
    args = ap.parse_args()
    replay = Replay(args.bench, args.level, args.lists, args.encoder)
    base = replay.run()
    replay.report("default (passage weight 0.5, heads 10, 100)", base)
    replay.diagnose(base)
    for pw in (0.3, 0.7, 0.9):
        replay.report(f"passage weight {pw}", replay.run(pw))
    for heads in ((5, 100), (3, 10, 100), (10, 50), (20, 100)):
        replay.report(f"heads {heads}", replay.run(heads=heads))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
