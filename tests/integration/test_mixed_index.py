"""One index of many languages (issue 16): the answer in another language must not sink below noise in the
query's own language only because of the language."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from xlqe_lite.index import Index
from xlqe_lite.models.manifest import DEFAULT_ENCODER
from xlqe_lite.search import FusionConfig, SearchEngine, calibrated_merge


def test_calibrated_merge_compares_each_language_on_its_own_scale() -> None:
    """English scores sit higher overall (the query's language); the Chinese list's top stands out more."""
    en = [("a.en", 0.90), ("b.en", 0.89), ("c.en", 0.88), ("d.en", 0.87)]
    zh = [("a.zh", 0.86), ("b.zh", 0.70), ("c.zh", 0.69), ("d.zh", 0.68)]
    merged = calibrated_merge([en, zh], k=3, heads=(4,), min_calibration=2)
    assert [d for d, _, _ in merged] == ["a.zh", "a.en", "b.en"]
    assert merged[0][2] == pytest.approx(0.86)  # the fused score rides along
    # Averaging over two heads: the near competitors and the wider field.
    both = calibrated_merge([en, zh], k=8, heads=(2, 4), min_calibration=2)
    assert len(both) == 8 and both[0][0] == "a.zh"


def test_short_lists_borrow_the_statistics_of_the_long_ones() -> None:
    en = [(f"{i}.en", 0.9 - 0.01 * i) for i in range(12)]
    zh = [("a.zh", 0.785)]  # one score has no spread: placed on the English head's scale
    merged = calibrated_merge([en, zh], k=20, heads=(10,), min_calibration=10)
    order = [d for d, _, _ in merged]
    assert order.index("a.zh") == len(en)  # below every English score (the last is 0.79), on the same scale
    assert calibrated_merge([[], []], k=5) == []


def _questions(bench: Path, lang: str, paragraphs: set[str], n: int) -> list[tuple[str, str]]:
    """The first n questions (id, text) in `lang` asked on one of `paragraphs` (base ids like xq-p003)."""
    qrels: dict[str, str] = {}
    with open(bench / "xquad" / "qrels.paragraph.tsv", encoding="utf-8") as f:
        for line in f:
            q, d, _ = line.split("\t")
            if d.endswith(".en") and d.rsplit(".", 1)[0] in paragraphs:
                qrels[q.rsplit(".", 1)[0]] = d.rsplit(".", 1)[0]
    out = []
    with open(bench / "xquad" / f"queries.{lang}.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            base = rec["id"].rsplit(".", 1)[0]
            if base in qrels:
                out.append((qrels[base], rec["text"]))
    return out[:n]


def _embedded_index(path: Path, docs: list[tuple[str, str, str]], encoder_name: str = DEFAULT_ENCODER) -> tuple[Index, object]:
    """A real index of (id, text, language) documents with passage windows, embedded by the default encoder
    (or `encoder_name`) without any cache."""
    from xlqe_lite.models.encoder import Encoder

    encoder = Encoder.load(encoder_name, threads=2)
    settings = replace(encoder.vector_settings(True), metric="ip")
    index = Index.create(path, vectors=settings)
    vectors, windows = encoder.encode_documents([t for _, t, _ in docs], settings.passage_tokens, settings.passage_stride)
    index.add_many(({"id": i, "text": t, "lang": lang} for i, t, lang in docs), vectors=vectors, passages=windows)
    index.commit()
    return index, encoder


def _mixed_corpus(bench: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """XQuAD paragraphs in English and Chinese, each paragraph in exactly one language (the even ones in
    English, the odd ones in Chinese), and the English questions whose paragraph is there only in Chinese."""
    def corpus(lang: str) -> dict[str, str]:
        with open(bench / "xquad" / f"corpus.{lang}.jsonl", encoding="utf-8") as f:
            return {r["id"].rsplit(".", 1)[0]: r["text"] for r in map(json.loads, f)}

    en, zh = corpus("en"), corpus("zh")
    bases = sorted(en)[:40]
    docs = [(f"{b}.en", en[b], "en") if i % 2 == 0 else (f"{b}.zh", zh[b], "zh") for i, b in enumerate(bases)]
    return docs, _questions(bench, "en", {b for i, b in enumerate(bases) if i % 2 == 1}, 40)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, bench: Path, prepared) -> tuple[Index, object, list]:
    """A real index of `_mixed_corpus`, embedded by the default encoder without any cache."""
    docs, questions = _mixed_corpus(bench)
    index, encoder = _embedded_index(tmp_path_factory.mktemp("mixed") / "index", docs)
    return index, encoder, questions


@pytest.fixture(scope="module")
def mixed_e5(tmp_path_factory: pytest.TempPathFactory, bench: Path, prepared) -> tuple[Index, object, list]:
    """The same documents embedded by multilingual-e5-small alone."""
    docs, questions = _mixed_corpus(bench)
    index, encoder = _embedded_index(tmp_path_factory.mktemp("mixed-e5") / "index", docs, "multilingual-e5-small")
    return index, encoder, questions


def _ranks(engine: SearchEngine, questions: list[tuple[str, str]], mode: str) -> list[int]:
    ranks = []
    for base, text in questions:
        ids = [h.id for h in engine.search(text, k=20, mode=mode)]  # type: ignore[arg-type]
        ranks.append(ids.index(f"{base}.zh") + 1 if f"{base}.zh" in ids else 99)
    return ranks


@pytest.mark.bench
@pytest.mark.model
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_the_answer_in_another_language_outranks_noise_in_the_query_language(mixed, mode: str) -> None:
    index, encoder, questions = mixed
    assert len(questions) >= 30
    calibrated = _ranks(SearchEngine(index, encoder), questions, mode)
    pooled = _ranks(SearchEngine(index, encoder, FusionConfig(calibration="pooled")), questions, mode)

    def share(ranks: list[int], top: int) -> float:
        return sum(r <= top for r in ranks) / len(ranks)

    # Measured (40 questions, the default encoder): top 3 1.00 hybrid / 0.975 dense, against 0.40 / 0.475 in one
    # shared list; first 0.65 / 0.85 against 0.125 / 0.25. Hybrid's misses are second behind an English
    # paragraph of the same article, which BM25 lifts in its own language.
    assert share(calibrated, 3) >= 0.9, calibrated
    assert share(calibrated, 1) >= share(pooled, 1) + 0.3, (calibrated, pooled)


@pytest.mark.bench
@pytest.mark.model
def test_use_beside_e5_puts_the_answer_in_another_language_first_more_often(mixed, mixed_e5) -> None:
    """The default encoder (e5 with USE beside it) against e5 alone on the same documents and questions:
    USE, trained to put translations together, lifts the Chinese answer to an English question. Measured
    (40 questions): first 0.65 against 0.525 hybrid, 0.85 against 0.775 dense."""
    index, encoder, questions = mixed
    e5_index, e5, _ = mixed_e5
    for mode in ("hybrid", "dense"):
        both = _ranks(SearchEngine(index, encoder), questions, mode)
        alone = _ranks(SearchEngine(e5_index, e5), questions, mode)
        first = [sum(r == 1 for r in ranks) / len(ranks) for ranks in (both, alone)]
        assert first[0] >= first[1] + 0.05, (mode, both, alone)


@pytest.mark.bench
@pytest.mark.model
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_the_query_moved_toward_the_other_language_finds_its_answer_higher(mixed_e5, mode: str) -> None:
    """Before the Chinese dense search the English query is moved toward the Chinese documents by the
    difference of the two languages' mean vectors (`FusionConfig.centroid_shift`): the Chinese answer ranks
    higher than with the query left where it is, and the Chinese list itself changes (so the move is made).
    On e5 alone, where the move was chosen: with USE beside e5 the move still lifts the bench (XQuAD dev
    mixed CROSS 0.805 -> 0.816, BENCHMARKS.md), but on these 20 documents per language it was one question
    behind in hybrid (MRR 0.808 moved, 0.821 not)."""
    import numpy as np

    index, encoder, questions = mixed_e5
    # 20 documents per language: fewer than the default's 100 (the move then leaves the query where it is).
    assert list(SearchEngine(index, encoder).search(questions[0][1], k=5)) == \
        list(SearchEngine(index, encoder, FusionConfig(centroid_shift=0.0)).search(questions[0][1], k=5))
    moved = SearchEngine(index, encoder, FusionConfig(centroid_min_documents=20))
    still = SearchEngine(index, encoder, FusionConfig(centroid_shift=0.0))
    a, b = _ranks(moved, questions, mode), _ranks(still, questions, mode)
    mrr = lambda ranks: float(np.mean([1 / r for r in ranks]))  # noqa: E731
    print(f"{mode}: MRR {mrr(a):.3f} moved, {mrr(b):.3f} not moved; first {a.count(1)} / {b.count(1)}")
    assert mrr(a) >= mrr(b) and a != b, (a, b)
    # The Chinese dense list is the search with the moved vector, scored as the index scores it.
    text = questions[0][1]
    q = encoder.encode_queries([text])[0]
    toward = index.query_toward(q, "en", "zh", 0.7, 20)
    assert index.query_toward(q, "en", "zh", 0.7, 21) is None
    assert toward is not None and abs(float(np.linalg.norm(toward)) - float(np.linalg.norm(q))) < 1e-5
    centroids = {lang: index.language_centroid(lang) for lang in ("en", "zh")}
    expected = q + 0.7 * (centroids["zh"] - centroids["en"])
    assert np.allclose(toward, expected / np.linalg.norm(expected) * np.linalg.norm(q), atol=1e-6)
    hit = moved.search(text, k=1, mode="dense", langs=["zh"])[0]
    direct = index.search_vector(toward, k=1, langs=["zh"], passage_weight=FusionConfig().passage_weight)[0]
    assert hit.id == direct.id


@pytest.mark.bench
@pytest.mark.model
def test_an_index_of_one_language_ranks_as_before(mixed, tmp_path: Path) -> None:
    """Per-language calibration is a monotone map of one language's fused list: same order, same scores."""
    index, encoder, questions = mixed
    engine = SearchEngine(index, encoder)
    pooled = SearchEngine(index, encoder, FusionConfig(calibration="pooled"))
    for _, text in questions[:5]:
        a = engine.search(text, k=10, langs=["zh"])
        b = pooled.search(text, k=10, langs=["zh"])
        assert [(h.id, round(h.score, 6)) for h in a] == [(h.id, round(h.score, 6)) for h in b]


@pytest.mark.bench
@pytest.mark.model
def test_explain_says_how_the_languages_were_merged(mixed) -> None:
    index, encoder, questions = mixed
    hit = SearchEngine(index, encoder).search(questions[0][1], k=3, explain=True)[0]
    assert hit.explanation is not None
    calibration = hit.explanation.calibration
    assert calibration is not None
    assert calibration.lang == hit.lang and calibration.z == pytest.approx(hit.score)
    assert "dense" in hit.explanation.lists and "bm25" in hit.explanation.lists
    shown = hit.explanation.to_dict()  # the JSON form keeps the old shape
    assert shown["calibration"]["lang"] == hit.lang and "dense" in shown and "bm25" in shown



def test_a_short_list_with_dense_scores_is_measured_on_them() -> None:
    """The core's unit test, through the Python merge (the lists route of a sharded index): a language of three
    documents is put on its cosines, on the spread pooled over both languages, not on its min-max fused scores."""
    import numpy as np

    en_dense = [0.85 - 0.01 * i for i in range(12)]
    en = [(f"e{i:02d}", 1.0 - i / 11) for i in range(12)]
    de, de_dense = [("d0", 1.0), ("d1", 0.5), ("d2", 0.0)], [0.80, 0.70, 0.70]
    merged = calibrated_merge([en, de], k=3, heads=(10,), min_calibration=10, dense=[en_dense, de_dense])
    pooled = np.sqrt((np.std(en_dense[:10]) ** 2 + np.std(de_dense) ** 2) / 2)
    assert merged[0][0] == "d0" and merged[0][2] == 1.0
    assert merged[0][1] == pytest.approx((0.80 - np.mean(de_dense)) / pooled, abs=1e-12)
    without = calibrated_merge([en, de], k=2, heads=(10,), min_calibration=10)
    assert without[0][1] == without[1][1]  # on the English fused statistics, d0's 1.0 ties e00's

def _stories(bench: Path, lang: str) -> dict[str, list[str]]:
    """NTREX story id -> its lines (line 0 the headline), in the bench's order."""
    stories: dict[str, list[str]] = {}
    with open(bench / "ntrex" / f"sentences.{lang}.jsonl", encoding="utf-8") as f:
        for rec in map(json.loads, f):
            stories.setdefault(rec["doc"], []).append(rec["text"])
    return stories


@pytest.fixture(scope="module", params=[DEFAULT_ENCODER, "multilingual-e5-small"])
def small_folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, bench: Path,
                 prepared) -> tuple[Index, object, list]:
    """A small personal folder's index: 40 NTREX news stories in English (noise, never asked for) and 6 in each
    of German, Chinese, Arabic and Hindi (each story in one language only), embedded by the default encoder
    and by e5 alone. Every foreign language holds fewer documents than `FusionConfig.min_calibration`."""
    langs = {"deu": "de", "zho-CN": "zh", "arb": "ar", "hin": "hi"}
    english = _stories(bench, "eng")
    ids = list(english)
    docs, questions = [], []
    for story in ids[:40]:
        docs.append((f"{story}.en", " ".join(english[story]), "en"))
    for j, (bench_lang, lang) in enumerate(langs.items()):
        theirs = _stories(bench, bench_lang)
        for story in ids[40 + 6 * j: 40 + 6 * (j + 1)]:
            docs.append((f"{story}.{lang}", " ".join(theirs[story]), lang))
            questions.append((f"{story}.{lang}", english[story][0]))
    index, encoder = _embedded_index(tmp_path_factory.mktemp("folder") / "index", docs, request.param)
    return index, encoder, questions


