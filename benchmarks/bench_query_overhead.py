"""Time a hybrid query spends in Python, outside the Rust core and without the encoder (issue 14).

One mixed index of the nine XQuAD dev corpora (2,160 paragraphs, e5-small with passage windows, built once
with `xlqe index` as a user builds it), 50 dev questions per language embedded beforehand, then
`SearchEngine.search(q, mode="hybrid", k=10, query_vector=v)` with and without snippets:

  cpu       mean CPU time of one search in the searching thread over a pass of all queries, no profiler
            attached (the median of `--repeats` passes);
  core      mean time inside `xlqe_lite._core` per search: the summed own time of every call into the
            extension module over one more pass, under cProfile (which sees C calls as builtins; its own
            overhead lands on the Python side of that pass, not on these calls);
  python    the profiled pass's CPU time minus its time in the core, per search: what the issue asks to
            halve. Both from the same pass, so the core's pass-to-pass noise (several ms on a hybrid
            search of a mixed index, more than the Python part) cancels; cProfile's own cost per Python
            call is counted in it, so it is an upper bound, for every checkout alike. All timed with the
            thread's CPU clock (see CLOCK).

Only public doors are used (the `xlqe` CLI, `SearchEngine.open`, `engine.encoder`), so the same script
measures any commit. `--compare-with CHECKOUT...` runs the measurement under each other checkout's
`.venv/bin/python` too, alternating A/B/A/B for `--rounds` rounds, all on the same index and query vectors.

    .venv/bin/python benchmarks/bench_query_overhead.py --index /tmp/xlqe-overhead-index [--compare-with ../before]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))
# The calling thread's CPU time, for the timed passes and the profiler alike: the search runs in this thread
# (the Rust core releases the GIL but not the thread), and CPU time does not count the time the scheduler
# gives to other processes, which on a loaded machine made wall time of one pass minus core time of another
# come out negative.
CLOCK = time.thread_time
LANGS = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")


def build_index(index: Path, python: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "dev.jsonl"
        with open(corpus, "w", encoding="utf-8") as out:
            for lang in LANGS:
                for line in open(BENCH / "xquad" / f"corpus.{lang}.jsonl", encoding="utf-8"):
                    row = json.loads(line)
                    out.write(json.dumps({"id": row["id"], "text": row["text"], "lang": lang}, ensure_ascii=False) + "\n")
        xlqe = str(Path(python).with_name("xlqe"))
        subprocess.run([xlqe, "index", str(index), str(corpus), "--quiet"], check=True)


def make_queries(index: Path, out: Path, per_lang: int) -> None:
    from xlqe_lite import SearchEngine

    texts = []
    for lang in LANGS:
        rows = [json.loads(line) for line in open(BENCH / "xquad" / f"queries.{lang}.jsonl", encoding="utf-8")]
        texts += [r["text"] for r in rows[:: max(1, len(rows) // per_lang)][:per_lang]]
    engine = SearchEngine.open(index)
    vectors = engine.encoder.encode_queries(texts)  # type: ignore[union-attr]
    np.save(out.with_suffix(".npy"), np.asarray(vectors, dtype=np.float32))
    out.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")


def core_seconds(stats: pstats.Stats) -> float:
    """Own time of every call into the extension module: cProfile names C methods of its classes
    "<method 'search' of 'xlqe_lite._core.LexicalIndex' objects>" and its functions
    "<built-in method xlqe_lite._core.fuse>" (or without the module, so those are matched by name)."""
    from xlqe_lite import _core

    functions = {f"<built-in method {name}>" for name in dir(_core) if callable(getattr(_core, name))
                 and not isinstance(getattr(_core, name), type)}
    total = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~" and ("xlqe_lite._core" in name or name in functions):
            total += tottime
    return total


def measure(args: argparse.Namespace) -> None:
    """The worker: one interpreter, one checkout's package; prints one JSON line per snippet setting."""
    from xlqe_lite import SearchEngine

    engine = SearchEngine.open(args.index)
    texts = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    vectors = np.load(Path(args.queries).with_suffix(".npy"))
    for snippets in (False, True):
        def run_all() -> list[float]:
            times = []
            for q, v in zip(texts, vectors):
                t = CLOCK()
                engine.search(q, k=10, mode="hybrid", query_vector=v, snippets=snippets)
                times.append(CLOCK() - t)
            return times

        run_all()  # warm-up: page cache, usearch contexts, caches inside the engine
        cpu = [statistics.fmean(run_all()) for _ in range(args.repeats)]
        profiler = cProfile.Profile(CLOCK)
        start = CLOCK()
        profiler.enable()
        run_all()
        profiler.disable()
        profiled = (CLOCK() - start) / len(texts)
        core = core_seconds(pstats.Stats(profiler)) / len(texts)
        cpu_ms = 1000 * statistics.median(cpu)
        import xlqe_lite

        print(json.dumps({"package": str(Path(xlqe_lite.__file__).parent), "snippets": snippets, "queries": len(texts),
                          "cpu_ms": round(cpu_ms, 3), "core_ms": round(1000 * core, 3),
                          "python_ms": round(1000 * (profiled - core), 3)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="built here if absent, reused if present")
    parser.add_argument("--per-lang", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the queries per round")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds when comparing checkouts")
    parser.add_argument("--compare-with", nargs="*", default=[], type=Path, help="other checkouts (with .venv)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args)

    if not (args.index / "xlqe.manifest").exists() and not any(args.index.glob("*")):
        build_index(args.index, sys.executable)
    queries = args.index.parent / f"{args.index.name}.queries.json"
    if not queries.exists():
        make_queries(args.index, queries, args.per_lang)
    checkouts = [REPO] + [c.resolve() for c in args.compare_with]
    rows: dict[str, list[dict[str, Any]]] = {str(c): [] for c in checkouts}
    for _ in range(args.rounds if args.compare_with else 1):
        for checkout in checkouts:
            python = checkout / ".venv" / "bin" / "python"
            # This file's measurement under each checkout's interpreter (whose package is that checkout's), so
            # every checkout is timed by the same code.
            out = subprocess.run([str(python), __file__, "--measure", "--index", str(args.index), "--queries", str(queries),
                                  "--repeats", str(args.repeats)],
                                 check=True, capture_output=True, text=True, cwd=checkout).stdout
            rows[str(checkout)] += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    commit = lambda c: subprocess.run(["git", "-C", str(c), "rev-parse", "--short", "HEAD"],  # noqa: E731
                                      capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} cpu {platform.machine()}, load {os.getloadavg()[0]:.1f}")
    for snippets in (False, True):
        base = None
        for checkout in checkouts:
            mine = [r for r in rows[str(checkout)] if r["snippets"] == snippets]
            python_ms = statistics.median(r["python_ms"] for r in mine)
            cpu_ms = statistics.median(r["cpu_ms"] for r in mine)
            core_ms = statistics.median(r["core_ms"] for r in mine)
            base = python_ms if base is None else base
            ratio = f"   python time: {python_ms / base:.2f}x of {commit(REPO)}" if checkout != REPO else ""
            print(f"{commit(checkout):>9}  snippets={snippets!s:5}  cpu {cpu_ms:6.3f} ms   in _core {core_ms:6.3f} ms"
                  f"   in Python {python_ms:6.3f} ms{ratio}")


if __name__ == "__main__":
    main()
