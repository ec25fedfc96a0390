"""Threads sharing one index, and a long-lived reader following a writer in another process: every
search succeeds and answers as it does alone. Real encoder (multilingual-e5-small), real sample
paragraphs in nine languages, real index directories with passage windows."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xlqe_lite import Index, InvalidInputError
from xlqe_lite.models.encoder import Encoder
from xlqe_lite.search import SearchEngine

from support.common import E5, SAMPLE

THREADS = 8
DOCS = 36
SEARCHES = 500
QUERIES = [
    "Panthers defense interceptions", "wer gewann den Super Bowl", "北京大学", "университет",
    "Denver Broncos quarterback", "la ciudad más grande", "สนามกีฬา", "विश्वविद्यालय", "Nobel prize",
    "ألمانيا", "İstanbul", "the Rhine river", "Kathmandu", "Paris", "Super Bowl 50",
]


@pytest.fixture(scope="module")
def enc(prepared: dict[str, Path]) -> Encoder:
    return Encoder.load(E5, threads=2)


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory, enc: Encoder) -> Path:
    """Four paragraphs per language of the sample corpus, embedded with passage windows by the index
    itself (no vectors passed)."""
    path = tmp_path_factory.mktemp("shared") / "ix"
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if int(r["id"][4:7]) % 10 < 4]
    assert len(rows) == DOCS
    with Index.create(path, vectors=enc.vector_settings()) as index:
        index._encoder = enc  # the encoder the settings name, already loaded: spares a second load
        index.add_many(rows)
    return path


def answer(engine: SearchEngine, i: int, vectors: Any, mode: str = "hybrid") -> list[tuple[str, float, Any]]:
    """Search number `i`: the query and options it stands for, as comparable tuples."""
    q = i % len(QUERIES)
    hits = engine.search(QUERIES[q], k=10, mode=mode, snippets=True, query_vector=vectors[q],
                         langs=["de", "en"] if i % 7 == 0 else None)
    return [(h.id, h.score, h.snippet) for h in hits]


@pytest.mark.model
def test_eight_threads_share_one_engine(sample_index: Path, enc: Encoder) -> None:
    engine = SearchEngine(Index.open(sample_index), enc)
    assert engine.index.passage_count > 0 and engine.index.vector_count == DOCS
    vectors = enc.encode_queries(QUERIES)
    for mode, searches in (("hybrid", SEARCHES), ("dense", SEARCHES // 10), ("bm25", SEARCHES // 10)):
        alone = {i: answer(engine, i, vectors, mode) for i in range(7 * len(QUERIES))}
        # Dense ranks every document; BM25 on 36 documents meets few of these queries' words.
        found = sum(map(bool, alone.values()))
        assert found == len(alone) if mode != "bm25" else found >= len(alone) // 10, (mode, found)
        errors: list[BaseException] = []
        wrong: list[int] = []

        def work(t: int) -> None:
            for n in range(searches):
                i = (t * 131 + n) % len(alone)
                try:
                    if answer(engine, i, vectors, mode) != alone[i]:
                        wrong.append(i)
                except Exception as e:  # counted, not raised: the test reports how many failed
                    errors.append(e)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(work, range(THREADS)))
        total = THREADS * searches
        assert not errors, f"{mode}: {len(errors)} of {total} searches failed, e.g. {errors[0]!r}"
        assert not wrong, f"{mode}: {len(wrong)} of {total} searches answered differently from the single thread"
    # Queries embedded by each thread: the shared encoder and index together.
    with ThreadPoolExecutor(THREADS) as pool:
        found = list(pool.map(lambda q: engine.search(q, k=3)[0].id, QUERIES[:THREADS]))
    assert found == [engine.search(q, k=3)[0].id for q in QUERIES[:THREADS]]


WRITER = textwrap.dedent("""
    import sys
    from xlqe_lite import Index
    with Index.open(sys.argv[1], writer=True) as index:
        index.add("new-1", "Die Zugspitze ist mit 2962 Metern der höchste Berg Deutschlands.", lang="de")
        index.delete("xq-p000.en")
    print("committed", flush=True)
