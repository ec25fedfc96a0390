"""Search filters on documents' metadata: path prefix or glob, format, modification time.

    engine.search("budget 2024", where=Filter(paths=["reports/"], formats=["pdf"], modified_after="2024-01-01"))

A filter is applied to each ranked list before fusion: the index is asked for more hits until `k`
pass (or the list is exhausted), so a filter never returns fewer hits than exist. Documents from
JSONL have no file metadata: a path filter matches their id, format and time filters exclude them.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence, TypeVar, Union

from .errors import InvalidInputError

class _HasId(Protocol):
    @property
    def id(self) -> str: ...


H = TypeVar("H", bound=_HasId)

When = Union[None, float, int, str, datetime]


def _epoch(value: When, name: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise InvalidInputError(f"{name} must be a date or time like 2024-05-31 or 2024-05-31T18:00, got {value!r}") from None


def _format_name(value: str) -> str:
    """A format as the ingest metadata names it; a file suffix ("md", ".txt") maps onto its format."""
    from .ingest.extract import FORMATS

    value = value.lower()
    return FORMATS.get("." + value.lstrip("."), value.lstrip("."))


def document_format(doc_id: str, metadata: Mapping[str, Any]) -> str:
    """A document's format: its "format" metadata, else what its path's suffix says, else ""."""
    fmt = metadata.get("format")
    if isinstance(fmt, str) and fmt:
        return fmt.lower()
    path = metadata.get("path")
    suffix = os.path.splitext(path if isinstance(path, str) else doc_id)[1]
    return _format_name(suffix) if suffix else ""


@dataclass(frozen=True)
class Filter:
    """Which documents a search may return. `paths`: prefixes or globs (`*`, `?`, `[...]`), matched
    against a file's path relative to its indexed folder and against its absolute path (the id); any
    one may match. `formats`: e.g. "pdf", "markdown", "text", or a suffix ("md"); a document without
    "format" metadata has its path's suffix's. `modified_after` / `modified_before`:
    datetimes, ISO dates or epoch seconds (after is inclusive, before exclusive)."""

    paths: Sequence[str] = ()
    formats: Sequence[str] = ()
    modified_after: When = None
    modified_before: When = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(self.paths))
        object.__setattr__(self, "formats", tuple(_format_name(f) for f in self.formats))
        object.__setattr__(self, "_after", _epoch(self.modified_after, "modified_after"))
        object.__setattr__(self, "_before", _epoch(self.modified_before, "modified_before"))

    @property
    def empty(self) -> bool:
        return not self.paths and not self.formats and self._after is None and self._before is None  # type: ignore[attr-defined]

    def _path_ok(self, doc_id: str, metadata: Mapping[str, Any]) -> bool:
        # a synced file's path is relative to its folder; other documents' "path" metadata is matched too
        rel = str(metadata.get("path", "")) if isinstance(metadata.get("path"), str) else ""
        for pattern in self.paths:
            if any(c in pattern for c in "*?["):
                if fnmatch.fnmatchcase(doc_id, pattern) or (rel and fnmatch.fnmatchcase(rel, pattern)):
                    return True
            else:
                absolute = os.path.abspath(pattern) if os.path.isabs(pattern) or os.path.exists(pattern) else None
                if doc_id.startswith(pattern) or (rel and rel.startswith(pattern.removeprefix("./"))) or (
                        absolute and doc_id.startswith(os.path.realpath(absolute))):
                    return True
        return False

    def matches(self, doc_id: str, metadata: Mapping[str, Any]) -> bool:
        if self.paths and not self._path_ok(doc_id, metadata):
            return False
        if self.formats and document_format(doc_id, metadata) not in self.formats:
            return False
        after, before = self._after, self._before  # type: ignore[attr-defined]
        if after is not None or before is not None:
            mtime = metadata.get("mtime")
            if not isinstance(mtime, (int, float)):
                return False
            if (after is not None and mtime < after) or (before is not None and mtime >= before):
                return False
        return True


def filtered(fetch: Callable[[int], list[H]], k: int, allowed: Callable[[str], bool], total: int) -> list[H]:
    """The first `k` hits of `fetch(n)` that are `allowed`, asking for more (n x4) until k pass or the
    ranked list runs out (fewer than n hits, or n reached `total` documents)."""
    if k <= 0:
        return []
    n = max(4 * k, 32)
    while True:
        hits = fetch(n)
        kept = [h for h in hits if allowed(h.id)]
        if len(kept) >= k or len(hits) < n or n >= total:
            return kept[:k]
        n = min(n * 4, max(total, 1))


def where_filtered(index: Any, fetch: Callable[[int], list[H]], k: int, where: Optional["Filter"]) -> list[H]:
    """`fetch(k)`, or with a filter the first `k` hits of ever deeper fetches that `where` allows, each
    document's metadata read once from `index` (anything with `get(id)` and `len()`: an `Index`, a sharded one)."""
    if where is None or where.empty:
        return fetch(k)
    seen: dict[str, bool] = {}

    def allowed(doc_id: str) -> bool:
        if doc_id not in seen:
            doc = index.get(doc_id)
            seen[doc_id] = doc is not None and where.matches(doc_id, doc.metadata)
        return seen[doc_id]

    return filtered(fetch, k, allowed, len(index))
