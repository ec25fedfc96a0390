"""Property-based fuzzing of the Python-facing paths (hypothesis): the analyzer, index add/delete/commit/
reopen round trips, the query path, the JSONL and text loader, fusion and the manifest. Whatever the input,
the result is an answer or a typed error (`XlqeError`, or `UnicodeEncodeError` for a str Python itself
cannot encode), never a crash, and the index stays consistent.

Bounded so the whole file adds well under a minute; the Rust side is fuzzed for hours with cargo-fuzz
(rust_core/fuzz/, figures in BENCHMARKS.md).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from xlqe_lite import Index, IndexCorruptError, InvalidInputError, XlqeError, analyze
from xlqe_lite._core import fuse
from xlqe_lite.ingest.sources import Skipped, iter_documents

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that break naive text handling: direction marks and overrides, combining marks, joiners,
# NUL and other controls, BOM, noncharacters, astral and private-use code points, scripts the analyzer
# segments (CJK, Thai), Arabic tatweel, case-mapping oddities, line and paragraph separators.
ODD = [
    "\u202e", "\u202d", "\u200f", "\u200e", "\u2066", "\u2069", "\u0301", "\u0308", "\u0338", "\u20dd",
    "\u200d", "\u200c", "\u200b", "\x00", "\x01", "\x1c", "\x7f", "\ufeff", "\ufffd", "\ufffe", "\uffff",
    "\U0010ffff", "\U000e0001", "\ue000", "👩\u200d👩\u200d👧", "🇩🇪", "e\u0301", "ﷺ", "İ", "ı", "ß", "ẞ", "ǅ",
    "ﬃ", "ก\u0e34", "ภาษาไทย", "한국어", "北京大学", "\u0640", "\r\n", "\t", "\u2028", "\u2029", "\u00a0",
    "\u3000", "٣", "𝔘𝔫𝔦", "Σ", "ς", "\u0345", "\u1e9e", "\u0130\u0307", "a" * 300, "-", "'", "’", "_", ".",
]
LANGS = [None, "en", "de", "fr", "ru", "ar", "hi", "zh", "ja", "th", "tr", "el", "fi"]
# Unicode White_Space: a query made only of these is empty.
WHITESPACE = " \t\n\x0b\x0c\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

odd_text = st.lists(st.one_of(st.sampled_from(ODD), st.text(max_size=12)), max_size=30).map("".join)
# Plain Unicode (hypothesis' default alphabet: every code point but surrogates), odd mixtures, and
# mixtures repeated into long texts.
texts = st.one_of(
    st.text(max_size=200),
    odd_text,
    st.builds(lambda s, n: (s * n)[:100_000], odd_text.filter(bool), st.integers(1, 3000)),
)
# Strings holding at least one lone surrogate: what json.loads("\"\\ud800\"") or a bad decode hands over.
with_surrogates = st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=10), st.characters(categories=["Cs"]), st.text(max_size=10)
)


# -- analyzer ----------------------------------------------------------------------------------------
@FAST
@given(text=texts, lang=st.sampled_from(LANGS), stem=st.booleans(), stopwords=st.booleans())
def test_analyze_any_text_gives_nonempty_terms(text: str, lang: Optional[str], stem: bool, stopwords: bool) -> None:
    terms = analyze(text, lang, stem=stem, stopwords=stopwords)
    assert all(isinstance(t, str) and t for t in terms)
    # Bounded output: never more terms than characters (CJK bigrams are the densest, one per character).
    assert len(terms) <= len(text)
    assert analyze(text, lang, stem=stem, stopwords=stopwords) == terms  # deterministic


@settings(max_examples=50, deadline=None)
@given(text=with_surrogates, lang=st.sampled_from(LANGS))
def test_analyze_refuses_lone_surrogates_cleanly(text: str, lang: Optional[str]) -> None:
    with pytest.raises(UnicodeEncodeError):
        analyze(text, lang)


@settings(max_examples=50, deadline=None)
@given(tag=st.text(max_size=30))
def test_unknown_language_tags_are_invalid_input(tag: str) -> None:
    try:
        analyze("some words", tag)
    except (InvalidInputError, UnicodeEncodeError):
        pass


# -- index round trips ---------------------------------------------------------------------------------
ids = st.one_of(st.sampled_from(["a", "b", "c", "ü", "北京", "\u202eid", "x" * 4096, "é" * 2100]), st.text(min_size=1, max_size=8))


class IndexRoundTrip(RuleBasedStateMachine):
    """Adds, deletes, commits, rollbacks and reopenings in any order against a model: a dict of the
    pending state and one of the committed state. After every step the writer agrees with the pending
    model; a fresh reader agrees with the committed one and passes `verify`."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="xlqe-prop-"))
        self.path = self.dir / "ix"
        self.index = Index.create(self.path)
        self.pending: dict[str, str] = {}
        self.committed: dict[str, str] = {}

    def teardown(self) -> None:
        self.index.close()
        reader = Index.open(self.path)
        assert reader.verify() == []
        assert set(reader.ids()) == set(self.committed)
        reader.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(doc_id=ids, text=texts, lang=st.sampled_from(LANGS), meta=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2))
    def add(self, doc_id: str, text: str, lang: Optional[str], meta: dict) -> None:
        if len(doc_id.encode()) > 4096:
            with pytest.raises(InvalidInputError):
                self.index.add(doc_id, text, lang=lang)
            return
        self.index.add(doc_id, text, lang=lang, metadata=meta)
        self.pending[doc_id] = text

    @rule(doc_id=with_surrogates)
    def add_unencodable(self, doc_id: str) -> None:
        with pytest.raises((XlqeError, UnicodeEncodeError)):
            self.index.add(doc_id, "text")

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        doc_id = data.draw(st.sampled_from(sorted(self.pending)))
        assert self.index.delete(doc_id)
        del self.pending[doc_id]
        assert not self.index.delete(doc_id)

    @rule()
    def commit(self) -> None:
        self.index.commit()
        self.committed = dict(self.pending)

    @rule()
    def rollback(self) -> None:
        self.index.rollback()
        self.pending = dict(self.committed)

    @rule()
    def reopen(self) -> None:
        self.index.close()  # uncommitted work is dropped
        self.index = Index.open(self.path, writer=True)
        self.pending = dict(self.committed)

    @rule(query=texts, lang=st.sampled_from(LANGS))
    def search(self, query: str, lang: Optional[str]) -> None:
        try:
            hits = self.index.search(query, k=20, lang=lang, snippets=True)
        except InvalidInputError as e:
            assert "empty" in str(e) and not query.strip(WHITESPACE), (query, e)
            return
        assert query.strip(WHITESPACE)
        found = [h.id for h in hits]
        assert len(found) == len(set(found)) and set(found) <= set(self.pending)
        scores = [h.score for h in hits]
        assert all(math.isfinite(s) and s > 0 for s in scores) and scores == sorted(scores, reverse=True)

    @invariant()
    def writer_agrees_with_the_pending_model(self) -> None:
        assert len(self.index) == len(self.pending)
        for doc_id in list(self.pending)[:5]:
            stored = self.index.get(doc_id)
            assert stored is not None and stored.text == self.pending[doc_id]

    @invariant()
    def a_reader_sees_the_committed_model(self) -> None:
        reader = Index.open(self.path)
        assert len(reader) == len(self.committed) and reader.verify() == []
        for doc_id in list(self.committed)[:5]:
            assert reader.get(doc_id).text == self.committed[doc_id]  # type: ignore[union-attr]
        reader.close()


