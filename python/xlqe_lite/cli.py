"""The `xlqe` command: index folders and files, search, check an index, measure quality on the bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Optional, Sequence

from . import __version__
from ._core import IndexNotFoundError, XlqeError, analyze, normalize_lang
from .index import Index
from .progress import Progress
from .prompts import STRATEGIES
from .sources import Skipped, iter_documents

BOLD, RESET = "\033[1m", "\033[0m"


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
    from .encoder import Encoder

    return Encoder.load(name, threads=threads or os.cpu_count() or 1)


def cmd_index(args: argparse.Namespace) -> int:
    # Read every input first: a missing path fails before the index is created or touched.
    docs = iter_documents(args.paths, lang=args.lang, detect=not args.no_detect, max_bytes=args.max_bytes)
    exists = os.path.exists(os.path.join(args.index_dir, "xlqe.manifest"))
    encoder = None
    if exists:
        index = Index.open(args.index_dir, writer=True)
        model = (index.vector_config or {}).get("model")
        if model:
            encoder = _load_encoder(model, args.threads)
    else:
        vectors = None
        if not args.no_vectors:
            encoder = _load_encoder(args.model, args.threads)
            vectors = encoder.vector_settings(passages=not args.no_passages)
        index = Index.create(args.index_dir, k1=args.k1, b=args.b, stem=not args.no_stem, stopwords=not args.no_stopwords,
                             vectors=vectors)
    start, added, skipped = time.perf_counter(), 0, 0
    progress = Progress("indexing" + (f" and embedding ({encoder.name})" if encoder else ""))
    batch: list = []

    settings = index.vector_config or {}

    def flush() -> int:
        vectors = passages = None
        if encoder:
            vectors, passages = encoder.encode_documents([d.text for d in batch], settings.get("passage_tokens", 0),
                                                         settings.get("passage_stride", 0))
        n = index.add_many(batch, vectors=vectors, passages=passages)
        progress.advance(n)
        return n

    try:
        for item in docs:
            if isinstance(item, Skipped):
                skipped += 1
                print(f"xlqe: warning: skipped {item.where}: {item.reason}", file=sys.stderr)
                continue
            batch.append(item)
            if len(batch) >= args.batch_size:
                added += flush()
                batch = []
        if batch:
            added += flush()
        progress.close()
        index.commit()
    except BaseException:
        index.rollback()  # nothing partial is committed
        raise
    finally:
        index.close()
    elapsed = time.perf_counter() - start
    print(f"indexed {added} documents into {args.index_dir} in {elapsed:.2f}s" + (f" ({skipped} skipped)" if skipped else ""))
    return 0 if added or not skipped else 1


def _explain(e: Optional[dict]) -> str:
    if not e:
        return ""
    parts = []
    for name in [n for n in e if n.startswith("bm25") or n == "dense"]:
        src = e.get(name)
        parts.append(f"{name} —" if src is None else f"{name} #{src['rank']} {src['score']:.3f} ×{src['weight']:.3g}")
    return "     " + "  |  ".join(parts) + f"  (query {e.get('query_lang') or '?'}/{e.get('query_script') or '?'}, {e.get('method')})"


def _expander(args: argparse.Namespace):
    from .expansion import Expander

    return Expander(args.llm, threads=args.threads, budget=getattr(args, "budget", None))


def _print_expansions(expansions, stream=sys.stderr) -> None:
    for e in expansions:
        state = "cached" if e.cached else (f"{e.seconds:.2f}s" if e.complete else "cut by the time budget")
        text = " | ".join(e.texts) if e.texts else "(nothing usable)"
        print(f"  {e.strategy}/{e.shots} → {e.lang or 'query language'} [{state}]: {text}", file=stream)


def cmd_search(args: argparse.Namespace) -> int:
    from .search import SearchEngine

    expand = args.expand if args.expand and args.expand != "none" else None
    engine = SearchEngine.open(args.index_dir, threads=args.threads, expander=_expander(args) if expand else None)
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
        if args.explain and not args.json:
            _print_expansions(expansions)
    hits = engine.search(args.query, k=args.k, mode=mode, lang=args.query_lang, langs=_langs(args.lang), snippets=True,
                         snippet_chars=args.snippet_chars, explain=args.explain, expansions=expansions)
    if args.json:
        rows = []
        for rank, h in enumerate(hits, 1):
            doc = engine.index.get(h.id)
            row = {"rank": rank, "id": h.id, "score": round(h.score, 6), "lang": h.lang, "snippet": h.snippet,
                   "highlights": h.highlights, "metadata": dict(doc.metadata) if doc else {}}
            if args.explain:
                row["explanation"] = h.explanation
            rows.append(row)
        if expansions is not None:
            rows = {"expansions": [{"strategy": e.strategy, "shots": e.shots, "lang": e.lang, "texts": list(e.texts),
                                    "cached": e.cached, "complete": e.complete, "seconds": round(e.seconds, 3)}
                                   for e in expansions], "hits": rows}
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    if not hits:
        print("no results")
        return 0
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for rank, h in enumerate(hits, 1):
        print(f"{rank:>3}. {h.id}  [{h.lang or '?'}]  {h.score:.3f}")
        if h.snippet:
            print("     " + (_highlight(h.snippet, h.highlights) if color else h.snippet))
        if args.explain:
            print(_explain(h.explanation))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    report: dict = {"ok": False, "documents": 0, "path": args.index_dir}
    try:
        index = Index.open(args.index_dir)
        problems = index.verify()
        report.update(ok=not problems, documents=len(index), generation=index.generation,
                      languages=dict(index.languages()), problems=problems,
                      bytes=sum(e.stat().st_size for e in os.scandir(args.index_dir) if e.is_file()))
    except XlqeError as e:
        report.update(error=str(e))
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
                             on_query=lambda: progress.advance(1), detect_query_lang=args.detect_query_lang)
    else:
        from .encoder import Encoder
        from .evaluation import engine_builder

        encoder = Encoder.load(args.encoder, threads=args.threads)
        build = engine_builder(encoder, args.mode, detect_query_lang=args.detect_query_lang,
                               expander=expander, expand=expand, shots=args.shots,
                               on_query=lambda: progress.advance(1))
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
                        "expand": args.expand, "shots": args.shots, "llm": args.llm if args.expand else None}
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


def _default_bench() -> Optional[str]:
    for candidate in (os.environ.get("XLQE_BENCH"), "../shared/bench"):
        if candidate and os.path.isdir(candidate):
            return candidate
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlqe", description="Offline cross-lingual search over your own files.")
    parser.add_argument("--version", action="version", version=f"xlqe-lite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("index", help="create an index or add files, folders and JSONL to it",
                       description="Index text/Markdown files, folders (recursively) and JSONL files of "
                                   '{"id", "text", "lang"?} records. Creates INDEX_DIR if needed; documents '
                                   "with an existing id are replaced. Binary and non-UTF-8 files are skipped "
                                   "with a warning. All changes are committed atomically at the end.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("paths", metavar="PATH", nargs="+")
    p.add_argument("--lang", help="language of all documents (ISO 639-1); default: the JSONL field, else detected")
    p.add_argument("--no-detect", action="store_true", help="do not detect languages (unknown stays unknown)")
    p.add_argument("--max-bytes", type=int, default=100 * 1024 * 1024, help="skip files larger than this")
    p.add_argument("--encoder", "--model", dest="model", default="multilingual-e5-small",
                   help="new index: the encoder for its vectors")
    p.add_argument("--no-vectors", action="store_true", help="new index: lexical search only, no encoder")
    p.add_argument("--no-passages", action="store_true",
                   help="new index: one vector per document, no passage windows (smaller, faster to build; "
                        "long documents are then matched as a whole, and only their first 512 tokens)")
    p.add_argument("--threads", type=int, help="encoder threads (default: all cores)")
    p.add_argument("--batch-size", type=int, default=256, help="documents per batch")
    p.add_argument("--k1", type=float, default=1.2, help="BM25 k1, for a new index (default 1.2)")
    p.add_argument("--b", type=float, default=0.75, help="BM25 b, for a new index (default 0.75)")
    p.add_argument("--no-stem", action="store_true", help="new index: no stemming")
    p.add_argument("--no-stopwords", action="store_true", help="new index: keep stop words")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="search an index", description="Ranked hits with id, score, language and a snippet.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10, help="number of hits (default 10)")
    p.add_argument("--lang", action="append", help="only documents in these languages (repeat or comma-separate)")
    p.add_argument("--query-lang", help="the query's language (default: guessed among xlqe's and the index's languages)")
    p.add_argument("--mode", choices=["hybrid", "bm25", "dense"],
                   help="hybrid (default when the index has vectors), bm25, or dense")
    p.add_argument("--explain", action="store_true", help="show each list's rank, score and weight per hit")
    p.add_argument("--threads", type=int, help="encoder and LLM threads (default: all cores)")
    p.add_argument("--expand", metavar="STRATEGY", default="none",
                   help="rewrite the query with the local LLM first: auto, none (default), or a strategy: "
                        f"{', '.join(STRATEGIES)} (join several with +)")
    p.add_argument("--llm", "--model", dest="llm", metavar="MODEL",
                   help="the expansion model: a name from `xlqe models list` (default gemma-3-270m) or a .gguf path")
    p.add_argument("--budget", type=float, default=3.0, metavar="SECONDS",
                   help="time the LLM may take per query; the search uses what exists by then (default 3)")
    p.add_argument("--shots", default="auto", choices=["auto", "zero", "few"],
                   help="prompt form: auto (zero-shot for short queries, few-shot for long ones), zero or few")
    p.add_argument("--expand-langs", type=int, default=3, metavar="N",
                   help="expand into at most N of the index's languages, most documents first (default 3)")
    p.add_argument("--snippet-chars", type=int, default=160)
    p.add_argument("--json", action="store_true", help="print hits as JSON")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("check", help="verify an index", description="Verifies checksums, postings, lengths and ids; exit 0 when consistent.")
    p.add_argument("index_dir", metavar="INDEX_DIR")
    p.add_argument("--json", action="store_true", help='print {"ok", "documents", ...} as JSON')
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("analyze", help="show the terms a text is indexed as")
    p.add_argument("text")
    p.add_argument("--lang", help="language of the text (enables stemming and stop words)")
    p.add_argument("--no-stem", action="store_true")
    p.add_argument("--no-stopwords", action="store_true")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("eval", help="measure quality on the CLIR bench",
                       description="For each document language D, index D's corpus, run the queries of every "
                                   "query language against it, write a TREC run file and print nDCG@10, "
                                   "Recall@100 and MRR@10 per pair and macro over cross/mono pairs, as the "
                                   "bench's evaluate.py computes them.")
    p.add_argument("--bench", default=_default_bench(), required=_default_bench() is None,
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
    p.add_argument("--encoder", default="multilingual-e5-small", help="encoder for dense modes (see `xlqe models list`)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="encoder and LLM threads")
    p.add_argument("--expand", metavar="STRATEGY", default="none",
                   help="expand each query with the local LLM into the documents' language first: "
                        f"auto, none, {', '.join(STRATEGIES)} (join several with +)")
    p.add_argument("--shots", default="auto", choices=["auto", "zero", "few"], help="prompt form for --expand")
    p.add_argument("--llm", "--model", dest="llm", metavar="MODEL",
                   help="the expansion model: a name from `xlqe models list` (default gemma-3-270m) or a .gguf path")
    p.add_argument("--sample", type=int, metavar="N",
                   help="N queries per language spread evenly over the file (the same questions in every language)")
    p.add_argument("--sample-offset", type=int, default=0, metavar="K",
                   help="start the --sample K queries in (different offsets give disjoint samples)")
    p.add_argument("--langs", action="append", help="restrict query and document languages (comma-separated)")
    p.add_argument("--pairs", default="all", choices=["all", "cross", "mono"])
    p.add_argument("--pooled", action="store_true",
                   help="one mixed index of all languages, each query searched once; adds the pooled (LAReQA-style) "
                        "and mixed rows, scored as the bench's `evaluate.py --pooled --mixed` does")
    p.add_argument("--max-queries", type=int,
                   help="first N queries with qrels per language; their qrels are written to OUT.run.qrels.tsv")
    p.add_argument("--run", required=True, metavar="OUT.run", help="where to write the TREC run file")
    p.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="only the aggregate rows")
    p.add_argument("--k1", type=float, default=1.2)
    p.add_argument("--b", type=float, default=0.75)
    p.add_argument("--no-stem", action="store_true")
    p.add_argument("--no-stopwords", action="store_true")
    p.set_defaults(func=cmd_eval)

    try:
        from .models_cli import add_models_commands
    except ImportError:
        pass
    else:
        add_models_commands(sub)
    return parser


def _model_error() -> type:
    try:
        from .models import ModelError
    except ImportError:  # the encoder's dependencies are not installed
        return XlqeError
    return ModelError


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IndexNotFoundError as e:
        print(f"xlqe: error: {e} (create one with `xlqe index {getattr(args, 'index_dir', 'DIR')} PATH...`)", file=sys.stderr)
    except (XlqeError, OSError, ValueError, _model_error()) as e:
        print(f"xlqe: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("xlqe: interrupted; nothing was committed", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
