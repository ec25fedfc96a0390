"""`xlqe rm`: remove documents from an index."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def run(args: argparse.Namespace) -> int:
    from ..ingest.sync import remove
    from ..shard import open_index

    index = open_index(args.index_dir, writer=True)
    try:
        ids, unmatched = remove(index, args.targets)  # type: ignore[arg-type]
        if unmatched:
            print(f"xlqe: error: not in {args.index_dir}: {', '.join(unmatched)}; nothing was removed", file=sys.stderr)
            return 1
        for doc_id in ids:
            index.delete(doc_id)
        index.commit()
    finally:
        index.close()
    print(f"removed {len(ids)} document{'s' * (len(ids) != 1)} from {args.index_dir}")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("rm", help="remove documents from an index",
                       description="Removes documents named by id, by file path, or by folder (every file under "
                                   "it). If one name matches nothing, nothing is removed.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("targets", metavar="PATH_OR_ID", nargs="+")
    p.set_defaults(func=run)
