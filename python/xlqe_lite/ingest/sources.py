"""Turning files on disk into documents: text and Markdown files, folders of them, and JSONL.

Bad files never stop a run: binary files, invalid UTF-8, unreadable or oversized files and malformed
JSONL lines (including ones nested too deeply) are reported as `Skipped` items (with the reason) and
the rest goes on. Lone surrogate escapes in JSON ("\\ud800", which no UTF-8 text can hold) are read
as U+FFFD.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from .._core import detect_language, normalize_lang
from ..errors import InvalidInputError
from ..index import Document

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".rst", ".org", ".adoc"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
# Below this confidence a detected language is treated as unknown rather than risk the wrong stemmer.
MIN_DETECTION_CONFIDENCE = 0.5
# Longest id the index accepts, in UTF-8 bytes (rust_core/src/index.rs MAX_ID_BYTES).
MAX_ID_BYTES = 4096
# Deepest JSONL metadata kept: far beyond real records, well within what json.dumps can recurse into.
MAX_JSON_DEPTH = 100

# JSON may escape UTF-16 surrogates. A pair is one character; a lone one ("\ud800") is no character at
# all and cannot be stored as UTF-8, so it is read as U+FFFD. Escaped backslashes are matched first, so
# "\\ud800" (a backslash, then the letters) is left alone.
_SURROGATE_ESCAPE = re.compile(
    r"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


@dataclass(frozen=True)
class Skipped:
    """A file or line that was not indexed, and why."""

    where: str
    reason: str


Item = Union[Document, Skipped]


def guess_language(text: str, candidates: Optional[Iterable[str]] = None) -> Optional[str]:
    """The detected language of `text` (among `candidates`, if given) when the detector is confident
    enough, else None."""
    found = detect_language(text, sorted(set(candidates)) if candidates is not None else None)
    if found is None:
        return None
    lang, confidence, reliable = found
    return lang if reliable or confidence >= MIN_DETECTION_CONFIDENCE else None


def _decode(path: Path, max_bytes: int) -> Union[str, Skipped]:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Skipped(str(path), f"larger than the {max_bytes} byte limit ({size} bytes)")
        data = path.read_bytes()
    except OSError as e:
        return Skipped(str(path), f"cannot be read: {e.strerror or e}")
    if b"\x00" in data[:8192]:
        return Skipped(str(path), "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return Skipped(str(path), f"not valid UTF-8 (byte {e.start})")
    return text.removeprefix("\ufeff")


def _replace_lone_surrogate(match: "re.Match[str]") -> str:
    escape = match.group()
    return escape if len(escape) != 6 else "\\ufffd"


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _json_depth(value: object) -> int:
    """How deeply lists and objects nest in `value` (iteratively: the depth is what is being checked)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _text_file(path: Path, doc_id: str, lang: Optional[str], detect: bool, max_bytes: int) -> Item:
    text = _decode(path, max_bytes)
    if isinstance(text, Skipped):
        return text
    if not text.strip():
        return Skipped(str(path), "empty file")
    chosen = lang or (guess_language(text) if detect else None)
    return Document(doc_id, text, chosen, {"path": str(path)})


def _jsonl_file(path: Path, lang: Optional[str], detect: bool, max_bytes: int) -> Iterator[Item]:
    text = _decode(path, max_bytes)
    if isinstance(text, Skipped):
        yield text
        return
    # Records end at "\n" only: JSON strings may hold U+2028, U+0085 or \x1c raw, which splitlines() breaks at.
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        if "\\u" in line:
            line = _SURROGATE_ESCAPE.sub(_replace_lone_surrogate, line)
        try:
            record = json.loads(line, parse_float=_finite_float, parse_constant=_no_constant)
        except json.JSONDecodeError as e:
            yield Skipped(where, f"invalid JSON ({e.msg})")
            continue
        except RecursionError:
            yield Skipped(where, "invalid JSON (nested too deeply)")
            continue
        except ValueError as e:  # e.g. an integer of more digits than Python converts
            yield Skipped(where, f"invalid JSON ({e})")
            continue
        # Only a line with many brackets can nest deeply; counting them is cheap.
        if line.count("[") + line.count("{") > MAX_JSON_DEPTH and _json_depth(record) > MAX_JSON_DEPTH:
            yield Skipped(where, f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("id"), (str, int)) or not isinstance(record.get("text"), str):
            yield Skipped(where, 'expected an object with a string "id" and "text"')
            continue
        doc_id = str(record["id"])
        if not 0 < len(doc_id.encode("utf-8")) <= MAX_ID_BYTES:
            yield Skipped(where, f"the id must be 1 to {MAX_ID_BYTES} bytes long")
            continue
        doc_lang = lang or record.get("lang")
        if doc_lang is not None:
            try:
                doc_lang = normalize_lang(str(doc_lang))
            except InvalidInputError as e:
                yield Skipped(where, str(e))
                continue
        elif detect:
            doc_lang = guess_language(record["text"])
        metadata = record.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {k: v for k, v in record.items() if k not in ("id", "text", "lang")}
        yield Document(doc_id, record["text"], doc_lang, metadata)


def iter_documents(paths: list[str], *, lang: Optional[str] = None, detect: bool = True, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Item]:
    """Documents from `paths` (files or folders, walked recursively, hidden entries skipped).

    Text files become one document each, with their path as id; JSONL files give one per line.
    `lang` forces a language; otherwise a JSONL "lang" field is used, then detection (if `detect`).
    Raises InvalidInputError up front if a path does not exist, before anything is read.
    """
    if lang is not None:
        lang = normalize_lang(lang)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise InvalidInputError(f"no such file or directory: {', '.join(missing)}")
    for p in paths:
        root = Path(p)
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    yield from _file(Path(dirpath) / name, lang, detect, max_bytes, explicit=False)
        else:
            yield from _file(root, lang, detect, max_bytes, explicit=True)


def _file(path: Path, lang: Optional[str], detect: bool, max_bytes: int, explicit: bool) -> Iterator[Item]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl_file(path, lang, detect, max_bytes)
    elif suffix in TEXT_SUFFIXES or explicit:
        # A file named on the command line is read whatever its suffix; in folders only known text types.
        yield _text_file(path, path.as_posix(), lang, detect, max_bytes)
