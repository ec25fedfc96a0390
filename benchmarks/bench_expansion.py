"""Latency of query expansion, against raw llama-cpp-python in the same run.

    python benchmarks/bench_expansion.py [--queries 40] [--llm gemma-3-270m] [--threads 2]

Workload: English questions from the bench's XQuAD dev queries, spread evenly over the file, expanded
into German, Chinese and Thai (three scripts) with the few-shot translation prompt, over an index of the
bench's XQuAD paragraphs in those languages plus English. Prints, per query or per target language:
  raw       llama-cpp-python's create_completion on the same prompt text (greedy, same stop, same max
            tokens): what a plain integration costs, re-reading the few-shot prefix when it changes
  expand    Expander, cache off: one target language (prefix states kept, loops cut, output cleaned)
  together  Expander, cache off: all target languages of a query in one call, decoded as one batch
            (llm_batch.py), against the same languages one call at a time and raw one after another
  query     SearchEngine.search with expansion into 3 languages, cache off (expansion, embedding of the
            query and expansions, BM25 per language, ANN, fusion)
  cached    the same query again with the expansion cache on (end to end), and the cache lookup alone
Also the raw prompt-processing and generation speeds (tokens/s) on this machine.

Both the raw peer and the Expander take the queries one target language at a time (all queries into
German, then all into Chinese, ...): consecutive prompts then share their instruction and examples, so
llama-cpp-python's own prefix matching reuses its KV cache as the Expander reuses its prefix states. (Before,
the raw loop alternated languages per query, so every raw call re-read the whole few-shot prefix.)

Harness (`records`): zero- and few-shot, short (the question's first 3 words, or 6 characters in Chinese)
and long (the whole question) queries, query languages en, de and zh, each translated into one other
language, raw and Expander passes interleaved A/B/A/B; the median over rounds of each pass's median latency.
Full: 12 queries per setting, 3 rounds; quick: 3 queries, 2 rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from typing import Any

from xlqe_lite.models.embedding_cache import encode_documents_cached
from xlqe_lite.models.encoder import Encoder
from xlqe_lite.expansion import MAX_TOKENS, Expander
from xlqe_lite.index import Index
from xlqe_lite.models.llm_registry import resolve_llm
from xlqe_lite.expansion.prompts import build_prompt
from xlqe_lite.search import SearchEngine


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def row(label: str, xs: list[float]) -> str:
    return f"{label:<44} p50 {pct(xs, 50) * 1000:8.1f} ms   p90 {pct(xs, 90) * 1000:8.1f} ms   n={len(xs)}"


def raw_pass(raw: Any, queries: list[str], query_lang: str, targets: list[str], shots: str) -> tuple[list[float], list[int]]:
    """Raw llama-cpp-python on each (target, query), target-major so its prefix matching can reuse the
    previous prompt's instruction and examples: seconds and tokens written per call."""
    times, tokens = [], []
    for lang in targets:
        for q in queries:
            p = build_prompt("translate", q, query_lang, lang, shots)
            t0 = time.perf_counter()
            out = raw.create_completion(p.text, max_tokens=MAX_TOKENS["translate"], temperature=0.0, top_k=1, stop=list(p.stop))
            times.append(time.perf_counter() - t0)
            tokens.append(out["usage"]["completion_tokens"])
    return times, tokens


def expander_pass(expander: Expander, queries: list[str], query_lang: str, targets: list[str], shots: str) -> list[float]:
    """The Expander (cache off) on the same (target, query) calls in the same order: seconds per call."""
    times = []
    for lang in targets:
        for q in queries:
            t0 = time.perf_counter()
            expander.expand(q, strategy="translate", shots=shots, query_lang=query_lang, target_langs=[lang])
            times.append(time.perf_counter() - t0)
    return times


def short_query(q: str, lang: str) -> str:
    return q[:6] if lang == "zh" else " ".join(q.split()[:3])