@pytest.mark.bench
@pytest.mark.model
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_in_a_small_folder_the_foreign_story_outranks_english_noise(small_folder, mode: str) -> None:
    """An English headline asks for a story the folder holds only in another language. A language of a few
    documents has no spread of its own (its best document makes most of it), so it is calibrated on its dense
    scores on the spread of all languages: the story comes first, where in one shared list (what a small
    index fell back to before) English stories on other events often outrank it. Measured (24 stories):
    e5 alone first 19 / 20 (hybrid / dense) calibrated against 13 / 15 in one shared list; with USE beside e5
    20 / 20 against 12 / 18, the shared list itself lifted by USE, so there only "not below it" holds."""
    index, encoder, questions = small_folder
    margin = 0.15 if encoder.name == "multilingual-e5-small" else 0.0  # type: ignore[attr-defined]

    def firsts(engine: SearchEngine) -> int:
        return sum(engine.search(q, k=10, mode=mode)[0].id == want for want, q in questions)  # type: ignore[arg-type]

    calibrated = firsts(SearchEngine(index, encoder))
    pooled = firsts(SearchEngine(index, encoder, FusionConfig(calibration="pooled")))
    print(f"{mode}: first {calibrated}/{len(questions)} calibrated, {pooled} in one shared list")
    assert calibrated >= 0.75 * len(questions) and calibrated >= pooled + margin * len(questions), (calibrated, pooled)