IndexRoundTrip.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
test_index_round_trips_stay_consistent = IndexRoundTrip.TestCase


def test_xlqe_check_passes_after_random_round_trips(tmp_path: Path, xlqe) -> None:
    """The same kind of history as above, then the command a user runs: `xlqe check` says ok."""
    import random

    rng = random.Random(6)
    path = tmp_path / "ix"
    index = Index.create(path)
    alive: set[str] = set()
    for step in range(400):
        doc_id = f"d{rng.randrange(60)}"
        action = rng.random()
        if action < 0.6:
            index.add(doc_id, rng.choice(ODD) * rng.randrange(1, 50) + f" word{step}", lang=rng.choice(LANGS))
            alive.add(doc_id)
        elif action < 0.8:
            index.delete(doc_id)
            alive.discard(doc_id)
        elif action < 0.95:
            index.commit()
        else:
            index.rollback()
            alive = set(Index.open(path).ids())
    index.commit()
    index.close()
    report = json.loads(xlqe("check", str(path), "--json").stdout)
    assert report["ok"] and report["documents"] == len(alive), report


# -- the query path ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    path = tmp_path_factory.mktemp("query") / "ix"
    with Index.create(path) as index:
        for i, (text, lang) in enumerate([
            ("The Panthers won the Super Bowl.", "en"), ("Die Broncos gewannen den Super Bowl.", "de"),
            ("北京大学是中国的一所大学。", "zh"), ("ทุกสองสัปดาห์ คะแนน", "th"), ("دفاع الفريق", "ar"),
            ("\u202eRTL e\u0301\u0301 \x00NUL\x00", None),
        ]):
            index.add(f"d{i}", text, lang=lang)
    return Index.open(path)


