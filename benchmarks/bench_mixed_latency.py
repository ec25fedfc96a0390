"""Latency of a hybrid query (no expansion) on a mixed-language index of 100,000 documents, per-language
calibration (the default) against the single pooled list, and beside it on one language's documents alone.

    python benchmarks/bench_mixed_latency.py [--docs 100000] [--queries 300]

Documents: 1-4 real bench sentences of one language each (XQuAD-R, NTREX, Tatoeba: 14 languages, seeded, as
bench_lexical.py's synthetic set). Vectors: each document's is a mix of two real embeddings (the default encoder,
e5-small with USE beside it: 896 dimensions) of XQuAD paragraphs of the same language (from the on-disk cache)
with a little noise, renormalised, so every language keeps its own region of the space as real embeddings do.
Queries: real XQuAD dev questions of the 9 languages with their real query embeddings (cached: the tuning sample
of benchmarks/tune_mixed.py), searched through SearchEngine.search with the vector given, one thread, after a
warm-up; the encoder's time is not in it (BENCHMARKS.md, "Encoder throughput", has that).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lexical import BENCH, build_synthetic, stream_docs  # noqa: E402
from xlqe_lite.models.manifest import DEFAULT_ENCODER  # noqa: E402


def prepare(n_docs: int, n_queries: int, encoder_name: str, sample: int = 400, paragraphs: int | None = None) -> tuple:
    """The documents, their derived vectors, the queries and their real embeddings (see the docstring).
    `sample` questions per language are embedded (the tuning sample's 400 by default, cached), `paragraphs`
    per language seed the document vectors (all by default)."""
    import json

    from xlqe_lite.models.embedding_cache import encode_cached
    from xlqe_lite.evaluation import XquadBench, lang_of
    from xlqe_lite.models.encoder import Encoder

    encoder = Encoder.load(encoder_name, threads=1)
    data = json.loads(build_synthetic(n_docs, n_queries).read_text(encoding="utf-8"))
    data["docs"] = list(stream_docs(data["docs"]))  # bench_lexical keeps the documents as JSONL beside it
    # Real paragraph embeddings per language: the pooled XQuAD index's, as `xlqe eval --pooled` embeds them (cached).
    bench = XquadBench.load(str(BENCH), "paragraph", sample=sample)
    docs = [doc for d in bench.langs for doc in bench.corpora[d][:paragraphs]]
    pooled = encode_cached(encoder, [t for _, t in docs], "passage")
    doc_langs = np.array([lang_of(i) for i, _ in docs])
    seeds: dict[str, np.ndarray] = {l: pooled[doc_langs == l] for l in bench.langs}
    every = pooled
    rng = np.random.default_rng(7)
    langs = sorted({d["lang"] for d in data["docs"]})
    # Languages without XQuAD paragraphs get their own fixed offset of random real paragraphs.
    offsets = {l: every[rng.integers(len(every), size=8)].mean(axis=0) for l in langs if l not in seeds}
    vectors = np.empty((len(data["docs"]), encoder.dim), dtype=np.float32)
    for i, d in enumerate(data["docs"]):
        pool = seeds.get(d["lang"])
        if pool is None:
            v = every[rng.integers(len(every))] * 0.5 + offsets[d["lang"]]
        else:
            v = pool[rng.integers(len(pool))] + pool[rng.integers(len(pool))]
        v = v + rng.normal(0, 0.02, encoder.dim)
        vectors[i] = v / np.linalg.norm(v)
    # Real questions of every language with their cached embeddings (the tuning sample's), n_queries in all.
    per_lang = -(-n_queries // len(bench.langs))
    queries, qvecs = [], []
    for lang in bench.langs:
        texts = [t for _, t in bench.queries[lang]]
        queries += [(t, lang) for t in texts[:per_lang]]
        qvecs.append(encode_cached(encoder, texts, "query")[:per_lang])
    qvec = np.concatenate(qvecs)
    return encoder, data, vectors, queries, qvec, langs


def latencies(engine, queries, qvec, warm: int = 20, **kw) -> list[float]:
    """Milliseconds per query of engine.search (vector given), after `warm` warm-up queries."""
    for (text, _), v in list(zip(queries, qvec))[:warm]:
        engine.search(text, k=10, query_vector=v, **kw)
    times = []
    for (text, _), v in zip(queries, qvec):
        t = time.perf_counter()
        engine.search(text, k=10, query_vector=v, **kw)
        times.append((time.perf_counter() - t) * 1000)
    return times


def records(quick: bool) -> list[dict]:
    """The harness's end-to-end query latency per mode (bm25, dense, hybrid; no expansion; the vector given,
    so the encoder's time is not in it), median ms over the queries, on the mixed-language index. Full:
    100,000 documents, 300 queries; quick: 10,000 documents, 90 queries (only 30 paragraphs per language embedded
    to seed the document vectors, so a cold embedding cache costs seconds, not minutes). No peer runs these (the engine's
    whole query path has no like-for-like peer); the records carry xlqe's figures only."""
    from harness import measurement
    from xlqe_lite import Index
    from xlqe_lite.search import SearchEngine

    n_docs, n_queries = (10_000, 90) if quick else (100_000, 300)
    sample, paragraphs = (10, 30) if quick else (400, None)
    encoder, data, vectors, queries, qvec, _ = prepare(n_docs, n_queries, DEFAULT_ENCODER, sample, paragraphs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ix = Index.create(os.path.join(tmp, "mixed"), vectors={"dims": encoder.dim, "metric": "ip"})
        ix.add_many(data["docs"], vectors=vectors)
        ix.commit()
        ix.close()
        ix = Index.open(os.path.join(tmp, "mixed"))
        engine = SearchEngine(ix, encoder)
        for mode in ("bm25", "dense", "hybrid"):
            ms = statistics.median(latencies(engine, queries, qvec, mode=mode))
            rows.append(measurement(f"mixed-language synthetic {n_docs // 1000}k, {len(queries)} queries",
                                    f"query latency, {mode}, median", "xlqe", ms, "ms"))
        ix.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--encoder", default=DEFAULT_ENCODER)
    a = ap.parse_args()
    from xlqe_lite import Index
    from xlqe_lite.search import FusionConfig, SearchEngine

    encoder, data, vectors, queries, qvec, langs = prepare(a.docs, a.queries, a.encoder)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ix = Index.create(os.path.join(tmp, "mixed"), vectors={"dims": encoder.dim, "metric": "ip"})
        ix.add_many(data["docs"], vectors=vectors)
        ix.commit()
        ix.close()
        print(f"{len(data['docs']):,} documents in {len(langs)} languages indexed in {time.perf_counter() - t0:.0f}s",
              flush=True)
        ix = Index.open(os.path.join(tmp, "mixed"))
        for name, fusion, only in [("per-language (default)", FusionConfig(), None),
                                   ("pooled list (before)", FusionConfig(calibration="pooled"), None),
                                   ("per-language, one language's documents (langs=[en])", FusionConfig(), ["en"])]:
            engine = SearchEngine(ix, encoder, fusion)
            times = sorted(latencies(engine, queries, qvec, langs=only))
            print(f"{name:52s} p50 {statistics.median(times):6.1f} ms  p90 {times[int(0.9 * len(times))]:6.1f} ms  "
                  f"({len(times)} queries)", flush=True)
        ix.close()


if __name__ == "__main__":
    random.seed(0)
    main()
