"""Why a hit ranks where it does (`search(..., explain=True)` sets `Hit.explanation`).

A hybrid search fuses ranked lists: "bm25" (the query's terms), "bm25[xx]" (the query plus its expansion
into language xx) and "dense" (embedding similarity). For each list the explanation says where the document
stood in it (`ListEntry`: rank from 1, raw score, the weight the fusion gave it), or None when the list did
not have it. On an index of several languages it also says how the document's language list was put on a
common scale (`Calibration`), and with expansion what the model wrote (`ExpansionText`).

`to_dict()` is the JSON form the server and `xlqe search --json` print:

>>> e = Explanation("de", "Latn", "minmax", {"bm25": ListEntry(1, 7.5, 0.3), "dense": None})
>>> e.to_dict()
{'query_lang': 'de', 'query_script': 'Latn', 'method': 'minmax', 'bm25': {'rank': 1, 'score': 7.5, 'weight': 0.3}, 'dense': None}
>>> e.lexical, e.dense
(ListEntry(rank=1, score=7.5, weight=0.3), None)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

__all__ = ["ListEntry", "Calibration", "ExpansionText", "Explanation", "LEXICAL", "DENSE"]

#: The names of the query's lexical list and of the dense list; an expansion's lexical list is "bm25[xx]".
LEXICAL = "bm25"
DENSE = "dense"


def expansion_list(lang: str) -> str:
    """The name of the lexical list of the expansion into `lang`."""
    return f"{LEXICAL}[{lang}]"


@dataclass(frozen=True)
class ListEntry:
    """Where a document stood in one ranked list: `rank` from 1, the list's raw `score`, and the `weight`
    the fusion gave this hit (for the query's lexical list it depends on the document's language)."""

    rank: int
    score: float
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": self.score, "weight": self.weight}


@dataclass(frozen=True)
class Calibration:
    """How a hit of a multi-language index got its score: its language's list was searched on its own, its
    `fused` score there became `z` (the mean of its z-scores on the heads of that list; `calibrated_merge`)."""

    lang: Optional[str]
    fused: float
    z: float

    def to_dict(self) -> dict[str, Any]:
        return {"lang": self.lang, "fused": self.fused, "z": self.z}


@dataclass(frozen=True)
class ExpansionText:
    """One text the expansion model wrote, and whether it passed the similarity screen into the search."""

    text: str
    used: bool

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "used": self.used}


@dataclass(frozen=True)
class Explanation:
    """The reasons behind one hit: the query's language and script as the search took them, the fusion
    `method` (None when the hit comes from one list, not a fusion), each list's `ListEntry` (or None) by
    list name in fusion order, and, when they apply, the expansions by language and the calibration."""

    query_lang: Optional[str]
    query_script: Optional[str]
    method: Optional[str]
    lists: Mapping[str, Optional[ListEntry]]
    expansions: Mapping[str, tuple[ExpansionText, ...]] = field(default_factory=dict)
    calibration: Optional[Calibration] = None

    @classmethod
    def single(cls, query_lang: Optional[str], name: str, entry: ListEntry) -> "Explanation":
        """A hit of one list (a bm25-only or dense-only search): no fusion, no script."""
        return cls(query_lang, None, None, {name: entry})

    @property
    def lexical(self) -> Optional[ListEntry]:
        """The document's entry in the query's own lexical list."""
        return self.lists.get(LEXICAL)

    @property
    def dense(self) -> Optional[ListEntry]:
        return self.lists.get(DENSE)

    def expansion_lists(self) -> dict[str, Optional[ListEntry]]:
        """The expansions' lexical lists ("bm25[xx]") and the document's entry in each."""
        return {name: entry for name, entry in self.lists.items() if name.startswith(LEXICAL + "[")}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: query_lang, query_script and method (the last two only for a fused hit), then one key
        per list, then "calibration" and "expansions" when they apply."""
        out: dict[str, Any] = {"query_lang": self.query_lang}
        if self.method is not None:
            out["query_script"] = self.query_script
            out["method"] = str(self.method)
        for name, entry in self.lists.items():
            out[name] = entry.to_dict() if entry is not None else None
        if self.calibration is not None:
            out["calibration"] = self.calibration.to_dict()
        if self.expansions:
            out["expansions"] = {lang: [t.to_dict() for t in texts] for lang, texts in self.expansions.items()}
        return out