@FAST
@given(
    query=st.one_of(texts, st.text(alphabet=WHITESPACE, max_size=20), st.builds(lambda s: s * 40_000, st.sampled_from(ODD))),
    lang=st.one_of(st.sampled_from(LANGS), st.text(max_size=6)),
    langs=st.one_of(st.none(), st.lists(st.sampled_from(["en", "de", "zh", "th", "ar", "ja"]), max_size=3)),
    k=st.integers(0, 50),
)
def test_any_query_gives_hits_or_a_clear_error(small_index: Index, query: str, lang: Optional[str],
                                               langs: Optional[list[str]], k: int) -> None:
    try:
        hits = small_index.search(query, k=k, lang=lang, langs=langs, snippets=True)
    except InvalidInputError as e:
        message = str(e)
        assert ("empty" in message and not query.strip(WHITESPACE)) or "language code" in message \
            or "limit is" in message, message
        return
    assert len(hits) <= k and len({h.id for h in hits}) == len(hits)
    assert all(math.isfinite(h.score) for h in hits)
    for h in hits:
        assert h.snippet is not None and all(0 <= a <= b <= len(h.snippet) for a, b in h.highlights)


@settings(max_examples=40, deadline=None)
@given(query=with_surrogates)
def test_unencodable_queries_are_refused(small_index: Index, query: str) -> None:
    with pytest.raises((XlqeError, UnicodeEncodeError)):
        small_index.search(query)


def test_empty_and_huge_queries(small_index: Index) -> None:
    for blank in ["", " ", "\t\n", "\u3000\u2028", WHITESPACE]:
        with pytest.raises(InvalidInputError, match="empty"):
            small_index.search(blank)
    assert small_index.search("bowl " * 200_000, k=3)  # 1 MB: at the limit, still answered
    with pytest.raises(InvalidInputError, match="limit"):
        small_index.search("bowl " * 220_000)


# LLM output of any shape, once it is turned into weighted terms for the index.
weights = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0.001, 1e6))


@FAST
@given(terms=st.lists(st.tuples(st.one_of(st.sampled_from(["panther", "bowl", "super", "大学", ""]), texts), weights), max_size=30),
       k=st.integers(0, 30))
def test_weighted_terms_of_any_shape(small_index: Index, terms: list[tuple[str, float]], k: int) -> None:
    with np.errstate(over="ignore"):
        valid = all(0 < np.float32(w) <= 1e6 for _, w in terms)  # the core takes f32 weights
    try:
        hits = small_index.search_terms(terms, k=k)
    except InvalidInputError as e:
        assert not valid, e
        return
    assert valid and len(hits) <= k
    assert all(math.isfinite(h.score) and h.score > 0 for h in hits)


