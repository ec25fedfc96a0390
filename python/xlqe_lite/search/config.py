"""How a search is run: the typed options (`Mode`, `FusionMethod`, `Calibration`, `CalibrateOn`) and
`FusionConfig`, the weights and depths the fusion of lexical and dense lists uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .._core import language_script
from ..index import DEFAULT_PASSAGE_WEIGHT
from ..options import Choice

__all__ = ["DEFAULT_K", "Mode", "MODES", "FusionMethod", "Calibration", "CalibrateOn", "FusionConfig"]


class Mode(Choice):
    """What a search reads: BM25 and dense lists fused, or one of them alone."""

    HYBRID = "hybrid"
    BM25 = "bm25"
    DENSE = "dense"


MODES = Mode.choices()
#: Hits a search returns unless asked for another number.
DEFAULT_K = 10


class FusionMethod(Choice):
    """How scores of several lists become one (rust_core/src/fusion.rs): reciprocal rank fusion, or each
    list's scores min-max- or z-normalised and summed with the lists' weights."""

    RRF = "rrf"
    MINMAX = "minmax"
    ZSCORE = "zscore"


class Calibration(Choice):
    """How the languages of a multi-language index are merged (see `FusionConfig.calibration`)."""

    PER_LANGUAGE = "per_language"
    POOLED = "pooled"


class CalibrateOn(Choice):
    """Which scores a language's candidates are calibrated on (see `FusionConfig.calibrate_on`)."""

    FUSED = "fused"
    DENSE = "dense"


@dataclass(frozen=True)
class FusionConfig:
    """How the lexical and dense lists are fused. A lexical hit's weight depends on its document:
    `same_language` when it is in the query's language, `same_script` when only the script matches,
    `other_script` otherwise. Chosen on dev: min-max, 0.3 / 0.1 / 0.05, dense 1.0 (0.3, not the 0.7 of one
    shared list: with per-language calibration it keeps hybrid at or above dense on every mixed-index figure,
    and per-language corpora score the same; BENCHMARKS.md)."""

    method: Union[FusionMethod, str] = FusionMethod.MINMAX
    same_language: float = 0.3
    same_script: float = 0.1
    other_script: float = 0.05
    dense: float = 1.0
    # The share of a document's best passage window in its dense score (documents with passages).
    passage_weight: float = DEFAULT_PASSAGE_WEIGHT
    rrf_k: float = 60.0
    # Query expansion: the weight of each target language's lexical list (original query terms plus the
    # expansion's terms, analysed as that language), and how much of the expansions' mean embedding is
    # added to the query's before the dense search. Chosen on dev (BENCHMARKS.md).
    expansion_lexical: float = 0.2
    expansion_dense: float = 0.9
    # An expansion's terms together weigh at most this many times the original query's terms
    # (query2doc repeats the query for the same reason: the query must keep its say).
    expansion_term_mass: float = 1.0
    # Expansion texts whose embedding has a lower cosine to the query's are dropped (when an encoder is
    # loaded): they are failed translations or off-topic pseudo-documents.
    expansion_min_similarity: float = 0.75
    # Above the minimum, an expansion's weight (its BM25 list, its share of the embedding shift) grows
    # linearly up to full at this similarity; equal to the minimum: every kept expansion counts fully.
    expansion_full_similarity: float = 0.9
    # How deep each list is read before fusing.
    depth: int = 100
    # An index of several languages is searched one held language at a time: each language's lists are fused
    # as above, the fused scores put on the language's own scale (`calibrated_merge`: z-scores on the heads of
    # the list, n = `calibration_heads`), and the languages merged on that. In one shared list a document in
    # the query's own language scores higher for that alone, and the answer in another language sinks below
    # loosely related noise (issue 16). Chosen on dev (XQuAD paragraphs, one index of 9 languages;
    # benchmarks/tune_mixed.py; BENCHMARKS.md, "One index of many languages"). "pooled": one shared list.
    # On an index of one language both give the same ranking.
    calibration: Union[Calibration, str] = Calibration.PER_LANGUAGE
    # The heads: the near competitors (5) and the wider field (100). (5, 100) replaced (10, 100) once the query
    # moves toward each language (`centroid_shift`): a little higher on every mixed figure of both dev sets
    # (XQuAD paragraphs mixed CROSS 0.7814 -> 0.7850, XQuAD-R 0.5509 -> 0.5531; BENCHMARKS.md; dev, tuned).
    calibration_heads: tuple[int, ...] = (5, 100)
    # What a language's candidates are calibrated on: "fused" (its fused scores) or "dense" (its dense scores,
    # given in the fused order; see SearchEngine._scale_of).
    calibrate_on: Union[CalibrateOn, str] = CalibrateOn.FUSED
    # A language with fewer candidates than this (a small index) has no spread of its own: it is calibrated on
    # its dense scores, on the spread pooled over all languages (`calibrated_merge`); without a dense list the
    # search falls back to one shared list. 10: chosen on the folder of issue 15 (8-9 documents
    # per language; the right file first for 86% of English headlines instead of 53%), which it is the only
    # setting to change among the dev sets (every XQuAD language holds more than 100 candidates).
    min_calibration: int = 10
    # Before each other language's dense search the query vector is moved toward that language's documents:
    # q + centroid_shift * (mean of its documents - mean of the query language's documents), scaled back
    # (`Index.query_toward`; the means from the index's own documents). Each language's documents sit a little
    # apart in e5's space and a query nearer its own language's, so the answer in another language ranks
    # lower in its own list than it should. Only with a known query language the index holds (otherwise
    # nothing moves and the ranking does not depend on a guess). 0.7 chosen on dev (XQuAD paragraphs and
    # XQuAD-R sentences, one index of 9 languages; benchmarks/mixed_replay.py; BENCHMARKS.md).
    centroid_shift: float = 0.7
    # Each of the two languages needs this many documents with vectors for the move: the mean of a few documents
    # is those documents more than their language (with one, the query would be moved onto it). 100: every
    # XQuAD dev language holds 240 paragraphs; a folder's language of a handful of files is not moved.
    centroid_min_documents: int = 100

    def __post_init__(self) -> None:
        # The options are accepted as their strings (old calls) and checked here, once.
        object.__setattr__(self, "method", FusionMethod.parse(self.method, "fusion method"))
        object.__setattr__(self, "calibration", Calibration.parse(self.calibration, "fusion calibration"))
        object.__setattr__(self, "calibrate_on", CalibrateOn.parse(self.calibrate_on, "calibrate_on"))

    def lexical_weight(self, query_lang: Optional[str], query_script: Optional[str], doc_lang: Optional[str]) -> float:
        if query_lang is not None and query_lang == doc_lang:
            return self.same_language
        doc_script = language_script(doc_lang) if doc_lang else None
        if query_script is None or doc_script is None:
            return self.same_script  # unknown: neither trusted nor dismissed
        return self.same_script if query_script == doc_script else self.other_script
