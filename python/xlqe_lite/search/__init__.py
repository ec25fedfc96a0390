"""Search: the engine that reads an index's lexical and dense lists, fuses them and explains its hits.

    engine        `SearchEngine` (open an index with its encoder, search, expand)
    plan          a query's retrieval on a plain `Index` as one call into the core (`LexicalIndex.retrieve`)
    config        `FusionConfig` and the typed options `Mode`, `FusionMethod`, `Calibration`, `CalibrateOn`
    fusion        `calibrated_merge`: the languages of a mixed index merged on a common scale
    explanation   `Explanation`: each list's rank, score and weight for a hit (`explain=True`)

Filters (`xlqe_lite.filters`) are applied by the index itself, below this room.
"""

from .config import DEFAULT_K, MODES, CalibrateOn, Calibration, FusionConfig, FusionMethod, Mode
from .engine import SearchEngine, SearchResults
from .explanation import Calibration as CalibrationExplained
from .explanation import ExpansionText, Explanation, ListEntry
from .fusion import calibrated_merge

__all__ = [
    "DEFAULT_K",
    "MODES",
    "CalibrateOn",
    "Calibration",
    "CalibrationExplained",
    "ExpansionText",
    "Explanation",
    "FusionConfig",
    "FusionMethod",
    "ListEntry",
    "Mode",
    "SearchEngine",
    "SearchResults",
    "calibrated_merge",
]
