"""Paths every role's tests use (the checkout, the sample corpus, the bench beside the checkout), the model
names, and the real `xlqe` command run as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "xquad-sample.jsonl"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

E5 = "multilingual-e5-small"
E5_Q4 = "multilingual-e5-small-q4"
USE = "use-multilingual-v3"
E5_USE = "e5-small+use-v3"  # the default encoder of new indexes (a composite of the two)


def bench_dir() -> Path:
    return Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))


def run_xlqe(*args: str, input: str | None = None, check: bool = False,
             cwd: str | os.PathLike[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs the real `xlqe` entry point in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "xlqe_lite.cli", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=600,
        cwd=cwd,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"xlqe {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc
