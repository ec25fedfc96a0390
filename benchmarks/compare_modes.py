"""Does hybrid lose to its best part anywhere? Compares `xlqe eval --json` results of the three modes
pair by pair.

    python benchmarks/compare_modes.py BM25.json DENSE.json HYBRID.json [--tolerance 0.005]
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bm25")
    ap.add_argument("dense")
    ap.add_argument("hybrid")
    ap.add_argument("--tolerance", type=float, default=0.005)
    a = ap.parse_args()
    bm, de, hy = (json.load(open(p, encoding="utf-8")) for p in (a.bm25, a.dense, a.hybrid))
    for name, r in (("bm25", bm), ("dense", de), ("hybrid", hy)):
        print(f"{name:7s} nDCG@10 cross {r['macro']['CROSS']['nDCG@10']:.4f}  mono {r['macro']['MONO']['nDCG@10']:.4f}")
    margins = {p: hy["pairs"][p]["nDCG@10"] - max(bm["pairs"][p]["nDCG@10"], de["pairs"][p]["nDCG@10"]) for p in hy["pairs"]}
    worst = min(margins, key=margins.get)
    below = sorted(p for p, m in margins.items() if m < -a.tolerance)
    better = sum(m > 0 for m in margins.values())
    print(f"hybrid vs the better single mode per pair: worst {worst} {margins[worst]:+.4f}; "
          f"better on {better}/{len(margins)} pairs; below by more than {a.tolerance}: {below or 'none'}")


if __name__ == "__main__":
    main()
