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


E5 = "multilingual-e5-small"
E5_Q4 = "multilingual-e5-small-q4"
USE = "use-multilingual-v3"


@pytest.fixture(scope="session")
def prepared() -> dict[str, Path]:
    """Every manifest model, prepared once (idempotent, cached between runs). The set-up installs the
    model packages, so a missing one is a failure here, never a skip."""
    from xlqe_lite import models
    from xlqe_lite.errors import ModelMissingError

    out = {}
    for name in models.MANIFEST:
        try:
            out[name] = models.prepare(name)
        except ModelMissingError as e:
            pytest.fail(f"model sources not installed (run `make setup`): {e}")
    return out


@pytest.fixture
def xlqe():
    return run_xlqe


@pytest.fixture(scope="session")
def gemma() -> Path:
    """The default LLM's GGUF file, assembled from its PyPI chunk packages (a failure if they are missing)."""
    from xlqe_lite.models.llm_registry import DEFAULT_LLM, prepare_llm
    from xlqe_lite.errors import ModelMissingError

    try:
        return prepare_llm(DEFAULT_LLM)
    except ModelMissingError as e:
        pytest.fail(f"the default LLM's packages are not installed (run `make setup`): {e}")
