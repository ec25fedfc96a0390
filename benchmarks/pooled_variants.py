"""The engine's settings around their defaults on one mixed index of every XQuAD language (dev; and only there):
each variant a whole `xlqe eval --pooled` through `SearchEngine` with a `FusionConfig` override, scored as
`evaluate.py --pooled --mixed` scores it (`xlqe_lite.evaluation`). Embeddings come from the on-disk cache.

    python benchmarks/pooled_variants.py --level paragraph "centroid_shift=0.0" "same_language=0.2"
    python benchmarks/pooled_variants.py --level sentence --mode dense ""        # "" is the defaults

Each variant is `field=value,...` of FusionConfig; about 2-4 minutes each on 2 cores with a warm cache.
"""

from __future__ import annotations

import argparse
import ast
import os
import tempfile
import time

from xlqe_lite.evaluation import XquadBench, evaluate
from xlqe_lite.evaluation.metrics import read_run
from xlqe_lite.evaluation.runs import engine_builder, write_run, xquad_tasks
from xlqe_lite.models.encoder import Encoder
from xlqe_lite.models.manifest import DEFAULT_ENCODER
from xlqe_lite.search import FusionConfig


def overrides(spec: str) -> dict[str, object]:
    """"a=0.1, b=(5, 100)" -> {"a": 0.1, "b": (5, 100)}: keyword arguments whose values are Python literals."""
    call = ast.parse(f"f({spec})", mode="eval").body
    assert isinstance(call, ast.Call) and not call.args, f"not keyword=value pairs: {spec!r}"
    return {str(kw.arg): ast.literal_eval(kw.value) for kw in call.keywords}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="+", help='FusionConfig overrides, e.g. "centroid_shift=0.0"')
    ap.add_argument("--bench", default="../shared/bench")
    ap.add_argument("--level", default="paragraph", choices=["paragraph", "sentence"])
    ap.add_argument("--mode", default="hybrid", choices=["hybrid", "dense"])
    ap.add_argument("--encoder", default=DEFAULT_ENCODER)
    args = ap.parse_args()
    bench = XquadBench.load(args.bench, args.level)
    encoder = Encoder.load(args.encoder, threads=os.cpu_count() or 1)
    tasks = xquad_tasks(bench, bench.pairs("all"), pooled=True)
    for spec in args.variants:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "variant.run")
            write_run(tasks, engine_builder(encoder, args.mode, fusion=FusionConfig(**overrides(spec))), path, tag="variant")  # type: ignore[arg-type]
            r = evaluate(bench.qrels, read_run(path), pooled=True, mixed=True)
        print(f"{args.level} {args.mode} {spec or 'defaults':45s} mixed CROSS {r['mixed']['CROSS']['nDCG@10']:.4f}  mixed MONO "
              f"{r['mixed']['MONO']['nDCG@10']:.4f}  pooled {r['pooled']['nDCG@10']:.4f}  per-pair CROSS "
              f"{r['macro']['CROSS']['nDCG@10']:.4f}  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
