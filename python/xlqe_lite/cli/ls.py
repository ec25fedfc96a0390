"""`xlqe ls`: list an index's documents."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def _human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def run(args: argparse.Namespace) -> int:
    from ..shard import open_index

    index = open_index(args.index_dir)
    rows = []
    for doc_id in sorted(index.ids()):
        doc = index.get(doc_id)
        if doc is None:
            continue
        meta = dict(doc.metadata)
        row: dict[str, Any] = {"id": doc.id, "lang": doc.lang, "chars": len(doc.text)}
        for key in ("root", "path", "title", "format", "size", "mtime", "sha256"):
            if key in meta:
                row[key] = meta[key]
        row["passages"] = len(meta.get("passages") or [])
        rows.append(row)
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["mtime"])) if "mtime" in r else "-"
        size = _human_size(r["size"]) if "size" in r else f"{r['chars']} chars"
        print(f"{r['id']}\t{r.get('format', 'record')}\t{r['lang'] or '?'}\t{size}\t{when}\t{r.get('title', '')}")
    print(f"{len(rows)} documents", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ls", help="list an index's documents", description="One line per document: id (the path "
                       "for files), format, language, size, modification time, title. --json adds everything stored.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("--json", action="store_true", help="print the documents as a JSON list")
    p.set_defaults(func=run)
