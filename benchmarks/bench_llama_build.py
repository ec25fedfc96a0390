"""Generation speed of llama-cpp-python builds, interleaved in one run: what the portable build costs.

    python benchmarks/bench_llama_build.py --build portable=.venv/bin/python \\
        --build avx512=/tmp/avx512-venv/bin/python [--queries 12] [--rounds 3] [--threads 2]

Each build is an interpreter whose environment holds one llama-cpp-python build (scripts/build-llama-wheel.sh
makes them; XLQE_LLAMA_CMAKE_ARGS picks the flags). The driver writes the prompts once (the few-shot and
zero-shot translation prompts that `--expand auto` sends, for English questions of the bench's XQuAD dev
set into German, Chinese and Thai), then runs the builds in turn, A/B/A/B, each round a fresh process
that loads Gemma 3 270M once and, per prompt, clears the KV cache, evaluates the whole prompt and decodes
32 tokens greedily (always 32: the same work for every build, end tokens or not). It prints, per build, the median over rounds of prompt tokens/s and generated tokens/s,
the ratio to the first build, and how many greedy outputs equal the first build's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MAX_TOKENS = 32


def worker(model: str, prompts_file: str, threads: int) -> None:
    """Runs inside one build's interpreter: prints one JSON line of timings and outputs."""
    import llama_cpp
    from llama_cpp import Llama

    with open(prompts_file, encoding="utf-8") as f:
        prompts = json.load(f)
    llm = Llama(model_path=model, n_ctx=2048, n_threads=threads, n_batch=512, verbose=False, seed=0)
    prompt_tokens = gen_tokens = 0
    prompt_s = gen_s = 0.0
    outputs = []
    for text in prompts:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens)
        t1 = time.perf_counter()
        out = []
        for _ in range(MAX_TOKENS):
            token = llm.sample(temp=0.0)
            out.append(token)
            llm.eval([token])
        t2 = time.perf_counter()
        prompt_tokens += len(tokens)
        gen_tokens += len(out)
        prompt_s += t1 - t0
        gen_s += t2 - t1
        outputs.append(llm.detokenize(out).decode("utf-8", "replace"))
    info = llama_cpp.llama_print_system_info().decode()
    print(json.dumps({"prompt_tps": prompt_tokens / prompt_s, "gen_tps": gen_tokens / gen_s,
                      "outputs": outputs, "system_info": info}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", default=[], metavar="NAME=PYTHON", help="a build to measure")
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--queries", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--worker", nargs=2, metavar=("MODEL", "PROMPTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.threads)
        return
    if not args.build:
        ap.error("give at least one --build NAME=PYTHON")

    from xlqe_lite.models.llm_registry import resolve_llm
    from xlqe_lite.expansion.prompts import build_prompt

    with open(os.path.join(args.bench, "xquad", "queries.en.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    queries = [rows[i * len(rows) // args.queries]["text"] for i in range(args.queries)]
    prompts = [build_prompt("translate", q, "en", lang, shots).text
               for q in queries for lang in ("de", "zh", "th") for shots in ("few", "zero")]
    model, _ = resolve_llm(None)
    builds = [b.split("=", 1) for b in args.build]
    results: dict[str, list[dict]] = {name: [] for name, _ in builds}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(prompts, f)
    try:
        for r in range(args.rounds):
            for name, python in builds:
                proc = subprocess.run([python, __file__, "--threads", str(args.threads), "--worker", str(model), f.name],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"{name}: round {r + 1} failed with exit code {proc.returncode}: {proc.stderr[-400:]}")
                    continue
                results[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        os.unlink(f.name)

    print(f"{len(prompts)} prompts (few- and zero-shot translation, en -> de/zh/th), {MAX_TOKENS} greedy tokens,"
          f" {args.threads} threads, {args.rounds} rounds interleaved; load {os.getloadavg()[0]:.1f}")
    base = None
    for name, _ in builds:
        runs = results[name]
        if not runs:
            print(f"{name:<12} no successful round")
            continue
        p = statistics.median(x["prompt_tps"] for x in runs)
        g = statistics.median(x["gen_tps"] for x in runs)
        if base is None:
            base = (p, g, runs[0]["outputs"])
        same = sum(a == b for a, b in zip(runs[0]["outputs"], base[2]))
        print(f"{name:<12} prompt {p:8.1f} tok/s ({p / base[0]:.2f}x)   generation {g:7.1f} tok/s ({g / base[1]:.2f}x)"
              f"   outputs equal to {builds[0][0]}: {same}/{len(prompts)}")
        print(f"{'':<12} {runs[0]['system_info'].strip()}")


if __name__ == "__main__":
    main()