# -- fusion ------------------------------------------------------------------------------------------
scores = st.one_of(st.floats(-1e6, 1e6), st.floats(allow_nan=True, allow_infinity=True))
ranked = st.lists(st.tuples(st.sampled_from("abcdefgh"), scores), max_size=8)


@FAST
@given(lists=st.lists(ranked, max_size=4), data=st.data(), method=st.sampled_from(["rrf", "minmax", "zscore", "borda"]),
       rrf_k=st.floats(allow_nan=True, allow_infinity=True), k=st.integers(0, 20))
def test_fusion_of_any_lists_is_ranked_or_refused(lists: list, data: st.DataObject, method: str, rrf_k: float, k: int) -> None:
    n_weights = data.draw(st.sampled_from([len(lists), len(lists) + 1]))
    list_weights = data.draw(st.lists(st.one_of(st.floats(0, 10), scores), min_size=n_weights, max_size=n_weights))
    item_weights = data.draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), st.lists(st.floats(0, 5), max_size=8)),
                                                           min_size=len(lists), max_size=len(lists))))
    try:
        fused = fuse(lists, list_weights, method, rrf_k, k, item_weights)
    except InvalidInputError:
        return
    assert method != "borda" and len(list_weights) == len(lists)
    keys = [key for key, _, _ in fused]
    assert len(keys) <= k and len(set(keys)) == len(keys)
    assert set(keys) <= {key for lst in lists for key, _ in lst}
    assert all(math.isfinite(s) for _, s, _ in fused)
    assert [s for _, s, _ in fused] == sorted((s for _, s, _ in fused), reverse=True)
    assert all(len(sources) == len(lists) for _, _, sources in fused)


# -- the file loader ---------------------------------------------------------------------------------
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10), with_surrogates),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10,
)
jsonl_lines = st.one_of(
    # Records, whole or partial, whose strings may hold lone surrogates (json.dumps escapes them as \udXXX).
    st.builds(lambda i, t, lang, extra: json.dumps({"id": i, "text": t, "lang": lang, **extra}),
              st.one_of(ids, st.integers(), with_surrogates, st.just("")), st.one_of(texts, with_surrogates),
              st.one_of(st.none(), st.sampled_from(LANGS), st.text(max_size=4)), st.dictionaries(st.text(max_size=4), json_values, max_size=3)),
    json_values.map(json.dumps),
    st.text(max_size=40),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 3000)),
    st.sampled_from(['{"id": "n", "text": "x", "v": NaN}', '{"id": "i", "text": "x", "v": 1e999}',
                     '{"id": ' + "9" * 5000 + ', "text": "x"}', '{"id": "e", "text": "\\\\ud800 escaped"}']),
)


def _index_all(items: list, path: Path) -> Index:
    documents = [d for d in items if not isinstance(d, Skipped)]
    for d in documents:  # every document the loader yields can be stored as it is
        d.text.encode("utf-8")
        d.id.encode("utf-8")
    index = Index.create(path)
    index.add_many(documents)
    index.commit()
    assert index.verify() == [] and len(index) == len({d.id for d in documents})
    return index


