"""Search filters on documents' metadata: path prefix or glob, format, modification time.

    engine.search("budget 2024", where=Filter(paths=["reports/"], formats=["pdf"], modified_after="2024-01-01"))

The core applies a filter inside each ranked list's top-k, before fusion (rust_core/src/index/filter.rs), so
a filtered search is one call like any other and never returns fewer hits than exist. Documents from JSONL
have no file metadata: a path filter matches their id, format and time filters exclude them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional, Sequence, Union

from . import _core
from .errors import InvalidInputError

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
        # A relative path prefix that exists here also names the real absolute path it resolves to, now,
        # in the process that made the filter (a shard's worker may run elsewhere).
        globs, prefixes = [], []
        for pattern in self.paths:
            if any(c in pattern for c in "*?["):
                globs.append(pattern)
            else:
                absolute = os.path.abspath(pattern) if os.path.isabs(pattern) or os.path.exists(pattern) else None
                prefixes.append((pattern, pattern.removeprefix("./"), os.path.realpath(absolute) if absolute else None))
        object.__setattr__(self, "_globs", tuple(globs))
        object.__setattr__(self, "_prefixes", tuple(prefixes))

    @property
    def empty(self) -> bool:
        return not self.paths and not self.formats and self._after is None and self._before is None  # type: ignore[attr-defined]

    def core(self) -> Optional[_core.DocFilter]:
        """The core's form of this filter, or None when it allows everything."""
        if self.empty:
            return None
        from .ingest.extract import FORMATS

        return _core.DocFilter(globs=list(self._globs), prefixes=list(self._prefixes),  # type: ignore[attr-defined]
                               formats=list(self.formats),
                               suffix_formats=FORMATS, after=self._after, before=self._before)  # type: ignore[attr-defined]

    def matches(self, doc_id: str, metadata: Mapping[str, Any]) -> bool:
        """Whether a document with this id and metadata passes (the rule searches apply)."""
        core = self.core()
        return core is None or core.allows(doc_id, json.dumps(dict(metadata)))


def core_filter(where: Optional[Filter]) -> Optional[_core.DocFilter]:
    """`where`'s core form, or None for no filter (or one that allows everything)."""
    return None if where is None else where.core()
