"""Progress of a sync on stderr: a rich progress bar on a terminal (files done / total, bytes, ETA,
the current file; warnings printed above the bar), plain lines otherwise (a warning per line and a
status line at most every `every` seconds), nothing but warnings when quiet.

rich is used because it draws a live bar that other output can print above without tearing it, and
falls back to nothing when the stream is not a terminal; it is already a dependency (requirements/runtime.in).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO

from .report import Events


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class SyncProgress(Events):
    """`Events` drawn for a person. `quiet`: warnings only. Use as a context manager."""

    def __init__(self, stream: TextIO = sys.stderr, quiet: bool = False, every: float = 10.0,
                 warnings: bool = True) -> None:
        self.stream, self.quiet, self.every, self.warnings = stream, quiet, every, warnings
        self.live = not quiet and stream.isatty()
        self._bar: Any = None
        self._task: Any = None
        self.files = self.total_bytes = self.done_files = self.done_bytes = 0
        self._last = 0.0
        self._start = time.monotonic()

    def __enter__(self) -> "SyncProgress":
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("indexing"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                                 TextColumn("{task.fields[current]}"),
                                 console=Console(file=self.stream), transient=True)
            self._bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def start(self, files: int, total_bytes: int) -> None:
        self.files, self.total_bytes = files, total_bytes
        self._start = self._last = time.monotonic()
        if self._bar is not None:
            # bytes drive the bar and its ETA; the file count is shown beside them
            self._task = self._bar.add_task("index", total=max(total_bytes, 1), current="")
        elif not self.quiet:
            print(f"xlqe: {files} files, {_mb(total_bytes)} to check", file=self.stream, flush=True)

    def file(self, path: str, size: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, current=f"{self.done_files}/{self.files} files {path[-50:]}")

    def done(self, path: str, size: int) -> None:
        self.done_files += 1
        self.done_bytes += size
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self.done_bytes,
                             current=f"{self.done_files}/{self.files} files {path[-50:]}")
            return
        now = time.monotonic()
        if not self.quiet and now - self._last >= self.every and self.done_files < self.files:
            self._last = now
            rate = self.done_bytes / max(now - self._start, 1e-6)
            eta = (self.total_bytes - self.done_bytes) / rate if rate > 0 else float("inf")
            print(f"xlqe: {self.done_files}/{self.files} files, {_mb(self.done_bytes)}/{_mb(self.total_bytes)}, "
                  f"ETA {eta:.0f}s, {path}", file=self.stream, flush=True)

    def warn(self, message: str) -> None:
        if not self.warnings:
            return
        if self._bar is not None:
            self._bar.console.print(f"xlqe: warning: {message}", markup=False, highlight=False, soft_wrap=True)
        else:
            print(f"xlqe: warning: {message}", file=self.stream, flush=True)

    def commit(self, documents: int) -> None:
        pass


def print_sync_report(report: Any, index_dir: str, as_json: bool, quiet: bool) -> int:
    """`xlqe index`'s closing output (the JSON report, or the summary lines) and its exit code: 0 when the
    sync wrote or confirmed something or skipped nothing, 1 when every file it met was skipped."""
    import json

    if as_json:
        json.dump({"index": index_dir, **report.as_dict()}, sys.stdout, ensure_ascii=False)
        print()
    else:
        for line in summary_lines(report, index_dir, limit=None if not quiet else 5):
            print(line)
    written = report.indexed + report.updated + report.moved + report.records + report.removed
    return 0 if written or report.unchanged or not report.skipped_count else 1


def summary_lines(report: Any, index_dir: str, limit: Optional[int] = 20) -> list[str]:
    """The summary a person reads after a sync: the counts, then the skipped paths by reason."""
    lines = [f"{index_dir}: {report.summary()}"]
    for reason, paths in sorted(report.skipped.items()):
        shown = paths if limit is None else paths[:limit]
        more = f" and {len(paths) - len(shown)} more" if len(paths) > len(shown) else ""
        lines.append(f"  skipped, {reason}: {', '.join(shown)}{more}")
    return lines
