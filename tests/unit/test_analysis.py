"""The analyzer per script, against a golden file of expected terms, plus properties every script keeps."""

from __future__ import annotations

import json

import pytest

from xlqe_lite import InvalidInputError, analyze, detect_language, normalize_lang

from support.common import GOLDEN_DIR

GOLDEN = json.loads((GOLDEN_DIR / "analyzer.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_terms_match_the_golden_file(case: dict) -> None:
    assert analyze(case["text"], case["lang"]) == case["terms"]


def test_unknown_language_code_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="unknown language code"):
        analyze("text", "klingon")


def test_language_tags_fold_to_iso_639_1() -> None:
    assert [normalize_lang(t) for t in ("EN", "de-AT", "zho-CN", "swh")] == ["en", "de", "zh", "sw"]


def test_documents_and_queries_meet_across_inflections() -> None:
    # A query's words reach the document's inflected forms once both are analysed in the same language.
    assert set(analyze("Häuser", "de")) == set(analyze("Haus", "de"))
    assert set(analyze("защиты", "ru")) == set(analyze("защита", "ru"))
    assert set(analyze("المدرسة", "ar")) & set(analyze("مدرسه", "ar"))


def test_hostile_text_never_breaks_analysis() -> None:
    nasty = "\u202e\u200f" + "a\u0301" * 1000 + "\x00" + "\ud7ff" + "😀" * 100 + "ก" * 5000
    terms = analyze(nasty, "th")
    assert all(t and "\x00" not in t for t in terms)
    assert analyze("", None) == []


@pytest.mark.parametrize(
    "lang,text",
    [
        ("en", "The defense of the Panthers gave up only few points this season."),
        ("ru", "Защита команды пропустила всего несколько очков в этом сезоне."),
        ("zh", "黑豹队的防守在本赛季只丢了很少的分数。"),
        ("ar", "دفاع الفريق لم يستقبل سوى عدد قليل من النقاط هذا الموسم."),
    ],
)
def test_language_detection(lang: str, text: str) -> None:
    assert detect_language(text) == lang


def test_language_detection_among_candidates() -> None:
    # A short question fits a rare neighbour's trigrams as well as its own language's.
    assert detect_language("Сколько перехватов сделала защита?") == "uk"
    assert detect_language("Сколько перехватов сделала защита?", ["en", "ru", "de"]) == "ru"
    assert detect_language("Wie viele Punkte?") == "af"
    assert detect_language("Wie viele Punkte?", ["en", "de", "zh"]) == "de"
    # No candidate writes the text's script.
    assert detect_language("黑豹队的防守在本赛季只丢了很少的分数。", ["en", "de"]) is None
    assert detect_language("Der schnelle braune Fuchs springt über den faulen Hund.", []) is None
    with pytest.raises(InvalidInputError):
        detect_language("Wie viele Punkte?", ["not a language"])
