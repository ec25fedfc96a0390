"""What a sync costs: `xlqe index` on a folder of ordinary files, first run against re-running it
unchanged, and peak RSS while indexing (with a large file in the folder, if asked).

    .venv/bin/python benchmarks/bench_sync.py --files 500                  # first run vs unchanged re-run
    .venv/bin/python benchmarks/bench_sync.py --files 50 --big-mb 100      # peak RSS with a 100 MB file

The files are the bench's XQuAD paragraphs (9 languages), one per .txt file in nested folders (the big
file is paragraphs repeated up to the size). Each run is the real CLI in a child process; its peak RSS
is the child's `ru_maxrss` (getrusage(RUSAGE_CHILDREN), read in a fresh helper process per run so one
run's peak does not hide the next). The embedding cache is a fresh temporary folder, so the first run
embeds everything; the prepared models are linked into it, so no run converts a model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))

_MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
s = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": p.returncode, "seconds": s, "peak_rss": rss, "stdout": p.stdout, "stderr": p.stderr[-2000:]}))
"""


def paragraphs() -> list[str]:
    out = []
    for path in sorted((BENCH / "xquad").glob("corpus.*.jsonl")):
        with open(path, encoding="utf-8") as f:
            out += [json.loads(line)["text"] for line in f if line.strip()]
    return out


def build(folder: Path, n: int, big_mb: int) -> None:
    texts = paragraphs()
    for i in range(n):
        path = folder / f"d{i % 10}" / f"s{i // 10 % 10}" / f"doc{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(texts[i % len(texts)], encoding="utf-8")
    if big_mb:
        target, written, i = big_mb * 1_000_000, 0, 0
        with open(folder / "big.txt", "w", encoding="utf-8") as f:
            while written < target:
                chunk = texts[i % len(texts)] + "\n\n"
                f.write(chunk)
                written += len(chunk.encode("utf-8"))
                i += 1


def link_models(cache: Path) -> None:
    """`cache` as a fresh XLQE_CACHE_DIR (no embeddings) that holds the prepared models: each model folder of
    the usual model cache is linked into it, so a run converts no model (which would be measured with it)."""
    from xlqe_lite.paths import model_dir

    cache.mkdir(parents=True, exist_ok=True)
    saved = os.environ.pop("XLQE_CACHE_DIR", None)
    try:
        models = model_dir()
    finally:
        if saved is not None:
            os.environ["XLQE_CACHE_DIR"] = saved
    for entry in sorted(models.iterdir()) if models.is_dir() else []:
        if entry.is_dir() and (entry / "prepared.json").exists():
            (cache / entry.name).symlink_to(entry, target_is_directory=True)


def run(args: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--big-mb", type=int, default=0, help="add one text file of this many MB")
    ap.add_argument("--no-vectors", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, index = Path(tmp) / "folder", Path(tmp) / "index"
        build(folder, a.files, a.big_mb)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        link_models(Path(tmp) / "cache")
        env = {**os.environ, "XLQE_CACHE_DIR": str(Path(tmp) / "cache"), "NO_COLOR": "1"}
        cmd = [sys.executable, "-m", "xlqe_lite.cli", "index", str(index), str(folder), "--json", "--threads", str(a.threads)]
        if a.no_vectors:
            cmd.append("--no-vectors")
        print(f"folder: {a.files} files + {a.big_mb} MB file, {size / 1e6:.1f} MB; {' '.join(cmd[2:])}")
        for label in ("first run", "unchanged re-run"):
            r = run(cmd, env)
            if r["rc"] != 0:
                print(r["stderr"], file=sys.stderr)
                return 1
            s = json.loads(r["stdout"])
            print(f"{label}: {r['seconds']:.2f}s, peak RSS {r['peak_rss'] / 1e6:.0f} MB; new {s['indexed']}, "
                  f"unchanged {s['unchanged']}, read {s['files_read']}, embedded {s['embedded']}, commits {s['commits']}")
            if a.big_mb:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
