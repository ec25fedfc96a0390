"""`xlqe eval`: measure quality on the CLIR bench."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..errors import XlqeError
from ..index import DEFAULT_B, DEFAULT_K1
from ..models.manifest import DEFAULT_ENCODER
from ..expansion.prompts import STRATEGIES, Shots
from ..search.config import Mode
from .args import add_model_flags, default_bench, existing_dir, float_between, int_at_least, lang_codes, lang_list, output_file, strategy_name
from .progress import Progress
from .search import expander_from, warn_unused_llm


def run(args: argparse.Namespace) -> int:
    from ..evaluation import BitextBench, XquadBench, bm25_builder, evaluate, format_report, read_run, write_run, xquad_tasks

    if args.dataset == "xquad":
        bench = XquadBench.load(args.bench, args.level, lang_codes(args.langs), args.max_queries, args.sample, args.sample_offset)
        tasks = xquad_tasks(bench, bench.pairs(args.pairs), pooled=args.pooled)
        langs, all_qrels = bench.langs, bench.qrels
    else:
        if args.pooled or args.pairs != "all":
            raise XlqeError(f"{args.dataset} pairs every language with English, both ways: --pooled and --pairs do not apply")
        bitext = BitextBench.load(args.bench, args.dataset, lang_codes(args.langs), args.max_queries)
        tasks, langs, all_qrels = bitext.tasks, None, bitext.qrels
    expand = args.expand if args.expand and args.expand != "none" else None
    warn_unused_llm(args, expand)
    expander = expander_from(args) if expand else None
    if expander is not None and expander.cache is not None:
        from ..evaluation import expansion_jobs, prefetch_expansions

        # All of a query's languages in one batch first; the per-pair searches then read the cache.
        jobs = expansion_jobs(tasks)
        progress = Progress("expanding", total=len(jobs))
        assert expand is not None  # an expander is only made when there is a strategy
        prefetch_expansions(expander, jobs, expand, args.shots, on_query=lambda: progress.advance(1))
        progress.close()
    if args.mode == "bm25":
        build = bm25_builder(k1=args.k1, b=args.b, stem=not args.no_stem, stopwords=not args.no_stopwords,
                             expander=expander, expand=expand, shots=args.shots,
                             on_query=lambda: progress.advance(1), detect_query_lang=args.detect_query_lang,
                             shards=args.shards or 0, ray=args.ray)
    else:
        from ..models.encoder import Encoder
        from ..evaluation import engine_builder

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
        from ..evaluation import own_language_share

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


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="measure quality on the CLIR bench",
                       description="For each document language D, index D's corpus, run the queries of every "
                                   "query language against it, write a TREC run file and print nDCG@10, "
                                   "Recall@100 and MRR@10 per pair and macro over cross/mono pairs, as the "
                                   "bench's evaluate.py computes them.")
    p.add_argument("--bench", type=existing_dir, default=default_bench(), required=default_bench() is None,
                   help="the bench directory (default: $XLQE_BENCH or ../shared/bench)")
    p.add_argument("--dataset", default="xquad", choices=["xquad", "tatoeba", "ntrex"],
                   help="xquad (paragraphs or sentences), or the tatoeba / ntrex bitext (each language <-> English)")
    p.add_argument("--level", default="paragraph", choices=["paragraph", "sentence"])
    p.add_argument("--mode", default=Mode.BM25.value, choices=[Mode.BM25.value, Mode.DENSE.value, Mode.HYBRID.value])
    query_lang = p.add_mutually_exclusive_group()
    query_lang.add_argument("--detect-query-lang", dest="detect_query_lang", action="store_true", default=True,
                            help="guess each query's language as a search does (the default, as in real use)")
    query_lang.add_argument("--query-lang-from-bench", dest="detect_query_lang", action="store_false",
                            help="give the search each query's language from the bench instead of guessing it")
    add_model_flags(p, "encoder for dense modes (see `xlqe models list`)", DEFAULT_ENCODER)
    p.add_argument("--threads", type=int_at_least(1), default=os.cpu_count() or 1, help="encoder and LLM threads")
    p.add_argument("--expand", metavar="STRATEGY", default="none", type=strategy_name,
                   help="expand each query with the local LLM into the documents' language first: "
                        f"auto, none, {', '.join(STRATEGIES)} (join several with +)")
    p.add_argument("--shots", default=Shots.AUTO.value, choices=Shots.choices(), help="prompt form for --expand")
    p.add_argument("--sample", type=int_at_least(1), metavar="N",
                   help="N queries per language spread evenly over the file (the same questions in every language)")
    p.add_argument("--sample-offset", type=int_at_least(0), default=0, metavar="K",
                   help="start the --sample K queries in (different offsets give disjoint samples)")
    p.add_argument("--langs", action="append", type=lang_list,
                   help="restrict query and document languages (comma-separated)")
    p.add_argument("--pairs", default="all", choices=["all", "cross", "mono"])
    p.add_argument("--pooled", action="store_true",
                   help="one mixed index of all languages, each query searched once; adds the pooled (LAReQA-style) "
                        "and mixed rows, scored as the bench's `evaluate.py --pooled --mixed` does")
    p.add_argument("--max-queries", type=int_at_least(1),
                   help="first N queries with qrels per language; their qrels are written to OUT.run.qrels.tsv")
    p.add_argument("--run", required=True, type=output_file, metavar="OUT.run", help="where to write the TREC run file")
    p.add_argument("--json", type=output_file, metavar="OUT.json", help="also write the results as JSON")
    p.add_argument("--quiet", action="store_true", help="only the aggregate rows")
    p.add_argument("--k1", type=float_between(0, 100), default=DEFAULT_K1)
    p.add_argument("--b", type=float_between(0, 1), default=DEFAULT_B)
    p.add_argument("--no-stem", action="store_true")
    p.add_argument("--no-stopwords", action="store_true")
    p.add_argument("--shards", type=int_at_least(1), metavar="N",
                   help="build and search each per-language index as a sharded index of N shards")
    p.add_argument("--ray", metavar="local|ADDRESS|none", default=None,
                   help="with --shards: search the shards through Ray actors (a new local cluster, or the cluster at "
                        "ADDRESS), or in-process")
    p.set_defaults(func=run)
