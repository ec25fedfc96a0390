"""`xlqe search`: ranked hits with id, score, language and a snippet; the query expansion flags."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Optional, Sequence, TextIO, Union

from ..expansion.prompts import STRATEGIES, Shots
from ..search.config import DEFAULT_K, MODES
from .args import add_model_flags, index_dir, int_at_least, lang_code, lang_codes, lang_list, seconds, strategy_name
from .progress import Progress

if TYPE_CHECKING:
    from ..expansion import Expander, Expansion
    from ..filters import Filter
    from ..search import Explanation

BOLD, RESET = "\033[1m", "\033[0m"


def _highlight(text: str, ranges: Sequence[tuple[int, int]]) -> str:
    out, last = [], 0
    for a, b in sorted(ranges):
        if a < last:
            continue
        out += [text[last:a], BOLD, text[a:b], RESET]
        last = b
    out.append(text[last:])
    return "".join(out)


def _explain(e: Optional["Explanation"]) -> str:
    if e is None:
        return ""
    parts = [f"{name} —" if src is None else f"{name} #{src.rank} {src.score:.3f} ×{src.weight:.3g}"
             for name, src in e.lists.items()]
    return "     " + "  |  ".join(parts) + f"  (query {e.query_lang or '?'}/{e.query_script or '?'}, {e.method})"


def expander_from(args: argparse.Namespace) -> Expander:
    from ..expansion import Expander

    return Expander(args.llm, threads=args.threads, budget=getattr(args, "budget", None))


def warn_unused_llm(args: argparse.Namespace, expand: Optional[str]) -> None:
    if args.llm and not expand:
        print("xlqe: warning: --llm is ignored without --expand", file=sys.stderr)


def print_expansions(expansions: Sequence[Expansion], stream: TextIO = sys.stderr) -> None:
    for e in expansions:
        state = "cached" if e.cached else (f"{e.seconds:.2f}s" if e.complete else "cut by the time budget")
        text = " | ".join(e.texts) if e.texts else "(nothing usable)"
        print(f"  {e.strategy}/{e.shots} → {e.lang or 'query language'} [{state}]: {text}", file=stream)


def where_from(args: argparse.Namespace) -> Optional[Filter]:
    """The search filter the --path/--format/--after/--before flags ask for, or None."""
    from ..filters import Filter

    where = Filter(paths=args.path or (), formats=[f for item in args.format or () for f in item.split(",") if f],
                   modified_after=args.after, modified_before=args.before)
    return None if where.empty else where


def run(args: argparse.Namespace) -> int:
    from ..search import SearchEngine

    expand = args.expand if args.expand and args.expand != "none" else None
    warn_unused_llm(args, expand)
    engine = SearchEngine.open(args.index_dir, model=args.encoder, threads=args.threads,
                               expander=expander_from(args) if expand else None, ray=args.ray)
    mode = args.mode
    if mode is None:
        mode = "hybrid" if engine.has_dense else "bm25"
    expansions = None
    if expand:
        progress = Progress("expanding", stream=sys.stderr, every=0.0)
        expansions = engine.expand(args.query, strategy=expand, lang=args.query_lang, langs=lang_codes(args.lang),
                                   max_langs=args.expand_langs, budget=args.budget, shots=args.shots,
                                   on_step=lambda note: progress.advance(1, note))
        progress.close()
        for warning in expansions.warnings:
            print(f"xlqe: warning: {warning}", file=sys.stderr)
        if args.explain and not args.json:
            print_expansions(expansions)
    hits = engine.search(args.query, k=args.k, mode=mode, lang=args.query_lang, langs=lang_codes(args.lang), snippets=True,
                         snippet_chars=args.snippet_chars, explain=args.explain, expansions=expansions,
                         where=where_from(args))
    for warning in hits.warnings:
        if expansions is None or warning not in expansions.warnings:
            print(f"xlqe: warning: {warning}", file=sys.stderr)
    if args.json:
        rows: list[dict[str, Any]] = []
        for rank, h in enumerate(hits, 1):
            doc = engine.index.get(h.id)
            meta = {k: v for k, v in doc.metadata.items() if k not in ("passages", "sections")} if doc else {}
            row: dict[str, Any] = {"rank": rank, "id": h.id, "score": round(h.score, 6), "lang": h.lang, "snippet": h.snippet,
                   "highlights": h.highlights, "place": h.place, "metadata": meta}
            if args.explain:
                row["explanation"] = h.explanation.to_dict() if h.explanation is not None else None
            rows.append(row)
        out: Union[list[dict[str, Any]], dict[str, Any]] = rows
        if expansions is not None:
            out = {"expansions": [{"strategy": e.strategy, "shots": e.shots, "lang": e.lang, "texts": list(e.texts),
                                    "cached": e.cached, "complete": e.complete, "seconds": round(e.seconds, 3)}
                                   for e in expansions], "warnings": expansions.warnings, "hits": rows}
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    if not hits:
        print("no results")
        return 0
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for rank, h in enumerate(hits, 1):
        where = "".join(f"  {name} {h.place[name]}" for name in ("page", "chapter") if h.place and name in h.place)
        print(f"{rank:>3}. {h.id}  [{h.lang or '?'}]  {h.score:.3f}{where}")
        if h.snippet:
            print("     " + (_highlight(h.snippet, h.highlights) if color else h.snippet))
        if args.explain:
            print(_explain(h.explanation))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("search", help="search an index", description="Ranked hits with id, score, language and a snippet.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=index_dir)
    p.add_argument("query")
    p.add_argument("-k", type=int_at_least(1), default=DEFAULT_K, help=f"number of hits (default {DEFAULT_K})")
    p.add_argument("--lang", action="append", type=lang_list,
                   help="only documents in these languages (repeat or comma-separate)")
    p.add_argument("--query-lang", type=lang_code,
                   help="the query's language (default: guessed among xlqe's and the index's languages)")
    p.add_argument("--mode", choices=list(MODES),
                   help="hybrid (default when the index has vectors), bm25, or dense")
    p.add_argument("--explain", action="store_true", help="show each list's rank, score and weight per hit")
    p.add_argument("--threads", type=int_at_least(1), help="encoder and LLM threads (default: all cores)")
    p.add_argument("--expand", metavar="STRATEGY", default="none", type=strategy_name,
                   help="rewrite the query with the local LLM first: auto, none (default), or a strategy: "
                        f"{', '.join(STRATEGIES)} (join several with +)")
    add_model_flags(p, "the query encoder (default: the one the index was built with)")
    p.add_argument("--budget", type=seconds, default=3.0, metavar="SECONDS",
                   help="time the LLM may take per query; the search uses what exists by then (default 3)")
    p.add_argument("--shots", default=Shots.AUTO.value, choices=Shots.choices(),
                   help="prompt form: auto (zero-shot for short queries, few-shot for long ones), zero or few")
    p.add_argument("--expand-langs", type=int_at_least(1), default=3, metavar="N",
                   help="expand into at most N of the index's languages, most documents first (default 3)")
    p.add_argument("--snippet-chars", type=int_at_least(1), default=160, metavar="N",
                   help="snippet length in characters (default 160)")
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.add_argument("--path", action="append", metavar="PREFIX_OR_GLOB",
                   help="only files under this path prefix or matching this glob (relative to the indexed folder "
                        "or absolute; repeat for any of several)")
    p.add_argument("--format", action="append", help="only documents of these formats (pdf, docx, html, markdown, "
                                                     "text, ...; repeat or comma-separate)")
    p.add_argument("--after", metavar="DATE", help="only files modified at or after DATE (2024-05-31 or 2024-05-31T18:00)")
    p.add_argument("--before", metavar="DATE", help="only files modified before DATE")
    p.add_argument("--ray", metavar="local|auto|ADDRESS|none",
                   help="a sharded index: search its shards through Ray actors (default: in this process)")
    p.set_defaults(func=run)
