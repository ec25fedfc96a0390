"""`xlqe serve`: serve an index over a local HTTP API and a search page."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import IndexNotFoundError
from ..models.llm_registry import DEFAULT_LLM
from ..server.config import ServerConfig
from .args import existing_dir, int_at_least, llm_name


def run(args: argparse.Namespace) -> int:
    from ..server.config import ServerConfig
    from ..server.runner import serve

    config = ServerConfig.from_args(args.host, args.port, args.token_file)  # refuses a public address without a token
    from ..shard import is_sharded

    if not os.path.exists(os.path.join(args.index_dir, "xlqe.manifest")) and not is_sharded(args.index_dir):
        raise IndexNotFoundError(f"index not found: {args.index_dir}")
    return serve(args.index_dir, config, threads=args.threads, llm=args.llm, expansion=not args.no_llm,
                 watch=[os.path.abspath(f) for f in args.watch])


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve an index over a local HTTP API and a search page",
                       description="Keeps the models loaded and answers GET /search, /documents/ID, /stats, /health, "
                                   "POST /documents, DELETE /documents/ID and POST /index (writes take the writer "
                                   "lock for one commit; 409 when another process holds it), with the page at / and "
                                   "the OpenAPI schema at /openapi.json. Commits made by others are picked up "
                                   "without a restart.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("--host", default=ServerConfig.host,
                   help=f"address to listen on (default {ServerConfig.host}; any other needs --token-file)")
    p.add_argument("--port", type=int_at_least(0), default=ServerConfig.port,
                   help=f"port (default {ServerConfig.port}; 0: any free port, printed on start)")
    p.add_argument("--token-file", metavar="FILE",
                   help="file holding a bearer token (>= 16 characters) that every API request must send")
    p.add_argument("--threads", type=int_at_least(1), help="encoder and LLM threads (default: all cores)")
    p.add_argument("--llm", type=llm_name, metavar="MODEL", help=f"the expansion model (default {DEFAULT_LLM}) or a .gguf path")
    p.add_argument("--no-llm", action="store_true", help="no query expansion (expand=... is refused)")
    p.add_argument("--watch", metavar="FOLDER", nargs="+", type=existing_dir, default=[],
                   help="keep these folders in step with the index while serving (a sync now and after each change)")
    p.set_defaults(func=run)