@settings(max_examples=120, deadline=None)
@given(lines=st.lists(jsonl_lines, max_size=12))
def test_jsonl_of_any_shape_loads_or_skips_line_by_line(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "docs.jsonl"
        source.write_text("\n".join(lines), encoding="utf-8")
        items = list(iter_documents([str(source)]))
        assert all(isinstance(i, Skipped) or i.text is not None for i in items)
        assert len(items) <= "\n".join(lines).count("\n") + 1
        _index_all(items, Path(tmp) / "ix").close()


@settings(max_examples=100, deadline=None)
@given(files=st.lists(st.tuples(st.sampled_from([".txt", ".md", ".jsonl", ".png", ""]),
                                st.one_of(st.binary(max_size=300), texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
                                          st.builds(lambda b: b"\xef\xbb\xbf" + b, st.binary(max_size=50)))),
                      max_size=6))
def test_folders_of_arbitrary_bytes_never_stop_a_run(files: list[tuple[str, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for n, (suffix, data) in enumerate(files):
            (folder / f"f{n}{suffix}").write_bytes(data)
        items = list(iter_documents([str(folder)], detect=True))
        _index_all(items, Path(tmp) / "ix").close()


def test_surrogate_escapes_in_json_become_replacement_characters(tmp_path: Path) -> None:
    source = tmp_path / "docs.jsonl"
    source.write_text("\n".join([
        r'{"id": "lone", "text": "before \ud800 after", "metadata": {"k\udfff": "v"}}',
        r'{"id": "pair", "text": "emoji \ud83d\ude00"}',
        r'{"id": "escaped", "text": "a backslash: \\ud800"}',
        r'{"id": "deep", "text": "x", "m": ' + "[" * 500 + "]" * 500 + "}",
        r'{"id": "deeper", "text": "x", "m": ' + "[" * 5000 + "]" * 5000 + "}",
        r'{"id": "", "text": "empty id"}',
    ]), encoding="utf-8")
    items = list(iter_documents([str(source)], detect=False))
    docs = {d.id: d for d in items if not isinstance(d, Skipped)}
    assert docs["lone"].text == "before \ufffd after" and docs["lone"].metadata == {"k\ufffd": "v"}
    assert docs["pair"].text == "emoji 😀"
    assert docs["escaped"].text == "a backslash: \\ud800"
    reasons = [s.reason for s in items if isinstance(s, Skipped)]
    assert len(reasons) == 3 and any("nested" in r for r in reasons) and any("id must be" in r for r in reasons)
    index = _index_all(items, tmp_path / "ix")
    assert index.get("lone").text == "before \ufffd after"  # type: ignore[union-attr]


def test_line_separators_inside_json_strings_do_not_split_records(tmp_path: Path) -> None:
    source = tmp_path / "docs.jsonl"
    texts = ["para\u2028graph", "next\x85line", "file\x1cseparator", "crlf\r\nend"]
    source.write_text("\r\n".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) for i, t in enumerate(texts)) + "\r\n",
                      encoding="utf-8")
    items = list(iter_documents([str(source)], detect=False))
    assert [(d.id, d.text) for d in items] == [(str(i), t) for i, t in enumerate(texts)]  # type: ignore[union-attr]


# -- the manifest ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def committed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "ix"
    with Index.create(path) as index:
        index.add_many({"id": f"d{i}", "text": f"document {i} about rivers", "lang": "en"} for i in range(20))
    return path


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_damaged_manifest_is_refused_or_harmless(committed_index: Path, data: st.DataObject) -> None:
    manifest = committed_index / "xlqe.manifest"
    original = manifest.read_bytes()
    kind = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    damaged = bytearray(original)
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 3))):
            damaged[data.draw(st.integers(0, len(damaged) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "truncate":
        damaged = damaged[: data.draw(st.integers(0, len(damaged) - 1))]
    else:
        at = data.draw(st.integers(0, len(damaged)))
        damaged[at:at] = data.draw(st.binary(min_size=1, max_size=20))
    assume(bytes(damaged) != original)
    scratch = Path(tempfile.mkdtemp(prefix="xlqe-manifest-"))
    try:
        for f in committed_index.iterdir():
            shutil.copy(f, scratch / f.name)
        (scratch / "xlqe.manifest").write_bytes(bytes(damaged))
        try:
            reader = Index.open(scratch)
        except IndexCorruptError:
            return
        # Accepted: only changes that are not content (whitespace, key order) get here.
        assert json.loads(bytes(damaged)) == json.loads(original)
        assert len(reader) == 20 and reader.verify() == [] and reader.search("rivers")
        reader.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
