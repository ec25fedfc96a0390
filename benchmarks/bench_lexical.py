"""Lexical search speed and memory: xlqe-lite against bm25s and tantivy, in one run, on the same
documents and queries.

    python benchmarks/bench_lexical.py                      # XQuAD corpora + 1M synthetic documents
    python benchmarks/bench_lexical.py --dataset xquad      # the quick one
    python benchmarks/bench_lexical.py --dataset stress --postings 10000000

Datasets (built from the bench's real text, nothing written by us):
  xquad      the 9 XQuAD paragraph corpora pooled (2,160 documents), all 7,344 dev questions as queries.
  synthetic  N documents (default 1,000,000), each 1-4 real sentences of one language drawn (seeded) from
             XQuAD-R, NTREX and Tatoeba; 2,000 XQuAD questions as queries.
  stress     English documents of 20 words drawn by frequency from the bench's 3,000 most frequent English
             words, until they hold about P postings (default 10,000,000); 1,000 queries of 2-5 such words.

Each engine runs in its own subprocess so its memory is its own. Each uses its own tokenizer, end to end
from text to ranked ids (what a user of each gets): bm25s its regex tokenizer with English stop words,
tantivy its default tokenizer, xlqe its multilingual analyzer (with the document language given).
Measured: indexing time (text to a committed index on disk; xlqe analyses on every core and tantivy is
given as many indexing threads, bm25s has no threads to give), single-thread query throughput at k=10
(one untimed pass over the queries, then whole passes for at least 2 s), index size on disk, RSS growth while indexing and peak RSS (ru_maxrss: the documents are streamed from a
JSONL file, so it is the engine's memory, not the corpus held as Python objects; bm25s's API takes the
list of every text).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))
CACHE = REPO / ".bench-out"
ENGINES = ["xlqe", "bm25s", "bm25s-numba", "tantivy"]


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(name: str, docs: list[dict], queries: list[dict]) -> Path:
    """The documents as JSONL (workers stream them, so a worker's peak RSS is its engine's, not the
    corpus held as Python objects) and a small JSON naming them, with the queries."""
    CACHE.mkdir(exist_ok=True)
    docs_path = CACHE / f"{name}.docs.jsonl"
    with open(docs_path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    out = CACHE / f"{name}.data.json"
    out.write_text(json.dumps({"docs": str(docs_path), "n_docs": len(docs), "queries": queries}, ensure_ascii=False),
                   encoding="utf-8")
    return out


def build_xquad() -> Path:
    out = CACHE / "xquad.data.json"
    if out.exists():
        return out
    docs, queries = [], []
    for path in sorted((BENCH / "xquad").glob("corpus.*.jsonl")):
        docs += [{"id": r["id"], "text": r["text"], "lang": r["lang"]} for r in _jsonl(path)]
    for path in sorted((BENCH / "xquad").glob("queries.*.jsonl")):
        queries += [{"text": r["text"], "lang": r["lang"]} for r in _jsonl(path)]
    return _write("xquad", docs, queries)


def _sentences_by_lang() -> list[tuple[str, list[str]]]:
    by_lang: dict[str, list[str]] = {}
    for path in (BENCH / "xquad").glob("sentences.*.jsonl"):
        for r in _jsonl(path):
            by_lang.setdefault(r["lang"], []).append(r["text"])
    for path in (BENCH / "ntrex").glob("sentences.*.jsonl"):
        for r in _jsonl(path):
            by_lang.setdefault(r["lang"].split("-")[0][:3], []).append(r["text"])
    for path in (BENCH / "tatoeba").glob("*.jsonl"):
        for r in _jsonl(path):
            by_lang.setdefault(r["src_lang"], []).append(r["src_text"])
            by_lang.setdefault("eng", []).append(r["tgt_text"])
    from xlqe_lite import normalize_lang

    return [(normalize_lang(lang), sents) for lang, sents in sorted(by_lang.items())]


def build_synthetic(n_docs: int, n_queries: int, seed: int = 13) -> Path:
    name = f"synthetic-{n_docs}"
    if (CACHE / f"{name}.data.json").exists():
        return CACHE / f"{name}.data.json"
    pools = _sentences_by_lang()
    rng = random.Random(seed)
    docs = []
    for i in range(n_docs):
        lang, sents = pools[rng.randrange(len(pools))]
        docs.append({"id": f"d{i}", "text": " ".join(rng.choice(sents) for _ in range(rng.randint(1, 4))), "lang": lang})
    questions = [{"text": r["text"], "lang": r["lang"]} for p in sorted((BENCH / "xquad").glob("queries.*.jsonl")) for r in _jsonl(p)]
    return _write(name, docs, rng.sample(questions, n_queries))


def build_stress(n_postings: int, n_queries: int, seed: int = 17) -> Path:
    """Long postings lists: English documents of 20 words each drawn from the 3,000 most frequent words of
    the bench's English sentences with their own frequencies (a real Zipf curve), so the frequent terms
    have lists of hundreds of thousands of postings; queries of 2-5 words drawn the same way (the case
    where top-k pruning matters most). About `n_postings` postings in all."""
    name = f"stress-{n_postings}"
    if (CACHE / f"{name}.data.json").exists():
        return CACHE / f"{name}.data.json"
    import re
    from collections import Counter

    counts: Counter[str] = Counter()
    for lang, sents in _sentences_by_lang():
        if lang == "en":
            for s in sents:
                counts.update(w.lower() for w in re.findall(r"[A-Za-z]{2,}", s))
    words, weights = zip(*counts.most_common(3000))
    rng = random.Random(seed)
    docs, total = [], 0
    while total < n_postings:
        text = rng.choices(words, weights, k=20)
        total += len(set(text))
        docs.append({"id": f"s{len(docs)}", "text": " ".join(text), "lang": "en"})
    queries = [{"text": " ".join(rng.choices(words, weights, k=rng.randint(2, 5))), "lang": "en"} for _ in range(n_queries)]
    return _write(name, docs, queries)


def stream_docs(path: str):
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def dir_bytes(path: str) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


MIN_QUERY_S = 2.0  # each engine's timed query region lasts at least this long


def queries_per_second(run_queries, n_queries: int) -> float:
    """Every engine alike: one untimed pass over the queries (caches, lazy loading, JIT), then whole passes
    until MIN_QUERY_S has elapsed. One pass over XQuAD's 7,344 questions takes about 0.25 s, short enough
    that scheduler noise on this machine moved a single pass by 20%."""
    run_queries()
    passes, t0 = 0, time.perf_counter()
    while True:
        run_queries()
        passes += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= MIN_QUERY_S:
            return passes * n_queries / elapsed


def worker(engine: str, data_path: str, k: int) -> dict:
    data = json.loads(Path(data_path).read_text(encoding="utf-8"))
    queries = data["queries"]
    workdir = tempfile.mkdtemp(prefix=f"bench-{engine}-")
    rss0 = rss_mb()
    t0 = time.perf_counter()
    if engine == "xlqe":
        from xlqe_lite import Index

        index = Index.create(os.path.join(workdir, "ix"))
        index.add_many(stream_docs(data["docs"]), batch_size=5000)
        index.commit()
        t_index = time.perf_counter() - t0
        rss_index = rss_mb()

        def run_queries() -> None:
            for q in queries:
                index.search(q["text"], k=k, lang=q["lang"])

        qps = queries_per_second(run_queries, len(queries))
    elif engine.startswith("bm25s"):
        import bm25s

        backend = "numba" if engine == "bm25s-numba" else "numpy"
        # bm25s tokenizes and indexes a list of every text (its API has no streaming form).
        tokens = bm25s.tokenize([d["text"] for d in stream_docs(data["docs"])], stopwords="en", show_progress=False)
        retriever = bm25s.BM25(method="lucene", backend=backend)
        retriever.index(tokens, show_progress=False)
        retriever.save(os.path.join(workdir, "ix"))
        t_index = time.perf_counter() - t0
        rss_index = rss_mb()
        if backend == "numba":  # compile outside the timed region
            retriever.retrieve(bm25s.tokenize(["warm up"], stopwords="en", show_progress=False), k=k, n_threads=1, show_progress=False)

        def run_queries() -> None:
            # bm25s is fastest in batches; give it that, on one thread.
            q_tokens = bm25s.tokenize([q["text"] for q in queries], stopwords="en", show_progress=False)
            retriever.retrieve(q_tokens, k=k, n_threads=1, show_progress=False, backend_selection=backend)

        qps = queries_per_second(run_queries, len(queries))
    elif engine == "tantivy":
        import tantivy

        schema_builder = tantivy.SchemaBuilder()
        schema_builder.add_text_field("id", stored=True, tokenizer_name="raw")
        schema_builder.add_text_field("body", stored=True)  # xlqe stores texts too
        schema = schema_builder.build()
        os.makedirs(os.path.join(workdir, "ix"))
        index = tantivy.Index(schema, path=os.path.join(workdir, "ix"))
        # As many indexing threads as xlqe analyses on (the machine's cores); queries run on one thread each.
        writer = index.writer(heap_size=256_000_000, num_threads=os.cpu_count() or 1)
        for d in stream_docs(data["docs"]):
            writer.add_document(tantivy.Document(id=d["id"], body=d["text"]))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        t_index = time.perf_counter() - t0
        rss_index = rss_mb()
        searcher = index.searcher()

        def run_queries() -> None:
            for q in queries:
                query, _errors = index.parse_query_lenient(q["text"], ["body"])
                searcher.search(query, k)

        qps = queries_per_second(run_queries, len(queries))
    else:
        raise SystemExit(f"unknown engine {engine}")
    result = {
        "engine": engine,
        "docs": data["n_docs"],
        "queries": len(queries),
        "index_s": t_index,
        "qps": qps,
        "index_bytes": dir_bytes(os.path.join(workdir, "ix")),
        "rss_index_mb": rss_index - rss0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def run_worker(engine: str, data: Path, k: int) -> dict:
    """One engine, end to end, in its own subprocess (its memory its own); raises if the worker fails."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, __file__, "--worker", engine, "--data", str(data), "-k", str(k)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} worker failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_all(name: str, data: Path, engines: list[str], k: int) -> list[dict]:
    results = []
    for engine in engines:
        try:
            results.append(run_worker(engine, data, k))
        except RuntimeError as e:
            print(e, file=sys.stderr)
    base = next((r for r in results if r["engine"] == "xlqe"), None)
    print(f"\n## {name}: {results[0]['docs'] if results else 0:,} documents, {results[0]['queries'] if results else 0:,} queries, k={k}")
    print(f"{'engine':<12}{'index s':>10}{'QPS (1 thread)':>16}{'xlqe/peer QPS':>15}{'index MB':>10}{'RSS+ MB':>9}{'peak MB':>9}")
    for r in results:
        ratio = base["qps"] / r["qps"] if base else float("nan")
        print(f"{r['engine']:<12}{r['index_s']:>10.2f}{r['qps']:>16.1f}{ratio:>15.2f}{r['index_bytes'] / 2**20:>10.1f}"
              f"{r['rss_index_mb']:>9.0f}{r['peak_rss_mb']:>9.0f}")
    return results


