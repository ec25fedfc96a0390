"""Whatever lies on a disk: indexes of an older or newer format version, foreign directories, truncated,
damaged and missing files. Each is a clear, typed error, and the failed attempt changes nothing: once the
damage is undone the index is exactly as it was.

The format (rust_core/src/storage): `xlqe.manifest` is JSON with "format", "format_version", the files of
the committed generation with their sizes and CRC32s, and its own "checksum" (CRC32 of the compact,
key-sorted JSON without that field). A segment starts with the magic "XLQESEG\\0" and a u32 format version,
and ends with the CRC32 of everything before the 12-byte footer, then "XLQEEND\\0".
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from support.common import SAMPLE

from xlqe_lite import FormatVersionError, Index, IndexCorruptError, InvalidInputError, XlqeError

MANIFEST = "xlqe.manifest"


# -- helpers: the format, written the way the format defines it ----------------------------------------
def manifest_checksum(manifest: dict) -> int:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return zlib.crc32(json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode())


def rewrite_manifest(index_dir: Path, change: Callable[[dict], None], *, keep_checksum: bool = True) -> None:
    """Edits the manifest and stores a valid checksum for the result: what a writer of that content writes."""
    manifest = json.loads((index_dir / MANIFEST).read_text())
    change(manifest)
    manifest.pop("checksum", None)
    if keep_checksum:
        manifest["checksum"] = manifest_checksum(manifest)
    (index_dir / MANIFEST).write_text(json.dumps(manifest, indent=2))


def snapshot(index_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(index_dir.iterdir()) if p.is_file()}


def build(path: Path, *, vectors: bool = False) -> Path:
    rng = np.random.default_rng(6)
    with Index.create(path, vectors={"dims": 8} if vectors else None) as index:
        for i in range(30):
            index.add(f"d{i}", f"document {i} about rivers and the Panthers", lang="en",
                      vector=rng.random(8, dtype=np.float32) if vectors else None,
                      passages=rng.random((2, 8), dtype=np.float32) if vectors and i % 3 == 0 else None)
    return path


def assert_intact(path: Path, documents: int = 30) -> None:
    index = Index.open(path)
    assert len(index) == documents and index.verify() == []
    assert index.search("rivers", k=1) and index.get("d0") is not None
    index.close()


def open_fails(path: Path, error: type[XlqeError], *fragments: str) -> str:
    """Both a reader and a writer are refused with `error` naming every fragment; returns the message."""
    messages = []
    for writer in (False, True):
        with pytest.raises(error) as caught:
            Index.open(path, writer=writer)
        messages.append(str(caught.value))
    for fragment in fragments:
        assert all(fragment in m for m in messages), (fragment, messages)
    return messages[0]


def test_the_checksum_helper_matches_the_core(tmp_path: Path) -> None:
    path = build(tmp_path / "ix", vectors=True)
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["checksum"] == manifest_checksum(manifest)


# -- format versions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("found", [0, 3, 4_000_000_000])
def test_an_index_of_another_format_version_says_which_and_what_to_do(tmp_path: Path, found: int) -> None:
    # Versions 1 (every language's vectors in one file) and 2 are read; the message names the nearer end.
    path = build(tmp_path / "ix")
    rewrite_manifest(path, lambda m: m.update(format_version=found))
    before = snapshot(path)
    message = open_fails(path, FormatVersionError, f"format version {found}", str(path), "re-create")
    if found < 1:
        assert "older than version 1" in message
    else:
        assert "newer than version 2" in message and "newer xlqe-lite" in message
    with pytest.raises(InvalidInputError, match="already exists"):
        Index.create(path)
    assert snapshot(path) == before  # nothing written, not even a lock file
    assert isinstance(FormatVersionError("x"), IndexCorruptError)  # callers catching "corrupt" catch it too


def test_a_manifest_from_before_format_versions_is_an_older_version(tmp_path: Path) -> None:
    path = build(tmp_path / "ix")
    rewrite_manifest(path, lambda m: m.pop("format_version"), keep_checksum=False)
    open_fails(path, FormatVersionError, "format version 0", "older than version 1", "re-create")


def test_a_segment_of_an_older_version_is_named(tmp_path: Path) -> None:
    path = build(tmp_path / "ix")
    segment = next(path.glob("seg-*.xlqe"))
    data = bytearray(segment.read_bytes())
    assert data[:8] == b"XLQESEG\0" and data[-8:] == b"XLQEEND\0"
    data[8:12] = struct.pack("<I", 0)  # the header's format version
    crc = zlib.crc32(bytes(data[:-12]))
    data[-12:-8] = struct.pack("<I", crc)
    segment.write_bytes(bytes(data))
    rewrite_manifest(path, lambda m: m["segment"].update(crc32=crc))
    open_fails(path, FormatVersionError, segment.name, "format version 0", "older than version 1", "re-create")


def test_the_cli_reports_an_old_index_and_leaves_it_alone(tmp_path: Path, xlqe) -> None:
    path = tmp_path / "ix"
    xlqe("index", str(path), str(SAMPLE), "--no-vectors", check=True)
    rewrite_manifest(path, lambda m: m.update(format_version=0))
    before = snapshot(path)
    search = xlqe("search", str(path), "panthers")
    assert search.returncode != 0 and "format version 0" in search.stderr and "re-create" in search.stderr
    assert "Traceback" not in search.stderr
    check = xlqe("check", str(path), "--json")
    assert check.returncode == 1 and "older than version 1" in json.loads(check.stdout)["error"]
    again = xlqe("index", str(path), str(SAMPLE), "--no-vectors")
    assert again.returncode != 0 and "format version 0" in again.stderr and "Traceback" not in again.stderr
    assert snapshot(path) == before


# -- foreign directories -------------------------------------------------------------------------------
def _user_files(d: Path) -> None:
    (d / "notes.txt").write_text("my notes")
    (d / "photo.jpg").write_bytes(b"\xff\xd8\xff")


FOREIGN: dict[str, Callable[[Path], None]] = {
    "user files": _user_files,
    "another program's manifest": lambda d: (d / MANIFEST).write_text('{"format": "tantivy", "version": 7}'),
    "a manifest that is a list": lambda d: (d / MANIFEST).write_text("[1, 2, 3]"),
    "a manifest that is binary": lambda d: (d / MANIFEST).write_bytes(bytes(range(256)) * 4),
    "a manifest that is a folder": lambda d: (d / MANIFEST).mkdir(),
    "a manifest too large to be one": lambda d: (d / MANIFEST).write_bytes(b" " * (3 << 20)),
    "only segment files": lambda d: (d / "seg-0000000001.xlqe").write_bytes(b"XLQESEG\0" + bytes(64)),
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_foreign_directory_is_refused_and_untouched(tmp_path: Path, kind: str) -> None:
    d = tmp_path / "foreign"
    d.mkdir()
    FOREIGN[kind](d)
    listing = sorted(p.name for p in d.iterdir())
    before = snapshot(d)
    open_fails(d, IndexCorruptError, "not an xlqe index", str(d))
    with pytest.raises(InvalidInputError):
        Index.create(d)
    with pytest.raises(XlqeError):
        Index.open_or_create(d)
    assert sorted(p.name for p in d.iterdir()) == listing and snapshot(d) == before


def test_an_empty_folder_and_a_plain_file_are_not_indexes(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    open_fails(tmp_path / "empty", IndexCorruptError, "not an xlqe index")
    assert list((tmp_path / "empty").iterdir()) == []
    (tmp_path / "file").write_text("text")
    open_fails(tmp_path / "file", IndexCorruptError, "not a directory")
    with pytest.raises(InvalidInputError):
        Index.create(tmp_path / "file")
    assert (tmp_path / "file").read_text() == "text"


def test_user_files_inside_an_index_are_left_alone(tmp_path: Path) -> None:
    path = build(tmp_path / "ix")
    (path / "README.txt").write_text("do not delete")
    (path / "seg-notes.md").write_text("not ours either")
    with Index.open(path, writer=True) as writer:  # a writer collects garbage: only its own files
        writer.add("new", "another document", lang="en")
    assert (path / "README.txt").exists() and (path / "seg-notes.md").exists()
    assert_intact(path, 31)


# -- truncated, damaged and missing files ----------------------------------------------------------------
def _truncate(keep: Callable[[int], int]) -> Callable[[Path], None]:
    def damage(f: Path) -> None:
        data = f.read_bytes()
        f.write_bytes(data[: keep(len(data))])

    return damage


def _flip(f: Path) -> None:
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x10
    f.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "emptied": _truncate(lambda n: 0),
    "cut to a header": _truncate(lambda n: min(n - 1, 16)),
    "cut in half": _truncate(lambda n: n // 2),
    "one byte short": _truncate(lambda n: n - 1),
    "one bit flipped": _flip,
    "garbage appended": lambda f: f.write_bytes(f.read_bytes() + b"\x00garbage"),
    "deleted": lambda f: f.unlink(),
}
FILES = {"manifest": MANIFEST, "segment": "seg-*.xlqe", "vectors": "vec-*.usearch", "passages": "psg-*.usearch"}
# (build() writes documents of one language: one file of each kind.)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return snapshot(build(tmp_path_factory.mktemp("pristine") / "ix", vectors=True))


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("which", sorted(FILES))
def test_damaged_files_are_clear_errors_and_change_nothing(tmp_path: Path, pristine: dict[str, bytes],
                                                           which: str, damage: str) -> None:
    path = tmp_path / "ix"
    path.mkdir()
    for name, data in pristine.items():
        (path / name).write_bytes(data)
    victim = next(path.glob(FILES[which]))
    DAMAGE[damage](victim)
    before = snapshot(path)
    message = open_fails(path, IndexCorruptError, str(path))
    expected = {"manifest": ("manifest", "not an xlqe index"), "segment": ("segment",), "vectors": ("vector",),
                "passages": ("psg-",)}[which]
    assert any(word in message for word in expected), message
    assert snapshot(path) == before  # refused without writing, deleting or collecting anything
    (path / victim.name).write_bytes(pristine[victim.name])
    assert_intact(path)


def test_a_lock_file_that_is_not_a_file(tmp_path: Path) -> None:
    path = build(tmp_path / "ix")
    (path / "xlqe.lock").unlink(missing_ok=True)
    (path / "xlqe.lock").mkdir()
    with pytest.raises(XlqeError, match="xlqe.lock"):
        Index.open(path, writer=True)
    assert_intact(path)  # readers need no lock
