"""Type stubs of the Rust extension module (rust_core/src/python/, one file per concept)."""

from os import PathLike
from typing import Any, Mapping, Optional, Sequence, Union, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FormatVersionError",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexNotFoundError",
    "InvalidInputError",
    "LexicalIndex",
    "StorageError",
    "XlqeError",
    "FusionSettings",
    "QueryPlan",
    "DocFilter",
    "glob_match",
    "__version__",
    "analyze",
    "detect_language",
    "dominant_script",
    "fuse",
    "move_query",
    "language_script",
    "lexical_stats",
    "normalize_lang",
    "query_terms",
    "search_global",
    "search_terms_global",
]

__version__: str

_Path = Union[str, PathLike[str]]
_HitTuple = tuple[str, float, Optional[str], int]
# What `LexicalIndex.retrieve` returns per hit (rust_core/src/python/query.rs), in `index.Hit`'s field order:
# (id, score, lang, key, snippet, highlights, explanation data, place).
_ListEntry = tuple[int, float, float]
_RawExplanation = tuple[Optional[str], list[tuple[str, Optional[_ListEntry]]], Optional[tuple[Optional[str], float, float]]]
_RetrievedHit = tuple[str, float, Optional[str], int, Optional[str], tuple[tuple[int, int], ...],
                      Optional[_RawExplanation], Optional[dict[str, Any]]]

from .errors import FormatVersionError as FormatVersionError
from .errors import IndexCorruptError as IndexCorruptError
from .errors import IndexLockedError as IndexLockedError
from .errors import IndexNotFoundError as IndexNotFoundError
from .errors import InvalidInputError as InvalidInputError
from .errors import StorageError as StorageError
from .errors import XlqeError as XlqeError

def analyze(text: str, lang: Optional[str] = None, stem: bool = True, stopwords: bool = True) -> list[str]: ...
def normalize_lang(tag: str) -> str: ...
def detect_language(text: str, candidates: Optional[Sequence[str]] = None) -> Optional[tuple[str, float, bool]]: ...
def dominant_script(text: str) -> Optional[str]: ...
def language_script(lang: str) -> Optional[str]: ...
def fuse(
    lists: Sequence[Sequence[tuple[str, float]]],
    weights: Sequence[float],
    method: str = "rrf",
    rrf_k: float = 60.0,
    k: int = 10,
    item_weights: Optional[Sequence[Optional[Sequence[float]]]] = None,
) -> list[tuple[str, float, list[Optional[tuple[int, float]]]]]: ...
def move_query(
    query: npt.NDArray[np.float32],
    from_sum: Sequence[float],
    from_count: int,
    to_sum: Sequence[float],
    to_count: int,
    alpha: float,
) -> Optional[list[float]]: ...

