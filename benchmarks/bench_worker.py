"""What the LLM worker process costs per query, against the same model in the host process.

    python benchmarks/bench_worker.py [--queries 12] [--llm gemma-3-270m] [--threads 2] [--boundary-only]

Same prompts both ways (English XQuAD dev questions, spread over the file, few-shot translation), run
alternately so that load on the machine hits both alike; each row gives p50/p90 of both and of the
per-query difference (worker minus in-process):
  ping       a request the worker answers without work: the pipe, pickling, waking both processes;
             with the CPU time host and worker spend per round trip (wall time on a busy machine is
             mostly waiting for a core)
  boundary   one token of an answer whose prompt the model already holds: almost no compute, so this
             is the process boundary itself (pickling, the pipe, waking the worker)
  uncached   Expander(cache=False).expand into one language: a real generation each time
  cached     Expander with its expansion cache, the query asked again: the cache is read in the host,
             so the worker is not asked at all
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from xlqe_lite.expansion import Expander
from xlqe_lite.expansion.llm.worker import WorkerModel
from xlqe_lite.expansion.llm.model import LanguageModel
from xlqe_lite.models.llm_registry import resolve_llm
from xlqe_lite.expansion.prompts import build_prompt


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def row(label: str, local: list[float], worker: list[float]) -> str:
    diff = [w - l for l, w in zip(local, worker)]
    ms = lambda xs, p: pct(xs, p) * 1000  # noqa: E731
    return (f"{label:<9} in-process p50 {ms(local, 50):8.2f} ms  p90 {ms(local, 90):8.2f} | worker p50 "
            f"{ms(worker, 50):8.2f} ms  p90 {ms(worker, 90):8.2f} | difference p50 {ms(diff, 50):+7.2f} ms  "
            f"mean {statistics.mean(diff) * 1000:+7.2f} ms  n={len(diff)}")


def _cpu_seconds(pid: int | None) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--queries", type=int, default=12)
    ap.add_argument("--boundary-calls", type=int, default=200)
    ap.add_argument("--llm", default=None)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--lang", default="de")
    ap.add_argument("--boundary-only", action="store_true", help="only the ping and boundary rows")
    args = ap.parse_args()
    with open(os.path.join(args.bench, "xquad", "queries.en.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    queries = [rows[i * len(rows) // args.queries]["text"] for i in range(args.queries)]
    path, _ = resolve_llm(args.llm)

    local = LanguageModel.load(path, threads=args.threads)
    in_host = Expander(args.llm, cache=False, isolate=False, threads=args.threads)
    isolated = Expander(args.llm, cache=False, threads=args.threads)
    worker = isolated.model
    assert isinstance(worker, WorkerModel)
    t0 = time.perf_counter()
    isolated.load()
    print(f"model {path.name}, {args.threads} threads; worker started and loaded in {time.perf_counter() - t0:.2f} s")

    # The boundary: the prompt is held after the first call, so each call computes one token.
    prompt = build_prompt("translate", queries[0], "en", args.lang, "few")
    for model in (local, worker):
        model.complete(prompt, max_tokens=1)
    a: list[float] = []
    b: list[float] = []
    for i in range(args.boundary_calls):
        for model, out in ((local, a), (worker, b)) if i % 2 == 0 else ((worker, b), (local, a)):
            t0 = time.perf_counter()
            model.complete(prompt, max_tokens=1)
            out.append(time.perf_counter() - t0)
    print(row("boundary", a, b))
    # Wall time of a round trip includes waiting for a core (on a busy machine, most of it); the CPU
    # time both processes spend on it does not.
    host_cpu, worker_cpu = time.process_time(), _cpu_seconds(worker.pid)
    pings = [worker.ping() for _ in range(5 * args.boundary_calls)]
    host_cpu, worker_cpu = time.process_time() - host_cpu, _cpu_seconds(worker.pid) - worker_cpu
    print(f"ping      a round trip that does no work: p50 {pct(pings, 50) * 1000:.2f} ms  p90 "
          f"{pct(pings, 90) * 1000:.2f} ms  n={len(pings)}; CPU per round trip: host "
          f"{host_cpu / len(pings) * 1000:.3f} ms, worker {worker_cpu / len(pings) * 1000:.3f} ms")

    if args.boundary_only:
        worker.close()
        return
    # Whole expansions, generated; the same text both ways (greedy decoding).
    a, b = [], []
    for i, query in enumerate(queries):
        pair = ((in_host, a), (isolated, b)) if i % 2 == 0 else ((isolated, b), (in_host, a))
        texts = []
        for expander, out in pair:
            t0 = time.perf_counter()
            done = expander.expand(query, strategy="translate", shots="few", query_lang="en", target_langs=[args.lang])
            out.append(time.perf_counter() - t0)
            texts.append(done[0].texts)
        assert texts[0] == texts[1], (query, texts)
    print(row("uncached", a, b))

    with tempfile.TemporaryDirectory() as tmp:
        # One cache file: the in-process expander fills it, and the isolated one never starts a worker.
        cache = os.path.join(tmp, "cache.sqlite3")
        in_host = Expander(args.llm, cache=cache, isolate=False, threads=args.threads)
        isolated = Expander(args.llm, cache=cache, threads=args.threads)
        for query in queries:
            in_host.expand(query, strategy="translate", shots="few", query_lang="en", target_langs=[args.lang])
        a, b = [], []
        for _ in range(5):
            for i, query in enumerate(queries):
                pair = ((in_host, a), (isolated, b)) if i % 2 == 0 else ((isolated, b), (in_host, a))
                for expander, out in pair:
                    t0 = time.perf_counter()
                    done = expander.expand(query, strategy="translate", shots="few", query_lang="en",
                                           target_langs=[args.lang])
                    out.append(time.perf_counter() - t0)
                    assert done[0].cached
        print(row("cached", a, b))
        assert isolated.model.pid is None  # type: ignore[union-attr]
    worker.close()


if __name__ == "__main__":
    main()
