"""Every exception xlqe-lite raises, in one place.

All of them derive from `XlqeError`, so a caller can catch everything the package raises at once; where a
builtin class says the same thing, it is a base too (a bad argument is a `ValueError`, a missing file a
`FileNotFoundError`, an I/O failure an `OSError`), so code that knows nothing of xlqe-lite still catches it.

    XlqeError
    ├── InvalidInputError (ValueError)         a bad argument, query, document or option
    │   └── ExtractionError                    a file whose text could not be read (`reason` says why)
    ├── IndexNotFoundError (FileNotFoundError) no index at that path
    ├── IndexCorruptError                      an index's files are damaged
    │   └── FormatVersionError                 written by an incompatible version
    ├── IndexLockedError (OSError)             another writer holds the index's lock
    │   └── WriterBusyError                    the server could not take the lock for a write
    ├── StorageError (OSError)                 an I/O failure, e.g. a full disk
    ├── ModelError                             a model problem
    │   ├── ModelMissingError (FileNotFoundError)  a package, a prepared model or a file is not there
    │   └── ModelCorruptError                  a model file is truncated or fails its checksum
    ├── WorkerFailed (RuntimeError)            the LLM worker process died or hung
    └── ServerConfigError (ValueError)         the server cannot start with these settings
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

# The Rust core raises the first seven of these very classes (`xlqe_lite._core` imports them from here with
# pyo3's import_exception!), so this module must import nothing of the package.


class XlqeError(Exception):
    """Base class of every error xlqe-lite raises."""


class InvalidInputError(XlqeError, ValueError):
    """An argument cannot be used (empty query, unknown language code, bad id, bad setting, ...)."""


class IndexNotFoundError(XlqeError, FileNotFoundError):
    """No index exists at the given path."""


class IndexCorruptError(XlqeError):
    """The directory is not an xlqe index, or its files are damaged."""


class FormatVersionError(IndexCorruptError):
    """The index was written by an incompatible format version."""


class IndexLockedError(XlqeError, OSError):
    """Another writer holds the index's lock."""


class StorageError(XlqeError, OSError):
    """Reading or writing the index's files failed (a full disk, a permission, an I/O error)."""


__all__ = [
    "XlqeError",
    "InvalidInputError",
    "IndexNotFoundError",
    "IndexCorruptError",
    "FormatVersionError",
    "IndexLockedError",
    "StorageError",
    "ExtractionError",
    "EXTRACTION_REASONS",
    "ModelError",
    "ModelMissingError",
    "ModelCorruptError",
    "WorkerFailed",
    "ServerConfigError",
    "WriterBusyError",
]


#: The stable reason codes an `ExtractionError` carries.
EXTRACTION_REASONS = frozenset(
    {"unsupported-type", "encrypted", "damaged", "too-large", "zip-bomb", "binary", "empty", "timeout", "unreadable"}
)


class ExtractionError(InvalidInputError):
    """A file whose text could not be read. `reason` is a short stable code (one of `EXTRACTION_REASONS`),
    the message says what was wrong in words, `path` is the file (when known)."""

    def __init__(self, reason: str, message: str, path: Optional[Path] = None) -> None:
        if reason not in EXTRACTION_REASONS:
            raise ValueError(f"unknown extraction failure reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.path = path

    def __reduce__(self) -> tuple[type[ExtractionError], tuple[str, str, Optional[Path]]]:
        # picklable, so it can cross a process boundary
        return (type(self), (self.reason, self.message, self.path))


class ModelError(XlqeError):
    """Base class for model problems."""


class ModelMissingError(ModelError, FileNotFoundError):
    """A source package, a prepared model or a configured file is not there."""


class ModelCorruptError(ModelError):
    """A file exists but is truncated, damaged or does not match its checksum."""


class WorkerFailed(XlqeError, RuntimeError):
    """The LLM worker died or hung; what it was asked is lost and the next call starts a new worker."""


class ServerConfigError(XlqeError, ValueError):
    """The server cannot start with these settings (a public address without a token, a bad token file)."""


class WriterBusyError(IndexLockedError):
    """Another process holds the index's writer lock (the server answers HTTP 409)."""
