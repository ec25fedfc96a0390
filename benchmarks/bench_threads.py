"""Threads sharing one SearchEngine: how many searches fail and how many run per second, for 1 to N
threads, in each mode. The index is the sample corpus (data/sample/xquad-sample.jsonl) embedded with
multilingual-e5-small and passage windows; queries are embedded once beforehand, so the figures are the
index's (lexical and vector search, fusion, snippets), not the encoder's.

    .venv/bin/python benchmarks/bench_threads.py --threads 1 2 4 8 --searches 500
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xlqe_lite import Index
from xlqe_lite.models.encoder import Encoder
from xlqe_lite.search import SearchEngine

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample" / "xquad-sample.jsonl"
QUERIES = ["Panthers defense interceptions", "wer gewann den Super Bowl", "北京大学", "университет",
           "Denver Broncos quarterback", "la ciudad más grande", "สนามกีฬา", "विश्वविद्यालय", "Nobel prize",
           "ألمانيا", "İstanbul", "the Rhine river"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--searches", type=int, default=500, help="searches per thread")
    ap.add_argument("--modes", nargs="+", default=["hybrid", "dense", "bm25"])
    args = ap.parse_args()
    enc = Encoder.load("multilingual-e5-small", threads=2)
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ix"
        vectors, passages = enc.encode_documents([r["text"] for r in rows])
        with Index.create(path, vectors=enc.vector_settings()) as index:
            index.add_many(rows, vectors=vectors, passages=passages)
        engine = SearchEngine(Index.open(path), enc)
        qv = enc.encode_queries(QUERIES)
        print(f"{len(rows)} documents, {engine.index.passage_count} passage vectors; snippets on")
        print(f"{'mode':8} {'threads':>7} {'searches':>8} {'failed':>7} {'rate':>7} {'per s':>8}")
        for mode in args.modes:
            for threads in args.threads:
                def work(t: int) -> tuple[int, str]:
                    failed, example = 0, ""
                    for n in range(args.searches):
                        q = (t + n) % len(QUERIES)
                        try:
                            engine.search(QUERIES[q], k=10, mode=mode, snippets=True, query_vector=qv[q])
                        except Exception as e:
                            failed, example = failed + 1, str(e)
                    return failed, example

                start = time.perf_counter()
                with ThreadPoolExecutor(threads) as pool:
                    results = list(pool.map(work, range(threads)))
                elapsed = time.perf_counter() - start
                total, failed = threads * args.searches, sum(f for f, _ in results)
                example = next((e for _, e in results if e), "")
                print(f"{mode:8} {threads:7d} {total:8d} {failed:7d} {failed / total:7.1%} {total / elapsed:8.0f}"
                      + (f"  e.g. {example}" if example else ""), flush=True)


if __name__ == "__main__":
    main()
