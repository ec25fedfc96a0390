"""Hybrid search: BM25 and dense retrieval over one index, fused so that neither drags the other down.

Naive fusion hurts across languages: BM25 barely works between languages (it only meets names and
numbers), and rank fusion gives its noise the same say as the dense list. Here each lexical hit is
weighed by how its document relates to the query: same language, same script, or another script. The
defaults come from the bench's dev data (benchmarks/tune_fusion.py; figures in BENCHMARKS.md).

    engine = SearchEngine.open("my-index")
    for hit in engine.search("wer gewann den Super Bowl?", k=5, explain=True):
        print(hit.id, hit.lang, hit.score, hit.explanation)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Optional, Sequence

from ._core import InvalidInputError, dominant_script, fuse, language_script, normalize_lang
from .index import Hit, Index, PathLike
from .sources import guess_language

if TYPE_CHECKING:
    from .encoder import Encoder

Mode = Literal["hybrid", "bm25", "dense"]
MODES = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class FusionConfig:
    """How the lexical and dense lists are fused. A lexical hit's weight depends on its document:
    `same_language` when it is in the query's language, `same_script` when only the script matches,
    `other_script` otherwise. Chosen on dev: min-max, 0.7 / 0.1 / 0.05, dense 1.0."""

    method: str = "minmax"
    same_language: float = 0.7
    same_script: float = 0.1
    other_script: float = 0.05
    dense: float = 1.0
    rrf_k: float = 60.0
    # How deep each list is read before fusing.
    depth: int = 100

    def lexical_weight(self, query_lang: Optional[str], query_script: Optional[str], doc_lang: Optional[str]) -> float:
        if query_lang is not None and query_lang == doc_lang:
            return self.same_language
        doc_script = language_script(doc_lang) if doc_lang else None
        if query_script is None or doc_script is None:
            return self.same_script  # unknown: neither trusted nor dismissed
        return self.same_script if query_script == doc_script else self.other_script


class SearchEngine:
    """An index with the encoder its vectors were made with, searched in one of three modes."""

    def __init__(self, index: Index, encoder: Optional["Encoder"] = None, fusion: FusionConfig = FusionConfig()) -> None:
        if index.vector_config and encoder is not None and encoder.dim != index.vector_config["dims"]:
            raise InvalidInputError(f"encoder {encoder.name} makes {encoder.dim}-dimensional vectors; "
                                    f"the index holds {index.vector_config['dims']}-dimensional ones")
        self.index, self.encoder, self.fusion = index, encoder, fusion

    @classmethod
    def open(cls, path: PathLike, *, model: Optional[str] = None, threads: Optional[int] = None,
             fusion: FusionConfig = FusionConfig()) -> "SearchEngine":
        """Opens the index for reading, with the encoder named in its vector settings (or `model`)."""
        index = Index.open(path)
        encoder = None
        name = model or (index.vector_config or {}).get("model")
        if index.vector_config and name:
            from .encoder import Encoder

            encoder = Encoder.load(name, threads=threads or os.cpu_count() or 1)
        return cls(index, encoder, fusion)

    @property
    def has_dense(self) -> bool:
        return self.encoder is not None and self.index.vector_count > 0

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: Mode = "hybrid",
        lang: Optional[str] = None,
        langs: Optional[Sequence[str]] = None,
        snippets: bool = False,
        snippet_chars: int = 200,
        explain: bool = False,
        query_vector: Any = None,
    ) -> list[Hit]:
        """The `k` best documents for `query`. `lang` is the query's language (detected when not given
        and the detector is confident); `langs` restricts the documents' languages. `query_vector`, when
        given, is used instead of embedding the query (callers that batch or cache embeddings)."""
        if mode not in MODES:
            raise InvalidInputError(f"mode must be one of {', '.join(MODES)}")
        if mode != "bm25" and not self.has_dense:
            raise InvalidInputError(f"mode {mode!r} needs vectors: this index has none, or no encoder is loaded")
        if not query.strip():
            raise InvalidInputError("the query is empty")
        query_lang = normalize_lang(lang) if lang else guess_language(query)
        if mode == "bm25":
            hits = self.index.search(query, k=k, lang=query_lang, langs=langs)
        elif mode == "dense":
            vector = self._embed(query) if query_vector is None else query_vector
            hits = self.index.search_vector(vector, k=k, langs=langs)
        else:
            vector = self._embed(query) if query_vector is None else query_vector
            hits = self._hybrid(query, vector, k, query_lang, langs, explain)
        if snippets:
            hits = [self.index._with_snippet(h, query, snippet_chars) for h in hits]
        return hits

    def _embed(self, query: str) -> Any:
        assert self.encoder is not None
        return self.encoder.encode_queries([query])[0]

    def _hybrid(self, query: str, vector: Any, k: int, query_lang: Optional[str], langs: Optional[Sequence[str]], explain: bool) -> list[Hit]:
        depth = max(k, self.fusion.depth)
        lexical = self.index.search(query, k=depth, lang=query_lang, langs=langs)
        dense = self.index.search_vector(vector, k=depth, langs=langs)
        script = language_script(query_lang) if query_lang else dominant_script(query)
        lex_weights = [self.fusion.lexical_weight(query_lang, script, h.lang) for h in lexical]
        fused = fuse([[(h.id, h.score) for h in lexical], [(h.id, h.score) for h in dense]],
                     [1.0, self.fusion.dense], self.fusion.method, self.fusion.rrf_k, k, [lex_weights, None])
        known = {h.id: h for h in dense}
        known.update({h.id: h for h in lexical})
        out = []
        for doc_id, score, sources in fused:
            h = known[doc_id]
            explanation = None
            if explain:
                (lex, den) = sources
                explanation = {
                    "bm25": None if lex is None else {"rank": lex[0], "score": lex[1], "weight": lex_weights[lex[0] - 1]},
                    "dense": None if den is None else {"rank": den[0], "score": den[1], "weight": self.fusion.dense},
                    "query_lang": query_lang,
                    "query_script": script,
                    "method": self.fusion.method,
                }
            out.append(Hit(h.id, score, h.lang, h.key, explanation=explanation))
        return out
