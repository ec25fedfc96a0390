"""Vector search through the engine against usearch's own Python package, faiss HNSW and exact numpy, on
real-derived vectors, one thread, same HNSW settings.

    python benchmarks/bench_vectors.py [--n 200000] [--queries 1000]

Vectors: multilingual-e5-small embeddings of the bench's real texts (XQuAD paragraphs, XQuAD-R sentences,
NTREX and Tatoeba sentences; cached on disk), extended to N by mixing two random real embeddings with a
little noise and renormalising: the set keeps the real embeddings' anisotropy and clustering. Queries:
real e5 query embeddings of XQuAD questions. Ground truth: exact inner product.

For each storage type (f32, f16, i8): build time, bytes per vector on disk, recall@10 against exact
search and single-thread queries per second at each ef (expansion_search), for xlqe (through
Index.search_vector, ids and all) and the usearch package (keys only).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--storages", default="f32,f16,i8")
    ap.add_argument("--efs", default="32,64,128")
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from xlqe_lite import Index
    from xlqe_lite.models.embedding_cache import encode_cached
    from xlqe_lite.models.encoder import Encoder

    enc = Encoder.load("multilingual-e5-small", threads=os.cpu_count() or 1)
    passages, questions = real_texts()
    t0 = time.perf_counter()
    real = encode_cached(enc, passages, "passage")
    queries = encode_cached(enc, questions, "query")[: a.queries]
    print(f"embeddings: {len(real)} real passages, {len(queries)} real queries ({time.perf_counter() - t0:.0f}s, cached after the first run)")
    data = derive(real, a.n)
    t0 = time.perf_counter()
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    exact_s = time.perf_counter() - t0
    print(f"{a.n} vectors x {data.shape[1]} dims; numpy exact: {len(queries) / exact_s:.0f} QPS (batched matmul, "
          f"all cores); one query at a time:", end=" ")
    t0 = time.perf_counter()
    for q in queries[:100]:
        np.argpartition(-(data @ q), 10)[:10]
    print(f"{100 / (time.perf_counter() - t0):.0f} QPS")

    import faiss
    import usearch.index as us

    faiss.omp_set_num_threads(1)
    efs = [int(x) for x in a.efs.split(",")]
    print(f"\n{'engine':14s}{'storage':>8s}{'build s':>9s}{'B/vector':>10s}" + "".join(f"{'ef=' + str(e) + ' R@10':>13s}{'QPS':>8s}" for e in efs) + f"{'xlqe/usearch QPS':>18s}")
    for storage in a.storages.split(","):
        rows = {}
        # usearch package, same settings.
        t0 = time.perf_counter()
        u = us.Index(ndim=data.shape[1], metric="ip", dtype=storage, connectivity=16, expansion_add=128, expansion_search=64)
        u.add(np.arange(len(data)), data, threads=1)
        build_u = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            u.save(os.path.join(tmp, "u.usearch"))
            bytes_u = os.path.getsize(os.path.join(tmp, "u.usearch")) / len(data)
        cells = []
        for ef in efs:
            u.expansion_search = ef
            t0 = time.perf_counter()
            found = [list(u.search(q, 10, threads=1).keys) for q in queries]
            qps = len(queries) / (time.perf_counter() - t0)
            cells.append((recall(found, truth), qps))
        rows["usearch (py)"] = (build_u, bytes_u, cells)
        # xlqe: a real index directory, committed, reopened for reading (memory-mapped vectors).
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            ix = Index.create(os.path.join(tmp, "ix"), stem=False, vectors={"dims": data.shape[1], "metric": "ip", "storage": storage,
                                                                           "connectivity": 16, "expansion_add": 128, "exact_below": 0})
            ix.add_many(({"id": str(i), "text": ""} for i in range(len(data))), vectors=data, batch_size=10_000)
            ix.commit()
            build_x = time.perf_counter() - t0
            vec_file = next(Path(tmp, "ix").glob("vec-*.usearch"))
            bytes_x = vec_file.stat().st_size / len(data)
            cells = []
            reader = Index.open(os.path.join(tmp, "ix"))
            for ef in efs:
                reader.set_vector_expansion_search(ef)
                t0 = time.perf_counter()
                found = [[int(h.id) for h in reader.search_vector(q, k=10)] for q in queries]
                qps = len(queries) / (time.perf_counter() - t0)
                cells.append((recall(found, truth), qps))
            rows["xlqe"] = (build_x, bytes_x, cells)
        if storage == "f32":
            t0 = time.perf_counter()
            f = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
            f.hnsw.efConstruction = 128
            f.add(data)
            build_f = time.perf_counter() - t0
            cells = []
            for ef in efs:
                f.hnsw.efSearch = ef
                t0 = time.perf_counter()
                found = [list(f.search(q[None, :], 10)[1][0]) for q in queries]
                cells.append((recall(found, truth), len(queries) / (time.perf_counter() - t0)))
            rows["faiss HNSW"] = (build_f, data.shape[1] * 4 + 16 * 2 * 4, cells)
        for name, (build, bpv, cells) in rows.items():
            ratio = "" if name != "xlqe" else "  ".join(f"{x[1] / y[1]:.2f}" for x, y in zip(cells, rows["usearch (py)"][2]))
            print(f"{name:14s}{storage:>8s}{build:9.1f}{bpv:10.0f}" + "".join(f"{r:13.4f}{q:8.0f}" for r, q in cells) + f"{ratio:>18s}")


if __name__ == "__main__":
    main()
