"""Merging the ranked lists of several document languages on a common scale (`calibrated_merge`)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = ["Scored", "calibrated_merge"]

Scored = Sequence[tuple[str, float]]


def calibrated_merge(groups: Sequence[Scored], k: int, heads: Sequence[int] = (10, 100),
                     min_calibration: int = 10) -> list[tuple[str, float, float]]:
    """Merges ranked lists, one per document language, fairly across languages. Each list (doc id, fused score;
    best first) is put on its own scale: a score becomes the mean, over `heads`, of its z-score on the mean and
    spread of the list's first n scores (the near competitors, n = 10, and the wider field, n = 100). A list
    shorter than `min_calibration` is put on the statistics of all lists' heads together (a handful of scores
    has no spread to speak of). So each language's candidates compete on how far they stand out in their own
    language, not on the raw similarity that favours the query's language. Returns the best `k` as
    (doc id, calibrated score, fused score), ties broken by doc id.

    >>> en = [("a.en", 0.90), ("b.en", 0.89), ("c.en", 0.88), ("d.en", 0.87)]
    >>> zh = [("a.zh", 0.86), ("b.zh", 0.70), ("c.zh", 0.69), ("d.zh", 0.68)]
    >>> [d for d, _, _ in calibrated_merge([en, zh], k=2, heads=(4,), min_calibration=2)]
    ['a.zh', 'a.en']
    """
    import numpy as np

    def stats(values: Any, n: Optional[int]) -> tuple[float, float]:
        head = values[:n]
        return (float(head.mean()), float(head.std())) if len(head) else (0.0, 0.0)

    arrays = [np.asarray([s for _, s in hits], dtype=np.float64) for hits in groups]
    reference = [v for v in arrays if len(v) >= min_calibration] or arrays
    shared = {n: stats(np.concatenate([v[:n] for v in reference]), None) for n in heads}
    scored: list[tuple[float, str, float]] = []
    for hits, values in zip(groups, arrays):
        if not len(values):
            continue
        z = np.zeros_like(values)
        for n in heads:
            mean, sd = stats(values, n) if len(values) >= min_calibration else shared[n]
            if sd > 0:
                z += (values - mean) / sd
        z /= len(heads)
        scored.extend((float(v), doc, float(raw)) for (doc, raw), v in zip(hits, z))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [(doc, v, raw) for v, doc, raw in scored[:k]]
