"""Does query expansion lose anywhere? Compares two `xlqe eval` runs on the same queries (without and with
expansion) pair by pair, with each pair's change measured against its noise.

    python benchmarks/compare_expansion.py NONE.run EXPANDED.run --qrels QRELS.tsv [--tolerance 0.005]

QRELS is the bench's qrels file (qrels.paragraph.tsv, qrels.sentence.tsv) or the `RUN.qrels.tsv` that
`xlqe eval --sample` leaves beside a run. Prints cross-language macro nDCG@10 of both runs; the change over
cross-script pairs and over English <-> other-script pairs; the mean change by query and by document
language; and every pair whose change is below -tolerance, with the standard error of its change (from
the per-query differences: a pair of n questions moves by 1/n of a question's change).
"""

from __future__ import annotations

import argparse
import math
import statistics

from xlqe_lite.evaluation import read_qrels, read_run, unit_scores

SCRIPT = {"en": "Latn", "es": "Latn", "de": "Latn", "tr": "Latn", "ru": "Cyrl", "ar": "Arab", "th": "Thai",
          "zh": "Hani", "hi": "Deva", "el": "Grek", "ro": "Latn", "vi": "Latn"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("baseline")
    ap.add_argument("expanded")
    ap.add_argument("--qrels", required=True)
    ap.add_argument("--tolerance", type=float, default=0.005)
    a = ap.parse_args()
    qrels = read_qrels(a.qrels)
    base, expanded = (unit_scores(qrels, read_run(path)) for path in (a.baseline, a.expanded))
    cross = sorted(p for p in base if p[0] != p[1] and p in expanded)
    if not cross:
        raise SystemExit("the two runs share no cross-language pair")
    change: dict[tuple[str, str], tuple[float, float, int]] = {}  # mean change, its standard error, n
    for pair in cross:
        before = dict((q, m["nDCG@10"]) for q, m in base[pair])
        diffs = [m["nDCG@10"] - before[q] for q, m in expanded[pair] if q in before]
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
        change[pair] = (statistics.fmean(diffs), se, len(diffs))

    def macro(scored, pairs) -> float:
        return statistics.fmean(statistics.fmean(m["nDCG@10"] for _, m in scored[p]) for p in pairs)

    def mean_change(pairs) -> str:
        pairs = list(pairs)
        return f"{statistics.fmean(change[p][0] for p in pairs):+.4f} ({len(pairs)} pairs)" if pairs else "-"

    print(f"cross-language macro nDCG@10: baseline {macro(base, cross):.4f}, expanded {macro(expanded, cross):.4f}")
    other_script = [p for p in cross if SCRIPT.get(p[0], p[0]) != SCRIPT.get(p[1], p[1])]
    print(f"change over cross-script pairs {mean_change(other_script)}; English <-> other script "
          f"{mean_change(p for p in other_script if 'en' in p)}")
    langs = sorted({lang for p in cross for lang in p})
    for side, label in ((0, "query"), (1, "document")):
        print(f"by {label} language: " + "  ".join(
            f"{lang} {statistics.fmean(change[p][0] for p in cross if p[side] == lang):+.3f}"
            for lang in langs if any(p[side] == lang for p in cross)))
    losers = sorted((p for p in cross if change[p][0] < -a.tolerance), key=lambda p: change[p][0])
    gainers = [p for p in cross if change[p][0] > a.tolerance]
    sure = lambda pairs: sum(abs(change[p][0]) > 2 * change[p][1] for p in pairs)  # noqa: E731
    print(f"of {len(cross)} pairs, better by more than {a.tolerance}: {len(gainers)} ({sure(gainers)} by more than two "
          f"standard errors); worse: {len(losers)} ({sure(losers)} by more than two standard errors)")
    for p in losers:
        mean, se, n = change[p]
        print(f"  {p[0]}->{p[1]}  {mean:+.4f}  (standard error {se:.4f}, {n} questions)")


if __name__ == "__main__":
    main()