@final
class LexicalIndex:
    @staticmethod
    def create(
        path: _Path,
        k1: float = 1.2,
        b: float = 0.75,
        stem: bool = True,
        stopwords: bool = True,
        vectors: Optional[dict[str, Any]] = None,
    ) -> LexicalIndex: ...
    @staticmethod
    def open(path: _Path, writer: bool = False) -> LexicalIndex: ...
    @property
    def path(self) -> str: ...
    @property
    def is_writer(self) -> bool: ...
    @property
    def generation(self) -> int: ...
    @property
    def has_uncommitted_changes(self) -> bool: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def vector_count(self) -> int: ...
    @property
    def passage_count(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def __len__(self) -> int: ...
    def __contains__(self, key: str, /) -> bool: ...
    def add(
        self,
        id: str,
        text: str,
        lang: Optional[str] = None,
        metadata: Optional[str] = None,
        vector: Optional[npt.NDArray[np.float32]] = None,
        passages: Optional[npt.NDArray[np.float32]] = None,
    ) -> int: ...
    def add_many(
        self,
        docs: Sequence[tuple[str, str, Optional[str], Optional[str]]],
        vectors: Optional[npt.NDArray[np.float32]] = None,
        passages: Optional[npt.NDArray[np.float32]] = None,
        passage_counts: Optional[Sequence[int]] = None,
    ) -> list[int]: ...
    def set_vector_expansion_search(self, ef: int) -> None: ...
    def search_vector(
        self,
        query: npt.NDArray[np.float32],
        k: int = 10,
        langs: Optional[Sequence[str]] = None,
        passage_weight: float = 0.0,
        only: Optional[DocFilter] = None,
    ) -> list[_HitTuple]: ...
    def delete(self, id: str) -> bool: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def reload(self) -> bool: ...
    def close(self) -> None: ...
    def search(
        self, query: str, k: int = 10, query_lang: Optional[str] = None, langs: Optional[Sequence[str]] = None,
        only: Optional[DocFilter] = None,
    ) -> list[_HitTuple]: ...
    def search_terms(
        self, terms: Sequence[tuple[str, float]], k: int = 10, langs: Optional[Sequence[str]] = None,
        only: Optional[DocFilter] = None,
    ) -> list[_HitTuple]: ...
    def analyze_query(
        self, query: str, doc_lang: Optional[str] = None, query_lang: Optional[str] = None
    ) -> list[tuple[str, float]]: ...
    def get(self, id: str) -> Optional[dict[str, object]]: ...
    def snippet(
        self, id: str, query: str, max_chars: int = 200, within: Optional[tuple[int, int]] = None
    ) -> Optional[tuple[str, list[tuple[int, int]]]]: ...
    def best_passage(self, id: str, query: npt.NDArray[np.float32]) -> Optional[tuple[int, float]]: ...
    def language_vector_sum(self, lang: Optional[str]) -> Optional[tuple[list[float], int]]: ...
    def retrieve(self, plan: QueryPlan) -> list[_RetrievedHit]: ...
    def languages(self) -> list[tuple[str, int]]: ...
    def ids(self) -> list[str]: ...
    def verify(self) -> list[str]: ...

# One query's whole retrieval (rust_core/src/python/query.rs, rust_core/src/query/).
@final
class FusionSettings:
    def __new__(
        cls,
        *,
        method: str,
        rrf_k: float,
        same_language: float,
        same_script: float,
        other_script: float,
        dense: float,
        passage_weight: float,
        expansion_lexical: float,
        expansion_term_mass: float,
        depth: int,
        pooled: bool,
        calibration_heads: Sequence[int],
        calibrate_on_dense: bool,
        min_calibration: int,
        centroid_shift: float,
        centroid_min_documents: int,
    ) -> FusionSettings: ...

@final
class QueryPlan:
    def __new__(
        cls,
        query: str,
        fusion: FusionSettings,
        *,
        k: int = 10,
        mode: str = "hybrid",
        query_lang: Optional[str] = None,
        langs: Optional[Sequence[str]] = None,
        vector: Optional[npt.NDArray[np.float32]] = None,
        expansions: Sequence[tuple[Optional[str], Sequence[tuple[str, float]]]] = ...,
        explain: bool = False,
        snippet_chars: Optional[int] = None,
        only: Optional[DocFilter] = None,
    ) -> QueryPlan: ...

# Metadata filters (rust_core/src/python/filter.rs, rust_core/src/index/filter.rs).
@final
class DocFilter:
    def __new__(
        cls,
        *,
        globs: Sequence[str] = ...,
        prefixes: Sequence[tuple[str, str, Optional[str]]] = ...,
        formats: Sequence[str] = ...,
        suffix_formats: Mapping[str, str] = ...,
        after: Optional[float] = None,
        before: Optional[float] = None,
    ) -> DocFilter: ...
    def allows(self, id: str, metadata: str) -> bool: ...

def glob_match(text: str, pattern: str) -> bool: ...

# Global-statistics BM25 for sharded indexes (rust_core/src/python/global.rs).
_Stats = tuple[int, int, dict[str, int]]

def lexical_stats(index: LexicalIndex, terms: list[str]) -> tuple[int, int, list[int]]: ...
def query_terms(index: LexicalIndex, query: str, query_lang: Optional[str] = None, doc_langs: Sequence[str] = ()) -> list[str]: ...
def search_global(index: LexicalIndex, query: str, stats: _Stats, k: int = 10, query_lang: Optional[str] = None,
                  langs: Optional[Sequence[str]] = None, only: Optional[DocFilter] = None) -> list[_HitTuple]: ...
def search_terms_global(index: LexicalIndex, terms: Sequence[tuple[str, float]], stats: _Stats, k: int = 10,
                        langs: Optional[Sequence[str]] = None, only: Optional[DocFilter] = None) -> list[_HitTuple]: ...
