"""The exception classes: the core raises the classes of xlqe_lite.errors, each with the builtin base a
caller would catch (ValueError for bad input, FileNotFoundError for a missing index, OSError for I/O)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from xlqe_lite import _core, errors
from xlqe_lite import Index


def test_core_exports_the_classes_of_errors_py() -> None:
    for name in ["XlqeError", "InvalidInputError", "IndexNotFoundError", "IndexCorruptError",
                 "FormatVersionError", "IndexLockedError", "StorageError"]:
        assert getattr(_core, name) is getattr(errors, name)


def test_builtin_bases() -> None:
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.IndexNotFoundError, FileNotFoundError)
    assert issubclass(errors.IndexLockedError, OSError)
    assert issubclass(errors.StorageError, OSError)
    assert issubclass(errors.FormatVersionError, errors.IndexCorruptError)
    for cls in [errors.InvalidInputError, errors.IndexNotFoundError, errors.IndexCorruptError,
                errors.IndexLockedError, errors.StorageError]:
        assert issubclass(cls, errors.XlqeError)


def test_bad_input_is_a_value_error(tmp_path) -> None:
    index = Index.create(tmp_path / "ix")
    with pytest.raises(ValueError, match="empty"):
        index.search("   ")
    with pytest.raises(ValueError, match="unknown storage"):
        Index.create(tmp_path / "v", vectors={"dims": 4, "storage": "f8"})
    with pytest.raises(ValueError, match="unknown vector setting"):
        Index.create(tmp_path / "w", vectors={"dims": 4, "colour": "blue"})


def test_missing_index_is_a_file_not_found_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        Index.open(tmp_path / "nowhere")


def test_a_failed_write_is_an_os_error(tmp_path) -> None:
    # A file-size limit makes the commit's segment write fail with EFBIG as a full disk would fail it
    # with ENOSPC (root ignores permissions, not this limit). In a child process, so the limit stays there.
    script = textwrap.dedent(f"""
        import resource, signal
        from xlqe_lite import Index
        from xlqe_lite.errors import StorageError
        index = Index.create({str(tmp_path / "ix")!r})
        index.add("big", " ".join(f"w{{i}}" for i in range(100_000)), lang="en")  # distinct words: texts are compressed
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            index.commit()
        except StorageError as e:
            assert isinstance(e, OSError), type(e).__mro__
            print("StorageError:", e)
        else:
            raise SystemExit("the commit did not fail")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("StorageError:")
