"""Vector search through the engine against usearch's own Python package, faiss HNSW and exact numpy, on
real-derived vectors, one thread, same HNSW settings.

    python benchmarks/bench_vectors.py [--n 200000] [--queries 1000]

Vectors: multilingual-e5-small embeddings of the bench's real texts (XQuAD paragraphs, XQuAD-R sentences,
NTREX and Tatoeba sentences; cached on disk), extended to N by mixing two random real embeddings with a
little noise and renormalising: the set keeps the real embeddings' anisotropy and clustering. Queries:
real e5 query embeddings of XQuAD questions. Ground truth: exact inner product.

For each storage type (f32, f16, i8): build time, bytes per vector on disk, recall@10 against exact
search and single-thread queries per second at each ef (expansion_search), for xlqe (through
Index.search_vector, ids and all), the usearch package (keys only) and faiss HNSW (f32 only); and exact
numpy one query at a time (`argpartition` of one matrix-vector product, then a sort of the top 10 only).
Query timings run A/B/A/B: each engine's pass over the queries alternates with the others' for `rounds`
rounds and the median is kept.

Harness (`records`): full = 200k vectors, 1,000 queries, ef 32/64/128, 3 rounds; quick = 20k vectors, 200
queries, ef 64, 3 rounds, derived from 2,000 real passages (the full run embeds all ~38,700). Passage windows are not in this suite yet.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any, Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))


def real_texts() -> tuple[list[str], list[str]]:
    passages, queries = [], []
    for p in sorted((BENCH / "xquad").glob("corpus.*.jsonl")) + sorted((BENCH / "xquad").glob("sentences.*.jsonl")):
        passages += [json.loads(line)["text"] for line in open(p, encoding="utf-8")]
    for p in sorted((BENCH / "ntrex").glob("sentences.*.jsonl")):
        passages += [json.loads(line)["text"] for line in open(p, encoding="utf-8")]
    for p in sorted((BENCH / "xquad").glob("queries.*.jsonl")):
        queries += [json.loads(line)["text"] for line in open(p, encoding="utf-8")]
    return passages, queries


def derive(real: np.ndarray, n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    m = min(n, len(real))
    out[:m] = real[:m]
    for start in range(m, n, 50_000):
        stop = min(n, start + 50_000)
        i = rng.integers(0, len(real), stop - start)
        j = rng.integers(0, len(real), stop - start)
        a = rng.uniform(0.5, 1.0, (stop - start, 1)).astype(np.float32)
        v = a * real[i] + (1 - a) * real[j] + rng.normal(0, 0.01, (stop - start, real.shape[1])).astype(np.float32)
        out[start:stop] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def numpy_topk(data: np.ndarray, q: np.ndarray, k: int = 10) -> np.ndarray:
    """Exact inner-product top-k done well: argpartition (linear), then sort only the k candidates."""
    scores = data @ q
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def measure(n: int, n_queries: int, storages: list[str], efs: list[int], rounds: int,
            max_real: int | None = None) -> list[dict[str, Any]]:
    """Rows {engine, storage, ef, build_s, bytes_per_vector, recall, qps} for every engine and setting.
    `max_real`: embed only that many real passages (spread over the list) to derive the set from."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from harness import interleave
    from xlqe_lite import Index
    from xlqe_lite.models.embedding_cache import encode_cached
    from xlqe_lite.models.encoder import Encoder

    enc = Encoder.load("multilingual-e5-small", threads=os.cpu_count() or 1)
    passages, questions = real_texts()
    if max_real and max_real < len(passages):
        passages = [passages[i * len(passages) // max_real] for i in range(max_real)]
    real = encode_cached(enc, passages, "passage")
    # questions spread over every language's file, not the first language's only
    questions = [questions[i * len(questions) // n_queries] for i in range(min(n_queries, len(questions)))]
    queries = encode_cached(enc, questions, "query")
    data = derive(real, n)
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]

    import faiss
    import usearch.index as us

    faiss.omp_set_num_threads(1)
    rows: list[dict[str, Any]] = []

    def timed(search: Callable[[np.ndarray], list[int]]) -> Callable[[], dict[str, float]]:
        def run() -> dict[str, float]:
            t0 = time.perf_counter()
            found = [search(q) for q in queries]
            return {"qps": len(queries) / (time.perf_counter() - t0), "recall": recall(found, truth)}
        return run

    exact = interleave({"numpy": timed(lambda q: list(numpy_topk(data, q)))}, rounds)["numpy"]
    rows.append({"engine": "numpy-exact", "storage": "f32", "ef": None, "build_s": 0.0,
                 "bytes_per_vector": data.shape[1] * 4, **exact})
    with tempfile.TemporaryDirectory() as tmp:
        for storage in storages:
            built: dict[str, tuple[float, float]] = {}
            t0 = time.perf_counter()
            u = us.Index(ndim=data.shape[1], metric="ip", dtype=storage, connectivity=16, expansion_add=128,
                         expansion_search=64)
            u.add(np.arange(len(data)), data, threads=1)
            build_u = time.perf_counter() - t0
            u.save(os.path.join(tmp, f"u-{storage}.usearch"))
            built["usearch"] = (build_u, os.path.getsize(os.path.join(tmp, f"u-{storage}.usearch")) / len(data))
            # xlqe: a real index directory, committed, reopened for reading (memory-mapped vectors).
            ix_dir = os.path.join(tmp, f"ix-{storage}")
            t0 = time.perf_counter()
            ix = Index.create(ix_dir, stem=False, vectors={"dims": data.shape[1], "metric": "ip", "storage": storage,
                                                          "connectivity": 16, "expansion_add": 128, "exact_below": 0})
            ix.add_many(({"id": str(i), "text": ""} for i in range(len(data))), vectors=data, batch_size=10_000)
            ix.commit()
            built["xlqe"] = (time.perf_counter() - t0, sum(p.stat().st_size for p in Path(ix_dir).glob("vec-*.usearch")) / len(data))
            reader = Index.open(ix_dir)
            f = None
            if storage == "f32":
                t0 = time.perf_counter()
                f = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
                f.hnsw.efConstruction = 128
                f.add(data)
                built["faiss-hnsw"] = (time.perf_counter() - t0, data.shape[1] * 4 + 16 * 2 * 4)
            for ef in efs:
                u.expansion_search = ef
                reader.set_vector_expansion_search(ef)
                runs = {"xlqe": timed(lambda q: [int(h.id) for h in reader.search_vector(q, k=10)]),
                        "usearch": timed(lambda q: list(u.search(q, 10, threads=1).keys))}
                if f is not None:
                    f.hnsw.efSearch = ef
                    runs["faiss-hnsw"] = timed(lambda q: list(f.search(q[None, :], 10)[1][0]))
                for engine, figs in interleave(runs, rounds).items():
                    rows.append({"engine": engine, "storage": storage, "ef": ef, "build_s": built[engine][0],
                                 "bytes_per_vector": built[engine][1], **figs})
            reader.close()
            ix.close()
    return rows


FULL = dict(n=200_000, n_queries=1000, efs=[32, 64, 128], rounds=3, max_real=None)
QUICK = dict(n=20_000, n_queries=200, efs=[64], rounds=3, max_real=2000)


def records(quick: bool) -> list[dict[str, Any]]:
    """The harness's vectors suite (sizes in the module docstring). The numpy exact row is compared with xlqe
    at each storage's highest ef; build time and bytes per vector once per storage."""
    from harness import measurement

    cfg = QUICK if quick else FULL
    rows = measure(cfg["n"], cfg["n_queries"], ["f32", "f16", "i8"], cfg["efs"], cfg["rounds"], cfg["max_real"])
    dataset = f"e5-derived-{cfg['n'] // 1000}k"
    out = []
    exact = next(r for r in rows if r["engine"] == "numpy-exact")
    for r in rows:
        if r["ef"] is None:
            continue
        tag = f"{r['storage']} ef={r['ef']}"
        out.append(measurement(dataset, f"top-10 queries, 1 thread, {tag}", r["engine"], r["qps"], "queries/s"))
        out.append(measurement(dataset, f"recall@10, {tag}", r["engine"], r["recall"], "recall"))
        if r["ef"] == max(cfg["efs"]):
            out.append(measurement(dataset, f"build time, {r['storage']}", r["engine"], r["build_s"], "s"))
            out.append(measurement(dataset, f"bytes per vector, {r['storage']}", r["engine"], r["bytes_per_vector"], "B/vector"))
            if r["engine"] == "xlqe":  # exact numpy beside the engine's best-recall setting of this storage
                out.append(measurement(dataset, f"top-10 queries, 1 thread, {tag} vs exact", "xlqe", r["qps"], "queries/s"))
                out.append(measurement(dataset, f"top-10 queries, 1 thread, {tag} vs exact", "numpy-exact", exact["qps"], "queries/s"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--storages", default="f32,f16,i8")
    ap.add_argument("--efs", default="32,64,128")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rows = measure(a.n, a.queries, a.storages.split(","), [int(x) for x in a.efs.split(",")], a.rounds)
    print(f"{a.n} vectors, {a.queries} queries, k=10, 1 thread, median of {a.rounds} interleaved rounds")
    print(f"{'engine':14s}{'storage':>8s}{'ef':>5s}{'build s':>9s}{'B/vector':>10s}{'R@10':>8s}{'QPS':>8s}")
    for r in rows:
        print(f"{r['engine']:14s}{r['storage']:>8s}{str(r['ef'] or '-'):>5s}{r['build_s']:9.1f}{r['bytes_per_vector']:10.0f}"
              f"{r['recall']:8.4f}{r['qps']:8.0f}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "benchmarks"))
    main()
