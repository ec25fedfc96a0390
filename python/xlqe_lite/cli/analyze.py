"""`xlqe analyze`: show the terms a text is indexed as."""

from __future__ import annotations

import argparse
from typing import Any

from .._core import analyze
from .args import lang_code


def run(args: argparse.Namespace) -> int:
    print(" ".join(analyze(args.text, args.lang, stem=not args.no_stem, stopwords=not args.no_stopwords)))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("analyze", help="show the terms a text is indexed as")
    p.add_argument("text")
    p.add_argument("--lang", type=lang_code, help="language of the text (enables stemming and stop words)")
    p.add_argument("--no-stem", action="store_true")
    p.add_argument("--no-stopwords", action="store_true")
    p.set_defaults(func=run)
