"""Guessing a query's language, with a confidence the search can act on.

A query is short and often mixes scripts: a Chinese headline quoting a Latin name ("坎耶·维斯特（Kanye West）…"),
an English question of five words. whatlang (the detector in the Rust core) counts letters per script and
reads trigrams, so the Latin letters of the name outvote the Han characters, and the name's trigrams read as
Shona; five English words give it too few trigrams to be sure. Here:

1. Each script's share of the query is weighed by how much a character of it carries: a Han, kana or hangul
   character is a syllable or a word, so it counts as `WIDE_CHAR_WEIGHT` Latin letters. The script with the
   larger weighted share is the query's.
2. When one candidate language is written in that script (Chinese for Han, Japanese when kana appear, Thai,
   Hindi among Devanagari candidates, ...), it is the answer, as sure as the script's share.
3. Otherwise (Latin, Cyrillic, Arabic) whatlang chooses among the candidates written in that script, reading
   only that script's part of the query. When it is unsure, the query's stop words vote: the core's own stop
   lists (`analyze` with and without them) are a classic identifier for short text, and a question is mostly
   function words. A clear winner is taken, with a confidence from its margin over the runner-up.

The answer carries a confidence in 0..1; `QueryLanguage.sure` is what search uses: below it the ranking
does not depend on the guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .._core import analyze, detect_language, dominant_script, language_script

# The languages a query is guessed among, with those its index holds: the ones xlqe analyses with rules
# of their own (stemmers, segmenters). On XQuAD dev's questions this gives more right guesses and fewer
# unknown ones, without more wrong ones (BENCHMARKS.md, "Language identification"): whatlang's 69 languages
# include close neighbours (Afrikaans, Ukrainian) that fit a short question's trigrams as well as its real
# language.
QUERY_LANGUAGES = frozenset("ar da de el en es fi fr hi hu it ja ko nl no pt ro ru sv ta th tr zh".split())

# A Han / kana / hangul character against a Latin letter (an English word is ~5 letters, a Chinese word ~1.7
# characters).
WIDE_CHAR_WEIGHT = 3.0
WIDE_SCRIPTS = frozenset({"Hani", "Jpan", "Kore"})
# At or above this confidence the guess is used by search (the lexical analysis of the query's language).
SURE = 0.5
# The stop-word margin (share of the query's words) that overrules a confident whatlang guess.
STOPWORD_OVERRULE = 0.75
# Characters of a query that are read (queries are short; a pasted page need not be read whole).
MAX_CHARS = 1000


@dataclass(frozen=True)
class QueryLanguage:
    """A guess: the language (None when nothing fits), how sure (0..1), the query's script, and how it was
    decided ("script", "detector", "stopwords" or "none")."""

    lang: Optional[str]
    confidence: float
    script: Optional[str]
    method: str

    @property
    def sure(self) -> bool:
        return self.lang is not None and self.confidence >= SURE


def script_shares(text: str) -> dict[str, float]:
    """Each script's share of the text's letters, a wide (Han, kana, hangul) character weighing
    `WIDE_CHAR_WEIGHT`. Japanese is "Jpan" for kana, and Han characters next to kana count as Japanese."""
    weights: dict[str, float] = {}
    for ch in text[:MAX_CHARS]:
        if not ch.isalpha():
            continue
        s = dominant_script(ch)
        if s is None:
            continue
        weights[s] = weights.get(s, 0.0) + (WIDE_CHAR_WEIGHT if s in WIDE_SCRIPTS else 1.0)
    if "Jpan" in weights and "Hani" in weights:
        weights["Jpan"] += weights.pop("Hani")
    total = sum(weights.values())
    return {s: w / total for s, w in weights.items()} if total else {}


def _writes(lang: str, script: str) -> bool:
    own = language_script(lang)
    # Japanese text without kana is all Han; Korean may carry hanja.
    return own == script or (script == "Hani" and own == "Jpan") or (script == "Hani" and own == "Kore")


def _stopword_vote(text: str, langs: list[str]) -> tuple[Optional[str], float]:
    """The language whose stop list covers most of the query's words, and how clearly: the share of its
    stop words that the runner-up's list lacks, halved when it rests on one word (0 when no list covers any)."""
    counts = []
    for lang in langs:
        try:
            every = analyze(text, lang, stem=False, stopwords=False)
            kept = analyze(text, lang, stem=False, stopwords=True)
        except Exception:  # a language the analyser does not know: no vote
            continue
        if every:
            counts.append((len(every) - len(kept), len(every), lang))
    counts.sort(key=lambda c: (-c[0], c[2]))
    if not counts or counts[0][0] == 0:
        return None, 0.0
    best, _, lang = counts[0]
    second = counts[1][0] if len(counts) > 1 else 0
    return lang, (best - second) / best * min(1.0, best / 2)


def guess_query_language(text: str, candidates: Iterable[str]) -> QueryLanguage:
    """The query's language among `candidates` (ISO 639-1 codes), with a confidence (module docstring)."""
    cands = sorted(set(candidates))
    shares = script_shares(text)
    if not shares:
        return QueryLanguage(None, 0.0, None, "none")
    script, share = max(shares.items(), key=lambda kv: (kv[1], kv[0]))
    if script == "Hani" and "zh" in cands:
        return QueryLanguage("zh", share, script, "script")
    writers = [c for c in cands if _writes(c, script)]
    if not writers:
        return QueryLanguage(None, 0.0, script, "none")
    if len(writers) == 1:
        return QueryLanguage(writers[0], share, script, "script")
    own_part = "".join(ch if not ch.isalpha() or dominant_script(ch) == script else " " for ch in text[:MAX_CHARS])
    found = detect_language(own_part, writers)
    voted, margin = _stopword_vote(own_part, writers)
    if found is not None and (found[2] or found[1] >= SURE):
        # A question is mostly function words: when they clearly belong to another language than the
        # trigrams say (an English question about "Ergänzungsschulen"), they decide.
        if voted is not None and voted != found[0] and margin >= STOPWORD_OVERRULE:
            return QueryLanguage(voted, share * margin, script, "stopwords")
        return QueryLanguage(found[0], share * max(found[1], SURE), script, "detector")
    if voted is not None and margin > 0:
        # A query whose stop words point at one language: as sure as the margin, at least `SURE` when
        # whatlang's own top guess agrees.
        agrees = found is not None and found[0] == voted
        confidence = max(margin, SURE if agrees else 0.0)
        return QueryLanguage(voted, share * confidence, script, "stopwords")
    if found is not None:
        return QueryLanguage(found[0], share * found[1], script, "detector")
    return QueryLanguage(None, 0.0, script, "none")
