"""Coverage-guided fuzzing of the Python-facing paths with atheris (libFuzzer for Python), by hand:

    .venv/bin/pip install atheris==3.0.0
    .venv/bin/python fuzz/atheris_targets.py TARGET [CORPUS_DIR] -max_total_time=600
      TARGET: analyze | query | jsonl | manifest

The Python package is instrumented, so the loader's branches (sources.py) guide the search; the Rust
core is a black box here (cargo-fuzz covers it from the inside: rust_core/fuzz). Any exception other
than the typed errors the API documents is a finding; libFuzzer saves the input as crash-*.
The suite's bounded version of the same properties: tests/unit/test_fuzz_properties.py.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from xlqe_lite import Index, IndexCorruptError, InvalidInputError, analyze
    from xlqe_lite.ingest.sources import Skipped, iter_documents

LANGS = [None, "en", "de", "ar", "hi", "ru", "zh", "th", "tr"]
WORK = Path(tempfile.mkdtemp(prefix="xlqe-atheris-"))


def _text(fdp: atheris.FuzzedDataProvider) -> str:
    # Unicode of any plane; lone surrogates are what Python itself refuses to encode, so they are skipped.
    return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 4096))


def fuzz_analyze(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    lang = LANGS[fdp.ConsumeIntInRange(0, len(LANGS) - 1)]
    stem, stopwords = fdp.ConsumeBool(), fdp.ConsumeBool()
    text = _text(fdp)
    terms = analyze(text, lang, stem=stem, stopwords=stopwords)
    assert all(terms) and len(terms) <= len(text)


_INDEX: list[Index] = []


def _small_index() -> Index:
    if not _INDEX:
        path = WORK / "query-ix"
        with Index.create(path) as index:
            for i, (text, lang) in enumerate([("The Panthers won the Super Bowl.", "en"),
                                              ("Die Broncos gewannen den Super Bowl.", "de"),
                                              ("北京大学是中国的一所大学。", "zh"), ("دفاع الفريق", "ar")]):
                index.add(f"d{i}", text, lang=lang)
        _INDEX.append(Index.open(path))
    return _INDEX[0]


def fuzz_query(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    lang = LANGS[fdp.ConsumeIntInRange(0, len(LANGS) - 1)]
    k = fdp.ConsumeIntInRange(0, 30)
    query = _text(fdp)
    try:
        hits = _small_index().search(query, k=k, lang=lang, snippets=fdp.ConsumeBool())
    except InvalidInputError:
        return
    assert len(hits) <= k


def fuzz_jsonl(data: bytes) -> None:
    source = WORK / "docs.jsonl"
    source.write_bytes(data)
    items = list(iter_documents([str(source)]))
    docs = [d for d in items if not isinstance(d, Skipped)]
    path = WORK / "jsonl-ix"
    shutil.rmtree(path, ignore_errors=True)
    with Index.create(path) as index:
        index.add_many(docs)
    assert Index.open(path).verify() == []


_MANIFEST: list[bytes] = []


def fuzz_manifest(data: bytes) -> None:
    path = WORK / "manifest-ix"
    if not _MANIFEST:
        with Index.create(path) as index:
            index.add_many({"id": f"d{i}", "text": f"document {i} about rivers", "lang": "en"} for i in range(10))
        _MANIFEST.append((path / "xlqe.manifest").read_bytes())
    (path / "xlqe.manifest").write_bytes(data)
    try:
        index = Index.open(path)
    except IndexCorruptError:
        return
    assert json.loads(data) == json.loads(_MANIFEST[0]), "a changed manifest was accepted"
    assert index.verify() == [] and len(index) == 10


TARGETS = {"analyze": fuzz_analyze, "query": fuzz_query, "jsonl": fuzz_jsonl, "manifest": fuzz_manifest}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv.pop(1)]
    try:
        atheris.Setup(sys.argv, target)
        atheris.Fuzz()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
