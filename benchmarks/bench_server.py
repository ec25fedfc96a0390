"""`xlqe serve` under load, beside the same searches in-process.

Builds (or reuses) an index of data/sample/xquad-sample.jsonl with `xlqe index` defaults (e5-small with
passage windows), then measures hybrid searches (k=10, snippets) with the sample's own first sentences as
queries, in nine languages:
  in-process, 1 thread and 16 threads: SearchEngine.search + the stored documents, as the server does;
  the server (`xlqe serve` subprocess on 127.0.0.1), 1 client and 16 concurrent clients (httpx, keep-alive).
Latency is wall time per request as the client sees it. Loopback only; every loop is bounded.

    .venv/bin/python benchmarks/bench_server.py [--queries 500] [--clients 16] [--in-process-queries 100] [--index DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from support.server_process import ServerProcess  # noqa: E402

SAMPLE = REPO / "data" / "sample" / "xquad-sample.jsonl"


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return f"p50 {statistics.median(ms):7.1f} ms   p99 {p(0.99):7.1f} ms   n={len(ms)}"


def run_parallel(clients: int, per_client: int, one) -> tuple[list[float], int, float]:
    """Runs `one(client, i)` per_client times in each of `clients` threads; returns latencies, errors, wall."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def worker(n: int) -> None:
        state = one(n, None)
        for i in range(per_client):
            t = time.perf_counter()
            try:
                ok = one(n, (state, i))
            except Exception:  # a failed request counts as an error, the run goes on
                ok = False
            latencies[n].append((time.perf_counter() - t) * 1000)
            errors[n] += 0 if ok else 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [x for xs in latencies for x in xs], sum(errors), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=500, help="queries per client (default 500)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--in-process-queries", type=int, default=100,
                        help="queries per thread for the in-process concurrent run (default 100)")
    parser.add_argument("--index", type=Path, help="an index of the sample to reuse (built when missing)")
    args = parser.parse_args()
    index = args.index or Path(tempfile.mkdtemp()) / "ix"
    if not (index / "xlqe.manifest").exists():
        subprocess.run([sys.executable, "-m", "xlqe_lite.cli", "index", str(index), str(SAMPLE)], check=True)
    docs = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    queries = [d["text"].split("。")[0].split(". ")[0].split("।")[0][:120] for d in docs]

    from xlqe_lite.search import SearchEngine

    engine = SearchEngine.open(index)
    engine.search("warm up", k=10, snippets=True)

    def in_process(n: int, job):
        if job is None:
            return None
        _, i = job
        hits = engine.search(queries[(n * 7 + i) % len(queries)], k=10, mode="hybrid", snippets=True)
        return len([engine.index.get(h.id) for h in hits]) == 10

    print(f"index {index}: {len(engine.index)} documents, {engine.index.passage_count} passage vectors")
    single, _, _ = run_parallel(1, min(args.queries, 300), in_process)
    print(f"in-process, 1 thread:            {percentiles(single)}")
    try:
        many, errs, wall = run_parallel(args.clients, args.in_process_queries, in_process)
        print(f"in-process, {args.clients} threads:          {percentiles(many)}   {len(many) / wall:6.1f} q/s  errors {errs}")
    except Exception as e:  # before thread-safe reads, concurrent dense searches may fail
        print(f"in-process, {args.clients} threads: failed: {e}")
    del engine

    with ServerProcess(index, "--no-llm") as server:
        took: list[float] = []
        failures: list[str] = []

        def over_http(n: int, job):
            if job is None:
                return httpx.Client(base_url=server.url, timeout=120)
            client, i = job
            r = client.get("/search", params={"q": queries[(n * 7 + i) % len(queries)], "k": 10, "mode": "hybrid"})
            took.append(r.json()["took_ms"] if r.status_code == 200 else 0.0)
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:300]}")
            return r.status_code == 200 and len(r.json()["hits"]) == 10

        run_parallel(1, 20, over_http)  # warm
        took.clear()
        single_http, errs1, _ = run_parallel(1, min(args.queries, 300), over_http)
        print(f"server, 1 client:                {percentiles(single_http)}   errors {errs1}")
        print(f"  of which inside the endpoint:  {percentiles(took)}")
        many_http, errs, wall = run_parallel(args.clients, args.queries, over_http)
        print(f"server, {args.clients} clients:              {percentiles(many_http)}   {len(many_http) / wall:6.1f} q/s  errors {errs}")
        alive = server.alive()
        for failure in sorted(set(failures))[:5]:
            print(f"  error: {failure}")
    ratio = statistics.median(single_http) / statistics.median(single)
    print(f"server/in-process p50, 1 client: {ratio:.2f}x   (server stayed up: {alive})")
    return 0 if errs == 0 and errs1 == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
