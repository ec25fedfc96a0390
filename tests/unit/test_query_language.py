"""A query's language is guessed with a confidence: mixed scripts, short English questions, Japanese."""

from __future__ import annotations

import json

import pytest

from xlqe_lite import Index, SearchEngine
from xlqe_lite.language import SURE, guess_query_language, script_shares
from xlqe_lite.language import QUERY_LANGUAGES


def test_han_with_a_latin_name_is_chinese() -> None:
    """whatlang counts the name's Latin letters and reads its trigrams as Shona; the Han characters carry more."""
    g = guess_query_language("坎耶·维斯特（Kanye West）在格莱美颁奖礼上发表讲话", QUERY_LANGUAGES)
    assert (g.lang, g.script, g.sure) == ("zh", "Hani", True)
    assert g.confidence < 1.0  # part of it is Latin
    assert script_shares("北京大学在 Beijing")["Hani"] > 0.5 > script_shares("北京 Beijing University")["Hani"]


@pytest.mark.bench
def test_short_english_questions_are_english_and_sure(bench) -> None:
    """The bench's English dev questions of at most six words: nearly all surely English, hardly any surely wrong."""
    rows = [json.loads(line) for line in (bench / "xquad" / "queries.en.jsonl").open(encoding="utf-8")]
    short = [r["text"] for r in rows if len(r["text"].split()) <= 6]
    assert len(short) >= 30
    guesses = [guess_query_language(t, QUERY_LANGUAGES) for t in short]
    wrong = [t for t, g in zip(short, guesses) if g.sure and g.lang != "en"]
    sure_en = sum(g.sure and g.lang == "en" for g in guesses)
    assert len(wrong) <= 0.02 * len(short), wrong
    assert sure_en >= 0.9 * len(short)
    assert guess_query_language("Who won the Super Bowl?", QUERY_LANGUAGES).sure


def test_japanese_and_other_scripts_of_one_language() -> None:
    for text, lang in [("東京の大学はどこですか", "ja"), ("スーパーボウルで優勝したのはどのチームですか", "ja"),
                       ("ทีมฟุตบอลมีผู้เล่นกี่คน", "th"), ("कितने अंक मिले?", "hi"), ("서울대학교는 어디에 있나요?", "ko")]:
        g = guess_query_language(text, QUERY_LANGUAGES)
        assert (g.lang, g.method, g.sure) == (lang, "script", True), text
    # Han alone is Chinese when Chinese is a candidate, Japanese when only Japanese is.
    assert guess_query_language("北京大学", QUERY_LANGUAGES).lang == "zh"
    assert guess_query_language("北京大学", {"ja", "en"}).lang == "ja"


def test_unsure_guesses_are_not_used(tmp_path) -> None:
    """A bare name or digits say nothing about a language: the engine then passes no language on."""
    for text in ("Kanye West", "12345 ???", "Super Bowl 50"):
        g = guess_query_language(text, QUERY_LANGUAGES)
        assert not g.sure, (text, g)
        assert g.confidence < SURE or g.lang is None
    ix = Index.create(tmp_path / "ix")
    ix.add("en1", "The Panthers lost Super Bowl 50.", lang="en")
    ix.commit()
    engine = SearchEngine(ix)
    assert engine.guess_query_language("Kanye West") is None
    assert engine.query_language("Wer gewann den Super Bowl 50?").lang == "de"
    ix.close()
