"""A writer killed with SIGKILL at random moments, 100 times over, never loses or corrupts a commit: the
index always opens, passes the full consistency check, and holds exactly the last committed state. The
same for a writer of an index with vectors and passage windows, killed while it writes those files too."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest
from support import crash_writer
from support.crash_writer import PASSAGES, VECTOR_SETTINGS, expected_ids, expected_text, has_passages, passages_of, vector_of

from support.common import run_xlqe
from xlqe_lite import Index

pytestmark = pytest.mark.slow

TRIALS = {"lexical": 100, "vectors": 60}
# How long after "ready" a kill may come: a commit with vectors writes megabytes, so it gets longer.
KILL_WINDOW = {"lexical": 0.5, "vectors": 1.5}


def uncommitted_files(path: Path, generation: int) -> set[str]:
    """The kinds of file ("seg", "vec", "psg") a killed commit of a later generation left behind."""
    kinds = set()
    for p in path.iterdir():
        m = re.fullmatch(r"(seg|vec|psg)-(\d+)(?:-\d+)?\.(xlqe|usearch)", p.name)  # vec-GEN-PART.usearch
        if m and int(m.group(2)) > generation:
            kinds.add(m.group(1))
    return kinds


def read_until(stream: IO[str], prefix: str) -> str:
    """The writer's lines up to and including the first that starts with `prefix` (all of them if it exits)."""
    lines = []
    for line in iter(stream.readline, ""):
        lines.append(line)
        if line.startswith(prefix):
            break
    return "".join(lines)


def check_vectors(index: Index, ids: set[str], gen: int, rng: random.Random) -> None:
    assert index.vector_count == len(ids)
    assert index.passage_count == PASSAGES * sum(has_passages(i) for i in ids)
    for doc_id in rng.sample(sorted(ids), min(3, len(ids))):
        text = expected_text(doc_id, gen)
        hit = index.search_vector(vector_of(doc_id, text), k=1, passage_weight=0.0)[0]
        assert hit.id == doc_id and hit.score == pytest.approx(1.0, abs=1e-4), (doc_id, hit)
        passages = passages_of(doc_id, text)
        if passages is not None:  # its best passage: the one searched for
            best = index.search_vector(passages[1], k=1, passage_weight=1.0)[0]
            assert best.id == doc_id and best.score == pytest.approx(1.0, abs=1e-4), (doc_id, best)


@pytest.mark.parametrize("kind", ["lexical", "vectors"])
def test_kill_during_writes_and_commits_keeps_the_last_commit(tmp_path: Path, kind: str) -> None:
    vectors = kind == "vectors"
    path = tmp_path / "ix"
    Index.create(path, vectors=VECTOR_SETTINGS if vectors else None).close()
    rng = random.Random(2026)
    writer = Path(crash_writer.__file__)
    recovered = []
    interrupted: set[str] = set()
    for trial in range(TRIALS[kind]):
        args = [sys.executable, str(writer), str(path)] + (["--vectors"] if vectors else [])
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        if trial % 5 == 0:
            # Kill during start-up (interpreter, opening the index, taking the lock).
            time.sleep(rng.uniform(0.0, 0.3))
            first = ""
        elif trial % 5 in (2, 4):
            # Aim inside a commit: once one commit has said how long it took, kill at a random moment of
            # the next one, so that kills land in every file a commit writes, not only where time is spent
            # adding documents (a writer with vectors spends most of its time building the graph).
            first = read_until(proc.stdout, "committed ")
            last = first.splitlines()[-1] if first else ""
            took = float(last.split()[2]) if last.startswith("committed ") else 0.0
            first += read_until(proc.stdout, "committing ")
            time.sleep(rng.uniform(0.0, took))
        else:
            # Kill somewhere in adding or inside a commit, timed from the moment the writer holds the
            # lock so that a slow start (a busy machine) does not turn every trial into a start-up kill.
            first = proc.stdout.readline()
            time.sleep(rng.uniform(0.0, KILL_WINDOW[kind]))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        out = first + out
        logged = [int(line.split()[1]) for line in out.splitlines() if line.startswith("committed")]
        index = Index.open(path)
        gen = index.generation
        interrupted |= uncommitted_files(path, gen)
        # The kill may land after the manifest rename but before the print: one commit ahead is fine.
        floor = logged[-1] if logged else (recovered[-1] if recovered else 0)
        assert floor <= gen <= floor + 1, (trial, logged, gen)
        assert index.verify() == [], trial
        ids = set(index.ids())
        assert ids == expected_ids(gen, vectors), trial
        for doc_id in rng.sample(sorted(ids), min(5, len(ids))):
            assert index.get(doc_id).text == expected_text(doc_id, gen)
        if ids:
            assert index.search("Panthers interceptions", k=3)
        if vectors:
            check_vectors(index, ids, gen, rng)
        index.close()
        recovered.append(gen)
    # The writer made progress across the trials: commits happened and were recovered many times over.
    assert recovered[-1] >= (10 if vectors else 20), recovered
    # And kills landed both before the first commit of a run and after several (a writer with vectors
    # commits more slowly, so more of its runs end inside their first commit: what that test is after).
    assert len(set(recovered)) > TRIALS[kind] // (4 if vectors else 2), recovered
    if vectors:
        # Some kills interrupted a commit while it wrote the vector or the passage file.
        assert interrupted >= {"vec", "psg"}, interrupted
        print("interrupted commits left:", sorted(interrupted))
        checked = run_xlqe("check", str(path), "--json")
        assert checked.returncode == 0 and '"ok": true' in checked.stdout, checked.stdout + checked.stderr
    leftovers = [p.name for p in path.iterdir() if p.name.startswith("seg-")]
    assert len(leftovers) <= 2, leftovers  # orphans of interrupted commits are collected
