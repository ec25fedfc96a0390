"""Running the bench: an index per document language (or one pooled index), its queries searched, a TREC run
file written; the builders for BM25 and for dense/hybrid engines, and expansions fetched in batches."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from ..index import DEFAULT_B, DEFAULT_K1
from .bench import RUN_DEPTH, Task, XquadBench, lang_of

if TYPE_CHECKING:
    from ..expansion import Expander
    from ..models.encoder import Encoder
    from ..search import FusionConfig


# A retriever for one document language ("pooled" for all of them at once): given the documents (their
# language is in their ids), it returns a search function from (query texts, query language) to ranked
# (doc id, score) lists.
SearchFn = Callable[[list[str], str], list[list[tuple[str, float]]]]


BuildFn = Callable[[str, list[tuple[str, str]], str], SearchFn]


def _sharded_opener(shards: int, ray: Optional[str]) -> Callable[[Any], Any]:
    """For `--shards N`: turns a freshly written sharded index into the one searched (itself in-process, or
    reopened on Ray actors), closing the previous language's so its shard actors do not pile up."""
    opened: list[Any] = []

    def searched(written: Any) -> Any:
        while opened:
            opened.pop().close()
        if ray and ray != "none":
            from ..shard import ShardedIndex

            path = written.path
            written.close()
            written = ShardedIndex.open(path, ray=ray)
        opened.append(written)
        return written

    return searched


def _new_index(path: str, shards: int, **settings: Any) -> Any:
    """A new index for the bench: one directory, or with `shards` a sharded index of that many."""
    from ..index import Index

    if shards:
        from ..shard import ShardedIndex

        return ShardedIndex.create(path, shards, **settings)
    return Index.create(path, **settings)


def bm25_builder(k1: float = DEFAULT_K1, b: float = DEFAULT_B, stem: bool = True, stopwords: bool = True,
                 expander: Optional[Expander] = None,
                 expand: Optional[str] = None, shots: str = "auto", on_query: Optional[Callable[[], None]] = None,
                 detect_query_lang: bool = True, shards: int = 0, ray: Optional[str] = None) -> BuildFn:
    """Indexes each document language in a real index directory and searches it with BM25; with
    `expander` and `expand`, each query is expanded into the index's languages first and the
    expansions' BM25 lists are fused with the query's (no encoder, so no similarity screen). The query's
    language is guessed as a search does unless `detect_query_lang` is False (then the bench's is given).
    `shards`: each index is a sharded one of that many shards, searched in-process or (`ray`) on Ray."""
    from ..search import FusionConfig, SearchEngine

    searched = _sharded_opener(shards, ray)

    def build(doc_lang: str, docs: list[tuple[str, str]], workdir: str) -> SearchFn:
        index = _new_index(os.path.join(workdir, f"bm25-{doc_lang}"), shards, k1=k1, b=b, stem=stem, stopwords=stopwords)
        index.add_many({"id": i, "text": t, "lang": lang_of(i)} for i, t in docs)
        index.commit()
        if shards:
            index = searched(index)
        engine = SearchEngine(index, None, FusionConfig(), expander)

        def search(queries: list[str], query_lang: str) -> list[list[tuple[str, float]]]:
            out = []
            for q in queries:
                lang = engine.guess_query_language(q) if detect_query_lang else query_lang
                if expander is not None and expand and expand != "none":
                    expansions = expander.expand(q, strategy=expand, shots=shots, query_lang=lang,
                                                 target_langs=engine.expansion_targets(lang))
                    hits = engine.search(q, k=RUN_DEPTH, mode="bm25", lang=lang, expansions=expansions)
                else:
                    hits = index.search(q, k=RUN_DEPTH, lang=lang)
                out.append([(h.id, h.score) for h in hits])
                if on_query:
                    on_query()
            return out

        return search

    return build


def index_with_vectors(path: str, docs: Sequence[tuple[str, str]], encoder: Encoder, storage: Optional[str] = None,
                       passages: bool = True, shards: int = 0, vector_settings: Optional[dict[str, Any]] = None) -> Any:
    """A committed index of bench documents (id, text; the language is in the id) with their passage
    embeddings (and, with `passages`, their windows'), taken from the on-disk embedding cache when
    present. `storage`: the index's default vector storage unless given; `vector_settings` overrides more
    (e.g. "exact_below"). `shards`: a sharded index of that many shards."""
    from ..models.embedding_cache import encode_documents_cached

    overrides: dict[str, Any] = {"metric": "ip", **({"storage": storage} if storage else {}), **(vector_settings or {})}
    settings = replace(encoder.vector_settings(passages), **overrides)
    index = _new_index(path, shards, vectors=settings)
    texts = [t for _, t in docs]
    vectors, windows = encode_documents_cached(encoder, texts, settings.passage_tokens or 0, settings.passage_stride or 0)
    index.add_many(({"id": i, "text": t, "lang": lang_of(i)} for i, t in docs), vectors=vectors, passages=windows)
    index.commit()
    return index


