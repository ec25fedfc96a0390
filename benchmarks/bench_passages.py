"""What passage windows cost: embedding time, vectors and disk, and dense query latency, with and
without them, against plain peers on the same vectors (numpy exact search; usearch's package on the
document vectors alone).

    python benchmarks/bench_passages.py --docs 2160 --queries 500

Documents: the bench's XQuAD paragraphs in all 9 languages; queries: XQuAD dev questions (all
languages, evenly spread). Embedding is timed uncached; each timing is the median of `--repeat` runs.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))

from xlqe_lite import Index  # noqa: E402
from xlqe_lite.models.embedding_cache import encode_cached  # noqa: E402
from xlqe_lite.models.encoder import Encoder  # noqa: E402
from xlqe_lite.evaluation import XquadBench, lang_of  # noqa: E402


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def per_query_ms(fn, queries: np.ndarray, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for q in queries:
            fn(q)
        runs.append((time.perf_counter() - t0) / len(queries) * 1000)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--docs", type=int, default=2160)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    enc = Encoder.load("multilingual-e5-small", threads=a.threads)
    bench = XquadBench.load(a.bench, "paragraph")
    docs = [d for L in bench.langs for d in bench.corpora[L]][: a.docs]
    texts = [t for _, t in docs]
    per_lang = max(1, a.queries // len(bench.langs))
    questions = [t for L in bench.langs for _, t in bench.queries[L][:: max(1, len(bench.queries[L]) // per_lang)][:per_lang]]
    queries = encode_cached(enc, questions, "query")

    t0 = time.perf_counter()
    enc.encode_passages(texts)  # timed only: encode_documents repeats it
    t_docs = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors2, windows = enc.encode_documents(texts)
    t_both = time.perf_counter() - t0
    n_windows = sum(len(w) for w in windows)
    print(f"{len(texts)} documents, {n_windows} windows ({n_windows / len(texts):.1f} per document), {len(questions)} queries, "
          f"{a.threads} threads")
    print(f"embedding: documents only {t_docs:.1f} s; documents and windows {t_both:.1f} s ({t_both / t_docs:.2f}x)")

    with tempfile.TemporaryDirectory() as tmp:
        sizes, readers = {}, {}
        for name, passages in (("no passages", None), ("passages", windows)):
            path = os.path.join(tmp, name.replace(" ", "-"))
            index = Index.create(path, vectors=replace(enc.vector_settings(passages is not None), storage="f16"))
            index.add_many(({"id": i, "text": t, "lang": lang_of(i)} for i, t in docs), vectors=vectors2, passages=passages)
            index.commit()
            index.close()
            sizes[name] = dir_bytes(path)
            readers[name] = Index.open(path)
        print(f"index on disk: no passages {sizes['no passages'] / 1e6:.1f} MB; passages {sizes['passages'] / 1e6:.1f} MB "
              f"({sizes['passages'] / sizes['no passages']:.2f}x)")

        flat = np.concatenate([w for w in windows if len(w)]) if n_windows else np.zeros((0, enc.dim), np.float32)
        owner = np.repeat(np.arange(len(texts)), [len(w) for w in windows])

        def numpy_mixed(q: np.ndarray) -> np.ndarray:
            own = vectors2 @ q
            best = np.full_like(own, -np.inf)
            np.maximum.at(best, owner, flat @ q)
            best = np.where(np.isinf(best), own, best)  # no windows: the document's own score
            return np.argsort(-(0.5 * own + 0.5 * best))[:10]

        def numpy_plain(q: np.ndarray) -> np.ndarray:
            return np.argpartition(-(vectors2 @ q), 10)[:10]

        rows = [
            ("xlqe search_vector, no passages", lambda q: readers["no passages"].search_vector(q, k=10, passage_weight=0.0)),
            ("xlqe search_vector, passages (weight 0.5)", lambda q: readers["passages"].search_vector(q, k=10)),
            ("numpy exact, document vectors only (peer)", numpy_plain),
            ("numpy exact, documents + windows, same mix (peer)", numpy_mixed),
        ]
        try:
            from usearch.index import Index as UIndex

            u = UIndex(ndim=enc.dim, metric="ip", dtype="f16")
            u.add(np.arange(len(texts)), vectors2)
            rows.append(("usearch package HNSW, document vectors only (peer)", lambda q: u.search(q, 10)))
        except ImportError:
            print("(usearch's Python package is not installed: pip install -r requirements/bench-lock.txt)")
        timings = {name: per_query_ms(fn, queries, a.repeat) for name, fn in rows}
        base = timings["xlqe search_vector, passages (weight 0.5)"]
        print(f"{'dense query (top 10)':54s} {'ms/query':>9s} {'xlqe passages / this':>21s}")
        for name, ms in timings.items():
            print(f"{name:54s} {ms:9.3f} {base / ms:21.2f}")
        # Agreement: the index's mixed ranking against numpy's exact one.
        same = np.mean([readers["passages"].search_vector(q, k=1)[0].id == docs[numpy_mixed(q)[0]][0] for q in queries])
        print(f"top-1 agreement of xlqe with the numpy mix: {same:.3f}")


if __name__ == "__main__":
    main()
