"""`xlqe index`: make an index reflect folders and files (a sync), add JSONL records."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from .._core import normalize_lang
from ..errors import InvalidInputError
from ..index import DEFAULT_B, DEFAULT_K1, Index
from ..ingest.extract import DEFAULT_MAX_BYTES
from ..ingest.sync import DEFAULT_BATCH_SIZE, DEFAULT_COMMIT_EVERY, DEFAULT_COMMIT_SECONDS, DEFAULT_TIMEOUT
from ..models.manifest import DEFAULT_ENCODER
from .args import encoder_name, float_between, int_at_least, seconds

if TYPE_CHECKING:
    from ..models.encoder import Encoder


def load_encoder(name: str, threads: Optional[int]) -> Encoder:
    """The encoder for indexing: onnxruntime in low-memory mode (see Encoder.load)."""
    from ..models.encoder import Encoder

    return Encoder.load(name, threads=threads or os.cpu_count() or 1, low_memory=True)


def open_for_sync(args: argparse.Namespace) -> tuple[Index, Union[Encoder, Callable[[], Encoder], None]]:
    """The index to sync into (created if absent, after the inputs were checked) and its encoder."""
    exists = os.path.exists(os.path.join(args.index_dir, "xlqe.manifest"))
    if exists:
        ignored = [flag for flag, given in (("--encoder", args.encoder is not None), ("--no-vectors", args.no_vectors),
                                            ("--no-passages", args.no_passages), ("--k1", args.k1 is not None),
                                            ("--b", args.b is not None), ("--no-stem", args.no_stem),
                                            ("--no-stopwords", args.no_stopwords)) if given]
        index = Index.open(args.index_dir, writer=True)
        vectors = index.vector_config
        model = vectors.model if vectors else None
        if ignored:
            print(f"xlqe: warning: {', '.join(ignored)} ignored: {args.index_dir} exists and keeps its settings"
                  + (f" (encoder {model})" if model else ""), file=sys.stderr)
        if not model:
            return index, None
        # loaded only if something must be embedded: an unchanged folder costs no model load
        return index, lambda: load_encoder(model, args.threads)
    vectors = None
    encoder: Optional[Encoder] = None
    if not args.no_vectors:
        encoder = load_encoder(args.encoder or DEFAULT_ENCODER, args.threads)
        vectors = encoder.vector_settings(passages=not args.no_passages)
    index = Index.create(args.index_dir, k1=DEFAULT_K1 if args.k1 is None else args.k1,
                         b=DEFAULT_B if args.b is None else args.b, stem=not args.no_stem,
                         stopwords=not args.no_stopwords, vectors=vectors)
    return index, encoder


def run(args: argparse.Namespace) -> int:
    from ..ingest.progress import SyncProgress, print_sync_report, summary_lines
    from ..ingest.report import display_path
    from ..ingest.sync import Syncer

    # Every input is checked before the index is created or touched: a missing path creates nothing.
    missing = [display_path(p) for p in args.paths if not os.path.lexists(p)]
    if missing:
        raise InvalidInputError(f"no such file or directory: {', '.join(missing)}")
    if args.lang:
        normalize_lang(args.lang)
    from ..shard.cli import cmd_index_sharded, wants_sharding

    if wants_sharding(args):
        return cmd_index_sharded(args)
    created = not os.path.exists(os.path.join(args.index_dir, "xlqe.manifest"))
    index, encoder = open_for_sync(args)
    quiet = args.quiet or args.json
    with SyncProgress(quiet=quiet) as progress:
        syncer = Syncer(index, encoder, lang=args.lang, detect=not args.no_detect, max_bytes=args.max_bytes,
                        timeout=args.timeout, commit_every=args.commit_every, commit_seconds=args.commit_seconds,
                        batch_size=args.batch_size, events=progress)
        try:
            report = syncer.sync(args.paths)
        except BaseException as e:
            index.close()
            done = syncer.report.commits
            if created and not done:
                shutil.rmtree(args.index_dir, ignore_errors=True)  # a failed first run leaves no empty index
            if isinstance(e, KeyboardInterrupt):
                print(f"xlqe: interrupted; {done} commit step{'s' * (done != 1)} kept, the rest rolled back",
                      file=sys.stderr)
                return 130
            raise
        index.close()
    return print_sync_report(report, args.index_dir, args.json, args.quiet)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("index", help="make an index reflect folders and files (a sync); add JSONL records",
                       description="Syncs INDEX_DIR with folders (walked recursively, hidden entries skipped) and "
                                   "files: new and changed files are extracted and embedded, unchanged ones are "
                                   "not re-read, files gone from a folder are removed, moved files keep their "
                                   "embeddings. JSONL files add {\"id\", \"text\", \"lang\"?} records. Files "
                                   "that cannot be read are skipped with a warning; work is committed in steps. "
                                   "Creates INDEX_DIR if needed.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("paths", metavar="PATH", nargs="+")
    p.add_argument("--lang", help="language of all documents (ISO 639-1); default: the JSONL field, else detected")
    p.add_argument("--no-detect", action="store_true", help="do not detect languages (unknown stays unknown)")
    p.add_argument("--max-bytes", type=int_at_least(1), default=DEFAULT_MAX_BYTES, help="skip files larger than this")
    p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT,
                   help=f"seconds one file's extraction may take (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--encoder", type=encoder_name, help=f"new index: the encoder for its vectors (default {DEFAULT_ENCODER})")
    p.add_argument("--no-vectors", action="store_true", help="new index: lexical search only, no encoder")
    p.add_argument("--no-passages", action="store_true",
                   help="new index: one vector per document, no passage windows (smaller, faster to build; "
                        "long documents are then matched as a whole, and only their first 512 tokens)")
    p.add_argument("--threads", type=int_at_least(1), help="encoder threads (default: all cores)")
    p.add_argument("--batch-size", type=int_at_least(1), default=DEFAULT_BATCH_SIZE,
                   help=f"documents embedded per batch (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--commit-every", type=int_at_least(1), default=DEFAULT_COMMIT_EVERY, metavar="N",
                   help=f"commit after every N documents (default {DEFAULT_COMMIT_EVERY})")
    p.add_argument("--commit-seconds", type=seconds, default=DEFAULT_COMMIT_SECONDS, metavar="T",
                   help=f"and at least every T seconds (default {DEFAULT_COMMIT_SECONDS:g})")
    p.add_argument("--quiet", action="store_true", help="no progress; a short summary")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--k1", type=float_between(0.0, 100.0), help=f"BM25 k1, for a new index (default {DEFAULT_K1})")
    p.add_argument("--b", type=float_between(0.0, 1.0), help=f"BM25 b, for a new index (default {DEFAULT_B})")
    p.add_argument("--no-stem", action="store_true", help="new index: no stemming")
    p.add_argument("--no-stopwords", action="store_true", help="new index: keep stop words")
    p.add_argument("--shards", type=int_at_least(1), metavar="N",
                   help="new index: a sharded index of N shards (documents routed by a hash of their id)")
    p.add_argument("--ray", metavar="auto|local|ADDRESS|none",
                   help="build the sharded index on Ray: auto (a running cluster, else a local one), local, or a "
                        "cluster address; without it (or none) a sharded index is synced in this process")
    p.add_argument("--workers", type=int_at_least(1), default=1, metavar="W",
                   help="with --ray: encoder actors embedding in parallel (default 1)")
    p.set_defaults(func=run)