# (dataset label, how to build it, rounds) per harness run; see records().
FULL = [("xquad-pooled", build_xquad, 5), ("synthetic-1M", lambda: build_synthetic(1_000_000, 2000), 2),
        ("stress-10M-postings", lambda: build_stress(10_000_000, 1000), 2)]
QUICK = [("xquad-pooled", build_xquad, 3), ("synthetic-20k", lambda: build_synthetic(20_000, 2000), 2),
         ("stress-1M-postings", lambda: build_stress(1_000_000, 1000), 2)]
FIGURES = [  # worker key -> (figure, unit)
    ("qps", "BM25 top-10 queries, 1 thread", "queries/s"),
    ("docs_per_s", "indexing throughput", "docs/s"),
    ("index_s", "indexing time", "s"),
    ("index_bytes", "index size on disk", "bytes"),
    ("peak_rss_mb", "peak RSS while indexing and querying", "MB"),
]


def records(quick: bool) -> list[dict]:
    """The harness's lexical suite: every engine on the same documents and queries, one subprocess per engine
    and round, rounds interleaved A/B/C/D then D/C/B/A (medians kept). Full: XQuAD pooled (5 rounds) and 1M
    synthetic documents (2 rounds only: each engine indexes 1M documents per round, about 25 minutes for the
    four engines on this 2-core machine) and the 10M-posting stress (2 rounds). Quick: XQuAD pooled
    (3 rounds), 20k synthetic and a 1M-posting stress (2 rounds each)."""
    from harness import interleave, measurement

    rows = []
    for label, build, rounds in QUICK if quick else FULL:
        data = build()

        def one(engine: str, data: Path = data) -> dict[str, float]:
            r = run_worker(engine, data, 10)
            r["docs_per_s"] = r["docs"] / r["index_s"]
            return {key: float(r[key]) for key, _, _ in FIGURES}

        medians = interleave({e: (lambda e=e: one(e)) for e in ENGINES}, rounds)
        for engine, figs in medians.items():
            for key, figure, unit in FIGURES:
                rows.append(measurement(label, figure, engine, figs[key], unit))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["xquad", "synthetic", "stress", "all"], default="all")
    ap.add_argument("--postings", type=int, default=10_000_000, help="stress corpus size in postings")
    ap.add_argument("--docs", type=int, default=1_000_000, help="synthetic corpus size")
    ap.add_argument("--queries", type=int, default=2000, help="synthetic query count")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.data, a.k)))
        return
    import platform

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    engines = a.engines.split(",")
    out = {}
    if a.dataset in ("xquad", "all"):
        out["xquad"] = run_all("XQuAD paragraphs, 9 languages pooled", build_xquad(), engines, a.k)
    if a.dataset in ("synthetic", "all"):
        out["synthetic"] = run_all("synthetic from real sentences", build_synthetic(a.docs, a.queries), engines, a.k)
    if a.dataset in ("stress", "all"):
        out["stress"] = run_all("long postings lists (Zipf words)", build_stress(a.postings, 1000), engines, a.k)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
