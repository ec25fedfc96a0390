"""Scoring a run exactly as the bench's `evaluate.py` does: nDCG@10, Recall@100, MRR@10, Acc@1 per language
pair, macro and micro means, the pooled and mixed rows, and the report."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable, Optional, Sequence

from .bench import METRICS, lang_of


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
        ranked: list[str] = []
        for _, _, d in entries:
            if d not in seen:
                seen.add(d)
                ranked.append(d)
        run[q] = ranked
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
             pooled: bool = False, mixed: bool = False) -> dict[str, Any]:
    """Scores a run the way the bench's evaluate.py does (see the module docstring); `mixed` adds its
    `--mixed` rows (`mixed_pairs`, `mixed` CROSS / MONO), for a run from one index of every language."""
    keep = set(langs) if langs else None
    scored = unit_scores(qrels, run, langs)
    per_pair: dict[str, dict[str, Any]] = {}
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


def format_report(result: dict[str, Any], per_pair: bool = True) -> str:
    def row(label: str, n: int, m: dict[str, float]) -> str:
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
