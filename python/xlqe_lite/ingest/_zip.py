"""Opening zip containers (DOCX, ODT, EPUB) without letting a zip bomb in.

Before anything is decompressed, the central directory is checked: the number of members, the declared
uncompressed total against the read budget, and each member's (and the whole archive's) compression ratio.
Members are then read in chunks with a cap, so an archive whose headers lie still cannot make us hold more
than the budget (CPython's zipfile also stops at the declared size and fails the CRC check after it).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Iterator

from ._base import Deadline
from ..errors import ExtractionError

# Real office and book files compress 3-20x (XML), images not at all. 100x on a member of more than 1 MiB
# is what bombs look like (42.zip: about 1000x per layer; a 1 GB run of zeros deflates 1030x).
MAX_RATIO = 100.0
RATIO_MIN_SIZE = 1 << 20
MAX_MEMBERS = 10_000
CHUNK = 1 << 20


def open_zip(path: Path, max_bytes: int) -> zipfile.ZipFile:
    """The archive at `path`, after its declared sizes passed the checks; ExtractionError otherwise."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise ExtractionError("damaged", f"not a readable zip archive ({e})") from None
    try:
        check_zip(zf, os.path.getsize(path), max_bytes)
    except BaseException:
        zf.close()
        raise
    return zf


def check_zip(zf: zipfile.ZipFile, packed: int, max_bytes: int) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ExtractionError("zip-bomb", f"the archive holds {len(infos)} members (more than {MAX_MEMBERS})")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ExtractionError("encrypted", f"the archive member {info.filename} is encrypted")
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ExtractionError(
                "zip-bomb",
                f"the member {info.filename} expands {info.file_size / max(info.compress_size, 1):.0f}x "
                f"(to {info.file_size} bytes); more than {MAX_RATIO:g}x is refused",
            )
        total += info.file_size
    if total > RATIO_MIN_SIZE and total > MAX_RATIO * max(packed, 1):
        raise ExtractionError("zip-bomb", f"the archive expands {total / max(packed, 1):.0f}x (to {total} bytes)")
    if total > max_bytes:
        raise ExtractionError("too-large", f"the archive expands to {total} bytes, more than the {max_bytes} byte limit")


def read_member(zf: zipfile.ZipFile, name: str, limit: int, deadline: Deadline) -> bytes:
    """The bytes of member `name`, at most `limit` of them; ExtractionError if it is missing, larger, or bad."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ExtractionError("damaged", f"the archive has no member {name}") from None
    if info.file_size > limit:
        raise ExtractionError("too-large", f"the member {name} holds {info.file_size} bytes, more than {limit}")
    chunks, size = [], 0
    for chunk in _chunks(zf, info, deadline):
        size += len(chunk)
        if size > limit or size > info.file_size:
            raise ExtractionError("zip-bomb", f"the member {name} holds more than its declared size")
        chunks.append(chunk)
    return b"".join(chunks)


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, deadline: Deadline) -> Iterator[bytes]:
    """A member's decompressed bytes, CHUNK at a time, the deadline checked before each; a member that
    cannot be decompressed is ExtractionError("damaged")."""
    try:
        with zf.open(info) as f:
            while True:
                deadline.check()
                chunk = f.read(CHUNK)
                if not chunk:
                    return
                yield chunk
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
        raise ExtractionError("damaged", f"the member {info.filename} cannot be decompressed ({e})") from None


def verify_members(zf: zipfile.ZipFile, max_bytes: int, deadline: Deadline) -> None:
    """Decompress every member (discarding the bytes) to check its real size and CRC against its header,
    before a library that reads whole members is given the archive."""
    total = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        for chunk in _chunks(zf, info, deadline):
            total += len(chunk)
            if total > max_bytes:
                raise ExtractionError("zip-bomb", "the archive holds more than its headers declare")
