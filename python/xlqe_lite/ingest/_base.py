"""What every extractor shares: the result types, the error, the time budget and text clean-up."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

from ..errors import ExtractionError




@dataclass(frozen=True)
class Section:
    """A stretch of text with its place in the file."""

    text: str
    page: Optional[int] = None  # 1-based PDF page
    chapter: Optional[str] = None  # EPUB chapter / DOCX-ODT-Markdown heading, when known
    start: int = 0  # character offset of this section in Extracted.text


@dataclass(frozen=True)
class Extracted:
    """The text of a file, its title and format, and its sections in order."""

    text: str  # the whole text, sections joined with "\n\n"
    title: Optional[str]
    format: str
    sections: tuple[Section, ...]
    encoding: Optional[str] = None  # for text files: the detected encoding


class Deadline:
    """A time budget, checked between units of work (pages, chapters, paragraphs)."""

    def __init__(self, seconds: Optional[float]) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def check(self, what: str = "reading the file") -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise ExtractionError("timeout", f"{what} took longer than the {self.seconds:g} s budget")

    def share_left(self) -> float:
        """The share of the budget not yet used (infinite without a budget)."""
        if self.end is None or not self.seconds:
            return float("inf")
        return max(0.0, (self.end - time.monotonic()) / self.seconds)


# C0/C1 controls other than tab and newline, and the non-characters PDF text layers sometimes hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")


# A text longer than this many characters is cleaned piece by piece (see `clean_text`).
CLEAN_CHUNK = 1 << 20


def _clean_piece(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text)


def _cut_after(text: str, start: int) -> int:
    """The first offset >= `start` just after a "\\n" and before a character that no rule of `_clean_piece`
    touches or joins with its neighbours (not a space or line break, not a control), or len(text)."""
    i = text.find("\n", start)
    while i != -1 and i + 1 < len(text):
        c = text[i + 1]
        if not c.isspace() and not _CONTROL.match(c):
            return i + 1
        i = text.find("\n", i + 1)
    return len(text)


def clean_text(text: str, chunk: int = CLEAN_CHUNK) -> str:
    """Newlines made "\\n", control characters dropped, trailing spaces and runs of blank lines removed.

    A long text is cleaned in pieces of about `chunk` characters, cut after a line break that no rule
    reaches across, and joined once: each rule over the whole text made a copy of it, and a 100 MB text
    file peaked at 4 copies (BENCHMARKS.md, "Sync: ... peak RSS while indexing", a 100 MB text file); in
    pieces it is the text, the cleaned pieces and their join. The result is the same as cleaning the whole text at once."""
    if len(text) <= chunk:
        return _clean_piece(text).strip()
    pieces, pos = [], 0
    while pos < len(text):
        end = _cut_after(text, pos + chunk)
        pieces.append(_clean_piece(text[pos:end]))
        pos = end
    while pieces and not pieces[0].lstrip():  # strip() of the whole: over pieces that are all blank
        pieces.pop(0)
    while pieces and not pieces[-1].rstrip():
        pieces.pop()
    if not pieces:
        return ""
    pieces[0] = pieces[0].lstrip()
    pieces[-1] = pieces[-1].rstrip()
    return "".join(pieces)


def clean_title(title: Optional[str]) -> Optional[str]:
    """A title on one line, at most 500 characters; None when there is none."""
    if not title:
        return None
    title = " ".join(_CONTROL.sub("", title).split())
    return title[:500] or None


Part = tuple[str, Optional[int], Optional[str]]  # text, page, chapter


def assemble(fmt: str, title: Optional[str], parts: Iterable[Union[Part, Section]], encoding: Optional[str] = None,
             what: str = "text") -> Extracted:
    """The `Extracted` of cleaned, non-empty parts, with their offsets; ExtractionError("empty") if none."""
    sections: list[Section] = []
    offset = 0
    for part in parts:
        text, page, chapter = (part.text, part.page, part.chapter) if isinstance(part, Section) else part
        text = clean_text(text)
        if not text:
            continue
        if sections:
            offset += 2  # the "\n\n" between sections
        sections.append(Section(text, page, clean_title(chapter), offset))
        offset += len(text)
    if not sections:
        raise ExtractionError("empty", f"no {what} in the file")
    joined = "\n\n".join(s.text for s in sections)
    assert len(joined) == offset
    return Extracted(joined, clean_title(title), fmt, tuple(sections), encoding)
