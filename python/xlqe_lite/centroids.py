"""A language's centroid in an index's vector space, and a query moved from one language's toward another's
(`FusionConfig.centroid_shift`): the arithmetic is the core's (`_core.move_query`), on vector sums an index
or a sharded index's shards give (`language_vector_sum`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Protocol

from . import _core

if TYPE_CHECKING:
    import numpy as np


class VectorSums(Protocol):
    def language_vector_sum(self, lang: Optional[str]) -> Optional[tuple[list[float], int]]: ...


def centroid(found: Optional[tuple[list[float], int]]) -> Optional["np.ndarray"]:
    """The mean of a (sum, count) as the core computes it (f64 sum / count, then f32), or None."""
    import numpy as np

    if found is None:
        return None
    total, count = found
    return (np.asarray(total, dtype=np.float64) / count).astype(np.float32)


def move_query(index: VectorSums, vector: "np.ndarray", from_lang: str, to_lang: str, alpha: float,
               min_documents: int = 1) -> Optional["np.ndarray"]:
    """`Index.query_toward` over anything that sums its languages' vectors (an index, a sharded index). Both
    languages need `min_documents` vectors: the mean of a few documents is those documents more than their
    language, and a query moved toward it would favour them for that alone."""
    import numpy as np

    source, target = _core.normalize_lang(from_lang), _core.normalize_lang(to_lang)
    if source == target or alpha == 0:
        return None
    start, goal = index.language_vector_sum(source), index.language_vector_sum(target)
    if start is None or goal is None or min(start[1], goal[1]) < max(min_documents, 1):
        return None
    (from_sum, from_count), (to_sum, to_count) = start, goal
    query = np.ascontiguousarray(vector, dtype=np.float32)
    moved = _core.move_query(query, from_sum, from_count, to_sum, to_count, float(alpha))
    return None if moved is None else np.asarray(moved, dtype=np.float32)
