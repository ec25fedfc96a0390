"""Cleaning LLM output before it reaches the index.

Small models wrap what they write in meta-text ("To answer this query, ...", "Here is a passage:"),
echo the prompt's labels, and fall into loops ("2000 000 000 000 ..."); every such word becomes a BM25
term. A translation in the wrong script (asked for Chinese, got English) only adds noise. This module
turns raw output into clean text, or nothing.

    >>> clean_output("Here is the translation: Wie viele Punkte? Wie viele Punkte? Wie viele Punkte?")
    'Wie viele Punkte?'
    >>> clean_output("2000 000 000 000 000 000 000 000")
    '2000 000'
    >>> in_language("多少分？", "zh"), in_language("How many points?", "zh")
    (True, False)
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional

from .._core import detect_language, dominant_script, language_script
from .prompts import LANGUAGE_NAMES

# The longest text kept from one generation (characters); a loop that slipped through stops here.
MAX_CHARS = 1200

# Meta-text at the start of an output or of a sentence in it, in the languages small models fall
# back to. Matched case-insensitively up to the next colon or sentence end.
_META_LEAD = re.compile(
    r"^\s*(?:"
    r"(?:sure|certainly|of course|okay|ok)[,!.]?\s*"
    r"|here(?:'s| is| are)\b[^:.\n]*[:.]"
    r"|(?:to answer|in order to answer|answering) (?:this|the|your) (?:query|question)[^,:\n]*[,:]"
    r"|(?:the )?(?:translation|answer|passage|keywords?|rephrased question|response)(?: is)?\s*[:：]"
    r"|as an ai\b[^.\n]*[.]"
    r"|i (?:think|believe|would say)\b[^,:\n]*[,:]?"
    r"|(?:hier ist|voici|aquí está|вот)\b[^:\n]*:"
    r")",
    re.IGNORECASE,
)
# Prompt labels a model may echo: "German:", "Passage (Chinese):", "Keywords:".
_LABEL_WORDS = ["query", "question", "keywords", "passage", "answer", "translation", "rephrased", "reasoning",
                "response", "document", "text", *(name.lower() for name in LANGUAGE_NAMES.values())]
_LABEL = re.compile(r"^\s*(?:" + "|".join(map(re.escape, _LABEL_WORDS)) + r")\s*(?:\([^)]{1,24}\))?\s*[:：]\s*",
                    re.IGNORECASE)
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _strip_meta(text: str) -> str:
    for _ in range(4):  # a few nested layers at most ("Sure! Here is the translation: German: ...")
        stripped = _LABEL.sub("", _META_LEAD.sub("", text, count=1), count=1)
        if stripped == text:
            break
        text = stripped
    return text.strip()


def cut_loops(text: str, max_repeats: int = 1) -> str:
    """Cuts a text where a span of 1-12 tokens starts repeating itself, keeping `max_repeats` copies."""
    tokens = _WORD.findall(text) if not _is_unsegmented(text) else list(text.replace(" ", ""))
    if len(tokens) < 4:
        return text
    n = len(tokens)
    for start in range(n):
        for size in range(1, 13):
            reps = 1
            while start + (reps + 1) * size <= n and tokens[start + reps * size: start + (reps + 1) * size] == tokens[start: start + size]:
                reps += 1
            if reps > max_repeats and reps * size >= 2 and (reps >= 3 or size >= 3):
                keep = start + max_repeats * size
                return _prefix_of(text, tokens, keep)
    return text


def _is_unsegmented(text: str) -> bool:
    # dominant_script names Japanese "Jpan" (kana present), Chinese "Hani".
    return dominant_script(text) in ("Hani", "Jpan", "Thai", "Laoo", "Khmr", "Mymr")


def _prefix_of(text: str, tokens: list[str], keep: int) -> str:
    """The part of `text` that holds its first `keep` tokens."""
    pos = 0
    for token in tokens[:keep]:
        pos = text.find(token, pos) + len(token)
    return text[:pos].strip()


def clean_output(text: str, *, query: Optional[str] = None, single_line: bool = False) -> str:
    """Clean raw generated text: no control characters, meta-text, prompt labels, echoed query or loops.
    Returns "" when nothing useful is left."""
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text[: MAX_CHARS * 4])
    if single_line:
        text = next((line for line in text.splitlines() if line.strip()), "")
    text = _strip_meta(text)
    lines = [_strip_meta(line) for line in text.splitlines()]
    text = " ".join(line for line in lines if line)
    text = re.sub(r"\s+", " ", text).strip()
    if query and text.casefold().startswith(query.strip().casefold()) and len(text) > len(query.strip()) + 1:
        text = text[len(query.strip()):].lstrip(" :-–—")  # the query echoed before the answer
    text = re.sub(r"(\S)\1{4,}", r"\1\1\1", text)  # "10000000000…" and "!!!!!!!" are loops too
    text = cut_loops(text)
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS)
        text = text[: cut if cut > MAX_CHARS // 2 else MAX_CHARS]
    return text.strip(" \"'«»“”„")


# Writing systems that mix scripts: Japanese (kanji and kana) and Korean (hangul, some hanja).
_MIXED = {"Jpan": ("Hani",), "Kore": ("Hani",)}


def in_language(text: str, lang: str, *, source_lang: Optional[str] = None) -> bool:
    """Whether `text` can be in `lang`: its script is the language's, and the detector, when it is sure,
    does not name the source language instead (a copied query)."""
    if not text or not any(ch.isalpha() for ch in text):
        return False
    want = language_script(lang)
    got = dominant_script(text)
    if want is not None and got is not None and got != want and got not in _MIXED.get(want, ()):
        return False
    if source_lang and source_lang != lang:
        guess = detect_language(text)
        if guess is not None and guess[2] and guess[0] == source_lang:
            return False
    return True
