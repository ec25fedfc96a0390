"""The `xlqe` command: index folders and files, search, check an index, measure quality on the bench.

One module per command (`index`, `ls`, `rm`, `watch`, `search`, `check`, `analyze`, `eval`, `serve`, `models`),
each with `add_parser(sub)` for its flags and `run(args)` for its work; `args` holds the argument types and
the flags several commands share. Defaults come from the library, not typed again here.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from .. import __version__
from ..errors import IndexNotFoundError, ModelError, XlqeError
from . import analyze, check, index, ls, models, rm, search, serve, watch
from . import eval as evaluation

__all__ = ["build_parser", "main"]

# In the order `xlqe --help` lists them.
COMMANDS = (index, ls, rm, watch, search, check, analyze, evaluation, serve, models)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlqe", description="Offline cross-lingual search over your own files.")
    parser.add_argument("--version", action="version", version=f"xlqe-lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs one command. Usage errors exit 2 (argparse); a failing command prints one `xlqe: error:`
    line and exits 1; no traceback reaches the user (XLQE_DEBUG=1 shows them for unexpected errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IndexNotFoundError as e:
        print(f"xlqe: error: {e} (create one with `xlqe index {getattr(args, 'index_dir', 'DIR')} PATH...`)", file=sys.stderr)
    except BrokenPipeError:
        # The reader went away (`xlqe search ... | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (XlqeError, OSError, ValueError, MemoryError, ModelError) as e:
        print(f"xlqe: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("xlqe: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except BaseException as e:  # a bug, or a panic in the Rust core (pyo3's PanicException is a BaseException)
        if isinstance(e, SystemExit) or os.environ.get("XLQE_DEBUG"):
            raise
        print(f"xlqe: error: internal error ({type(e).__name__}: {e}); run again with XLQE_DEBUG=1 for details",
              file=sys.stderr)
    return 1