def records(quick: bool) -> list[dict[str, Any]]:
    """The harness's expansion suite (settings in the module docstring)."""
    from llama_cpp import Llama

    from harness import interleave, measurement
    from xlqe_lite.expansion.llm.model import _silence_llama_log

    bench = os.environ.get("XLQE_BENCH", "../shared/bench")
    n_queries, rounds = (3, 2) if quick else (12, 3)
    threads = os.cpu_count() or 1
    _silence_llama_log()
    path, _ = resolve_llm(None)
    raw = Llama(model_path=str(path), n_ctx=1024, n_threads=threads, n_threads_batch=threads, seed=0, verbose=False)
    expander = Expander(None, threads=threads, cache=False)
    expander.model
    rows = []
    for query_lang, target in (("en", "de"), ("de", "en"), ("zh", "en")):
        with open(os.path.join(bench, "xquad", f"queries.{query_lang}.jsonl"), encoding="utf-8") as f:
            lines = [json.loads(line)["text"] for line in f]
        full = [lines[i * len(lines) // n_queries] for i in range(n_queries)]
        for length, queries in (("short", [short_query(q, query_lang) for q in full]), ("long", full)):
            for shots in ("zero", "few"):
                raw_pass(raw, queries[:1], query_lang, [target], shots)  # warm-up, alike for both
                expander_pass(expander, queries[:1], query_lang, [target], shots)
                med = interleave({
                    "llama-cpp-python": lambda: {"ms": 1000 * statistics.median(raw_pass(raw, queries, query_lang, [target], shots)[0])},
                    "xlqe": lambda: {"ms": 1000 * statistics.median(expander_pass(expander, queries, query_lang, [target], shots))},
                }, rounds)
                figure = f"translate {query_lang}→{target}, {shots}-shot, {length} queries, median latency"
                for engine, figs in med.items():
                    rows.append(measurement(f"XQuAD dev questions ({n_queries} per setting)", figure, engine, figs["ms"], "ms"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--llm", default=None)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--targets", default="de,zh,th")
    args = ap.parse_args()
    targets = args.targets.split(",")

    with open(os.path.join(args.bench, "xquad", "queries.en.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    queries = [rows[i * len(rows) // args.queries]["text"] for i in range(args.queries)]

    from llama_cpp import Llama

    from xlqe_lite.expansion.llm.model import _silence_llama_log

    _silence_llama_log()
    path, _ = resolve_llm(args.llm)
    raw = Llama(model_path=str(path), n_ctx=1024, n_threads=args.threads, n_threads_batch=args.threads, seed=0, verbose=False)
    # Raw speeds: a 300-token prompt, then 64 generated tokens.
    prompt = build_prompt("translate", queries[0], "en", "de", "few").text * 2
    tokens = raw.tokenize(prompt.encode(), add_bos=True)[:300]
    raw.reset()
    t0 = time.perf_counter()
    raw.eval(tokens)
    prompt_tps = len(tokens) / (time.perf_counter() - t0)
    t0, n = time.perf_counter(), 0
    for _ in raw.generate(tokens, temp=0.0, top_k=1):
        n += 1
        if n == 64:
            break
    gen_tps = n / (time.perf_counter() - t0)
    print(f"model {path.name}, {args.threads} threads: prompt {prompt_tps:.0f} tokens/s, generation {gen_tps:.1f} tokens/s")

    raw_times, raw_tokens = raw_pass(raw, queries, "en", targets, "few")
    del raw

    expander = Expander(args.llm, threads=args.threads, cache=False)
    expander.model  # loaded once, as in a running app
    per_lang = expander_pass(expander, queries, "en", targets, "few")
    # back to query-major order, as per_query() below expects
    per_lang = [per_lang[j * len(queries) + i] for i in range(len(queries)) for j in range(len(targets))]
    raw_times = [raw_times[j * len(queries) + i] for i in range(len(queries)) for j in range(len(targets))]
    together = []
    for q in queries:
        t0 = time.perf_counter()
        expander.expand(q, strategy="translate", shots="few", query_lang="en", target_langs=targets)
        together.append(time.perf_counter() - t0)
    per_query = lambda xs: [sum(xs[i:i + len(targets)]) for i in range(0, len(xs), len(targets))]  # noqa: E731

    encoder = Encoder.load("multilingual-e5-small", threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        settings = encoder.vector_settings()
        index = Index.create(os.path.join(tmp, "ix"), vectors=settings)
        for lang in ["en", *targets]:
            with open(os.path.join(args.bench, "xquad", f"corpus.{lang}.jsonl"), encoding="utf-8") as f:
                docs = [json.loads(line) for line in f]
            vectors, windows = encode_documents_cached(encoder, [d["text"] for d in docs], settings["passage_tokens"],
                                                       settings["passage_stride"])
            index.add_many(({"id": d["id"], "text": d["text"], "lang": lang} for d in docs), vectors=vectors, passages=windows)
        index.commit()
        engine = SearchEngine(index, encoder, expander=expander)
        whole = []
        for q in queries:
            t0 = time.perf_counter()
            engine.search(q, k=10, lang="en", expand="translate")
            whole.append(time.perf_counter() - t0)
        plain = []
        for q in queries:
            t0 = time.perf_counter()
            engine.search(q, k=10, lang="en")
            plain.append(time.perf_counter() - t0)
        cached_engine = SearchEngine(index, encoder, expander=Expander(args.llm, threads=args.threads,
                                                                       cache=os.path.join(tmp, "cache.sqlite3")))
        for q in queries:
            cached_engine.search(q, k=10, lang="en", expand="translate")  # fills the cache
        cached, lookups = [], []
        for q in queries:
            t0 = time.perf_counter()
            cached_engine.search(q, k=10, lang="en", expand="translate")
            cached.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            cached_engine.expand(q, strategy="translate", lang="en")
            lookups.append(time.perf_counter() - t0)
        index.close()

    print(f"{len(queries)} English XQuAD dev questions; targets {', '.join(targets)}; few-shot translation")
    print(row("raw llama-cpp-python, per target language", raw_times))
    print(row("xlqe expansion, per target language", per_lang))
    print(f"{'':<44} ratio raw/xlqe at p50: {pct(raw_times, 50) / pct(per_lang, 50):.2f}x; "
          f"mean tokens written by raw: {statistics.mean(raw_tokens):.1f}")
    n = len(targets)
    print(row(f"raw llama-cpp-python, {n} languages one after another", per_query(raw_times)))
    print(row(f"xlqe expansion, {n} languages one call each", per_query(per_lang)))
    print(row(f"xlqe expansion, {n} languages in one batch", together))
    print(f"{'':<44} ratio one-by-one/batch at p50: {pct(per_query(per_lang), 50) / pct(together, 50):.2f}x; "
          f"raw/batch: {pct(per_query(raw_times), 50) / pct(together, 50):.2f}x")
    print(row(f"whole query, expansion into {n} languages", whole))
    print(row("whole query, no expansion", plain))
    print(row("whole query, expansion cached", cached))
    print(row("cache lookup (expand() for 3 languages)", lookups))


if __name__ == "__main__":
    main()
