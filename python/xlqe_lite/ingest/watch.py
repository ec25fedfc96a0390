"""Live sync: a folder watched with watchfiles, synced again after each (debounced) burst of changes."""

from __future__ import annotations

import os
from typing import Any, Callable

from .report import SyncReport, canonical

__all__ = ["DEFAULT_DEBOUNCE_MS", "watch"]

# A watched folder is synced once its changes pause this long (editors write a file in several steps).
DEFAULT_DEBOUNCE_MS = 500


def watch(sync_round: Callable[[], SyncReport], paths: list[str], *, debounce_ms: int = DEFAULT_DEBOUNCE_MS,
          on_report: Callable[[SyncReport], None] = lambda r: None,
          stop_event: Any = None) -> None:
    """Calls `sync_round` (a full sync of `paths`, e.g. `Syncer(...).sync(paths)`) now and again after
    every (debounced) batch of changes under `paths`, until interrupted or `stop_event` (a
    threading.Event) is set. Each round is a full sync: unchanged files cost a `stat`, and a
    save-by-rename (write a temporary file, rename it over the original) is seen as the file it leaves
    behind."""
    import watchfiles

    on_report(sync_round())
    folders = [canonical(p) if os.path.isdir(p) else os.path.dirname(canonical(p)) for p in paths]
    for _changes in watchfiles.watch(*folders, debounce=debounce_ms, step=50, stop_event=stop_event,
                                     raise_interrupt=False, recursive=True):
        on_report(sync_round())
