"""What every extractor shares: the result types, the error, the time budget and text clean-up."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

from .._core import InvalidInputError

#: The stable reason codes an `ExtractionError` carries.
REASONS = frozenset(
    {"unsupported-type", "encrypted", "damaged", "too-large", "zip-bomb", "binary", "empty", "timeout", "unreadable"}
)


class ExtractionError(InvalidInputError):
    """A file whose text could not be read. `reason` is a short stable code (one of `REASONS`), the message
    says what was wrong in words, `path` is the file (when known)."""

    def __init__(self, reason: str, message: str, path: Optional[Path] = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown extraction failure reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.path = path

    def __reduce__(self):  # picklable, so it can cross a process boundary
        return (type(self), (self.reason, self.message, self.path))


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


# C0/C1 controls other than tab and newline, and the non-characters PDF text layers sometimes hold.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Newlines made "\\n", control characters dropped, trailing spaces and runs of blank lines removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


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
