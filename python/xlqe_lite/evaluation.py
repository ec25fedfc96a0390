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
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from .index import DEFAULT_B, DEFAULT_K1

METRICS = ("nDCG@10", "Recall@100", "MRR@10", "Acc@1")
RUN_DEPTH = 100
LEVELS = {"paragraph": ("corpus", "qrels.paragraph.tsv"), "sentence": ("sentences", "qrels.sentence.tsv")}


def lang_of(item_id: str) -> str:
    """The bench's rule: the language is what follows the last '.'."""
    return item_id.rsplit(".", 1)[-1] if "." in item_id else ""


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) == 4:
                parts = [parts[0], parts[2], parts[3]]
            if len(parts) != 3:
                raise ValueError(f"{path}:{n + 1}: expected 3 or 4 columns")
            q, d, r = parts
            try:
                rel = int(float(r))
            except ValueError:
                if n == 0:
                    continue  # header
                raise
            qrels[q][d] = max(rel, qrels[q].get(d, rel))
    return qrels


@dataclass
class XquadBench:
    """The XQuAD part of the bench at one level, restricted to some languages."""

    root: Path
    level: str
    langs: list[str]
    queries: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    corpora: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: str, level: str = "paragraph", langs: Optional[Sequence[str]] = None, max_queries: Optional[int] = None,
             sample: Optional[int] = None, sample_offset: int = 0) -> "XquadBench":
        """`max_queries`: the first N queries per language; `sample`: N queries spread evenly over the
        list, starting `sample_offset` places in (the same questions in every language, since the files
        are parallel; different offsets give disjoint samples)."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {sorted(LEVELS)}")
        base = Path(root) / "xquad"
        if not base.is_dir():
            raise FileNotFoundError(f"no xquad/ folder in the bench directory {root}")
        prefix, qrels_name = LEVELS[level]
        available = sorted(p.name.split(".")[1] for p in base.glob("queries.*.jsonl"))
        chosen = list(langs) if langs else available
        unknown = [l for l in chosen if l not in available]
        if unknown:
            raise ValueError(f"languages not in the bench: {', '.join(unknown)} (available: {', '.join(available)})")
        bench = cls(Path(root), level, chosen)
        bench.qrels = read_qrels(base / qrels_name)
        for lang in chosen:
            qs = [(r["id"], r["text"]) for r in _read_jsonl(base / f"queries.{lang}.jsonl") if r["id"] in bench.qrels]
            if sample and sample < len(qs):
                qs = [qs[(i * len(qs) // sample + sample_offset) % len(qs)] for i in range(sample)]
            bench.queries[lang] = qs[:max_queries] if max_queries else qs
            bench.corpora[lang] = [(r["id"], r["text"]) for r in _read_jsonl(base / f"{prefix}.{lang}.jsonl")]
        return bench

    def pairs(self, which: str = "all") -> list[tuple[str, str]]:
        """(query language, document language) pairs: all, cross (Q != D) or mono (Q == D)."""
        out = [(q, d) for d in self.langs for q in self.langs]
        if which == "cross":
            return [(q, d) for q, d in out if q != d]
        if which == "mono":
            return [(q, d) for q, d in out if q == d]
        if which != "all":
            raise ValueError("pairs must be all, cross or mono")
        return out


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
            from .shard import ShardedIndex

            path = written.path
            written.close()
            written = ShardedIndex.open(path, ray=ray)
        opened.append(written)
        return written

    return searched


def _new_index(path: str, shards: int, **settings: Any) -> Any:
    """A new index for the bench: one directory, or with `shards` a sharded index of that many."""
    from .index import Index

    if shards:
        from .shard import ShardedIndex

        return ShardedIndex.create(path, shards, **settings)
    return Index.create(path, **settings)


def bm25_builder(k1: float = DEFAULT_K1, b: float = DEFAULT_B, stem: bool = True, stopwords: bool = True, expander=None,
                 expand: Optional[str] = None, shots: str = "auto", on_query: Optional[Callable[[], None]] = None,
                 detect_query_lang: bool = True, shards: int = 0, ray: Optional[str] = None) -> BuildFn:
    """Indexes each document language in a real index directory and searches it with BM25; with
    `expander` and `expand`, each query is expanded into the index's languages first and the
    expansions' BM25 lists are fused with the query's (no encoder, so no similarity screen). The query's
    language is guessed as a search does unless `detect_query_lang` is False (then the bench's is given).
    `shards`: each index is a sharded one of that many shards, searched in-process or (`ray`) on Ray."""
    from .search import FusionConfig, SearchEngine

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


def index_with_vectors(path: str, docs: Sequence[tuple[str, str]], encoder, storage: Optional[str] = None,
                       passages: bool = True, shards: int = 0, vector_settings: Optional[dict[str, Any]] = None):
    """A committed index of bench documents (id, text; the language is in the id) with their passage
    embeddings (and, with `passages`, their windows'), taken from the on-disk embedding cache when
    present. `storage`: the index's default vector storage unless given; `vector_settings` overrides more
    (e.g. "exact_below"). `shards`: a sharded index of that many shards."""
    from .models.embedding_cache import encode_documents_cached

    settings = replace(encoder.vector_settings(passages), metric="ip", **({"storage": storage} if storage else {}),
                       **(vector_settings or {}))
    index = _new_index(path, shards, vectors=settings)
    texts = [t for _, t in docs]
    vectors, windows = encode_documents_cached(encoder, texts, settings.passage_tokens or 0, settings.passage_stride or 0)
    index.add_many(({"id": i, "text": t, "lang": lang_of(i)} for i, t in docs), vectors=vectors, passages=windows)
    index.commit()
    return index


def engine_builder(encoder, mode: str, fusion=None, detect_query_lang: bool = True, storage: str = "f32",
                   expander=None, expand: Optional[str] = None, shots: str = "auto",
                   on_query: Optional[Callable[[], None]] = None, shards: int = 0, ray: Optional[str] = None,
                   vector_settings: Optional[dict[str, Any]] = None) -> BuildFn:
    """Embeds each document language's corpus into a real index with vectors and searches it through
    the SearchEngine in `mode` ("dense" or "hybrid"), the code path users get. Embeddings are cached on
    disk (see embedding_cache), so reruns cost only the search. The query language is guessed as a
    search does (`detect_query_lang`, as in real use) or, with it False, the bench's (known) one. With `expander` and `expand` (a strategy), each query is
    expanded into the index's languages first (no time budget, so runs are reproducible)."""
    from .models.embedding_cache import encode_cached
    from .search import FusionConfig, SearchEngine

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


# One unit of work: a document pool (its label, its documents) and the query sets run against it.
Task = tuple[str, list[tuple[str, str]], list[tuple[str, list[tuple[str, str]]]]]


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


@dataclass
class BitextBench:
    """Tatoeba or NTREX: each sentence's translation is the one relevant document, searched among the
    other language's sentences (Tatoeba: the other side of the same file, as in XTREME; NTREX: all 1,997
    sentences of the other language). Both directions, every language against English."""

    name: str
    tasks: list[Task]
    qrels: dict[str, dict[str, int]]
    langs: list[str]

    @classmethod
    def load(cls, root: str, name: str, langs: Optional[Sequence[str]] = None, max_queries: Optional[int] = None) -> "BitextBench":
        from ._core import normalize_lang

        base = Path(root) / name
        if not base.is_dir():
            raise FileNotFoundError(f"no {name}/ folder in the bench directory {root}")
        want = {normalize_lang(l) for l in langs} if langs else None
        cut = (lambda xs: xs[:max_queries]) if max_queries else (lambda xs: xs)
        tasks: list[Task] = []
        seen: list[str] = []
        if name == "tatoeba":
            for path in sorted(base.glob("*-eng.jsonl")):
                rows = _read_jsonl(path)
                code = rows[0]["src_lang"]
                if want and normalize_lang(code) not in want:
                    continue
                seen.append(code)
                src = [(r["src_id"], r["src_text"]) for r in rows]
                eng = [(r["tgt_id"], r["tgt_text"]) for r in rows]
                tasks.append((f"eng-of-{code}", eng, [(code, cut(src))]))
                tasks.append((code, src, [("eng", cut(eng))]))
        elif name == "ntrex":
            by_lang = {p.name.split(".")[1]: [(r["id"], r["text"]) for r in _read_jsonl(p)] for p in sorted(base.glob("sentences.*.jsonl"))}
            others = [c for c in by_lang if c != "eng" and (not want or normalize_lang(c) in want)]
            seen = others
            tasks.append(("eng", by_lang["eng"], [(c, cut(by_lang[c])) for c in others]))
            for c in others:
                tasks.append((c, by_lang[c], [("eng", cut(by_lang["eng"]))]))
        else:
            raise ValueError(f"unknown bitext dataset {name!r}")
        if not tasks:
            raise ValueError(f"no {name} languages match {', '.join(langs or [])}")
        return cls(name, tasks, read_qrels(base / "qrels.tsv"), seen)


def own_language_share(run: dict[str, list[str]], depth: int = 10) -> dict[str, float]:
    """In a pooled run: the mean share of each query's top `depth` written in the query's own language,
    and how often that language fills the majority of it (1/9 of the top would be language-blind)."""
    shares = []
    for q, ranked in run.items():
        top = ranked[:depth]
        if top:
            shares.append(sum(lang_of(d) == lang_of(q) for d in top) / len(top))
    if not shares:
        return {"mean_share": float("nan"), "majority": float("nan")}
    return {"mean_share": sum(shares) / len(shares), "majority": sum(s > 0.5 for s in shares) / len(shares)}


def read_run(path: str) -> dict[str, list[str]]:
    """Query id -> doc ids in the evaluator's order (score desc, rank, doc id), first occurrence only."""
    rows: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 6:
                raise ValueError(f"{path}:{n + 1}: expected 'qid Q0 docid rank score tag'")
            rows[parts[0]].append((-float(parts[4]), int(parts[3]), parts[2]))
    run = {}
    for q, entries in rows.items():
        entries.sort()
        seen: set[str] = set()
        run[q] = [d for _, _, d in entries if not (d in seen or seen.add(d))]
    return run


def score_ranking(ranked: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    top10 = ranked[:10]
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(top10))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    first = next((i for i, d in enumerate(top10) if d in relevant), None)
    return {
        "nDCG@10": dcg / idcg if idcg > 0 else 0.0,
        "Recall@100": sum(1 for d in ranked[:100] if d in relevant) / len(relevant),
        "MRR@10": 0.0 if first is None else 1.0 / (first + 1),
        "Acc@1": 1.0 if ranked and ranked[0] in relevant else 0.0,
    }


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {m: float("nan") for m in METRICS}
    return {m: sum(r[m] for r in rows) / len(rows) for m in METRICS}


def unit_scores(qrels: dict[str, dict[str, int]], run: dict[str, list[str]],
                langs: Optional[Iterable[str]] = None) -> dict[tuple[str, str], list[tuple[str, dict[str, float]]]]:
    """Every (query, document language) unit's metrics, grouped by language pair: a query is scored
    against the documents of each language it has relevant ones in, among the run's hits in that
    language. The unit of the bench's evaluate.py (see the module docstring)."""
    keep = set(langs) if langs else None
    relevant: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    queries_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for q, docs in qrels.items():
        for d, r in docs.items():
            if r > 0:
                relevant[(q, lang_of(d))][d] = r
                queries_of[(lang_of(q), lang_of(d))].add(q)
    by_lang: dict[str, dict[str, list[str]]] = {}
    in_run: set[tuple[str, str]] = set()
    for q, ranked in run.items():
        groups: dict[str, list[str]] = defaultdict(list)
        for d in ranked:
            groups[lang_of(d)].append(d)
        by_lang[q] = groups
        in_run.update((lang_of(q), dl) for dl in groups)
    pairs = sorted(p for p in queries_of if p in in_run and (keep is None or (p[0] in keep and p[1] in keep)))
    return {(ql, dl): [(q, score_ranking(by_lang.get(q, {}).get(dl, []), relevant[(q, dl)]))
                       for q in sorted(queries_of[(ql, dl)])] for ql, dl in pairs}


def mixed_unit_scores(qrels: dict[str, dict[str, int]], run: dict[str, list[str]],
                      queries_of: dict[tuple[str, str], Sequence[str]],
                      langs: Optional[Iterable[str]] = None) -> dict[tuple[str, str], list[tuple[str, dict[str, float]]]]:
    """The bench's `--mixed` units for the pairs of `queries_of` (pair -> its queries): for query q and document
    language D, q's whole list from one index of every language with q's relevant documents in the other
    languages removed, scored against its relevant D documents. The answer in D then competes with every
    non-relevant document, the query's own language's too."""
    keep = set(langs) if langs else None
    out: dict[tuple[str, str], list[tuple[str, dict[str, float]]]] = {}
    for (ql, dl), queries in queries_of.items():
        rows = []
        for q in queries:
            relevant = {d: r for d, r in qrels[q].items() if r > 0 and lang_of(d) == dl}
            others = {d for d, r in qrels[q].items() if r > 0 and lang_of(d) != dl}
            ranked = [d for d in run.get(q, []) if d not in others and (keep is None or lang_of(d) in keep)]
            rows.append((q, score_ranking(ranked, relevant)))
        out[(ql, dl)] = rows
    return out


def evaluate(qrels: dict[str, dict[str, int]], run: dict[str, list[str]], langs: Optional[Iterable[str]] = None,
             pooled: bool = False, mixed: bool = False) -> dict:
    """Scores a run the way the bench's evaluate.py does (see the module docstring); `mixed` adds its
    `--mixed` rows (`mixed_pairs`, `mixed` CROSS / MONO), for a run from one index of every language."""
    keep = set(langs) if langs else None
    scored = unit_scores(qrels, run, langs)
    per_pair: dict[str, dict] = {}
    units: list[dict[str, float]] = []
    for (ql, dl), rows in scored.items():
        scores = [m for _, m in rows]
        per_pair[f"{ql}->{dl}"] = {"n": len(scores), **_mean(scores)}
        units.extend(scores)
    groups_of = {
        "ALL": list(per_pair.values()),
        "CROSS": [m for p, m in per_pair.items() if p.split("->")[0] != p.split("->")[1]],
        "MONO": [m for p, m in per_pair.items() if p.split("->")[0] == p.split("->")[1]],
    }
    result = {
        "pairs": per_pair,
        "macro": {k: {"pairs": len(v), **_mean(v)} for k, v in groups_of.items()},
        "micro": {"units": len(units), **_mean(units)},
        "queries_missing_from_run": sum(1 for rows in scored.values() for q, _ in rows if q not in run),
    }
    if mixed:
        mixed_pairs = {f"{ql}->{dl}": {"n": len(rows), **_mean([m for _, m in rows])}
                       for (ql, dl), rows in mixed_unit_scores(
                           qrels, run, {p: [q for q, _ in rows] for p, rows in scored.items()}, langs).items()}
        result["mixed_pairs"] = mixed_pairs
        result["mixed"] = {
            "CROSS": {"pairs": sum(1 for p in mixed_pairs if p.split("->")[0] != p.split("->")[1]),
                      **_mean([m for p, m in mixed_pairs.items() if p.split("->")[0] != p.split("->")[1]])},
            "MONO": {"pairs": sum(1 for p in mixed_pairs if p.split("->")[0] == p.split("->")[1]),
                     **_mean([m for p, m in mixed_pairs.items() if p.split("->")[0] == p.split("->")[1]])},
        }
    if pooled:
        pooled_scores = []
        for q, docs in qrels.items():
            if keep is not None and lang_of(q) not in keep:
                continue
            rel = {d: r for d, r in docs.items() if r > 0 and (keep is None or lang_of(d) in keep)}
            if rel:
                ranked = [d for d in run.get(q, []) if keep is None or lang_of(d) in keep]
                pooled_scores.append(score_ranking(ranked, rel))
        result["pooled"] = {"queries": len(pooled_scores), **_mean(pooled_scores)}
    return result


def format_report(result: dict, per_pair: bool = True) -> str:
    def row(label: str, n: int, m: dict) -> str:
        return f"{label:24s}{n:7d}" + "".join(f"{m[k]:12.4f}" if m[k] == m[k] else f"{'-':>12s}" for k in METRICS)

    lines = [f"{'pair (query->doc lang)':24s}{'n':>7s}" + "".join(f"{k:>12s}" for k in METRICS)]
    if per_pair:
        lines += [row(p, m["n"], m) for p, m in result["pairs"].items()]
    lines += [row(f"macro {k} (pairs)", m["pairs"], m) for k, m in result["macro"].items()]
    lines.append(row("micro (query x D)", result["micro"]["units"], result["micro"]))
    for k, m in result.get("mixed", {}).items():
        lines.append(row(f"mixed {k} (pairs)", m["pairs"], m))
    if "pooled" in result:
        lines.append(row("pooled (all langs)", result["pooled"]["queries"], result["pooled"]))
    if result.get("queries_missing_from_run"):
        lines.append(f"note: {result['queries_missing_from_run']} (query, pair) evaluations had no results in the run (scored 0)")
    return "\n".join(lines)
