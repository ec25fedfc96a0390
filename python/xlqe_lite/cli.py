"""The `xlqe` command: index folders and files, search, check an index, measure quality on the bench."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from typing import Any, Optional, Sequence

from . import __version__
from ._core import analyze, normalize_lang
from .errors import IndexNotFoundError, InvalidInputError, ModelError, XlqeError
from .index import Index
from .progress import Progress
from .expansion.prompts import STRATEGIES

BOLD, RESET = "\033[1m", "\033[0m"


# ---------------------------------------------------------------- argument types: bad values fail at parse
# time (exit 2, one line, before anything is opened or created).


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in its messages
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (0 <= value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, not {text}")
    return value


def _float_between(low: float, high: float):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, not {text}")
        return value

    parse.__name__ = "float"
    return parse


def _lang_list(text: str) -> str:
    """One --lang value (codes, comma-separated), each code checked."""
    try:
        for code in text.split(","):
            if code.strip():
                normalize_lang(code.strip())
    except XlqeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _lang(text: str) -> str:
    try:
        return normalize_lang(text)
    except XlqeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _index_dir(text: str) -> str:
    """An index to read: the directory must exist (nothing is created for a search)."""
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"index not found: no directory {text!r} "
                                         f"(create one with `xlqe index {text} PATH...`)")
    return text


def _existing_dir(text: str) -> str:
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"no directory {text!r}")
    return text


def _output_file(text: str) -> str:
    """A file to write: its folder must exist, and it must not be a folder itself."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a directory, not a file")
    parent = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: no directory {parent!r}")
    return text


def _llm(text: str) -> str:
    """--llm: a name from the LLM manifest or the path of a GGUF file."""
    from .models.llm_registry import LLM_MANIFEST

    if text in LLM_MANIFEST or os.path.isfile(text):
        return text
    raise argparse.ArgumentTypeError(f"unknown LLM {text!r}: not a file, and not one of the known models: "
                                     f"{', '.join(LLM_MANIFEST)} (see `xlqe models list`)")


def _encoder(text: str) -> str:
    """--encoder: a name from the encoder manifest or the path of a model config file."""
    from .models import MANIFEST

    if text in MANIFEST or os.path.isfile(text):
        return text
    raise argparse.ArgumentTypeError(f"unknown encoder {text!r}: not a file, and not one of the known models: "
                                     f"{', '.join(MANIFEST)} (see `xlqe models list`)")


def _strategy(text: str) -> str:
    if text not in ("auto", "none"):
        from .expansion import parse_strategy

        try:
            parse_strategy(text)
        except XlqeError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


