"""Measuring retrieval quality on the CLIR bench (`shared/bench`): build one index per document
language, run every query language against it, write a TREC run file, and score it.

The scores follow the bench's reference evaluator (`evaluate.py`) exactly, computed from the run file
as written, so `xlqe eval` and the reference always agree:

* per (query language Q, document language D) pair, each Q query is scored on the run's D documents in
  run order (score descending, then rank, then doc id; repeated doc ids count once);
* nDCG@10 with gain = relevance and log2(rank + 1) discount, Recall@100, MRR@10, Acc@1;
* a pair is evaluated when the run holds a D document for some Q query, and then every Q query with
  qrels for D counts (a query missing from the run scores 0);
* aggregates are macro means over pairs (ALL, CROSS: Q != D, MONO: Q == D) and the micro mean.

    bench     the bench's data
    runs      indexes built, queries searched, run files written
    metrics   runs scored as the bench's evaluate.py scores them
"""

from .bench import (
    BitextBench,
    LEVELS,
    METRICS,
    RUN_DEPTH,
    Task,
    XquadBench,
    lang_of,
    read_qrels,
)
from .runs import (
    BuildFn,
    SearchFn,
    bm25_builder,
    engine_builder,
    expansion_jobs,
    index_with_vectors,
    prefetch_expansions,
    write_run,
    xquad_tasks,
)
from .metrics import (
    evaluate,
    format_report,
    mixed_unit_scores,
    own_language_share,
    read_run,
    score_ranking,
    unit_scores,
)

__all__ = [
    "BitextBench",
    "BuildFn",
    "LEVELS",
    "METRICS",
    "RUN_DEPTH",
    "SearchFn",
    "Task",
    "XquadBench",
    "bm25_builder",
    "engine_builder",
    "evaluate",
    "expansion_jobs",
    "format_report",
    "index_with_vectors",
    "lang_of",
    "mixed_unit_scores",
    "own_language_share",
    "prefetch_expansions",
    "read_qrels",
    "read_run",
    "score_ranking",
    "unit_scores",
    "write_run",
    "xquad_tasks",
]
