"""`xlqe watch`: keep an index in step with folders as files change."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..ingest.extract import DEFAULT_MAX_BYTES
from ..ingest.sync import DEFAULT_COMMIT_EVERY, DEFAULT_COMMIT_SECONDS
from ..ingest.watch import DEFAULT_DEBOUNCE_MS
from .args import int_at_least
from .index import open_for_sync

if TYPE_CHECKING:
    from ..ingest.report import SyncReport


def run(args: argparse.Namespace) -> int:
    from ..ingest.progress import SyncProgress, summary_lines
    from ..ingest.report import display_path
    from ..ingest.sync import Syncer
    from ..ingest.watch import watch

    missing = [display_path(p) for p in args.paths if not os.path.isdir(p)]
    if missing:
        raise InvalidInputError(f"not a folder: {', '.join(missing)}")
    args.encoder = args.k1 = args.b = None
    args.no_vectors = args.no_passages = args.no_stem = args.no_stopwords = False
    if not os.path.exists(os.path.join(args.index_dir, "xlqe.manifest")):
        args.encoder = args.watch_encoder
    index, encoder = open_for_sync(args)
    if callable(encoder) and not hasattr(encoder, "encode"):
        import functools

        encoder = functools.cache(encoder)  # loaded once, by the first round that embeds
    progress = SyncProgress(quiet=args.quiet)

    def syncer() -> Syncer:
        return Syncer(index, encoder, max_bytes=args.max_bytes, commit_every=args.commit_every,
                      commit_seconds=args.commit_seconds, events=progress)

    def report(r: SyncReport) -> None:
        if r.indexed or r.updated or r.moved or r.removed or r.records or not args.quiet:
            for line in summary_lines(r, args.index_dir, limit=5):
                print(line, flush=True)

    print(f"xlqe: watching {', '.join(args.paths)} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        watch(lambda: syncer().sync(args.paths), args.paths, debounce_ms=args.debounce, on_report=report)
    except KeyboardInterrupt:
        pass
    finally:
        index.close()
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("watch", help="keep an index in step with folders as files change",
                       description="Syncs INDEX_DIR with the folders now, then again after each burst of changes "
                                   "(debounced), until Ctrl-C. Editors that save by writing a temporary file and "
                                   "renaming it are handled: each round syncs the folders as they are.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("paths", metavar="FOLDER", nargs="+")
    p.add_argument("--encoder", dest="watch_encoder", help="new index: the encoder for its vectors")
    p.add_argument("--debounce", type=int_at_least(1), default=DEFAULT_DEBOUNCE_MS, metavar="MS",
                   help=f"wait until changes pause for this many milliseconds (default {DEFAULT_DEBOUNCE_MS})")
    p.add_argument("--max-bytes", type=int_at_least(1), default=DEFAULT_MAX_BYTES, help="skip files larger than this")
    p.add_argument("--threads", type=int_at_least(1), help="encoder threads (default: all cores)")
    p.add_argument("--commit-every", type=int_at_least(1), default=DEFAULT_COMMIT_EVERY, metavar="N")
    p.add_argument("--commit-seconds", type=float, default=DEFAULT_COMMIT_SECONDS, metavar="T")
    p.add_argument("--quiet", action="store_true", help="print only rounds that changed something")
    p.set_defaults(func=run)
