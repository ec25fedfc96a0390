"""Shared fixtures: the bench data beside the checkout, the CLI as a subprocess, temporary index paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample" / "xquad-sample.jsonl"


def bench_dir() -> Path:
    return Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))


@pytest.fixture(scope="session")
def bench() -> Path:
    path = bench_dir()
    if not (path / "xquad").is_dir():
        pytest.fail(f"the CLIR bench is missing at {path} (set XLQE_BENCH)")
    return path


def run_xlqe(*args: str, input: str | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Runs the real `xlqe` entry point in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "xlqe_lite.cli", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"xlqe {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def xlqe():
    return run_xlqe
