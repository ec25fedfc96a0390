"""Extreme sizes an embedding application meets: a 100 MB document and a million tiny ones. Each is built
in a child process (scale_worker.py) whose peak memory is measured alone (os.wait4); the index must come
out complete and consistent, and memory must stay within a small multiple of what is being indexed.

Figures measured when the bounds were set (BENCHMARKS.md, "Scale"): the 100 MB document peaks at about
3x its size above the interpreter's baseline (the text as Python holds it, its UTF-8 form, the core's
copy); a million tiny documents at about 460 bytes each before and during the commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from xlqe_lite import Index
from xlqe_lite.ingest.sources import DEFAULT_MAX_BYTES, Skipped, iter_documents

from support import scale_worker

pytestmark = pytest.mark.slow

WORKER = Path(scale_worker.__file__)
HUGE_MB = 100
TINY_COUNT = 1_000_000
# Bounds: about 1.3x to 1.5x the measured peaks, so a regression in copying shows, noise does not.
HUGE_PEAK_PER_BYTE = 4.0
TINY_PEAK_PER_DOC = 700


def run_worker(*args: str) -> tuple[dict, int]:
    """Runs the worker; returns its report and its peak resident memory in bytes."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        assert proc.returncode == 0, err.read().decode(errors="replace")
    return json.loads(out), usage.ru_maxrss * 1024  # Linux reports kilobytes


@pytest.fixture(scope="module")
def baseline_rss(tmp_path_factory: pytest.TempPathFactory) -> int:
    """The peak of a worker that only imports the package and writes a one-document index."""
    _, peak = run_worker("baseline", str(tmp_path_factory.mktemp("base") / "ix"))
    return peak


def test_a_100_mb_document_is_indexed_with_bounded_memory(tmp_path: Path, baseline_rss: int, xlqe) -> None:
    path = tmp_path / "ix"
    report, peak = run_worker("huge", str(path), str(HUGE_MB))
    size = report["bytes"]
    assert size >= HUGE_MB * 1_000_000 and report["skipped"] == []
    assert report["hits"] == [report["huge_id"]] and report["small_hit"] == ["small"]
    assert report["stored_bytes"] == size and report["verify"] == [] and report["documents"] == 2
    grown = peak - baseline_rss
    assert grown < HUGE_PEAK_PER_BYTE * size, f"peak {peak >> 20} MB, baseline {baseline_rss >> 20} MB for {size >> 20} MB"
    # And the index is usable by anyone afterwards.
    check = json.loads(xlqe("check", str(path), "--json").stdout)
    assert check["ok"] and check["documents"] == 2
    with Index.open(path, writer=True) as writer:
        writer.add("after", "written after the huge one", lang="en")
    assert len(Index.open(path)) == 3
    print(f"100 MB document: peak RSS {peak >> 20} MB (baseline {baseline_rss >> 20} MB), {report}")


def test_a_file_past_the_size_limit_is_skipped_not_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:  # sparse: costs no disk and no time
        f.truncate(DEFAULT_MAX_BYTES + 1)
    items = list(iter_documents([str(big)]))
    assert len(items) == 1 and isinstance(items[0], Skipped) and "byte limit" in items[0].reason


def test_a_million_tiny_documents_commit_with_bounded_memory(tmp_path: Path, baseline_rss: int, xlqe) -> None:
    path = tmp_path / "ix"
    report, peak = run_worker("tiny", str(path), str(TINY_COUNT))
    assert report["documents"] == TINY_COUNT and report["verify"] == []
    assert report["hits"] == sum(1 for i in range(TINY_COUNT) if i % 2 and i % 997 == 500)
    assert report["last_text"] is not None and report["last_text"].endswith(f" w{(TINY_COUNT - 1) % 997}")
    grown = peak - baseline_rss
    assert grown < TINY_PEAK_PER_DOC * TINY_COUNT, f"peak {peak >> 20} MB, baseline {baseline_rss >> 20} MB"
    check = json.loads(xlqe("check", str(path), "--json").stdout)
    assert check["ok"] and check["documents"] == TINY_COUNT
    print(f"{TINY_COUNT} tiny documents: peak RSS {peak >> 20} MB (baseline {baseline_rss >> 20} MB), {report}")
