"""Choosing how a mixed-language index is searched, on the bench's dev data (and only there).

    python benchmarks/tune_mixed.py collect --bench ../shared/bench --level paragraph --out out/mixed-lists.pkl
    python benchmarks/tune_mixed.py score out/mixed-lists.pkl     # the engine's merge, its settings around it
    python benchmarks/tune_mixed.py levers out/mixed-lists.pkl    # every other lever measured

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
    from xlqe_lite.models.embedding_cache import encode_cached
    from xlqe_lite.models.encoder import Encoder
    from xlqe_lite.search import SearchEngine

    bench = XquadBench.load(args.bench, args.level, sample=args.sample)
    encoder = Encoder.load(args.encoder, threads=os.cpu_count() or 1)
    docs = [doc for d in bench.langs for doc in bench.corpora[d]]
    out: dict = {"qrels": bench.qrels, "langs": bench.langs, "queries": {}}
    with tempfile.TemporaryDirectory() as tmp:
        index = index_with_vectors(os.path.join(tmp, "pooled"), docs, encoder, "f32", passages=not args.no_passages)
        engine = SearchEngine(index, encoder)
        # The centroid lever: each language's mean document vector and covariance, from the index's own documents.
        from xlqe_lite.models.embedding_cache import encode_documents_cached

        settings = encoder.vector_settings(not args.no_passages)
        doc_vectors, _ = encode_documents_cached(encoder, [t for _, t in docs], settings.passage_tokens or 0,
                                                 settings.passage_stride or 0)
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
    """What SearchEngine ranks from the collected lists with `calibration="per_language"`: each language's
    lists fused (min-max, the per-language lexical weight), then merged by `calibrated_merge`."""
    from xlqe_lite._core import fuse

    run = {}
    for qid, rec in data["queries"].items():
        qlang = rec["guess"] if use_guess else lang_of(qid)
        script = language_script(qlang) if qlang else rec["script"]
        groups = []
        for dl in data["langs"]:
            lists, weights, items = [rec["dense"][dl]], [fusion.dense], [None]
            if mode == "hybrid":
                lex = rec["bm25"][dl]
                lists.insert(0, lex)
                weights.insert(0, 1.0)
                items.insert(0, [fusion.lexical_weight(qlang, script, dl)] * len(lex))
            groups.append([(d, x) for d, x, _ in fuse(lists, weights, fusion.method, fusion.rrf_k, 200, items)])
        if per_corpus:  # each language's own ranking, as a search of that language's corpus alone gives it
            run[qid] = [d for g in groups for d, _ in g[:100]]
        else:
            run[qid] = [d for d, _, _ in calibrated_merge(groups, 100, fusion.calibration_heads, fusion.min_calibration)]
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


def baselines(data: dict) -> None:
    """The rows every table starts from: one shared list, as before per-language calibration."""
    report("dense, one list (before)", data, single_list_run(data, "dense_all"))
    report("hybrid, one list (before: min-max 0.7/0.1/0.05)", data, pooled_hybrid_run(data, FusionConfig(same_language=0.7)))


def score(args: argparse.Namespace) -> None:
    with open(args.lists, "rb") as f:
        data = pickle.load(f)
    baselines(data)
    for heads in ((10, 100), (100,), (10,), (30,)):
        for mode in ("dense", "hybrid"):
            fc = FusionConfig(calibration_heads=heads)
            report(f"{mode} per language, z on heads {heads}", data, engine_run(data, fc, mode=mode),
                   engine_run(data, fc, mode=mode, per_corpus=True))
    if "centroid" in next(iter(data["queries"].values())):
        for alpha in (0.5, 1.0):
            report(f"dense minus {alpha} x language centroid", data, centroid_run(data, alpha, False))
        report("dense z over the language's own documents (centroid + covariance)", data, centroid_run(data, 1.0, True))
        report("  ... + bm25 z x0.3", data, centroid_run(data, 1.0, True, 0.3))
    for same, script, other in args.grid or [(0.7, 0.1, 0.05), (0.5, 0.2, 0.1), (0.3, 0.1, 0.05), (0.2, 0.2, 0.2)]:
        fc = FusionConfig(same_language=same, same_script=script, other_script=other)
        report(f"hybrid per language, lexical {same}/{script}/{other}", data, engine_run(data, fc),
               engine_run(data, fc, per_corpus=True))
        if args.bench_lang:
            report("  ... query language from the bench", data, engine_run(data, fc, use_guess=False))

def _z(values: np.ndarray, stats: str, skip: int = 0) -> np.ndarray:
    """z-scores of one list: on the list's own mean and spread, or ("tail") on its ranks after the first `skip`
    (the relevant documents sit at the top and widen the spread they are measured against)."""
    if len(values) < 2:
        return np.zeros_like(values)
    ref = values[skip:] if stats == "tail" and len(values) > skip + 2 else values
    sd = ref.std()
    return (values - ref.mean()) / sd if sd > 0 else np.zeros_like(values)


def variant_run(data: dict, *, dense_stats: str = "list", skip: int = 0, lexical: tuple[float, float, float] = (0.0, 0.0, 0.0),
                restandardize: bool = False, raw: float = 0.0, use_guess: bool = True) -> dict[str, list[str]]:
    """A family of per-language merges, for measuring which part does what:
    - dense_stats: "list" (z on the language's top-100), "tail" (on its ranks after `skip`), "null" (on the query's
      similarity to all the language's documents: mean q.mu_L, spread sqrt(q S_L q)), "none" (raw score);
    - lexical: BM25 weight (same language, same script, other script) of the language's BM25 z added to dense z;
    - restandardize: each language's fused scores z-scored again over its candidates, so every language's fused
      distribution has the same spread whatever lists fed it;
    - raw: plus raw x the dense cosine (a share of the uncalibrated similarity)."""
    run = {}
    for qid, rec in data["queries"].items():
        qlang = rec["guess"] if use_guess else lang_of(qid)
        script = language_script(qlang) if qlang else rec["script"]
        fc = FusionConfig(same_language=lexical[0], same_script=lexical[1], other_script=lexical[2])
        out: list[tuple[str, float]] = []
        for dl in data["langs"]:
            dense = rec["dense"][dl]
            dv = np.array([x for _, x in dense], dtype=np.float64)
            if dense_stats == "null":
                dz = (dv - rec["centroid"][dl]) / rec["centroid_sd"][dl]
            elif dense_stats == "none":
                dz = dv.copy()
            else:
                dz = _z(dv, dense_stats, skip)
            total = {d: float(z) for (d, _), z in zip(dense, dz)}
            dfloor = float(dz.min()) if len(dz) else 0.0
            w = fc.lexical_weight(qlang, script, dl) if any(lexical) else 0.0
            if w > 0 and rec["bm25"][dl]:
                lex = rec["bm25"][dl]
                lz = _z(np.array([x for _, x in lex], dtype=np.float64), "list")
                lmap = {d: float(z) for (d, _), z in zip(lex, lz)}
                lfloor = float(lz.min())
                for d in set(total) | set(lmap):
                    total[d] = total.get(d, dfloor) + w * lmap.get(d, lfloor)
            if raw:
                rawmap = {d: x for d, x in dense}
                rfloor = float(dv.min()) if len(dv) else 0.0
                for d in total:
                    total[d] += raw * rawmap.get(d, rfloor)
            if restandardize and len(total) > 2:
                v = np.array(list(total.values()))
                m, sd = v.mean(), v.std() or 1.0
                total = {d: (x - m) / sd for d, x in total.items()}
            out.extend(total.items())
        out.sort(key=lambda t: (-t[1], t[0]))
        run[qid] = [d for d, _ in out[:100]]
    return run


def _zhead(values: np.ndarray, n: int) -> np.ndarray:
    """z-scores on the mean and spread of the first n values (the head of the list)."""
    ref = values[:n]
    sd = ref.std() if len(ref) > 1 else 0.0
    return (values - ref.mean()) / sd if sd > 0 else np.zeros_like(values)


def minmax_then_z_run(data: dict, fusion: FusionConfig, mode: str = "hybrid", stats: str = "list", skip: int = 0,
                      per_corpus: bool = False, use_guess: bool = True, depth: int = 100, zdepth: int = 0) -> dict[str, list[str]]:
    """Each language's lists fused as a single-language index fuses them today (min-max, the lexical weights),
    then the fused scores z-scored over the language's fused candidates, and the languages merged on z. On an
    index of one language this is the same ranking as today's (a monotone map of one list)."""
    from xlqe_lite._core import fuse

    run = {}
    for qid, rec in data["queries"].items():
        qlang = rec["guess"] if use_guess else lang_of(qid)
        script = language_script(qlang) if qlang else rec["script"]
        merged: list[tuple[str, float]] = []
        ranked: list[str] = []
        for dl in data["langs"]:
            lists, weights, items = [rec["dense"][dl][:depth]], [fusion.dense], [None]
            if mode == "hybrid":
                w = fusion.lexical_weight(qlang, script, dl)
                lex = rec["bm25"][dl][:depth]
                lists.insert(0, lex); weights.insert(0, 1.0); items.insert(0, [w] * len(lex))
            fused = fuse(lists, weights, fusion.method, fusion.rrf_k, 200, items)
            v = np.array([x for _, x, _ in fused], dtype=np.float64)
            if stats == "mad":
                med = np.median(v[:100]); mad = np.median(np.abs(v[:100] - med)) * 1.4826 or 1.0
                z = (v - med) / mad
            elif stats == "mix":
                z = 0.5 * (_zhead(v, 10) + _zhead(v, 100))
            else:
                z = _z(v, stats, skip) if not zdepth else _zhead(v, zdepth)
            if per_corpus:
                ranked.extend(d for d, _, _ in fused[:100])
            merged.extend((d, float(x)) for (d, _, _), x in zip(fused, z))
        merged.sort(key=lambda t: (-t[1], t[0]))
        run[qid] = ranked if per_corpus else [d for d, _ in merged[:100]]
    return run


def levers(args: argparse.Namespace) -> None:
    """The levers of issue 16 measured one by one (BENCHMARKS.md, "One index of many languages")."""
    with open(args.lists, "rb") as f:
        data = pickle.load(f)
    baselines(data)
    report("dense z per list (top 100)", data, variant_run(data))
    report("dense z on the language's documents (centroid, covariance)", data, variant_run(data, dense_stats="null"))
    for rs in (False, True):
        report(f"z per list, summed (dense + bm25 0.7/0.1/0.05){', z again' if rs else ''}", data,
               variant_run(data, lexical=(0.7, 0.1, 0.05), restandardize=rs))
    for mode in ("dense", "hybrid"):
        report(f"{mode}: min-max in language, then z on all", data, minmax_then_z_run(data, FusionConfig(same_language=0.7), mode))
        for stats in ("mad", "mix"):
            report(f"{mode}: min-max in language, then {stats}", data,
                   minmax_then_z_run(data, FusionConfig(same_language=0.7), mode, stats=stats))
        for zd in (10, 30, 100):
            report(f"{mode}: min-max in language, then z on top {zd}", data,
                   minmax_then_z_run(data, FusionConfig(same_language=0.7), mode, zdepth=zd))


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
    lv = sub.add_parser("levers", help="each lever of issue 16 on its own")
    lv.add_argument("lists")
    lv.set_defaults(func=levers)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
