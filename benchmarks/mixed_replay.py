"""Replaying the engine's mixed-index merge from cached vectors, to see where the answer in another language
loses and how the merge's settings move it (XQuAD dev; dev, tuned).

    python benchmarks/tune_mixed.py collect --bench ../shared/bench --out out/lists-para-win.pkl
    python benchmarks/mixed_replay.py out/lists-para-win.pkl            # diagnosis, then passage weight and heads
    python benchmarks/mixed_replay.py out/lists-para-win.pkl --companion use-multilingual-v3   # its weight

The BM25 lists and query-language guesses come from `tune_mixed.py collect`; the dense lists are recomputed
here from the cached document, passage-window and query vectors of the same encoder (exact cosines, as the
engine scans a language's part below `exact_below`), with the query moved toward each language as the engine
moves it (`FusionConfig.centroid_shift`), so any passage weight and shift can be replayed. With the default
settings the replay gives the engine's figures (`xlqe eval --pooled`) to three or four decimals (the engine
computes in f32 what this computes in f64 in places).

`--companion MODEL` replays a second encoder beside the first (how the weight of `e5-small+use-v3` was
chosen): each document's dense score gains `w` times the companion's cosine of the query and the whole
document (the engine's composite also embeds each window with it, which this leaves out), for each `w` of
`--companion-weights`. The lists must be collected with the first encoder alone (`tune_mixed.py collect
--encoder multilingual-e5-small`).
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
        self.qv = np.concatenate([encode_cached(enc, [t for _, t in qs], "query") for qs in bench.queries.values()])
        with open(lists, "rb") as f:
            self.data = pickle.load(f)
        self.langs = bench.langs
        self.doc_ids = np.array([i for i, _ in docs])
        doc_lang = np.array([lang_of(i) for i, _ in docs])
        self.by_lang = {lang: np.where(doc_lang == lang)[0] for lang in self.langs}
        self.row = {q: i for i, q in enumerate(qids)}
        self.dv = np.asarray(doc_vectors, dtype=np.float32)
        # Each language's mean document vector, as the core sums them (f64, each vector normalised).
        unit = self.dv / np.linalg.norm(self.dv, axis=1, keepdims=True)
        self.centroid = {lang: unit[idx].astype(np.float64).mean(axis=0) for lang, idx in self.by_lang.items()}
        self.passages = [np.asarray(p, dtype=np.float32) for p in passages]
        self.guess = [self.data["queries"][q]["guess"] for q in qids]
        self._scores: dict[tuple[str, float], tuple[np.ndarray, np.ndarray]] = {}
        self.companion: dict[str, np.ndarray] = {}  # language -> [queries, its documents] cosines
        self.companion_weight = 0.0
        self._companion_inputs = (docs, list(bench.queries.values()))

    def add_companion(self, name: str) -> None:
        """Cosines of every query to every document under encoder `name` (cached embeddings), per language."""
        enc = Encoder.load(name)
        docs, query_sets = self._companion_inputs
        dv = encode_cached(enc, [t for _, t in docs], "passage")
        qv = np.concatenate([encode_cached(enc, [t for _, t in qs], "query") for qs in query_sets])
        self.companion = {lang: qv @ dv[idx].T for lang, idx in self.by_lang.items()}

    def scores(self, lang: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """(own, best passage) similarities of every query to language `lang`'s documents, each query moved
        toward `lang` from its guessed language by `alpha` (`Index.query_toward`; unknown or the same
        language: not moved); -inf for a document without windows."""
        if (lang, alpha) not in self._scores:
            q = self.qv.astype(np.float64)
            if alpha:
                for i, g in enumerate(self.guess):
                    if g and g != lang and g in self.centroid:
                        moved = q[i] + alpha * (self.centroid[lang] - self.centroid[g])
                        q[i] = moved * np.linalg.norm(q[i]) / np.linalg.norm(moved)
            q32 = q.astype(np.float32)
            idx = self.by_lang[lang]
            own = q32 @ self.dv[idx].T
            best = np.full_like(own, -np.inf)
            for c, j in enumerate(idx):
                if len(self.passages[j]):
                    best[:, c] = (q32 @ self.passages[j].T).max(axis=1)
            self._scores[(lang, alpha)] = (own, best)
        return self._scores[(lang, alpha)]

    def dense(self, qi: int, pw: float, alpha: float, depth: int = 100) -> dict[str, list[tuple[str, float]]]:
        out = {}
        for lang, idx in self.by_lang.items():
            own, best = (m[qi] for m in self.scores(lang, alpha))
            s = np.where(np.isfinite(best), (1 - pw) * own + pw * best, own)
            if self.companion_weight:
                s = s + self.companion_weight * self.companion[lang][qi]
            top = np.argsort(-s, kind="stable")[:depth]
            out[lang] = [(str(self.doc_ids[idx[t]]), float(s[t])) for t in top]
        return out

    def run(self, pw: float = 0.5, heads: tuple[int, ...] = FusionConfig().calibration_heads,
            alpha: float = FusionConfig().centroid_shift, mode: str = "hybrid") -> dict[str, list[str]]:
        """The engine's merge (`tune_mixed.engine_run`) over the collected BM25 lists and dense lists replayed
        with passage weight `pw` and the query moved toward each language by `alpha` (`mode` "dense": the
        dense lists alone)."""
        queries = {qid: {**rec, "dense": self.dense(self.row[qid], pw, alpha)} for qid, rec in self.data["queries"].items()}
        return engine_run({**self.data, "queries": queries}, FusionConfig(calibration_heads=heads), mode=mode)

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
    ap.add_argument("--companion", help="a second encoder replayed beside the first (see above)")
    ap.add_argument("--companion-weights", default="0,0.05,0.075,0.1,0.15,0.2,0.3")
    args = ap.parse_args()
    replay = Replay(args.bench, args.level, args.lists, args.encoder)
    if args.companion:
        replay.add_companion(args.companion)
        for w in (float(x) for x in args.companion_weights.split(",")):
            replay.companion_weight = w
            replay.report(f"{args.companion} beside, weight {w}", replay.run())
        return
    fc = FusionConfig()
    base = replay.run()
    replay.report(f"default (passage weight {fc.passage_weight}, heads {fc.calibration_heads}, shift {fc.centroid_shift})", base)
    replay.diagnose(base)
    replay.report("dense alone (the default otherwise)", replay.run(mode="dense"))
    for alpha in (0.0, 0.3, 0.5, 1.0):
        replay.report(f"centroid shift {alpha}", replay.run(alpha=alpha))
    replay.report("centroid shift 0, heads (10, 100) (before)", replay.run(alpha=0.0, heads=(10, 100)))
    replay.report("heads (10, 100)", replay.run(heads=(10, 100)))
    for pw in (0.3, 0.7):
        replay.report(f"passage weight {pw}", replay.run(pw))
    for heads in ((3, 10, 100), (5, 50), (4, 100)):
        replay.report(f"heads {heads}", replay.run(heads=heads))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
