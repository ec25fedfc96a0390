"""One query's retrieval as one call into the Rust core (`LexicalIndex.retrieve`, rust_core/src/query/).

The engine prepares the inputs once (the query's language, its vector moved toward the expansions', the
expansions that passed the similarity screen with their trust) into a `QueryPlan`; the core reads the lexical
lists (with the per-language lexical weights and the expansions' terms), the dense list with passages, fuses
them on document keys, merges the languages of a mixed index on their own scales, keeps only what a `where=`
filter allows (inside each list's top-k), and cuts snippets; Python turns the hits it returns into `Hit`s. The hits come back as tuples in `Hit`'s field order, so a plain hit is
one `Hit._make(t)` (a pyclass would cost an attribute read per field here, for nothing the caller sees).

The lists route of `SearchEngine` (the same arithmetic in Python over `Index.search`, `search_terms`,
`search_vector` and `_core.fuse`) stays for a sharded index, whose lists need the shards' global statistics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from .._core import FusionSettings, QueryPlan
from ..filters import core_filter
from ..index import Hit
from .config import Calibration, CalibrateOn, FusionConfig, Mode
from .explanation import Calibration as CalibrationOf
from .explanation import Explanation, ListEntry

if TYPE_CHECKING:
    from .._core import LexicalIndex, _RawExplanation, _RetrievedHit
    from ..expansion import Expansion
    from ..filters import Filter

__all__ = ["fusion_settings", "retrieve"]


def fusion_settings(f: FusionConfig) -> FusionSettings:
    """The core's copy of a `FusionConfig` (made once per engine and config)."""
    return FusionSettings(
        method=str(f.method), rrf_k=f.rrf_k, same_language=f.same_language, same_script=f.same_script,
        other_script=f.other_script, dense=f.dense, passage_weight=f.passage_weight,
        expansion_lexical=f.expansion_lexical, expansion_term_mass=f.expansion_term_mass, depth=f.depth,
        pooled=f.calibration == Calibration.POOLED, calibration_heads=list(f.calibration_heads),
        calibrate_on_dense=f.calibrate_on == CalibrateOn.DENSE, min_calibration=f.min_calibration,
        centroid_shift=f.centroid_shift, centroid_min_documents=f.centroid_min_documents)


def retrieve(core: "LexicalIndex", settings: FusionSettings, method: str, query: str, *, k: int, mode: Mode,
             query_lang: Optional[str], langs: Optional[Sequence[str]], vector: Any,
             expansions: Sequence["Expansion"], trust: dict[str, float], explain: bool,
             snippet_chars: Optional[int], where: Optional["Filter"] = None) -> list[Hit]:
    """The hits of one query, from one call into the core."""
    plan = QueryPlan(query, settings, k=k, mode=mode.value, query_lang=query_lang,
                     langs=list(langs) if langs else None, vector=vector,
                     expansions=[(e.lang, [(t, trust.get(t, 1.0)) for t in e.texts]) for e in expansions],
                     explain=explain, snippet_chars=snippet_chars, only=core_filter(where))
    found = core.retrieve(plan)
    if not explain:
        return [Hit._make(h) for h in found]  # explanation data is None without explain
    return [_explained(h, query_lang, method) for h in found]


def _explained(h: "_RetrievedHit", query_lang: Optional[str], method: str) -> Hit:
    raw: Optional["_RawExplanation"] = h[6]
    if raw is None:  # a hit of one list (bm25 or dense alone): no explanation, as on the lists route
        return Hit(h[0], h[1], h[2], h[3], h[4], h[5], None, h[7])
    script, lists, calibration = raw
    explanation = Explanation(query_lang, script, method,
                              {name: None if e is None else ListEntry(*e) for name, e in lists},
                              calibration=None if calibration is None else CalibrationOf(*calibration))
    return Hit(h[0], h[1], h[2], h[3], h[4], h[5], explanation, h[7])
