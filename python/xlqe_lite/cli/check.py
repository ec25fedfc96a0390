"""`xlqe check`: verify an index."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..errors import XlqeError
from ..index import Index


def _check_one(path: str) -> dict[str, Any]:
    report: dict[str, Any] = {"ok": False, "documents": 0, "path": path}
    try:
        index = Index.open(path)
        problems = index.verify()
        report.update(ok=not problems, documents=len(index), generation=index.generation,
                      languages=dict(index.languages()), problems=problems,
                      bytes=sum(e.stat().st_size for e in os.scandir(path) if e.is_file()))
    except XlqeError as e:
        report.update(error=str(e))
    return report


def run(args: argparse.Namespace) -> int:
    from ..shard import is_sharded
    from ..shard.cli import check_sharded

    # A sharded index: every shard's check, the manifest's generations and each document's routing.
    report = check_sharded(args.index_dir) if is_sharded(args.index_dir) else _check_one(args.index_dir)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    elif report["ok"]:
        langs = ", ".join(f"{k} {v}" for k, v in report["languages"].items()) or "none"
        print(f"ok: {report['documents']} documents, generation {report['generation']}, {report['bytes']} bytes; languages: {langs}")
    else:
        for p in report.get("problems", []) or [report.get("error", "unknown problem")]:
            print(f"xlqe: problem: {p}", file=sys.stderr)
    return 0 if report["ok"] else 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="verify an index",
                       description="Verifies checksums, postings, lengths and ids; exit 0 when consistent, 1 "
                                   "with the problems (also for a missing index: the report says so).")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("--json", action="store_true", help='print {"ok", "documents", ...} as JSON')
    p.set_defaults(func=run)
