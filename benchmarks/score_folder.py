"""Score the must-reach folder of issue #15 through the `xlqe` command, as a user would meet it: index the
folder built by benchmarks/build_folder.py, then for each target story search with its English headline (or
first sentence) and report the share of stories whose file is in the top 10 and first.

    python benchmarks/build_folder.py /tmp/folder
    python benchmarks/score_folder.py /tmp/folder [--query headline|first-sentence] [--reuse-index]

Targets of issue #15: top 10 >= 95%, first >= 80%. A hit is the story's file when its id or its "path"
metadata ends with the file's path relative to the folder. Every query is one `xlqe search --json` process
(the encoder loads each time), so the run takes a few minutes; `--limit` scores the first N stories only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def xlqe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xlqe_lite.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO / "python")}, timeout=3600)


def _hit_path(hit: dict) -> str:
    meta = hit.get("metadata") or {}
    return str(meta.get("path") or hit.get("id") or "").replace("\\", "/")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="the output directory of build_folder.py (holds docs/ and manifest.jsonl)")
    ap.add_argument("--index", type=Path, help="index directory (default: FOLDER/index)")
    ap.add_argument("--query", choices=["headline", "first-sentence"], default="headline")
    ap.add_argument("--mode", choices=["hybrid", "bm25", "dense"], default=None, help="xlqe search --mode")
    ap.add_argument("--reuse-index", action="store_true", help="search an index built by an earlier run")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    rows = [json.loads(line) for line in open(args.folder / "manifest.jsonl", encoding="utf-8")]
    docs = args.folder / "docs"
    index = args.index or args.folder / "index"
    report: dict = {"files": len(rows), "query": args.query}
    if not args.reuse_index:
        if index.exists():
            shutil.rmtree(index)
        t0 = time.perf_counter()
        proc = xlqe("index", str(index), str(docs))
        report["index_seconds"] = round(time.perf_counter() - t0, 1)
        print(proc.stdout.strip()[-2000:])
        if proc.returncode != 0:
            sys.exit(f"xlqe index failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        warnings = [line for line in proc.stderr.splitlines() if line.strip() and "\r" not in line]
        if warnings:
            print(f"{len(warnings)} lines on stderr, e.g.:\n  " + "\n  ".join(warnings[:10]))
    check = xlqe("check", str(index), "--json")
    documents = json.loads(check.stdout).get("documents") if check.returncode == 0 else None
    report["documents"] = documents
    print(f"index holds {documents} documents for {len(rows)} files")

    targets = [r for r in rows if r["role"] == "target"]
    if args.limit:
        targets = targets[: args.limit]
    field = "query_headline" if args.query == "headline" else "query_first_sentence"
    per: dict[str, dict[str, list[int]]] = {"format": defaultdict(lambda: [0, 0, 0]), "lang": defaultdict(lambda: [0, 0, 0])}
    top10 = first = noise_first = 0
    noise_paths = [r["path"] for r in rows if r["role"] == "noise"]
    misses = []
    t0 = time.perf_counter()
    for n, row in enumerate(targets, 1):
        cmd = ["search", str(index), row[field], "-k", "10", "--json"] + (["--mode", args.mode] if args.mode else [])
        proc = xlqe(*cmd)
        if proc.returncode != 0:
            sys.exit(f"xlqe search failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        hits = json.loads(proc.stdout)
        hits = hits["hits"] if isinstance(hits, dict) else hits
        rank = next((h["rank"] for h in hits if _hit_path(h).endswith(row["path"])), None)
        top10 += rank is not None
        first += rank == 1
        for key, value in (("format", row["format"]), ("lang", row["lang"])):
            acc = per[key][value]
            acc[0] += 1
            acc[1] += rank is not None
            acc[2] += rank == 1
        if rank != 1 and hits and any(_hit_path(hits[0]).endswith(p) for p in noise_paths):
            noise_first += 1
        if rank != 1:
            misses.append(f"{row['path']} [{row['lang']}] rank {rank or '>10'}: {row[field][:70]!r}"
                          f" (first: {_hit_path(hits[0]) if hits else 'nothing'})")
        if n % 10 == 0:
            print(f"  {n}/{len(targets)} queries, top-10 {top10 / n:.1%}, first {first / n:.1%}", flush=True)
    report["search_seconds"] = round(time.perf_counter() - t0, 1)
    report.update(stories=len(targets), top10=round(top10 / len(targets), 4), first=round(first / len(targets), 4),
                  english_noise_first=noise_first)
    for key in ("format", "lang"):
        report[f"by_{key}"] = {k: {"stories": v[0], "top10": round(v[1] / v[0], 3), "first": round(v[2] / v[0], 3)}
                               for k, v in sorted(per[key].items())}
        print(f"by {key}: " + ", ".join(f"{k} {v[1]}/{v[0]} top-10, {v[2]} first" for k, v in sorted(per[key].items())))
    print("not first:\n  " + "\n  ".join(misses) if misses else "every story first")
    print(f"{len(targets)} stories, query = English {args.query}: top-10 {top10 / len(targets):.1%} (target 95%), "
          f"first {first / len(targets):.1%} (target 80%); an English noise file came first for {noise_first}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
