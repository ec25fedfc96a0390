"""What one shard does, as plain calls with plain (picklable) arguments and results: the same object
serves in-process and inside a Ray actor (`fanout.RayFanout` wraps it with `ray.remote`), so the two ways
of searching a sharded index run the same code per shard.

Global BM25: `stats` gives a shard's document count, total length and document frequencies for some
terms; the coordinator adds them up over all shards and passes the sum to `search` / `search_terms`,
which score with it (rust_core/src/index/global.rs), so every shard scores as one index of all documents
would.
"""

from __future__ import annotations

import time
from typing import Any, Optional, Sequence

from .. import _core
from ..filters import Filter, core_filter
from ..index import DEFAULT_PASSAGE_WEIGHT, Hit, Index, StoredDocument

# (documents, total length, {term: document frequency}) of the whole sharded index.
Stats = tuple[int, int, dict[str, int]]


class ShardOps:
    """One shard, opened for reading (or writing, `writer=True`)."""

    def __init__(self, path: str, writer: bool = False) -> None:
        self.path = path
        self.index = Index.open(path, writer=writer)
        # Fault injection for tests and benchmarks: every call first sleeps this long (a slow machine).
        self._delay = 0.0

    def set_delay(self, seconds: float) -> None:
        """Makes every later call of this shard wait `seconds` first (0: none), to test timeouts."""
        self._delay = max(0.0, float(seconds))

    def _wait(self) -> None:
        if self._delay:
            time.sleep(self._delay)

    # -- facts ------------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Size, languages, vector counts, generation and settings of the shard."""
        self._wait()
        ix = self.index
        return {"documents": len(ix), "languages": ix.languages(), "vector_count": ix.vector_count,
                "passage_count": ix.passage_count, "generation": ix.generation, "config": ix.config}

    def stats(self, terms: Sequence[str]) -> tuple[int, int, list[int]]:
        self._wait()
        return _core.lexical_stats(self.index._core, list(terms))

    # -- ranked lists -----------------------------------------------------------------------------
    def search(self, query: str, k: int, lang: Optional[str], langs: Optional[list[str]], stats: Stats,
               where: Optional[Filter] = None) -> list[Hit]:
        self._wait()
        return [Hit(*h) for h in _core.search_global(self.index._core, query, stats, k, lang, langs, core_filter(where))]

    def search_terms(self, terms: list[tuple[str, float]], k: int, langs: Optional[list[str]], stats: Stats,
                     where: Optional[Filter] = None) -> list[Hit]:
        self._wait()
        return [Hit(*h) for h in _core.search_terms_global(self.index._core, terms, stats, k, langs, core_filter(where))]

    def search_vector(self, vector: Any, k: int, langs: Optional[list[str]],
                      passage_weight: float = DEFAULT_PASSAGE_WEIGHT, where: Optional[Filter] = None) -> list[Hit]:
        self._wait()
        return self.index.search_vector(vector, k=k, langs=langs, passage_weight=passage_weight, where=where)

    def language_vector_sum(self, lang: Optional[str]) -> Optional[tuple[list[float], int]]:
        self._wait()
        return self.index.language_vector_sum(lang)

    # -- one document -----------------------------------------------------------------------------
    def get(self, doc_id: str) -> Optional[StoredDocument]:
        self._wait()
        return self.index.get(doc_id)

    def contains(self, doc_id: str) -> bool:
        return doc_id in self.index

    def snippet(self, hit: Hit, query: str, chars: int) -> Hit:
        self._wait()
        return self.index._with_snippet(hit, query, chars)

    def passage_snippet(self, hit: Hit, query: str, vector: Any, chars: int) -> Hit:
        self._wait()
        return self.index._with_passage_snippet(hit, query, vector, chars)

    def best_passage(self, doc_id: str, vector: Any) -> Optional[tuple[int, float]]:
        return self.index.best_passage(doc_id, vector)

    def ids(self) -> list[str]:
        return self.index.ids()

    # -- upkeep -----------------------------------------------------------------------------------
    def verify(self) -> list[str]:
        return self.index.verify()

    def reload(self) -> bool:
        return self.index.reload()

    def set_vector_expansion_search(self, ef: int) -> None:
        self.index.set_vector_expansion_search(ef)

    # -- writing (a shard opened with writer=True) ------------------------------------------------
    def add_rows(self, rows: list[dict[str, Any]], vectors: Any = None, passages: Optional[list[Any]] = None) -> int:
        """Adds documents ({"id", "text", "lang", "metadata"}), with their vectors when the index has them."""
        return self.index.add_many(rows, vectors=vectors, passages=passages)

    def delete(self, doc_id: str) -> bool:
        return self.index.delete(doc_id)

    def commit(self) -> int:
        """Commits the shard; returns its new generation."""
        self.index.commit()
        return self.index.generation

    def rollback(self) -> None:
        self.index.rollback()

    def close(self) -> None:
        self.index.close()