class _Ambiguous(argparse.Action):
    """--model used to mean the encoder for `index` and the LLM for `search`: it is refused with the
    flags to use instead."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: Optional[str] = None) -> None:
        raise argparse.ArgumentError(self, f"{option_string} is ambiguous here: use --llm for the expansion "
                                           "model or --encoder for the embedding model")


def _add_model_flags(p: argparse.ArgumentParser, encoder_help: str, encoder_default: Optional[str] = None) -> None:
    p.add_argument("--encoder", type=_encoder, default=encoder_default, metavar="MODEL", help=encoder_help)
    p.add_argument("--llm", type=_llm, metavar="MODEL",
                   help="the expansion model: a name from `xlqe models list` (default gemma-3-270m) or a .gguf path")
    p.add_argument("--model", action=_Ambiguous, help=argparse.SUPPRESS)


def _langs(value: Optional[list[str]]) -> Optional[list[str]]:
    """--lang may repeat or hold a comma-separated list; codes are validated here, with a clear error."""
    if not value:
        return None
    return [normalize_lang(code) for item in value for code in item.split(",") if code.strip()]


def _highlight(text: str, ranges: Sequence[tuple[int, int]]) -> str:
    out, last = [], 0
    for a, b in sorted(ranges):
        if a < last:
            continue
        out += [text[last:a], BOLD, text[a:b], RESET]
        last = b
    out.append(text[last:])
    return "".join(out)


def _load_encoder(name: str, threads: Optional[int]):
    """The encoder for indexing: onnxruntime in low-memory mode (see Encoder.load)."""
    from .models.encoder import Encoder

    return Encoder.load(name, threads=threads or os.cpu_count() or 1, low_memory=True)


_INDEX_DEFAULTS = {"k1": 1.2, "b": 0.75}


def _open_for_sync(args: argparse.Namespace):
    """The index to sync into (created if absent, after the inputs were checked) and its encoder."""
    exists = os.path.exists(os.path.join(args.index_dir, "xlqe.manifest"))
    encoder = None
    if exists:
        ignored = [flag for flag, given in (("--encoder", args.encoder is not None), ("--no-vectors", args.no_vectors),
                                            ("--no-passages", args.no_passages), ("--k1", args.k1 is not None),
                                            ("--b", args.b is not None), ("--no-stem", args.no_stem),
                                            ("--no-stopwords", args.no_stopwords)) if given]
        index = Index.open(args.index_dir, writer=True)
        model = (index.vector_config or {}).get("model")
        if ignored:
            print(f"xlqe: warning: {', '.join(ignored)} ignored: {args.index_dir} exists and keeps its settings"
                  + (f" (encoder {model})" if model else ""), file=sys.stderr)
        if model:
            # loaded only if something must be embedded: an unchanged folder costs no model load
            encoder = lambda: _load_encoder(model, args.threads)  # noqa: E731
        return index, encoder
    vectors = None
    if not args.no_vectors:
        encoder = _load_encoder(args.encoder or "multilingual-e5-small", args.threads)
        vectors = encoder.vector_settings(passages=not args.no_passages)
    index = Index.create(args.index_dir, k1=_INDEX_DEFAULTS["k1"] if args.k1 is None else args.k1,
                         b=_INDEX_DEFAULTS["b"] if args.b is None else args.b, stem=not args.no_stem,
                         stopwords=not args.no_stopwords, vectors=vectors)
    return index, encoder


def cmd_index(args: argparse.Namespace) -> int:
    from .ingest.progress import SyncProgress, print_sync_report, summary_lines
    from .ingest.sync import Syncer, display_path

    # Every input is checked before the index is created or touched: a missing path creates nothing.
    missing = [display_path(p) for p in args.paths if not os.path.lexists(p)]
    if missing:
        raise InvalidInputError(f"no such file or directory: {', '.join(missing)}")
    if args.lang:
        normalize_lang(args.lang)
    from .shard.cli import cmd_index_sharded, wants_sharding

    if wants_sharding(args):
        return cmd_index_sharded(args)
    created = not os.path.exists(os.path.join(args.index_dir, "xlqe.manifest"))
    index, encoder = _open_for_sync(args)
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


def _human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def cmd_ls(args: argparse.Namespace) -> int:
    from .shard import open_index

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


def cmd_rm(args: argparse.Namespace) -> int:
    from .ingest.sync import remove
    from .shard import open_index

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


def cmd_watch(args: argparse.Namespace) -> int:
    from .ingest.progress import SyncProgress, summary_lines
    from .ingest.sync import Syncer, display_path, watch

    missing = [display_path(p) for p in args.paths if not os.path.isdir(p)]
    if missing:
        raise InvalidInputError(f"not a folder: {', '.join(missing)}")
    args.encoder = args.k1 = args.b = None
    args.no_vectors = args.no_passages = args.no_stem = args.no_stopwords = False
    if not os.path.exists(os.path.join(args.index_dir, "xlqe.manifest")):
        args.encoder = args.watch_encoder
    index, encoder = _open_for_sync(args)
    if callable(encoder) and not hasattr(encoder, "encode"):
        import functools

        encoder = functools.cache(encoder)  # loaded once, by the first round that embeds
    progress = SyncProgress(quiet=args.quiet)

    def syncer() -> Syncer:
        return Syncer(index, encoder, max_bytes=args.max_bytes, commit_every=args.commit_every,
                      commit_seconds=args.commit_seconds, events=progress)

    def report(r) -> None:
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


def _explain(e: Optional["Explanation"]) -> str:
    if e is None:
        return ""
    parts = [f"{name} —" if src is None else f"{name} #{src.rank} {src.score:.3f} ×{src.weight:.3g}"
             for name, src in e.lists.items()]
    return "     " + "  |  ".join(parts) + f"  (query {e.query_lang or '?'}/{e.query_script or '?'}, {e.method})"


def _expander(args: argparse.Namespace):
    from .expansion import Expander

    return Expander(args.llm, threads=args.threads, budget=getattr(args, "budget", None))


def _warn_unused_llm(args: argparse.Namespace, expand: Optional[str]) -> None:
    if args.llm and not expand:
        print("xlqe: warning: --llm is ignored without --expand", file=sys.stderr)


def _print_expansions(expansions, stream=sys.stderr) -> None:
    for e in expansions:
        state = "cached" if e.cached else (f"{e.seconds:.2f}s" if e.complete else "cut by the time budget")
        text = " | ".join(e.texts) if e.texts else "(nothing usable)"
        print(f"  {e.strategy}/{e.shots} → {e.lang or 'query language'} [{state}]: {text}", file=stream)


def _where(args: argparse.Namespace):
    """The search filter the --path/--format/--after/--before flags ask for, or None."""
    from .filters import Filter

    where = Filter(paths=args.path or (), formats=[f for item in args.format or () for f in item.split(",") if f],
                   modified_after=args.after, modified_before=args.before)
    return None if where.empty else where


def cmd_search(args: argparse.Namespace) -> int:
    from .search import SearchEngine

    expand = args.expand if args.expand and args.expand != "none" else None
    _warn_unused_llm(args, expand)
    engine = SearchEngine.open(args.index_dir, model=args.encoder, threads=args.threads,
                               expander=_expander(args) if expand else None, ray=args.ray)
    mode = args.mode
    if mode is None:
        mode = "hybrid" if engine.has_dense else "bm25"
    expansions = None
    if expand:
        progress = Progress("expanding", stream=sys.stderr, every=0.0)
        expansions = engine.expand(args.query, strategy=expand, lang=args.query_lang, langs=_langs(args.lang),
                                   max_langs=args.expand_langs, budget=args.budget, shots=args.shots,
                                   on_step=lambda note: progress.advance(1, note))
        progress.close()
        for warning in expansions.warnings:
            print(f"xlqe: warning: {warning}", file=sys.stderr)
        if args.explain and not args.json:
            _print_expansions(expansions)
    hits = engine.search(args.query, k=args.k, mode=mode, lang=args.query_lang, langs=_langs(args.lang), snippets=True,
                         snippet_chars=args.snippet_chars, explain=args.explain, expansions=expansions,
                         where=_where(args))
    for warning in hits.warnings:
        if expansions is None or warning not in expansions.warnings:
            print(f"xlqe: warning: {warning}", file=sys.stderr)
    if args.json:
        rows = []
        for rank, h in enumerate(hits, 1):
            doc = engine.index.get(h.id)
            meta = {k: v for k, v in doc.metadata.items() if k not in ("passages", "sections")} if doc else {}
            row = {"rank": rank, "id": h.id, "score": round(h.score, 6), "lang": h.lang, "snippet": h.snippet,
                   "highlights": h.highlights, "place": h.place, "metadata": meta}
            if args.explain:
                row["explanation"] = h.explanation.to_dict() if h.explanation is not None else None
            rows.append(row)
        if expansions is not None:
            rows = {"expansions": [{"strategy": e.strategy, "shots": e.shots, "lang": e.lang, "texts": list(e.texts),
                                    "cached": e.cached, "complete": e.complete, "seconds": round(e.seconds, 3)}
                                   for e in expansions], "warnings": expansions.warnings, "hits": rows}
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
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


def _check_one(path: str) -> dict:
    report: dict = {"ok": False, "documents": 0, "path": path}
    try:
        index = Index.open(path)
        problems = index.verify()
        report.update(ok=not problems, documents=len(index), generation=index.generation,
                      languages=dict(index.languages()), problems=problems,
                      bytes=sum(e.stat().st_size for e in os.scandir(path) if e.is_file()))
    except XlqeError as e:
        report.update(error=str(e))
    return report


def cmd_check(args: argparse.Namespace) -> int:
    from .shard import is_sharded
    from .shard.cli import check_sharded

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


def cmd_analyze(args: argparse.Namespace) -> int:
    print(" ".join(analyze(args.text, args.lang, stem=not args.no_stem, stopwords=not args.no_stopwords)))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import BitextBench, XquadBench, bm25_builder, evaluate, format_report, read_run, write_run, xquad_tasks

    if args.dataset == "xquad":
        bench = XquadBench.load(args.bench, args.level, _langs(args.langs), args.max_queries, args.sample, args.sample_offset)
        tasks = xquad_tasks(bench, bench.pairs(args.pairs), pooled=args.pooled)
        langs, all_qrels = bench.langs, bench.qrels
    else:
        if args.pooled or args.pairs != "all":
            raise XlqeError(f"{args.dataset} pairs every language with English, both ways: --pooled and --pairs do not apply")
        bitext = BitextBench.load(args.bench, args.dataset, _langs(args.langs), args.max_queries)
        tasks, langs, all_qrels = bitext.tasks, None, bitext.qrels
    expand = args.expand if args.expand and args.expand != "none" else None
    _warn_unused_llm(args, expand)
    expander = _expander(args) if expand else None
    if expander is not None and expander.cache is not None:
        from .evaluation import expansion_jobs, prefetch_expansions

        # All of a query's languages in one batch first; the per-pair searches then read the cache.
        jobs = expansion_jobs(tasks)
        progress = Progress("expanding", total=len(jobs))
        prefetch_expansions(expander, jobs, expand, args.shots, on_query=lambda: progress.advance(1))
        progress.close()
    if args.mode == "bm25":
        build = bm25_builder(k1=args.k1, b=args.b, stem=not args.no_stem, stopwords=not args.no_stopwords,
                             expander=expander, expand=expand, shots=args.shots,
                             on_query=lambda: progress.advance(1), detect_query_lang=args.detect_query_lang,
                             shards=args.shards or 0, ray=args.ray)
    else:
        from .models.encoder import Encoder
        from .evaluation import engine_builder

        encoder = Encoder.load(args.encoder, threads=args.threads)
        build = engine_builder(encoder, args.mode, detect_query_lang=args.detect_query_lang,
                               expander=expander, expand=expand, shots=args.shots,
                               on_query=lambda: progress.advance(1), shards=args.shards or 0, ray=args.ray)
    n_queries = sum(len(queries) for t in tasks for _, queries in t[2])
    progress = Progress("evaluating", total=n_queries)
    timings = write_run(tasks, build, args.run, tag=f"xlqe-{args.mode}", progress=lambda note: progress.advance(0, note))
    progress.close()
    qrels = all_qrels
    if args.max_queries or (args.dataset == "xquad" and args.sample):
        # Score the queries that were run, and leave their qrels beside the run so that the bench's
        # evaluate.py reproduces these figures from the files alone.
        asked = {qid for _, _, sets in tasks for _, queries in sets for qid, _ in queries}
        qrels = {q: docs for q, docs in all_qrels.items() if q in asked}
        with open(args.run + ".qrels.tsv", "w", encoding="utf-8") as f:
            f.write("query_id\tdoc_id\trelevance\n")
            f.writelines(f"{q}\t{d}\t{r}\n" for q, docs in sorted(qrels.items()) for d, r in sorted(docs.items()))
    run = read_run(args.run)
    result = evaluate(qrels, run, langs=langs, pooled=args.pooled, mixed=args.pooled)
    if args.pooled:
        from .evaluation import own_language_share

        result["own_language_top10"] = own_language_share(run)
    result["config"] = {"dataset": args.dataset, "level": args.level, "mode": args.mode, "pairs": args.pairs,
                        "langs": langs, "max_queries": args.max_queries, "k1": args.k1, "b": args.b,
                        "stem": not args.no_stem, "stopwords": not args.no_stopwords, "pooled": args.pooled,
                        "detect_query_lang": args.detect_query_lang,
                        "encoder": args.encoder if args.mode != "bm25" else None, "sample": args.sample, "sample_offset": args.sample_offset,
                        "expand": args.expand, "shots": args.shots, "llm": args.llm if args.expand else None,
                        "shards": args.shards, "ray": args.ray}
    result["timings"] = timings
    print(format_report(result, per_pair=not args.quiet))
    if args.pooled:
        share = result["own_language_top10"]
        print(f"pooled top 10: {share['mean_share']:.3f} of hits in the query's own language on average; "
              f"own language is the majority for {share['majority']:.3f} of queries")
    print(f"run file: {args.run}; {timings['queries']} queries searched in {timings['search_s']:.2f}s, "
          f"indexing {timings['index_s']:.2f}s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server.config import ServerConfig
    from .server.runner import serve

    config = ServerConfig.from_args(args.host, args.port, args.token_file)  # refuses a public address without a token
    from .shard import is_sharded

    if not os.path.exists(os.path.join(args.index_dir, "xlqe.manifest")) and not is_sharded(args.index_dir):
        raise IndexNotFoundError(f"index not found: {args.index_dir}")
    return serve(args.index_dir, config, threads=args.threads, llm=args.llm, expansion=not args.no_llm,
                 watch=[os.path.abspath(f) for f in args.watch])


def _default_bench() -> Optional[str]:
    for candidate in (os.environ.get("XLQE_BENCH"), "../shared/bench"):
        if candidate and os.path.isdir(candidate):
            return candidate
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlqe", description="Offline cross-lingual search over your own files.")
    parser.add_argument("--version", action="version", version=f"xlqe-lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    p.add_argument("--max-bytes", type=_int_at_least(1), default=100 * 1024 * 1024, help="skip files larger than this")
    p.add_argument("--timeout", type=_seconds, default=60.0, help="seconds one file's extraction may take (default 60)")
    p.add_argument("--encoder", type=_encoder, help="new index: the encoder for its vectors (default multilingual-e5-small)")
    p.add_argument("--no-vectors", action="store_true", help="new index: lexical search only, no encoder")
    p.add_argument("--no-passages", action="store_true",
                   help="new index: one vector per document, no passage windows (smaller, faster to build; "
                        "long documents are then matched as a whole, and only their first 512 tokens)")
    p.add_argument("--threads", type=_int_at_least(1), help="encoder threads (default: all cores)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=256, help="documents embedded per batch (default 256)")
    p.add_argument("--commit-every", type=_int_at_least(1), default=500, metavar="N",
                   help="commit after every N documents (default 500)")
    p.add_argument("--commit-seconds", type=_seconds, default=60.0, metavar="T",
                   help="and at least every T seconds (default 60)")
    p.add_argument("--quiet", action="store_true", help="no progress; a short summary")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--k1", type=_float_between(0.0, 100.0), help="BM25 k1, for a new index (default 1.2)")
    p.add_argument("--b", type=_float_between(0.0, 1.0), help="BM25 b, for a new index (default 0.75)")
    p.add_argument("--no-stem", action="store_true", help="new index: no stemming")
    p.add_argument("--no-stopwords", action="store_true", help="new index: keep stop words")
    p.add_argument("--shards", type=_int_at_least(1), metavar="N",
                   help="new index: a sharded index of N shards (documents routed by a hash of their id)")
    p.add_argument("--ray", metavar="auto|local|ADDRESS|none",
                   help="build the sharded index on Ray: auto (a running cluster, else a local one), local, or a "
                        "cluster address; without it (or none) a sharded index is synced in this process")
    p.add_argument("--workers", type=_int_at_least(1), default=1, metavar="W",
                   help="with --ray: encoder actors embedding in parallel (default 1)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ls", help="list an index's documents", description="One line per document: id (the path "
                       "for files), format, language, size, modification time, title. --json adds everything stored.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("--json", action="store_true", help="print the documents as a JSON list")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("rm", help="remove documents from an index",
                       description="Removes documents named by id, by file path, or by folder (every file under "
                                   "it). If one name matches nothing, nothing is removed.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("targets", metavar="PATH_OR_ID", nargs="+")
    p.set_defaults(func=cmd_rm)

    p = sub.add_parser("watch", help="keep an index in step with folders as files change",
                       description="Syncs INDEX_DIR with the folders now, then again after each burst of changes "
                                   "(debounced), until Ctrl-C. Editors that save by writing a temporary file and "
                                   "renaming it are handled: each round syncs the folders as they are.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("paths", metavar="FOLDER", nargs="+")
    p.add_argument("--encoder", dest="watch_encoder", help="new index: the encoder for its vectors")
    p.add_argument("--debounce", type=_int_at_least(1), default=500, metavar="MS",
                   help="wait until changes pause for this many milliseconds (default 500)")
    p.add_argument("--max-bytes", type=_int_at_least(1), default=100 * 1024 * 1024, help="skip files larger than this")
    p.add_argument("--threads", type=_int_at_least(1), help="encoder threads (default: all cores)")
    p.add_argument("--commit-every", type=_int_at_least(1), default=500, metavar="N")
    p.add_argument("--commit-seconds", type=float, default=60.0, metavar="T")
    p.add_argument("--quiet", action="store_true", help="print only rounds that changed something")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("search", help="search an index", description="Ranked hits with id, score, language and a snippet.")
    p.add_argument("index_dir", metavar="INDEX_DIR", type=_index_dir)
    p.add_argument("query")
    p.add_argument("-k", type=_int_at_least(1), default=10, help="number of hits (default 10)")
    p.add_argument("--lang", action="append", type=_lang_list,
                   help="only documents in these languages (repeat or comma-separate)")
    p.add_argument("--query-lang", type=_lang,
                   help="the query's language (default: guessed among xlqe's and the index's languages)")
    p.add_argument("--mode", choices=["hybrid", "bm25", "dense"],
                   help="hybrid (default when the index has vectors), bm25, or dense")
    p.add_argument("--explain", action="store_true", help="show each list's rank, score and weight per hit")
    p.add_argument("--threads", type=_int_at_least(1), help="encoder and LLM threads (default: all cores)")
    p.add_argument("--expand", metavar="STRATEGY", default="none", type=_strategy,
                   help="rewrite the query with the local LLM first: auto, none (default), or a strategy: "
                        f"{', '.join(STRATEGIES)} (join several with +)")
    _add_model_flags(p, "the query encoder (default: the one the index was built with)")
    p.add_argument("--budget", type=_seconds, default=3.0, metavar="SECONDS",
                   help="time the LLM may take per query; the search uses what exists by then (default 3)")
    p.add_argument("--shots", default="auto", choices=["auto", "zero", "few"],
                   help="prompt form: auto (zero-shot for short queries, few-shot for long ones), zero or few")
    p.add_argument("--expand-langs", type=_int_at_least(1), default=3, metavar="N",
                   help="expand into at most N of the index's languages, most documents first (default 3)")
    p.add_argument("--snippet-chars", type=_int_at_least(1), default=160, metavar="N",
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
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("check", help="verify an index",
                       description="Verifies checksums, postings, lengths and ids; exit 0 when consistent, 1 "
                                   "with the problems (also for a missing index: the report says so).")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("--json", action="store_true", help='print {"ok", "documents", ...} as JSON')
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("analyze", help="show the terms a text is indexed as")
    p.add_argument("text")
    p.add_argument("--lang", type=_lang, help="language of the text (enables stemming and stop words)")
    p.add_argument("--no-stem", action="store_true")
    p.add_argument("--no-stopwords", action="store_true")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("eval", help="measure quality on the CLIR bench",
                       description="For each document language D, index D's corpus, run the queries of every "
                                   "query language against it, write a TREC run file and print nDCG@10, "
                                   "Recall@100 and MRR@10 per pair and macro over cross/mono pairs, as the "
                                   "bench's evaluate.py computes them.")
    p.add_argument("--bench", type=_existing_dir, default=_default_bench(), required=_default_bench() is None,
                   help="the bench directory (default: $XLQE_BENCH or ../shared/bench)")
    p.add_argument("--dataset", default="xquad", choices=["xquad", "tatoeba", "ntrex"],
                   help="xquad (paragraphs or sentences), or the tatoeba / ntrex bitext (each language <-> English)")
    p.add_argument("--level", default="paragraph", choices=["paragraph", "sentence"])
    p.add_argument("--mode", default="bm25", choices=["bm25", "dense", "hybrid"])
    query_lang = p.add_mutually_exclusive_group()
    query_lang.add_argument("--detect-query-lang", dest="detect_query_lang", action="store_true", default=True,
                            help="guess each query's language as a search does (the default, as in real use)")
    query_lang.add_argument("--query-lang-from-bench", dest="detect_query_lang", action="store_false",
                            help="give the search each query's language from the bench instead of guessing it")
    _add_model_flags(p, "encoder for dense modes (see `xlqe models list`)", "multilingual-e5-small")
    p.add_argument("--threads", type=_int_at_least(1), default=os.cpu_count() or 1, help="encoder and LLM threads")
    p.add_argument("--expand", metavar="STRATEGY", default="none", type=_strategy,
                   help="expand each query with the local LLM into the documents' language first: "
                        f"auto, none, {', '.join(STRATEGIES)} (join several with +)")
    p.add_argument("--shots", default="auto", choices=["auto", "zero", "few"], help="prompt form for --expand")
    p.add_argument("--sample", type=_int_at_least(1), metavar="N",
                   help="N queries per language spread evenly over the file (the same questions in every language)")
    p.add_argument("--sample-offset", type=_int_at_least(0), default=0, metavar="K",
                   help="start the --sample K queries in (different offsets give disjoint samples)")
    p.add_argument("--langs", action="append", type=_lang_list,
                   help="restrict query and document languages (comma-separated)")
    p.add_argument("--pairs", default="all", choices=["all", "cross", "mono"])
    p.add_argument("--pooled", action="store_true",
                   help="one mixed index of all languages, each query searched once; adds the pooled (LAReQA-style) "
                        "and mixed rows, scored as the bench's `evaluate.py --pooled --mixed` does")
    p.add_argument("--max-queries", type=_int_at_least(1),
                   help="first N queries with qrels per language; their qrels are written to OUT.run.qrels.tsv")
    p.add_argument("--run", required=True, type=_output_file, metavar="OUT.run", help="where to write the TREC run file")
    p.add_argument("--json", type=_output_file, metavar="OUT.json", help="also write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="only the aggregate rows")
    p.add_argument("--k1", type=_float_between(0, 100), default=1.2)
    p.add_argument("--b", type=_float_between(0, 1), default=0.75)
    p.add_argument("--no-stem", action="store_true")
    p.add_argument("--no-stopwords", action="store_true")
    p.add_argument("--shards", type=_int_at_least(1), metavar="N",
                   help="build and search each per-language index as a sharded index of N shards")
    p.add_argument("--ray", metavar="local|ADDRESS|none", default=None,
                   help="with --shards: search the shards through Ray actors (a new local cluster, or the cluster at "
                        "ADDRESS), or in-process")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="serve an index over a local HTTP API and a search page",
                       description="Keeps the models loaded and answers GET /search, /documents/ID, /stats, /health, "
                                   "POST /documents, DELETE /documents/ID and POST /index (writes take the writer "
                                   "lock for one commit; 409 when another process holds it), with the page at / and "
                                   "the OpenAPI schema at /openapi.json. Commits made by others are picked up "
                                   "without a restart.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other needs --token-file)")
    p.add_argument("--port", type=_int_at_least(0), default=8765, help="port (default 8765; 0: any free port, printed on start)")
    p.add_argument("--token-file", metavar="FILE",
                   help="file holding a bearer token (>= 16 characters) that every API request must send")
    p.add_argument("--threads", type=_int_at_least(1), help="encoder and LLM threads (default: all cores)")
    p.add_argument("--llm", type=_llm, metavar="MODEL", help="the expansion model (default gemma-3-270m) or a .gguf path")
    p.add_argument("--no-llm", action="store_true", help="no query expansion (expand=... is refused)")
    p.add_argument("--watch", metavar="FOLDER", nargs="+", type=_existing_dir, default=[],
                   help="keep these folders in step with the index while serving (a sync now and after each change)")
    p.set_defaults(func=cmd_serve)

    try:
        from .models_cli import add_models_commands
    except ImportError:
        pass
    else:
        add_models_commands(sub)
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


if __name__ == "__main__":
    sys.exit(main())
