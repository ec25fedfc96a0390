"""xlqe-lite: offline, on-device cross-lingual search.

The public face of the package: `Index` for documents, `analyze` to see what the index makes of a text,
`detect_language`, and the exception classes (all subclasses of `XlqeError`).
"""

from ._core import __version__, analyze, normalize_lang
from .errors import (
    ExtractionError,
    FormatVersionError,
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    InvalidInputError,
    ModelCorruptError,
    ModelError,
    ModelMissingError,
    ServerConfigError,
    StorageError,
    WorkerFailed,
    WriterBusyError,
    XlqeError,
)
from ._core import detect_language as _detect_language
from .filters import Filter
from .index import Document, Hit, Index, StoredDocument
from .search import Explanation, FusionConfig, FusionMethod, Mode, SearchEngine

from typing import Any, Optional, Sequence


def __getattr__(name: str) -> Any:
    # The expander pulls in llama-cpp-python only when it is asked for.
    if name == "Expander":
        from .expansion import Expander

        return Expander
    raise AttributeError(f"module 'xlqe_lite' has no attribute {name!r}")


def detect_language(text: str, candidates: Optional[Sequence[str]] = None) -> Optional[str]:
    """The ISO 639-1 code of `text`'s language, or None when it cannot be told (too short, no letters).
    `candidates` limits the choice to those languages (None when the text is in none of their scripts).

    >>> detect_language("Der schnelle braune Fuchs springt über den faulen Hund.")
    'de'
    >>> detect_language("Wie viele Punkte?"), detect_language("Wie viele Punkte?", ["en", "de"])
    ('af', 'de')
    """
    found = _detect_language(text, [normalize_lang(c) for c in candidates] if candidates is not None else None)
    return found[0] if found else None


__all__ = [
    "Document",
    "Expander",
    "Filter",
    "Explanation",
    "FusionConfig",
    "FusionMethod",
    "Mode",
    "SearchEngine",
    "FormatVersionError",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexLockedError",
    "IndexNotFoundError",
    "InvalidInputError",
    "StoredDocument",
    "ExtractionError",
    "ModelCorruptError",
    "ModelError",
    "ModelMissingError",
    "ServerConfigError",
    "StorageError",
    "WorkerFailed",
    "WriterBusyError",
    "XlqeError",
    "__version__",
    "analyze",
    "detect_language",
    "normalize_lang",
]
