"""What fusion adds to a query: the core's fuse() over two lists of 100 hits (k = 100 per list), timed
through the Python binding (so the cost includes building and returning the lists), for each method.

    python benchmarks/bench_fusion.py
"""

from __future__ import annotations

import random
import time

from xlqe_lite._core import fuse


def main() -> None:
    rng = random.Random(5)
    ids = [f"xq-p{i:03d}.de" for i in range(240)]
    lists = [[(d, rng.random() * 20) for d in rng.sample(ids, 100)], [(d, rng.random()) for d in rng.sample(ids, 100)]]
    for lst in lists:
        lst.sort(key=lambda x: -x[1])
    item_weights = [[rng.choice([0.7, 0.1, 0.05]) for _ in lists[0]], None]
    for method in ("rrf", "minmax", "zscore"):
        n = 5000
        t0 = time.perf_counter()
        for _ in range(n):
            fuse(lists, [1.0, 1.0], method, 60.0, 100, item_weights)
        us = (time.perf_counter() - t0) / n * 1e6
        print(f"{method:7s} 2 lists x 100 hits -> top 100: {us:7.1f} µs per fusion")


if __name__ == "__main__":
    main()