def engine_builder(encoder: Encoder, mode: str, fusion: Optional[FusionConfig] = None, detect_query_lang: bool = True,
                   storage: str = "f32", expander: Optional[Expander] = None, expand: Optional[str] = None, shots: str = "auto",
                   on_query: Optional[Callable[[], None]] = None, shards: int = 0, ray: Optional[str] = None,
                   vector_settings: Optional[dict[str, Any]] = None) -> BuildFn:
    """Embeds each document language's corpus into a real index with vectors and searches it through
    the SearchEngine in `mode` ("dense" or "hybrid"), the code path users get. Embeddings are cached on
    disk (see embedding_cache), so reruns cost only the search. The query language is guessed as a
    search does (`detect_query_lang`, as in real use) or, with it False, the bench's (known) one. With `expander` and `expand` (a strategy), each query is
    expanded into the index's languages first (no time budget, so runs are reproducible)."""
    from ..models.embedding_cache import encode_cached
    from ..search import FusionConfig, SearchEngine

    searched = _sharded_opener(shards, ray)

    def build(doc_lang: str, docs: list[tuple[str, str]], workdir: str) -> SearchFn:
        index = index_with_vectors(os.path.join(workdir, f"{mode}-{doc_lang}"), docs, encoder, storage, shards=shards,
                                   vector_settings=vector_settings)
        if shards:
            index = searched(index)
        engine = SearchEngine(index, encoder, fusion or FusionConfig(), expander)

        def search(queries: list[str], query_lang: str) -> list[list[tuple[str, float]]]:
            q = encode_cached(encoder, queries, "query")
            lang = None if detect_query_lang else query_lang
            out = []
            for text, v in zip(queries, q):
                expansions = None
                if expander is not None and expand and expand != "none":
                    expansions = expander.expand(text, strategy=expand, shots=shots, query_lang=query_lang,
                                                 target_langs=engine.expansion_targets(query_lang))
                hits = engine.search(text, k=RUN_DEPTH, mode=mode, lang=lang, query_vector=v, expansions=expansions)
                out.append([(h.id, h.score) for h in hits])
                if on_query:
                    on_query()
            return out

        return search

    return build




def xquad_tasks(bench: XquadBench, pairs: Sequence[tuple[str, str]], pooled: bool = False) -> list[Task]:
    """Per document language, its corpus and the query languages paired with it; or, pooled, one index of
    every language's documents and each query language once."""
    if pooled:
        docs = [doc for d in bench.langs for doc in bench.corpora[d]]
        return [("pooled", docs, [(q, bench.queries[q]) for q in sorted({q for q, _ in pairs}, key=bench.langs.index)])]
    return [(d, bench.corpora[d], [(q, bench.queries[q]) for q, dd in pairs if dd == d])
            for d in sorted({d for _, d in pairs}, key=bench.langs.index)]


def expansion_jobs(tasks: Sequence[Task], pivot_lang: Optional[str] = "en") -> list[tuple[str, str, list[str]]]:
    """Every distinct (query language, query) of the tasks with the languages its searches expand into:
    those of the documents it is searched against, and the pivot, as SearchEngine.expansion_targets
    chooses them."""
    targets: dict[tuple[str, str], set[str]] = {}
    for _, docs, query_sets in tasks:
        doc_langs = {lang_of(doc_id) for doc_id, _ in docs} - {""}
        for query_lang, queries in query_sets:
            for _, text in queries:
                targets.setdefault((query_lang, text), set()).update(doc_langs)
    order = sorted({lang for langs in targets.values() for lang in langs} | {pivot_lang or ""})
    return [(query_lang, text, [l for l in order if l and l != query_lang and (l in langs or l == pivot_lang)])
            for (query_lang, text), langs in targets.items()]


def prefetch_expansions(expander: Any, jobs: Sequence[tuple[str, str, list[str]]], strategy: str,
                        shots: str = "auto", on_query: Optional[Callable[[], None]] = None) -> None:
    """Expands every query of `expansion_jobs` into all its target languages at once, before any search:
    the expander decodes a query's languages as one batch, while each per-pair search asks for one or two
    of them. The searches then find their expansions in the expander's cache."""
    if expander.cache is None:
        raise ValueError("prefetching expansions needs the expander's cache")
    for query_lang, text, langs in jobs:
        if langs:
            expander.expand(text, strategy=strategy, shots=shots, query_lang=query_lang, target_langs=langs)
        if on_query:
            on_query()


def write_run(tasks: Sequence[Task], build: BuildFn, run_path: str, tag: str,
              progress: Optional[Callable[[str], None]] = None) -> dict[str, float]:
    """Builds each task's index, runs its queries, and writes the TREC run file; returns timings."""
    timings = {"index_s": 0.0, "search_s": 0.0, "queries": 0}
    Path(run_path).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlqe-eval-") as workdir, open(run_path, "w", encoding="utf-8") as out:
        for n, (label, docs, query_sets) in enumerate(tasks):
            t0 = time.perf_counter()
            search = build(f"{n}-{label}", docs, workdir)
            timings["index_s"] += time.perf_counter() - t0
            for query_lang, queries in query_sets:
                if progress:
                    progress(f"{query_lang}->{label}")
                t0 = time.perf_counter()
                ranked = search([text for _, text in queries], query_lang)
                timings["search_s"] += time.perf_counter() - t0
                timings["queries"] += len(queries)
                for (qid, _), hits in zip(queries, ranked):
                    for rank, (doc, score) in enumerate(hits[:RUN_DEPTH], 1):
                        out.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")
    return timings
