"""A small progress line on stderr: redrawn in place on a terminal, silent otherwise (logs stay clean)."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    def __init__(self, label: str, total: Optional[int] = None, stream: TextIO = sys.stderr, every: float = 0.1) -> None:
        self.label, self.total, self.stream, self.every = label, total, stream, every
        self.count = 0
        self.start = self.last = time.monotonic()
        self.enabled = stream.isatty()

    def advance(self, n: int = 1, note: str = "") -> None:
        self.count += n
        now = time.monotonic()
        if self.enabled and now - self.last >= self.every:
            self.last = now
            self._draw(note)

    def _draw(self, note: str = "") -> None:
        rate = self.count / max(time.monotonic() - self.start, 1e-9)
        if self.total:
            done = min(self.count / self.total, 1.0)
            bar = "#" * int(done * 24)
            text = f"\r{self.label} [{bar:<24s}] {self.count}/{self.total} ({rate:.0f}/s) {note}"
        else:
            text = f"\r{self.label} {self.count} ({rate:.0f}/s) {note}"
        self.stream.write(text[:160].ljust(80))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
