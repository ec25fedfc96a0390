"""Merging the ranked lists of several document languages on a common scale (`calibrated_merge`)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = ["Scored", "calibrated_merge"]

Scored = Sequence[tuple[str, float]]


def calibrated_merge(groups: Sequence[Scored], k: int, heads: Sequence[int] = (5, 100),
                     min_calibration: int = 10,
                     dense: Optional[Sequence[Optional[Sequence[float]]]] = None) -> list[tuple[str, float, float]]:
    """Merges ranked lists, one per document language, fairly across languages. Each list (doc id, fused score;
    best first) is put on its own scale: a score becomes the mean, over `heads`, of its z-score on the mean and
    spread of the list's first n scores (the near competitors, n = 5, and the wider field, n = 100). So each
    language's candidates compete on how far they stand out in their own language, not on the raw similarity
    that favours the query's language. Returns the best `k` as (doc id, calibrated score, fused score), ties
    broken by doc id.

    A list shorter than `min_calibration` has no spread of its own: its best candidate makes most of it, and its
    min-max fused scores say nothing across languages. When `dense` gives such a list's dense scores (best first;
    the r-th fused document takes the r-th), they are measured instead: on the list's own mean (how similar the
    query is to that language's documents at all; with one document, the mean of all long-enough lists' dense
    heads) and on the spread pooled over every list's dense head, so its candidate counts by how far it stands
    out from its language's other documents in cosine, on one scale for all languages. Without dense scores such
    a list is put on the statistics of all long-enough lists' heads together (of all lists when none is long
    enough). The core's `query::calibrate::calibrated_merge` computes the same, to the bit.

    >>> en = [("a.en", 0.90), ("b.en", 0.89), ("c.en", 0.88), ("d.en", 0.87)]
    >>> zh = [("a.zh", 0.86), ("b.zh", 0.70), ("c.zh", 0.69), ("d.zh", 0.68)]
    >>> [d for d, _, _ in calibrated_merge([en, zh], k=2, heads=(4,), min_calibration=2)]
    ['a.zh', 'a.en']
    """
    import numpy as np

    def stats(values: Any, n: Optional[int]) -> tuple[float, float]:
        head = values[:n]
        return (float(head.mean()), float(head.std())) if len(head) else (0.0, 0.0)

    def joined_heads(arrays: Sequence[Any], n: int) -> Any:
        return np.concatenate([v[:n] for v in arrays]) if arrays else np.zeros(0)

    def shared(arrays: Sequence[Any], n: int) -> tuple[float, float]:
        return stats(joined_heads([v for v in arrays if len(v) >= min_calibration] or arrays, n), None)

    def pooled_sd(arrays: Sequence[Any], n: int) -> float:
        sds = [stats(v, n)[1] for v in arrays if len(v) > 1]
        if not sds:
            return stats(joined_heads(arrays, n), None)[1]
        return float(np.sqrt(np.mean(np.array([sd * sd for sd in sds], dtype=np.float64))))

    arrays = [np.asarray([s for _, s in hits], dtype=np.float64) for hits in groups]
    dense_arrays = [np.asarray(d, dtype=np.float64) if d is not None and len(d) else None
                    for d in (list(dense) if dense is not None else [None] * len(groups))]
    with_dense = [d for d in dense_arrays if d is not None]
    z = [np.zeros_like(v) for v in arrays]
    for n in heads:
        all_mean, all_sd = shared(arrays, n)
        dense_location = shared(with_dense, n)[0] if with_dense else 0.0
        dense_sd = pooled_sd(with_dense, n)
        for g, values in enumerate(arrays):
            if not len(values):
                continue
            d = dense_arrays[g]
            if d is not None and len(values) < min_calibration:
                mean = stats(d, n)[0] if len(d) > 1 else dense_location
                sd, values = dense_sd, d[np.minimum(np.arange(len(values)), len(d) - 1)]
            elif len(values) >= min_calibration:
                mean, sd = stats(values, n)
            else:
                mean, sd = all_mean, all_sd
            if sd > 0:
                z[g] += (values - mean) / sd
    scored: list[tuple[float, str, float]] = []
    for hits, zs in zip(groups, z):
        zs = zs / len(heads)
        scored.extend((float(v), doc, float(raw)) for (doc, raw), v in zip(hits, zs))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [(doc, v, raw) for v, doc, raw in scored[:k]]