""")


def copy_index(source: Path, path: Path) -> Path:
    path.mkdir()
    for f in source.iterdir():
        if f.name != "xlqe.lock":
            (path / f.name).write_bytes(f.read_bytes())
    return path


@pytest.mark.model
def test_reload_picks_up_a_commit_from_another_process_while_threads_search(tmp_path: Path, sample_index: Path,
                                                                          enc: Encoder) -> None:
    path = copy_index(sample_index, tmp_path / "ix")
    engine = SearchEngine(Index.open(path), enc)
    before = engine.index.generation
    query = "höchster Berg Deutschlands Zugspitze"
    assert engine.reload() is False, "nothing new yet"
    assert "new-1" not in [h.id for h in engine.search(query, k=10)]

    stop, errors, searched = threading.Event(), [], [0]

    def search_until_stopped() -> None:
        while not stop.is_set():
            try:
                engine.search(query, k=5, snippets=True)
                searched[0] += 1
            except Exception as e:
                errors.append(e)

    threads = [threading.Thread(target=search_until_stopped) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        # The writer embeds its document itself (the index names its encoder) and commits.
        done = subprocess.run([sys.executable, "-c", WRITER, str(path)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "committed" in done.stdout, done.stderr
        assert engine.index.generation == before, "a reader stays on its commit until it reloads"
        assert engine.reload() is True
        assert engine.reload() is False
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, f"{len(errors)} searches failed around the reload, e.g. {errors[0]!r}"
    assert searched[0] > 0
    assert engine.index.generation == before + 1 and "xq-p000.en" not in engine.index
    for mode in ("bm25", "dense", "hybrid"):
        assert engine.search(query, k=1, mode=mode)[0].id == "new-1", mode
    assert engine.index.verify() == []


@pytest.mark.model
def test_add_without_a_vector_embeds_the_text_with_the_index_encoder(tmp_path: Path, sample_index: Path,
                                                                    enc: Encoder) -> None:
    index = Index.open(copy_index(sample_index, tmp_path / "ix"), writer=True)
    text = "Die Zugspitze ist mit 2962 Metern der höchste Berg Deutschlands."
    index.add("new-1", text, lang="de")  # no vector: the index loads its encoder (e5) and embeds
    assert index.vector_count == DOCS + 1
    own = enc.encode_queries([text])[0]
    assert index.search_vector(own, k=1)[0].id == "new-1", "the document ranks first for its own words"
    stored = index.search_vector(enc.encode_passages([text])[0], k=1)[0]
    assert stored.id == "new-1" and stored.score == pytest.approx(1.0, abs=0.01), "embedded as xlqe index does"
    # A batch without vectors is embedded too, passage windows included for a long text.
    long = " ".join([text] * 12)
    index.add_many([{"id": "new-2", "text": long, "lang": "de"}, {"id": "new-3", "text": "Der Rhein", "lang": "de"}])
    assert index.vector_count == DOCS + 3 and index.passage_count > Index.open(sample_index).passage_count
    index.commit()
    assert Index.open(tmp_path / "ix").verify() == []


def test_add_without_a_vector_is_refused_when_the_index_names_no_encoder(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "ix", vectors={"dims": 4})
    index.add("a", "with a vector", vector=np.ones(4, dtype=np.float32))
    with pytest.raises(InvalidInputError, match=r"'b' has no vector.*4-dimensional.*without naming the encoder"):
        index.add("b", "without one")
    with pytest.raises(InvalidInputError, match="'c' has no vector"):
        index.add_many([{"id": "c", "text": "x"}, {"id": "d", "text": "y"}])
    with pytest.raises(InvalidInputError, match="own vectors"):
        index.add_many([{"id": "e", "text": "x"}], passages=[np.ones((1, 4), dtype=np.float32)])
    assert index.ids() == ["a"] and index.vector_count == 1
    index.commit()
    assert Index.open(tmp_path / "ix").verify() == []
    # A lexical index takes text alone, as always.
    plain = Index.create(tmp_path / "plain")
    plain.add("a", "text only")
    assert plain.ids() == ["a"]
