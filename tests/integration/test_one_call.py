"""One call per query (issue 14): `SearchEngine.search` on a plain `Index` runs the whole retrieval in the
Rust core (`LexicalIndex.retrieve`, search/plan.py). It must rank and score exactly as the lists route
(Python over `Index.search`, `search_terms`, `search_vector`, `_core.fuse` and `calibrated_merge`), which a
sharded index still takes: same ids in the same order, scores within 1e-6, same explanations, snippets and
places, on a real index of several languages embedded with the real encoder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import pytest

from xlqe_lite import _core
from xlqe_lite.expansion import Expansion
from xlqe_lite.expansion.prompts import Shots
from xlqe_lite.index import Hit, Index
from xlqe_lite.ingest.sync import passage_offsets
from xlqe_lite.search import FusionConfig, SearchEngine

pytestmark = [pytest.mark.model, pytest.mark.bench]

LANGS = ("en", "de", "zh")


class ListRoute:
    """The same index behind a handle that is not an `Index`: the engine then takes the lists route."""

    def __init__(self, index: Index) -> None:
        self._index = index

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    def __len__(self) -> int:
        return len(self._index)


def _rows(bench: Path, name: str, lang: str) -> dict[str, str]:
    with open(bench / "xquad" / f"{name}.{lang}.jsonl", encoding="utf-8") as f:
        return {r["id"].rsplit(".", 1)[0]: r["text"] for r in map(json.loads, f)}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, bench: Path, prepared) -> tuple[Index, Any, list[tuple[str, str, list[Expansion]]]]:
    """60 XQuAD paragraphs, each in one of English, German and Chinese, 6 more with no language; short passage
    windows, and every other document placed as a file (passage offsets, sections with pages and chapters)."""
    from xlqe_lite.models.encoder import Encoder

    corpora = {lang: _rows(bench, "corpus", lang) for lang in LANGS}
    bases = sorted(corpora["en"])[:66]
    docs = [(f"{b}.{LANGS[i % 3]}", corpora[LANGS[i % 3]][b], LANGS[i % 3] if i < 60 else None) for i, b in enumerate(bases)]
    encoder = Encoder.load("multilingual-e5-small", threads=2)
    settings = replace(encoder.vector_settings(True), passage_tokens=48, passage_stride=32)
    index = Index.create(tmp_path_factory.mktemp("one-call") / "index", vectors=settings)
    texts = [t for _, t, _ in docs]
    vectors, passages = encoder.encode_documents(texts, settings.passage_tokens, settings.passage_stride)
    windows = encoder.passage_windows_many(texts, settings.passage_tokens, settings.passage_stride)
    records = []
    for n, ((doc_id, text, lang), ws) in enumerate(zip(docs, windows)):
        meta: dict[str, Any] = {}
        if n % 2 == 0:
            meta = {"passages": passage_offsets(text, ws), "sections": [[0, 1, "Intro"], [len(text) // 2, 2, None]]}
        records.append({"id": doc_id, "text": text, "lang": lang, "metadata": meta})
    index.add_many(records, vectors=vectors, passages=passages)
    index.commit()
    # Questions in each language, with hand-made expansions: the same question in the other languages (a
    # faithful translation passes the similarity screen) and one text for the query's own language.
    questions = {lang: _rows(bench, "queries", lang) for lang in LANGS}
    queries = []
    for i, qid in enumerate(sorted(questions["en"])[:60:10]):
        lang = LANGS[i % 3]
        expansions = [Expansion("translate", Shots.ZERO, other, (questions[other][qid],), False, 0.0)
                      for other in LANGS if other != lang]
        expansions.append(Expansion("rewrite", Shots.ZERO, None, (questions[lang][qid] + " ?",), False, 0.0))
        queries.append((lang, questions[lang][qid], expansions))
    return index, encoder, queries


def _same(one: list[Hit], lists: list[Hit]) -> None:
    assert [h.id for h in one] == [h.id for h in lists]
    for a, b in zip(one, lists):
        assert a.score == pytest.approx(b.score, abs=1e-6), (a.id, a.score, b.score)
        assert (a.lang, a.key, a.snippet, a.highlights, a.place) == (b.lang, b.key, b.snippet, b.highlights, b.place)
        if b.explanation is None:
            assert a.explanation is None
            continue
        assert a.explanation is not None
        ea, eb = a.explanation, b.explanation
        assert (ea.query_lang, ea.query_script, ea.method, ea.expansions) == (eb.query_lang, eb.query_script, eb.method, eb.expansions)
        assert list(ea.lists) == list(eb.lists)
        for name, entry in eb.lists.items():
            other = ea.lists[name]
            assert (other is None) == (entry is None), name
            if entry is not None and other is not None:
                assert (other.rank, other.score) == (entry.rank, entry.score), name
                assert other.weight == pytest.approx(entry.weight, abs=1e-6), name
        assert (ea.calibration is None) == (eb.calibration is None)
        if ea.calibration is not None and eb.calibration is not None:
            assert ea.calibration.lang == eb.calibration.lang
            assert ea.calibration.fused == pytest.approx(eb.calibration.fused, abs=1e-6)
            assert ea.calibration.z == pytest.approx(eb.calibration.z, abs=1e-6)


FUSIONS = {
    "per_language": FusionConfig(),
    "pooled": FusionConfig(calibration="pooled"),
    "on_dense_rrf": FusionConfig(calibrate_on="dense", method="rrf"),
    # Every language shorter than min_calibration: measured on its dense scores and the pooled spread (hybrid,
    # dense), or one shared list (bm25: no dense scores).
    "few_candidates": FusionConfig(min_calibration=150, depth=20),
}


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_one_call_ranks_as_the_lists_route(mixed, fusion: str, mode: str) -> None:
    index, encoder, queries = mixed
    one = SearchEngine(index, encoder, FUSIONS[fusion])
    lists = SearchEngine(ListRoute(index), encoder, FUSIONS[fusion])  # type: ignore[arg-type]
    assert isinstance(one.index, Index) and not isinstance(lists.index, Index)
    fused_seen = 0
    for lang, query, expansions in queries:
        vector = encoder.encode_queries([query])[0]
        for expanded in (None, expansions):
            for explain, snippets in ((False, False), (True, True), (True, False), (False, True)):
                kwargs: dict[str, Any] = dict(k=10, mode=mode, lang=lang, query_vector=vector, expansions=expanded,
                                              explain=explain, snippets=snippets, snippet_chars=80)
                a, b = one.search(query, **kwargs), lists.search(query, **kwargs)
                assert a, (query, kwargs)
                _same(a, b)
                fused_seen += sum(h.explanation is not None and h.explanation.method is not None for h in a)
        # The languages a search keeps, and the query's language unknown.
        for langs, qlang in ((["de", "zh"], None), (["en"], lang)):
            _same(one.search(query, k=7, mode=mode, lang=qlang, langs=langs, query_vector=vector, explain=True),
                  lists.search(query, k=7, mode=mode, lang=qlang, langs=langs, query_vector=vector, explain=True))
    if mode == "hybrid" or fusion != "pooled":
        assert fused_seen > 0


def test_snippets_come_from_the_best_passage_window_with_its_place(mixed) -> None:
    """The one-call route cuts passage-window snippets of file documents and says where they are."""
    index, encoder, queries = mixed
    engine = SearchEngine(index, encoder)
    placed = [h for lang, q, _ in queries for h in engine.search(q, lang=lang, snippets=True, snippet_chars=80)
              if h.place is not None]
    assert placed, "no hit got a passage window's snippet"
    for h in placed:
        doc = index.get(h.id)
        assert doc is not None and h.snippet
        start, end = h.place["start"], h.place["end"]
        window = doc.text[start:end]
        assert h.snippet.strip("…").strip()[:20] in window
        assert h.place["page"] in (1, 2) and h.place["passage"] >= 0


def test_languages_are_counted_once_per_commit(tmp_path) -> None:
    index = Index.create(tmp_path / "ix")
    index.add("a", "hello world", lang="en")
    index.add("b", "hallo welt", lang="de")
    index.add("c", "hallo", lang="de")
    assert index.languages() == [("de", 2), ("en", 1)]  # uncommitted changes: counted as they are
    index.commit()
    assert index.languages() == [("de", 2), ("en", 1)]
    index.delete("b")
    index.add("d", "bonjour", lang="fr")
    assert index.languages() == [("de", 1), ("en", 1), ("fr", 1)]
    index.rollback()
    assert index.languages() == [("de", 2), ("en", 1)]
    reader = Index.open(tmp_path / "ix")
    assert reader.languages() == [("de", 2), ("en", 1)]


def test_the_plan_refuses_what_it_cannot_run(mixed) -> None:
    index, _, _ = mixed
    settings = SearchEngine(index)._settings()
    with pytest.raises(_core.InvalidInputError):
        _core.QueryPlan("q", settings, mode="sideways")
    with pytest.raises(_core.InvalidInputError):
        _core.QueryPlan("q", settings, mode="dense")  # no vector
    plan: Optional[_core.QueryPlan] = _core.QueryPlan("Super Bowl", settings, mode="bm25", k=3)
    assert plan is not None
    found = index._core.retrieve(plan)
    assert [h[:4] for h in found] == [tuple(h[:4]) for h in index.search("Super Bowl", k=3)] and found


def test_where_filters_run_inside_the_core_lists(mixed) -> None:
    """A `where=` filter is applied inside each list's top-k (one call, like any search): a filtered BM25 or
    dense list is exactly the first k allowed documents of the whole unfiltered ranking, fused results hold
    only allowed documents and agree with the lists route, and no result is cut short by the filter."""
    import fnmatch

    from xlqe_lite import Filter

    index, encoder, queries = mixed
    engine, lists = SearchEngine(index, encoder), SearchEngine(ListRoute(index), encoder)  # type: ignore[arg-type]
    # Ids end in their language ("<xquad id>.de"); a JSONL document's format is its id's suffix.
    for where, allowed in ((Filter(paths=["*.de", "*.zh"]), lambda i: fnmatch.fnmatchcase(i, "*.de") or fnmatch.fnmatchcase(i, "*.zh")),
                           (Filter(formats=["zh"]), lambda i: i.endswith(".zh")),
                           (Filter(paths=[sorted(index.ids())[5][:6]]), lambda i: i.startswith(sorted(index.ids())[5][:6]))):
        n_allowed = sum(map(allowed, index.ids()))
        assert 0 < n_allowed < len(index)
        for lang, query, expansions in queries:
            vector = encoder.encode_queries([query])[0]
            whole = index.search(query, k=len(index), lang=lang)
            assert [h.id for h in index.search(query, k=5, lang=lang, where=where)] == [h.id for h in whole if allowed(h.id)][:5]
            near = index.search_vector(vector, k=len(index), passage_weight=engine.fusion.passage_weight)
            got = index.search_vector(vector, k=5, passage_weight=engine.fusion.passage_weight, where=where)
            assert [h.id for h in got] == [h.id for h in near if allowed(h.id)][:5]
            for mode in ("hybrid", "bm25", "dense"):
                for expanded in (None, expansions):
                    kwargs: dict[str, Any] = dict(k=10, mode=mode, lang=lang, query_vector=vector, expansions=expanded,
                                                  explain=True, where=where)
                    a = engine.search(query, **kwargs)
                    assert all(allowed(h.id) for h in a), (mode, where)
                    # BM25 finds only documents sharing a term (none, for an English query among Chinese ones)
                    assert len(a) == min(10, n_allowed) or mode == "bm25"
                    _same(a, lists.search(query, **kwargs))
    # A filter that allows nothing finds nothing; one that allows everything changes nothing.
    nothing = Filter(paths=["no-such-prefix/"])
    assert engine.search(queries[0][1], where=nothing) == []
    everything = Filter(paths=["*"])
    q, v = queries[0][1], encoder.encode_queries([queries[0][1]])[0]
    _same(engine.search(q, query_vector=v, where=everything, explain=True), engine.search(q, query_vector=v, explain=True))


def test_globs_match_as_fnmatch() -> None:
    """The core's glob rule is Python's `fnmatch.fnmatchcase`, on patterns made at random from the
    characters that mean something to it."""
    import fnmatch
    import random

    rng = random.Random(7)
    alphabet = ["a", "b", "/", ".", "*", "?", "[", "]", "!", "-", "é", "文"]
    texts = ["".join(rng.choice("ab/.é文-!]") for _ in range(rng.randrange(0, 8))) for _ in range(300)]
    for _ in range(2000):
        pattern = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 7)))
        for text in rng.sample(texts, 10):
            assert _core.glob_match(text, pattern) == fnmatch.fnmatchcase(text, pattern), (text, pattern)
