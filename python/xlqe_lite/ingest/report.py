"""What a sync reports (`SyncReport`, one `FileEntry` per file it looked at), the `Events` it sends while
it runs (the progress display listens), and how it names paths (canonical, and printable)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["display_path", "canonical", "FileEntry", "SyncReport", "Events"]


def display_path(path: str) -> str:
    """`path` printable: bytes that are not UTF-8 (held as surrogate escapes) shown as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def canonical(path: str) -> str:
    """The canonical absolute form of a path given on the command line."""
    return os.path.realpath(os.path.abspath(os.fspath(path)))


@dataclass
class FileEntry:
    """A regular file found by the walk."""

    path: str  # canonical absolute path: the document id
    root: str  # the folder it was found under (its parent directory for a file named directly)
    size: int
    mtime_ns: int

    @property
    def rel(self) -> str:
        return os.path.relpath(self.path, self.root).replace(os.sep, "/")


@dataclass
class SyncReport:
    """What a sync did. `skipped` maps each reason to the paths (escaped) skipped for it."""

    indexed: int = 0  # new documents
    updated: int = 0  # changed files, re-extracted and re-embedded
    unchanged: int = 0  # not re-read (size and mtime equal) or re-read with equal bytes
    moved: int = 0  # new paths of known contents: embeddings reused
    removed: int = 0  # documents whose files are gone
    records: int = 0  # JSONL records added or replaced
    skipped: dict[str, list[str]] = field(default_factory=dict)
    files_read: int = 0  # files opened and read (hashing or extraction)
    embedded: int = 0  # documents sent to the encoder
    commits: int = 0
    seconds: float = 0.0

    @property
    def skipped_count(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def skip(self, reason: str, where: str) -> None:
        self.skipped.setdefault(reason, []).append(where)

    def as_dict(self) -> dict[str, Any]:
        return {"indexed": self.indexed, "updated": self.updated, "unchanged": self.unchanged, "moved": self.moved,
                "removed": self.removed, "records": self.records, "skipped": self.skipped_count,
                "skipped_by_reason": self.skipped, "files_read": self.files_read, "embedded": self.embedded,
                "commits": self.commits, "seconds": round(self.seconds, 3)}

    def summary(self) -> str:
        parts = [f"{self.indexed} new", f"{self.updated} updated", f"{self.unchanged} unchanged", f"{self.moved} moved",
                 f"{self.removed} removed"]
        if self.records:
            parts.append(f"{self.records} JSONL records")
        line = ", ".join(parts) + f"; {self.skipped_count} skipped"
        if self.skipped:
            line += " (" + ", ".join(f"{reason}: {len(v)}" for reason, v in sorted(self.skipped.items())) + ")"
        return line + f"; {self.embedded} embedded, {self.commits} commits, {self.seconds:.2f}s"


class Events:
    """What a sync tells its caller while it runs (the CLI draws progress from these)."""

    def start(self, files: int, total_bytes: int) -> None: ...
    def file(self, path: str, size: int) -> None: ...
    def done(self, path: str, size: int) -> None: ...
    def warn(self, message: str) -> None: ...
    def commit(self, documents: int) -> None: ...
