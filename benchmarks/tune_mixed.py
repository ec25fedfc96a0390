"""Choosing how a mixed-language index is searched, on the bench's dev data (and only there).

    python benchmarks/tune_mixed.py collect --bench ../shared/bench --level paragraph --out out/mixed-lists.pkl
    python benchmarks/tune_mixed.py score out/mixed-lists.pkl

`collect` builds one pooled index of every XQuAD language (embeddings from the on-disk cache) and, for every
query, keeps each held language's own dense list and BM25 list (depth 100; the query language as the engine
guesses it) plus the unfiltered dense and BM25 lists. `score` then merges those lists in each candidate way
and prints mixed CROSS / mixed MONO / pooled / per-pair CROSS nDCG@10 (the bench's --mixed and --pooled rules,
xlqe_lite.evaluation), so a lever is measured in seconds instead of a full `xlqe eval --pooled`.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile

import numpy as np

from xlqe_lite._core import dominant_script, language_script
from xlqe_lite.evaluation import XquadBench, evaluate, index_with_vectors, lang_of
from xlqe_lite.search import FusionConfig, calibrated_merge

Lists = dict[str, list[tuple[str, float]]]


def collect(args: argparse.Namespace) -> None:
    from xlqe_lite.embedding_cache import encode_cached
    from xlqe_lite.encoder import Encoder
    from xlqe_lite.search import SearchEngine

    bench = XquadBench.load(args.bench, args.level, sample=args.sample)
    encoder = Encoder.load(args.encoder, threads=os.cpu_count() or 1)
    docs = [doc for d in bench.langs for doc in bench.corpora[d]]
    out: dict = {"qrels": bench.qrels, "langs": bench.langs, "queries": {}}
    with tempfile.TemporaryDirectory() as tmp:
        index = index_with_vectors(os.path.join(tmp, "pooled"), docs, encoder, "f32", passages=not args.no_passages)
        engine = SearchEngine(index, encoder)
        # The centroid lever: each language's mean document vector and covariance, from the index's own documents.
        from xlqe_lite.embedding_cache import encode_documents_cached

        settings = encoder.vector_settings(not args.no_passages)
        doc_vectors, _ = encode_documents_cached(encoder, [t for _, t in docs], settings["passage_tokens"],
                                                 settings["passage_stride"])
        doc_langs = np.array([lang_of(i) for i, _ in docs])
        centroids = {l: doc_vectors[doc_langs == l].mean(axis=0) for l in bench.langs}
        covariances = {l: np.cov(doc_vectors[doc_langs == l].T) for l in bench.langs}
        for ql, queries in bench.queries.items():
            vectors = encode_cached(encoder, [t for _, t in queries], "query")
            for (qid, text), v in zip(queries, vectors):
                guess = engine.guess_query_language(text)
                rec: dict = {"guess": guess, "script": dominant_script(text), "dense": {}, "bm25": {}}
                for dl in bench.langs:
                    rec["dense"][dl] = [(h.id, h.score) for h in index.search_vector(v, k=100, langs=[dl], passage_weight=0.5)]
                    rec["bm25"][dl] = [(h.id, h.score) for h in index.search(text, k=100, lang=guess, langs=[dl])]
                rec["centroid"] = {l: float(v @ centroids[l]) for l in bench.langs}
                rec["centroid_sd"] = {l: float(np.sqrt(max(v @ covariances[l] @ v, 1e-12))) for l in bench.langs}
                rec["dense_all"] = [(h.id, h.score) for h in index.search_vector(v, k=100, passage_weight=0.5)]
                rec["bm25_all"] = [(h.id, h.score) for h in index.search(text, k=100, lang=guess)]
                out["queries"][qid] = rec
            print(f"{ql}: {len(queries)} queries", file=sys.stderr)
    with open(args.out, "wb") as f:
        pickle.dump(out, f)


def engine_run(data: dict, fusion: FusionConfig, use_guess: bool = True, mode: str = "hybrid",
               per_corpus: bool = False) -> dict[str, list[str]]:
    """What SearchEngine._fused_per_language ranks from the collected lists (the same `calibrated_merge`,
    the same per-language weights), for one FusionConfig."""
    run = {}
    for qid, rec in data["queries"].items():
        qlang = rec["guess"] if use_guess else lang_of(qid)
        script = language_script(qlang) if qlang else rec["script"]
        groups = {}
        for dl in data["langs"]:
            lists = [("dense", rec["dense"][dl], fusion.dense)]
            w = fusion.lexical_weight(qlang, script, dl)
            if mode == "hybrid" and w > 0:
                lists.append(("bm25", rec["bm25"][dl], w))
            groups[dl] = lists
        if per_corpus:
            # Each language's own ranking, as a search of that language's corpus alone gives it (the dense list
            # exactly; BM25's statistics are the pooled index's).
            run[qid] = [d for dl, lists in groups.items()
                        for d, _, _ in calibrated_merge({dl: lists}, 100, fusion.min_calibration)]
        else:
            run[qid] = [d for d, _, _ in calibrated_merge(groups, 100, fusion.min_calibration)]
    return run


def centroid_run(data: dict, alpha: float, scale: bool, lexical: float = 0.0) -> dict[str, list[str]]:
    """Dense scores with the language component removed: s - alpha * q.mu_L (q.mu_L: the query's similarity
    to the centroid of its document's language), divided by the spread of q.d over L's documents when `scale`."""
    run = {}
    for qid, rec in data["queries"].items():
        out = []
        for dl in data["langs"]:
            sd = rec["centroid_sd"][dl] if scale else 1.0
            lex = {}
            if lexical:
                hits = rec["bm25"][dl]
                if len(hits) > 1:
                    v = np.array([x for _, x in hits])
                    lex = {d: (x - v.mean()) / (v.std() or 1.0) for d, x in hits}
            floor = min(lex.values()) if lex else 0.0
            for d, x in rec["dense"][dl]:
                out.append((d, (x - alpha * rec["centroid"][dl]) / sd + lexical * lex.get(d, floor)))
        out.sort(key=lambda t: -t[1])
        run[qid] = [d for d, _ in out[:100]]
    return run


def pooled_hybrid_run(data: dict, fusion: FusionConfig) -> dict[str, list[str]]:
    """The single-list fusion (FusionConfig(calibration="pooled")): min-max over the unfiltered lists."""
    from xlqe_lite._core import fuse

    run = {}
    for qid, rec in data["queries"].items():
        qlang = rec["guess"]
        script = language_script(qlang) if qlang else rec["script"]
        lex, dense = rec["bm25_all"], rec["dense_all"]
        weights = [fusion.lexical_weight(qlang, script, lang_of(d)) for d, _ in lex]
        out = fuse([lex, dense], [1.0, fusion.dense], fusion.method, fusion.rrf_k, 100, [weights, None])
        run[qid] = [d for d, _, _ in out]
    return run


def single_list_run(data: dict, key: str) -> dict[str, list[str]]:
    return {qid: [d for d, _ in rec[key]] for qid, rec in data["queries"].items()}


def report(name: str, data: dict, run: dict[str, list[str]], corpus_run: dict[str, list[str]] | None = None) -> dict:
    qrels = {q: data["qrels"][q] for q in data["queries"]}
    r = evaluate(qrels, run, pooled=True, mixed=True)
    extra = ""
    if corpus_run is not None:
        c = evaluate(qrels, corpus_run)
        extra = f"  corpusCROSS {c['macro']['CROSS']['nDCG@10']:.4f}  corpusMONO {c['macro']['MONO']['nDCG@10']:.4f}"
    print(f"{name:52s} mixedCROSS {r['mixed']['CROSS']['nDCG@10']:.4f}  mixedMONO {r['mixed']['MONO']['nDCG@10']:.4f}  "
          f"pooled {r['pooled']['nDCG@10']:.4f}  pairCROSS {r['macro']['CROSS']['nDCG@10']:.4f}  "
          f"pairMONO {r['macro']['MONO']['nDCG@10']:.4f}{extra}", flush=True)
    return r


def score(args: argparse.Namespace) -> None:
    with open(args.lists, "rb") as f:
        data = pickle.load(f)
    report("dense, one list (before)", data, single_list_run(data, "dense_all"))
    report("hybrid, one list (before: min-max 0.7/0.1/0.05)", data, pooled_hybrid_run(data, FusionConfig()))
    report("dense per language, z", data, engine_run(data, FusionConfig(), mode="dense"),
           engine_run(data, FusionConfig(), mode="dense", per_corpus=True))
    for mc in (10, 1000):
        report(f"dense per language, z, min_calibration {mc}", data,
               engine_run(data, FusionConfig(min_calibration=mc), mode="dense"))
    if "centroid" in next(iter(data["queries"].values())):
        for alpha in (0.5, 1.0):
            report(f"dense minus {alpha} x language centroid", data, centroid_run(data, alpha, False))
        report("dense z over the language's own documents (centroid + covariance)", data, centroid_run(data, 1.0, True))
        report("  ... + bm25 z x0.3", data, centroid_run(data, 1.0, True, 0.3))
    for same, script, other in args.grid or [(0.7, 0.1, 0.05), (0.5, 0.1, 0.05), (0.3, 0.1, 0.05), (0.3, 0.05, 0.0),
                                             (0.2, 0.05, 0.0), (0.2, 0.1, 0.05), (0.1, 0.05, 0.0), (0.3, 0.3, 0.1)]:
        fc = FusionConfig(same_language=same, same_script=script, other_script=other)
        report(f"hybrid per language z, lexical {same}/{script}/{other}", data, engine_run(data, fc),
               engine_run(data, fc, per_corpus=True))
        if args.bench_lang:
            report(f"  ... query language from the bench", data, engine_run(data, fc, use_guess=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--bench", default="../shared/bench")
    c.add_argument("--level", default="paragraph", choices=["paragraph", "sentence"])
    c.add_argument("--encoder", default="multilingual-e5-small")
    c.add_argument("--sample", type=int)
    c.add_argument("--no-passages", action="store_true", help="documents' own vectors only, no passage windows")
    c.add_argument("--out", required=True)
    c.set_defaults(func=collect)
    s = sub.add_parser("score")
    s.add_argument("lists")
    s.add_argument("--grid", type=lambda x: tuple(float(v) for v in x.split("/")), action="append",
                   help="lexical weights same-language/same-script/other-script (repeatable)")
    s.add_argument("--bench-lang", action="store_true", help="also score with the bench's query language")
    s.set_defaults(func=score)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
