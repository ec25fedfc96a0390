"""One run of every comparison: `make bench` (full) and `make bench-quick` (a smaller version of each suite).

    python benchmarks/harness.py [--quick] [--suites lexical,vectors,encoder] [--out .bench-out/results.json]

Each suite is a `records(quick)` function in an existing benchmark script (bench_lexical.py,
bench_vectors.py, bench_encoder.py, bench_expansion.py); it runs xlqe and its peers in the same run, on the same documents and
queries, and returns records of one schema:

    {suite, dataset, figure, engine, value, unit, peer, ratio, command, commit, machine, date}

`ratio` is oriented so that > 1 means xlqe is better: xlqe / peer for throughputs (unit ending in "/s"),
peer / xlqe for times and sizes. xlqe's own records have peer = null and ratio = null. `machine` is the CPU
model, cores, RAM and the load average at the start and end of the suite that produced the record.

A suite that fails is reported on stderr and leaves no records; the others still run. The results file is
rewritten whole at the end of the run (and after each suite, so an interrupted run keeps what finished).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

# suite name -> module whose records(quick) runs it. Order: cheapest first.
SUITES = {"lexical": "bench_lexical", "vectors": "bench_vectors", "encoder": "bench_encoder",
          "latency": "bench_mixed_latency", "expansion": "bench_expansion"}
LOWER_IS_BETTER_UNITS = ("s", "ms", "us", "bytes", "MB", "B/vector", "1-cos")


def higher_is_better(unit: str) -> bool:
    """Throughputs (per second) and recall are better higher; times and sizes lower."""
    if unit.endswith("/s") or unit in ("recall", "nDCG@10", "ratio"):
        return True
    if unit in LOWER_IS_BETTER_UNITS:
        return False
    raise ValueError(f"unknown unit {unit!r}: say whether higher is better")


def ratio(xlqe: float, peer: float, unit: str) -> float:
    """> 1 means xlqe is better: xlqe / peer for throughputs, peer / xlqe for times and sizes."""
    if higher_is_better(unit):
        return xlqe / peer
    return peer / xlqe


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return float("nan")


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(load_start: tuple[float, float, float], load_end: tuple[float, float, float]) -> dict[str, Any]:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "ram_gib": ram_gib(),
            "load_start": [round(x, 2) for x in load_start], "load_end": [round(x, 2) for x in load_end]}


def measurement(dataset: str, figure: str, engine: str, value: float, unit: str) -> dict[str, Any]:
    """What a suite returns for one figure of one engine; the harness adds the rest of the record."""
    return {"dataset": dataset, "figure": figure, "engine": engine, "value": float(value), "unit": unit}


def complete(suite: str, rows: list[dict[str, Any]], command: str, commit: str, mach: dict[str, Any],
             date: str) -> list[dict[str, Any]]:
    """Turn a suite's measurements into records: each peer's row gets the ratio against xlqe's row for the
    same (dataset, figure). A peer row with no xlqe row beside it keeps ratio = null."""
    xlqe = {(r["dataset"], r["figure"]): r["value"] for r in rows if r["engine"] == "xlqe"}
    out = []
    for r in rows:
        base = xlqe.get((r["dataset"], r["figure"]))
        is_peer = r["engine"] != "xlqe"
        rat = ratio(base, r["value"], r["unit"]) if is_peer and base is not None and r["value"] > 0 and base > 0 else None
        out.append({"suite": suite, "dataset": r["dataset"], "figure": r["figure"], "engine": r["engine"],
                    "value": r["value"], "unit": r["unit"], "peer": r["engine"] if is_peer else None,
                    "ratio": None if rat is None else round(rat, 4), "command": command, "commit": commit,
                    "machine": mach, "date": date})
    return out


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def interleave(runs: dict[str, Callable[[], dict[str, float]]], rounds: int) -> dict[str, dict[str, float]]:
    """Run each engine's measurement A/B/A/B for `rounds` rounds (the order alternates per round so no engine
    always goes first) and keep, per engine and figure, the median over the rounds."""
    seen: dict[str, dict[str, list[float]]] = {name: {} for name in runs}
    names = list(runs)
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            for figure, value in runs[name]().items():
                seen[name].setdefault(figure, []).append(value)
    return {name: {fig: median(vals) for fig, vals in figs.items()} for name, figs in seen.items()}


def run_suite(name: str, quick: bool, command: str) -> list[dict[str, Any]]:
    module = importlib.import_module(SUITES[name])
    load_start = os.getloadavg()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    rows = module.records(quick)
    mach = machine(load_start, os.getloadavg())
    print(f"[{name}] {len(rows)} figures in {time.perf_counter() - t0:.0f}s, load {mach['load_start'][0]} -> "
          f"{mach['load_end'][0]}", file=sys.stderr)
    return complete(name, rows, command, git_commit(), mach, date)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the smaller version of every suite (make bench-quick)")
    ap.add_argument("--suites", default=",".join(SUITES))
    ap.add_argument("--out", default=str(REPO / ".bench-out" / "results.json"))
    a = ap.parse_args()
    command = "make bench-quick" if a.quick else "make bench"
    if a.suites != ",".join(SUITES):
        command = f"python benchmarks/harness.py {'--quick ' if a.quick else ''}--suites {a.suites}"
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    failed = []
    for name in a.suites.split(","):
        if name not in SUITES:
            raise SystemExit(f"unknown suite {name!r} (known: {', '.join(SUITES)})")
        try:
            records += run_suite(name, a.quick, command)
        except Exception:  # one broken suite must not lose the others' figures
            traceback.print_exc()
            failed.append(name)
        out.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"{len(records)} records -> {out}" + (f"; failed suites: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
