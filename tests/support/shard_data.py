"""Data for the sharding tests and benchmarks/bench_shards.py: XQuAD dev corpora and a synthetic corpus
of any size (Zipf-distributed words in three languages, random unit vectors), and the comparison of two
ranked lists that holds for equal scores in any order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np


def xquad_docs(bench: Path, langs: Sequence[str]) -> list[dict[str, Any]]:
    docs = []
    for lang in langs:
        with open(bench / "xquad" / f"corpus.{lang}.jsonl", encoding="utf-8") as f:
            docs.extend({"id": r["id"], "text": r["text"], "lang": lang} for r in map(json.loads, f))
    return docs


def xquad_queries(bench: Path, lang: str, every: int = 1) -> list[str]:
    with open(bench / "xquad" / f"queries.{lang}.jsonl", encoding="utf-8") as f:
        return [r["text"] for r in map(json.loads, f)][::every]


SYNTH_LANGS = ("en", "de", "fr")


def synthetic_docs(n: int, seed: int = 7, vocabulary: int = 50_000) -> Iterator[dict[str, Any]]:
    """`n` documents of 5 to 60 Zipf-distributed words ("w17 w3 ..."), in three languages."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 60, size=n)
    for i in range(n):
        words = np.minimum(rng.zipf(1.3, size=lengths[i]), vocabulary)
        yield {"id": f"s{i:08d}", "text": " ".join(f"w{w}" for w in words), "lang": SYNTH_LANGS[i % 3]}


def synthetic_vectors(n: int, dims: int, seed: int = 11, start: int = 0) -> np.ndarray:
    """Unit vectors for documents start .. start+n-1 (the same rows whatever the batch)."""
    out = np.empty((n, dims), dtype=np.float32)
    for j, i in enumerate(range(start, start + n)):
        out[j] = np.random.default_rng((seed, i)).standard_normal(dims)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def synthetic_queries(docs: Sequence[dict[str, Any]], n: int, seed: int = 3) -> list[str]:
    """`n` queries of 1 to 3 words, each taken from a random document (so every query matches)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = str(docs[int(rng.integers(len(docs)))]["text"]).split()
        out.append(" ".join(rng.choice(words, size=min(len(words), int(rng.integers(1, 4))), replace=False)))
    return out


def same_ranking(got: Sequence[Any], want: Sequence[Any], k: int) -> str:
    """'' when `got` is `want` up to the order of equal scores (hits with .id and .score); else what differs.
    Scores must be equal exactly. Among the lowest score of a full list the ids may differ (the cut at k
    falls inside a group of equal scores)."""
    if [h.score for h in got] != [h.score for h in want]:
        for i, (a, b) in enumerate(zip(got, want)):
            if a.score != b.score:
                return f"rank {i + 1}: {a.id} {a.score!r} vs {b.id} {b.score!r}"
        return f"{len(got)} hits vs {len(want)}"
    last = want[-1].score if want else None
    groups_got: dict[float, set[str]] = {}
    groups_want: dict[float, set[str]] = {}
    for h in got:
        groups_got.setdefault(h.score, set()).add(h.id)
    for h in want:
        groups_want.setdefault(h.score, set()).add(h.id)
    for score, ids in groups_want.items():
        if groups_got[score] != ids and not (score == last and len(want) == k):
            return f"score {score!r}: {sorted(groups_got[score])} vs {sorted(ids)}"
    return ""


def close_ranking(got: Sequence[Any], want: Sequence[Any], k: int, tol: float = 1e-5) -> str:
    """'' when `got` is `want` with every score within `tol` (so only documents that close to each other may
    swap), and the two lists hold the same ids except where the cut at k falls among scores within `tol`."""
    if len(got) != len(want):
        return f"{len(got)} hits vs {len(want)}"
    for i, (a, b) in enumerate(zip(got, want)):
        if abs(a.score - b.score) > tol:
            return f"rank {i + 1}: {a.id} {a.score!r} vs {b.id} {b.score!r}"
    mine, theirs = {h.id: h.score for h in got}, {h.id: h.score for h in want}
    for doc in mine.keys() & theirs.keys():
        if abs(mine[doc] - theirs[doc]) > tol:
            return f"{doc}: {mine[doc]!r} vs {theirs[doc]!r}"
    last = want[-1].score if want else 0.0
    for doc in mine.keys() ^ theirs.keys():
        if len(want) < k or abs(mine.get(doc, theirs.get(doc, 0.0)) - last) > 2 * tol:
            return f"{doc} in only one list"
    return ""
