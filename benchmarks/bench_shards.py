"""Sharded indexes (xlqe_lite.shard): identity with one index at scale, Ray build throughput, fan-out cost.

    # 1M synthetic documents: a 4-shard index gives the single index's ranked lists (BM25 exact scores;
    # dense with exact search and hybrid through the SearchEngine over --dense-docs of them, 384-dimensional
    # random unit vectors, --dense-queries query vectors)
    .venv/bin/python benchmarks/bench_shards.py identity --docs 1000000 --dense-docs 1000000 --queries 300 --dense-queries 50

    # `xlqe index --shards 4 --ray local` throughput with 1, 2, 4 encoder workers (XQuAD dev paragraphs,
    # multilingual-e5-small without passage windows), and lexical-only on synthetic JSONL
    .venv/bin/python benchmarks/bench_shards.py build --workers 1 2 4

    # per-query cost of the Ray fan-out: the same 4-shard index searched in-process and through actors
    .venv/bin/python benchmarks/bench_shards.py fanout --queries 400

    # the bench on one index and on 4 shards (hybrid, HNSW forced with exact_below 0 and the default config)
    .venv/bin/python benchmarks/bench_shards.py eval --langs de,en,zh --mode hybrid

Each prints one JSON line per measurement; BENCHMARKS.md ("Sharded indexes on Ray") records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.shard_data import (same_ranking, synthetic_docs, synthetic_queries, synthetic_vectors,  # noqa: E402
                        xquad_docs, xquad_queries)

from xlqe_lite import Index  # noqa: E402
from xlqe_lite.shard import ShardedIndex  # noqa: E402

BENCH = Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))
DEV_LANGS = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")


def emit(**row: Any) -> None:
    row.update(load=os.getloadavg()[0], machine=f"{os.cpu_count()} cpu {platform.machine()}")
    print(json.dumps(row), flush=True)


def compare(step: str, cases: Sequence[tuple[Any, ...]], one: Callable[..., Any], four: Callable[..., Any],
            nonempty: bool = False, **fields: Any) -> None:
    """Runs every case on one index (`one`) and on the shards (`four`), k = 100, and emits how many of the
    lists are not identical (`same_ranking`; with `nonempty` an empty list, and a sharded result's warnings,
    count as not identical too) with the p50 latency of each side."""
    mismatches = 0
    times_one, times_four = [], []
    for case in cases:
        t = time.perf_counter()
        want = one(*case)
        times_one.append(time.perf_counter() - t)
        t = time.perf_counter()
        got = four(*case)
        times_four.append(time.perf_counter() - t)
        differs = same_ranking(got, want, 100)
        if differs or (nonempty and (not want or got.warnings)):
            mismatches += 1
            print(step, "mismatch:", case[0] if isinstance(case[0], str) else "vector", case[-1], differs, file=sys.stderr)
    emit(step=step, **fields, lists=len(cases), mismatches=mismatches,
         p50_ms_single=round(1000 * statistics.median(times_one), 2),
         p50_ms_sharded_in_process=round(1000 * statistics.median(times_four), 2))


def identity(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="xlqe-shards-", dir=args.tmp) as tmp:
        root = Path(tmp)
        if not args.docs:  # the dense and hybrid steps alone
            dense(root, args)
            return
        single = Index.create(root / "single")
        sharded = ShardedIndex.create(root / "sharded", args.shards)
        t0 = time.perf_counter()
        sample: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        for i, doc in enumerate(synthetic_docs(args.docs)):
            batch.append(doc)
            if i % max(1, args.docs // 2000) == 0:
                sample.append(doc)
            if len(batch) == 50_000:
                single.add_many(batch)
                sharded.add_many(batch)
                batch = []
        single.add_many(batch)
        sharded.add_many(batch)
        single.commit()
        sharded.commit()
        emit(step="identity-build", docs=args.docs, shards=args.shards, seconds=round(time.perf_counter() - t0, 1))
        sharded.close()
        reader = ShardedIndex.open(root / "sharded")
        assert len(reader) == len(single) == args.docs
        cases = [(q, langs) for q in synthetic_queries(sample, args.queries) for langs in (None, ["de"])]
        compare("identity-bm25", cases, lambda q, langs: single.search(q, k=100, lang="en", langs=langs),
                lambda q, langs: reader.search(q, k=100, lang="en", langs=langs), docs=args.docs, shards=args.shards)
        single.close()
        reader.close()
        if args.dense_docs:
            dense(root, args)


def dense(root: Path, args: argparse.Namespace) -> None:
    n, dims = args.dense_docs, args.dims
    # Exact search never walks the graph, so a sparse one (connectivity 4, expansion 8) keeps the build short.
    settings = {"dims": dims, "metric": "ip", "exact_below": 10**9, "connectivity": 4, "expansion_add": 8}
    single = Index.create(root / "dense-single", vectors=settings)
    sharded = ShardedIndex.create(root / "dense-sharded", args.shards, vectors=settings)
    t0 = time.perf_counter()
    docs = list(synthetic_docs(n))
    for start in range(0, n, 20_000):
        part = docs[start:start + 20_000]
        vectors = synthetic_vectors(len(part), dims, start=start)
        single.add_many(part, vectors=vectors)
        sharded.add_many(part, vectors=vectors)
    single.commit()
    sharded.commit()
    sharded.close()
    reader = ShardedIndex.open(root / "dense-sharded")
    emit(step="identity-dense-build", docs=n, seconds=round(time.perf_counter() - t0, 1))
    queries = synthetic_vectors(args.dense_queries or args.queries, dims, seed=99)
    compare("identity-dense-exact", [(v, langs) for v in queries for langs in (None, ["fr"])],
            lambda v, langs: single.search_vector(v, k=100, langs=langs),
            lambda v, langs: reader.search_vector(v, k=100, langs=langs), docs=n, dims=dims, shards=args.shards)
    # Hybrid through the SearchEngine (per-language calibration, the default fusion), with the query vectors
    # given: the engine needs an encoder to allow dense modes, but a given vector is used as it is.
    from xlqe_lite.models.encoder import Encoder
    from xlqe_lite.search import SearchEngine

    encoder = Encoder.load("multilingual-e5-small", threads=1)
    one, four = SearchEngine(single, encoder), SearchEngine(reader, encoder)
    cases = [(q, v, langs) for q, v in zip(synthetic_queries(docs, len(queries), seed=5), queries)
             for langs in (None, ["de"])]
    compare("identity-hybrid-exact", cases,
            lambda q, v, langs: one.search(q, k=100, mode="hybrid", lang="en", langs=langs, query_vector=v),
            lambda q, v, langs: four.search(q, k=100, mode="hybrid", lang="en", langs=langs, query_vector=v),
            nonempty=True, docs=n, dims=dims, shards=args.shards)


def build(args: argparse.Namespace) -> None:
    """`xlqe index --shards N --ray local --workers W` as a user runs it (a fresh local cluster per run)."""
    with tempfile.TemporaryDirectory(prefix="xlqe-build-", dir=args.tmp) as tmp:
        corpus = Path(tmp) / "dev.jsonl"
        docs = xquad_docs(BENCH, DEV_LANGS[: args.langs])
        corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
        synthetic = Path(tmp) / "synthetic.jsonl"
        with open(synthetic, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(d) + "\n" for d in synthetic_docs(args.lexical_docs))
        runs = [(w, synthetic, ["--no-vectors"]) for w in args.workers] + \
               [(w, corpus, ["--no-passages"]) for w in args.workers]
        for workers, source, flags in runs:
            out = Path(tmp) / f"ix-{workers}-{source.stem}"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "xlqe_lite.cli", "index", str(out), str(source), "--shards",
                                   str(args.shards), "--ray", "local", "--workers", str(workers), "--json", *flags],
                                  capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t0
            report = json.loads(proc.stdout)
            emit(step="build", input=source.stem, flags=flags, workers=workers, shards=args.shards,
                 documents=report["documents"], pipeline_s=report["seconds"], wall_s=round(wall, 1),
                 docs_per_s=report["docs_per_second"])


def fanout(args: argparse.Namespace) -> None:
    """p50 / p90 of a search on one index, a 4-shard index in-process, and the same shards on Ray actors."""
    import ray

    from xlqe_lite.models.encoder import Encoder
    from xlqe_lite.evaluation import index_with_vectors
    from xlqe_lite.search import SearchEngine

    encoder = Encoder.load("multilingual-e5-small", threads=2)
    langs = args.langs.split(",")
    docs = [(d["id"], d["text"]) for d in xquad_docs(BENCH, langs)]
    queries = [q for lang in langs for q in xquad_queries(BENCH, lang)][:: max(1, 816 * len(langs) // args.queries)]
    vectors = encoder.encode_queries(queries)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    with tempfile.TemporaryDirectory(prefix="xlqe-fanout-", dir=args.tmp) as tmp:
        one = SearchEngine(index_with_vectors(f"{tmp}/one", docs, encoder), encoder)
        index_with_vectors(f"{tmp}/four", docs, encoder, shards=args.shards).close()
        local = SearchEngine(ShardedIndex.open(f"{tmp}/four"), encoder)
        remote = SearchEngine(ShardedIndex.open(f"{tmp}/four", ray="local"), encoder)
        engines = {"single": one, "sharded-in-process": local, "sharded-ray": remote}
        for mode in ("bm25", "dense", "hybrid"):
            times: dict[str, list[float]] = {name: [] for name in engines}
            for _ in range(2):  # warm-up round first, then the measured round; engines interleaved per query
                for name in times:
                    times[name].clear()
                for q, v in zip(queries, vectors):
                    for name, engine in engines.items():
                        t = time.perf_counter()
                        hits = engine.search(q, k=10, mode=mode, query_vector=v)
                        times[name].append(time.perf_counter() - t)
                        assert not hits.warnings, hits.warnings
            row = {f"{name}_p50_ms": round(1000 * statistics.median(t), 2) for name, t in times.items()}
            row.update({f"{name}_p90_ms": round(1000 * float(np.percentile(t, 90)), 2) for name, t in times.items()})
            row["ray_overhead_p50_ms"] = round(row["sharded-ray_p50_ms"] - row["sharded-in-process_p50_ms"], 2)
            emit(step="fanout", mode=mode, shards=args.shards, docs=len(docs), queries=len(queries), **row)
        remote.index.close()
    ray.shutdown()


def eval_figures(args: argparse.Namespace) -> None:
    """nDCG@10 (macro ALL / CROSS / MONO) of `xlqe eval`'s engine on one index and on sharded ones."""
    from xlqe_lite.models.encoder import Encoder
    from xlqe_lite.evaluation import XquadBench, engine_builder, evaluate, read_run, write_run, xquad_tasks

    encoder = Encoder.load("multilingual-e5-small", threads=2)
    bench = XquadBench.load(str(BENCH), "paragraph", args.langs.split(","), None, args.sample, 0)
    tasks = xquad_tasks(bench, bench.pairs("all"))
    with tempfile.TemporaryDirectory(prefix="xlqe-eval-", dir=args.tmp) as tmp:
        for label, settings in (("hnsw", {"exact_below": 0}), ("default", None)):
            for shards in (0, args.shards):
                run = f"{tmp}/{label}-{shards}.run"
                t0 = time.perf_counter()
                write_run(tasks, engine_builder(encoder, args.mode, shards=shards, vector_settings=settings), run,
                          tag="bench")
                result = evaluate(bench.qrels, read_run(run), langs=bench.langs)
                emit(step="eval", vectors=label, mode=args.mode, shards=shards or 1, langs=args.langs,
                     sample=args.sample, seconds=round(time.perf_counter() - t0, 1),
                     **{f"ndcg10_{k}": round(m["nDCG@10"], 4) for k, m in result["macro"].items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tmp", default=None, help="where the indexes go (default: the system's temp folder)")
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("identity")
    p.add_argument("--docs", type=int, default=1_000_000, help="documents of the BM25 step (0: skip it)")
    p.add_argument("--dense-docs", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=384, help="random unit vectors of this size (384: e5-small's, so hybrid runs through the engine)")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--dense-queries", type=int, default=None, help="query vectors for dense and hybrid (default: --queries)")
    p.add_argument("--shards", type=int, default=4)
    p.set_defaults(func=identity)
    p = sub.add_parser("build")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--langs", type=int, default=4, help="XQuAD dev languages embedded (240 paragraphs each)")
    p.add_argument("--lexical-docs", type=int, default=200_000, help="synthetic documents for the lexical-only runs")
    p.set_defaults(func=build)
    p = sub.add_parser("fanout")
    p.add_argument("--queries", type=int, default=400)
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--langs", default="de,en,zh", help="XQuAD dev corpora in the index")
    p.set_defaults(func=fanout)
    p = sub.add_parser("eval")
    p.add_argument("--langs", default="de,en,zh")
    p.add_argument("--mode", default="hybrid", choices=["dense", "hybrid"])
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--sample", type=int, default=None, help="queries per language (default: all)")
    p.set_defaults(func=eval_figures)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
