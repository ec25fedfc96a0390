"""How often the LLM's translation of a dev question survives cleaning, per query and target language.

    python benchmarks/expansion_coverage.py [--sample N --sample-offset K] [--llm MODEL]

Reads the expansion cache only (run `xlqe eval --expand auto` on the same questions first; nothing is
generated here). A translation counts as usable when the cleaner kept it: not empty, not the query copied,
written in the target language's script (expansion_clean.py). Prints the usable share for each
(query language, target language) pair, and how many of the expected translations the cache holds.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

from xlqe_lite.evaluation import XquadBench, expansion_jobs, xquad_tasks
from xlqe_lite.expansion import Expander


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--sample-offset", type=int, default=0)
    ap.add_argument("--llm", default=None, help="the model whose cached answers are read (default: Gemma 3 270M)")
    a = ap.parse_args()

    expander = Expander(a.llm)
    bench = XquadBench.load(a.bench, "paragraph", sample=a.sample, sample_offset=a.sample_offset)
    expected, cached, usable = Counter(), Counter(), Counter()
    for query_lang, text, targets in expansion_jobs(xquad_tasks(bench, bench.pairs("all"))):
        # As `xlqe eval --expand auto` asks; a zero budget answers from the cache alone.
        for e in expander.expand(text, strategy="auto", query_lang=query_lang, target_langs=targets, budget=0):
            expected[query_lang, e.lang] += 1
            if e.cached:
                cached[query_lang, e.lang] += 1
                usable[query_lang, e.lang] += bool(e.texts)

    print(f"cached {sum(cached.values()):,} of {sum(expected.values()):,} translations")
    langs = bench.langs
    print("usable share (rows: query language; columns: target language; '-': nothing cached)")
    print("    " + "".join(f"{t:>6}" for t in langs) + "   mean")
    for q in langs:
        shares = [usable[q, t] / cached[q, t] if cached[q, t] else None for t in langs]
        known = [s for s in shares if s is not None]
        row = "".join("     ." if q == t else "     -" if s is None else f"{s:6.2f}" for t, s in zip(langs, shares))
        print(f"{q:4}{row}" + (f"{sum(known) / len(known):7.2f}" if known else ""))
    column = []
    for t in langs:
        n = sum(cached[q, t] for q in langs)
        column.append(f"{sum(usable[q, t] for q in langs) / n:6.2f}" if n else "     -")
    print("mean" + "".join(column))


if __name__ == "__main__":
    main()
