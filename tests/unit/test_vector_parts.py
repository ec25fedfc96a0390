"""An index keeps each document language's vectors in their own part (files of their own), so a search of
one language walks that language's graph alone; indexes of format version 1 (one file of every
language) are still read, searched and updated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from xlqe_lite import Index

GOLDEN = Path(__file__).resolve().parents[1] / "support" / "golden"
LANGS = ["en", "de", "zh", None]


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def _manifest(path: Path) -> dict:
    return json.loads((path / "xlqe.manifest").read_text())


def _parts(path: Path) -> dict:
    return {p["lang"]: p for p in _manifest(path).get("vector_parts", [])}


def _build(path: Path, n: int, rng: np.random.Generator, **vectors) -> tuple[Index, list[dict], np.ndarray]:
    docs = [{"id": f"d{i}", "text": f"document {i}", "lang": LANGS[i % 4]} for i in range(n)]
    own = _unit(rng.normal(size=(n, 16)))
    index = Index.create(path, vectors={"dims": 16, "metric": "ip", **vectors})
    windows = [_unit(rng.normal(size=(i % 3, 16))) if i % 3 else None for i in range(n)]
    index.add_many(docs, vectors=own, passages=windows)
    index.commit()
    return index, docs, own


def test_each_language_has_its_own_files_and_a_commit_rewrites_only_the_changed(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    index, docs, _ = _build(path, 40, np.random.default_rng(1))
    manifest = _manifest(path)
    assert manifest["format_version"] == 2 and manifest.get("vectors") is None
    parts = _parts(path)
    assert list(parts) == [None, "de", "en", "zh"]  # in language order, the documents of no language first
    assert all(p["vector_count"] == 10 for p in parts.values())
    assert sum(p["passage_count"] for p in parts.values()) == sum(i % 3 for i in range(40))
    for p in parts.values():
        assert (path / p["vectors"]["file"]).is_file()

    index.add("new", "one more", lang="de", vector=_unit(np.ones(16)))
    index.commit()
    after = _parts(path)
    assert after["de"]["vectors"] != parts["de"]["vectors"] and after["de"]["vector_count"] == 11
    assert {k: after[k] for k in (None, "en", "zh")} == {k: parts[k] for k in (None, "en", "zh")}  # not rewritten

    for d in docs:
        if d["lang"] == "zh":
            index.delete(d["id"])
    index.commit()
    assert list(_parts(path)) == [None, "de", "en"]
    assert not (path / parts["zh"]["vectors"]["file"]).exists()  # collected with its part
    assert index.verify() == [] and index.vector_count == 31
    index.close()
    reader = Index.open(path)
    assert reader.verify() == [] and reader.vector_count == 31
    assert reader.search_vector(_unit(np.ones(16)), k=1, langs=["de"])[0].id == "new"
    assert reader.search_vector(_unit(np.ones(16)), k=5, langs=["zh"]) == []


@pytest.mark.parametrize("exact_below", [1_000_000, 0])
def test_searches_of_one_language_and_of_all_find_the_nearest(tmp_path: Path, exact_below: int) -> None:
    rng = np.random.default_rng(2)
    index, docs, own = _build(tmp_path / "ix", 1200, rng, exact_below=exact_below, expansion_search=128)
    index.close()
    reader = Index.open(tmp_path / "ix")
    langs = np.array([d["lang"] or "" for d in docs])
    queries = _unit(rng.normal(size=(30, 16)))
    for lang in (None, "en", "zh"):
        allowed = np.arange(len(docs)) if lang is None else np.flatnonzero(langs == lang)
        recall = []
        for q in queries:
            # passage_weight 0: the documents' own vectors alone, to compare with exact cosine.
            hits = reader.search_vector(q, k=10, langs=None if lang is None else [lang], passage_weight=0.0)
            truth = allowed[np.argsort(-(own[allowed] @ q))[:10]]
            recall.append(len({f"d{i}" for i in truth} & {h.id for h in hits}) / 10)
            assert lang is None or all(h.lang == lang for h in hits)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert np.mean(recall) >= 0.98, (lang, exact_below, np.mean(recall))


def test_an_index_of_format_version_1_is_read_searched_and_updated(tmp_path: Path) -> None:
    path = tmp_path / "v1"
    shutil.copytree(GOLDEN / "index-v1", path)
    assert _manifest(path)["format_version"] == 1 and _manifest(path)["vector_count"] == 12
    # The searches the last core writing version 1 answered on it, answered alike.
    expected = json.loads((GOLDEN / "index-v1.searches.json").read_text())
    reader = Index.open(path)
    assert reader.verify() == []
    for case in expected:
        hits = reader.search_vector(np.array(case["query"], dtype=np.float32), k=5, langs=case["langs"])
        assert [h.id for h in hits] == [h[0] for h in case["hits"]], case
        assert [h.score for h in hits] == pytest.approx([h[1] for h in case["hits"]], abs=1e-6)
    reader.close()

    # A writer adds to a language's part and deletes from the file of every language.
    writer = Index.open(path, writer=True)
    query = np.array(expected[0]["query"], dtype=np.float32)
    writer.add("fr-0", "le fleuve inonde la vieille ville", lang="fr", vector=query)
    writer.add("de-new", "ein neues Dokument", lang="de", vector=_unit(-query))
    writer.delete("de-0")
    writer.commit()
    manifest = _manifest(path)
    assert manifest["format_version"] == 2 and manifest["vector_count"] == 11 and manifest["passage_count"] == 9
    assert {p["lang"]: p["vector_count"] for p in manifest["vector_parts"]} == {"de": 1, "fr": 1}
    assert writer.verify() == []
    hits = writer.search_vector(query, k=20, langs=["de"])
    assert {h.id for h in hits} == {"de-1", "de-2", "de-3", "de-new"} and hits[-1].id == "de-new"
    assert writer.search_vector(query, k=1)[0].id == "fr-0"
    # Once its documents are gone, the file of every language goes too.
    for i in range(4):
        for lang in ("en", "de", "zh"):
            writer.delete(f"{lang}-{i}")
    writer.commit()
    manifest = _manifest(path)
    assert manifest.get("vectors") is None and manifest["vector_count"] == 0 and "passages" not in manifest
    assert not list(path.glob("vec-0000000001*")) and writer.verify() == []
    writer.close()
    reader = Index.open(path)
    assert [h.id for h in reader.search_vector(query, k=5)] == ["fr-0", "de-new"] and reader.verify() == []
