"""The exceptions xlqe-lite raises. The Rust core raises these very classes (``xlqe_lite._core`` imports
them from here), and each derives from the builtin a caller would catch for that kind of failure."""


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
