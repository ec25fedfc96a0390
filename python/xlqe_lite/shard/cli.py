"""The `xlqe` commands' sharded side: `xlqe index --shards N --ray ...` and `xlqe check` of a sharded
index. The flags live in xlqe_lite/cli/index.py with the rest; this module does the work."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Any

from ..errors import InvalidInputError, XlqeError
from ..models.manifest import DEFAULT_ENCODER
from .manifest import is_sharded, read_manifest


def wants_sharding(args: argparse.Namespace) -> bool:
    """Whether `xlqe index` builds a sharded index: --shards or --ray given, or the index is sharded."""
    return bool(args.shards) or bool(args.ray) or is_sharded(args.index_dir)


def cmd_index_sharded(args: argparse.Namespace) -> int:
    """`xlqe index DIR PATH... --shards N [--ray auto|local|ADDRESS|none]`. With --ray: the Ray Data build
    (build.py). Without it (or `--ray none`): the ordinary sync (ingest.sync.Syncer) writing through the
    sharded index in this process, each document routed to its shard."""
    created = not is_sharded(args.index_dir)
    if created and not args.shards:
        raise InvalidInputError("a new sharded index needs --shards N")
    if not args.ray or args.ray == "none":  # Ray only when asked for: the sync runs in this process
        return _sync_in_process(args, created)
    from .build import build_sharded

    settings = {"k1": 1.2 if args.k1 is None else args.k1, "b": 0.75 if args.b is None else args.b,
                "stem": not args.no_stem, "stopwords": not args.no_stopwords}
    try:
        report = build_sharded(args.index_dir, args.paths, shards=args.shards, ray_address=args.ray,
                               encoder=None if args.no_vectors else (args.encoder or DEFAULT_ENCODER),
                               passages=not args.no_passages, workers=args.workers, threads=args.threads,
                               lang=args.lang, detect=not args.no_detect, max_bytes=args.max_bytes,
                               timeout=args.timeout, batch_size=args.batch_size, commit_every=args.commit_every,
                               index_settings=settings)
    except BaseException:
        if created:
            shutil.rmtree(args.index_dir, ignore_errors=True)  # a failed first build leaves nothing behind
        raise
    if args.json:
        json.dump({"index": args.index_dir, **report.as_dict()}, sys.stdout, ensure_ascii=False)
        print()
    else:
        rate = f", {report.documents / report.seconds:.1f} documents/s" if report.seconds else ""
        print(f"{args.index_dir}: {report.documents} documents into {len(report.per_shard)} shards "
              f"({', '.join(map(str, report.per_shard))}) with {report.workers} encoder worker"
              f"{'s' * (report.workers != 1)} in {report.seconds:.1f} s{rate}; generation {report.generation}")
        if report.skipped:
            print("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())))
            if not args.quiet:
                for s in report.skipped_examples:
                    print(f"xlqe: warning: skipped {s}", file=sys.stderr)
    return 0 if report.documents or not report.skipped else 1


def _sync_in_process(args: argparse.Namespace, created: bool) -> int:
    from ..ingest.progress import SyncProgress, print_sync_report
    from ..ingest.sync import Syncer
    from .sharded import ShardedIndex

    if created:
        vectors = None
        if not args.no_vectors:
            from ..models.encoder import Encoder

            vectors = Encoder.load(args.encoder or DEFAULT_ENCODER, threads=1,
                                   low_memory=True).vector_settings(passages=not args.no_passages)
        index = ShardedIndex.create(args.index_dir, args.shards, k1=1.2 if args.k1 is None else args.k1,
                                    b=0.75 if args.b is None else args.b, stem=not args.no_stem,
                                    stopwords=not args.no_stopwords, vectors=vectors)
    else:
        index = ShardedIndex.open(args.index_dir, writer=True)
        if args.shards and args.shards != index.shards:
            index.close()
            raise InvalidInputError(f"{args.index_dir} has {index.shards} shards, not {args.shards}")
    vectors = index.vector_config
    model = vectors.model if vectors else None
    encoder: Any = None
    if model:
        from ..models.encoder import Encoder

        encoder = lambda: Encoder.load(model, threads=args.threads or os.cpu_count() or 1, low_memory=True)  # noqa: E731
    quiet = args.quiet or args.json
    with SyncProgress(quiet=quiet) as progress:
        syncer = Syncer(index, encoder, lang=args.lang, detect=not args.no_detect,  # type: ignore[arg-type]
                        max_bytes=args.max_bytes, timeout=args.timeout, commit_every=args.commit_every,
                        commit_seconds=args.commit_seconds, batch_size=args.batch_size, events=progress)
        try:
            report = syncer.sync(args.paths)
        except BaseException:
            index.close()
            if created and not syncer.report.commits:
                shutil.rmtree(args.index_dir, ignore_errors=True)
            raise
        index.close()
    return print_sync_report(report, args.index_dir, args.json, args.quiet)


def check_sharded(path: str) -> dict[str, Any]:
    """`xlqe check`'s report of a sharded index: every shard verified, plus the sharding's own checks."""
    from .sharded import ShardedIndex

    report: dict[str, Any] = {"ok": False, "documents": 0, "path": path}
    try:
        manifest = read_manifest(path)
        index = ShardedIndex.open(path)
        try:
            problems = index.verify()
            shards = [{"shard": i, "documents": info["documents"], "generation": info["generation"]}
                      for i, info in enumerate(index._shard_info())]
            report.update(ok=not problems, documents=len(index), generation=index.generation,
                          languages=dict(index.languages()), problems=problems, shards=shards,
                          bytes=sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files))
        finally:
            index.close()
        report["shard_count"] = manifest.shards
    except XlqeError as e:
        report.update(error=str(e))
    return report
