"""How well a query's language is guessed when the user does not name it, on the bench's dev questions.

    python benchmarks/query_language.py [--bench ../shared/bench]

Every XQuAD dev question (816 in each of 9 languages) is guessed as `SearchEngine` guesses it: whatlang,
kept when reliable or at confidence >= 0.5, else unknown. Compared: choosing among all of whatlang's 69
languages (before), and among the languages xlqe analyses with rules of its own plus the index's (now;
the bench's 9 are all among the former). Prints right / unknown / wrong shares, overall and per language.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

from xlqe_lite.evaluation import XquadBench
from xlqe_lite.sources import QUERY_LANGUAGES, guess_language


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    a = ap.parse_args()
    bench = XquadBench.load(a.bench, "paragraph")
    ways = {"all 69 languages": None, "xlqe's languages": QUERY_LANGUAGES | set(bench.langs)}
    print(f"{'':18}" + "".join(f"{name:>28}" for name in ways))
    print(f"{'':18}" + "   right unknown   wrong    " * len(ways))
    totals = {name: Counter() for name in ways}
    for lang in bench.langs + ["all"]:
        cells = []
        for name, candidates in ways.items():
            if lang == "all":
                counts = totals[name]
            else:
                counts = Counter()
                for _, text in bench.queries[lang]:
                    guess = guess_language(text, candidates)
                    counts["right" if guess == lang else "unknown" if guess is None else "wrong"] += 1
                totals[name].update(counts)
            n = sum(counts.values())
            cells.append("".join(f"{counts[k] / n:8.3f}" for k in ("right", "unknown", "wrong")) + "    ")
        print(f"{lang:18}" + "".join(cells))


if __name__ == "__main__":
    main()
