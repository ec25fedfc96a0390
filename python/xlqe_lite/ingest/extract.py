"""Text from a person's files in real formats, with where each stretch of text sits (page, chapter, offset).

`extract(path)` returns an `Extracted` (the text, title, format and `Section`s) or raises `ExtractionError`
with a stable `reason`. Every library below is in requirements/lock.txt; each was chosen by licence (the
project is Apache-2.0: nothing AGPL/GPL-only in the default install), speed and memory:

- **PDF**: pypdfium2 (Apache-2.0 / BSD-3; PDFium itself BSD-3/Apache-2.0), Chromium's PDF engine as a
  self-contained wheel. Text per page (1-based page numbers), CJK and right-to-left text through the PDF's
  ToUnicode maps, compiled C++ rather than pure Python, one page in memory at a time. Encrypted files fail
  with PDFium's password error; damaged ones are repaired or refused by PDFium. PDFium's own text of
  shaped and right-to-left scripts is wrong on the PDFs browsers and office software write (it repeats
  Thai clusters, puts spaces inside Devanagari words, mixes the order of Arabic words; the PDFs are right:
  poppler's pdftotext reads them), so pages in those scripts are rebuilt from PDFium's characters
  (`_pdf_text.py`): ActualText spans once each, lines with right-to-left letters put in reading order.
  It runs in-process: the tests feed it truncated and corrupted files and the process survives. It is not
  thread-safe, so PDFs are read one at a time (a lock).
- **DOCX**: python-docx (MIT), on lxml; body paragraphs and tables in order, a section per heading.
- **ODT**: odfpy (Apache-2.0 of its Apache/GPL/LGPL options), which parses through defusedxml.
- **EPUB**: zipfile + lxml (BSD-3). ebooklib is AGPL-3.0, so the OPF spine is read directly (see `_epub.py`).
- **HTML**: trafilatura (Apache-2.0 since 1.8) for the main text (no scripts, styles, navigation or page
  furniture), the title from <title>; when trafilatura finds nothing (short pages), lxml's text of <body>
  minus script/style/nav/header/footer.
- **RTF**: striprtf (BSD-3), pure Python, linear in the file size.
- **Markdown**: markdown-it-py (MIT, CommonMark) tokens rendered as plain text, a section per heading.
- **Plain text**: BOMs, UTF-16 without a BOM, strict UTF-8, then charset-normalizer (MIT) for the rest
  (Latin-1, cp1252, Shift-JIS, GB18030, KOI8-R, ...), which reads samples of the bytes rather than all.

Bounds: a file larger than `max_bytes` is refused before it is opened; zip containers (DOCX, ODT, EPUB) are
checked for member count, declared size and compression ratio before anything is decompressed, and read with
caps (`_zip.py`); the `timeout` is checked between units of work (pages, chapters, blocks of paragraphs,
256 KB pieces of Markdown), so one unit's cost is bounded by the size limits rather than by the clock. HTML
pages of more than 50,000 elements skip trafilatura (whose time grows faster than the page). For hard
bounds, `isolated.IsolatedExtractor` runs the same `extract` in a reused worker process that is killed past
the budget, has its address space capped, and takes a library crash on itself.
"""

from __future__ import annotations

import codecs
import os
import stat
import zipfile
from pathlib import Path
from typing import Optional, Union

from ._base import Deadline, Extracted, Section
from ..errors import ExtractionError
from ._office import OLE_MAGIC

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "FORMATS", "Extracted", "ExtractionError", "Section",
           "detect_format", "extract"]

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0

#: File suffix -> format name: the types a folder walk picks up.
FORMATS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".epub": "epub",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".rtf": "rtf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".org": "text",
    ".adoc": "text",
}

_ZIP_MIMETYPES = {b"application/epub+zip": "epub", b"application/vnd.oasis.opendocument.text": "odt"}


def detect_format(path: Union[str, Path]) -> Optional[str]:
    """The format of `path`: by its suffix (`FORMATS`), then by its first bytes; None when unsupported."""
    path = Path(path)
    by_suffix = FORMATS.get(path.suffix.lower())
    if by_suffix is not None:
        return by_suffix
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    return _sniff(path, head)


def _sniff(path: Path, head: bytes) -> Optional[str]:
    if not head:
        return None
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if "mimetype" in names and zf.getinfo("mimetype").file_size < 256:
                    kind = _ZIP_MIMETYPES.get(zf.read("mimetype").strip())
                    if kind:
                        return kind
                if "word/document.xml" in names:
                    return "docx"
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError):
            return None
        return None
    if head.startswith(OLE_MAGIC):
        return None  # legacy .doc/.xls, or an encrypted Office file: not supported without a suffix
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{\\rtf"):
        return "rtf"
    lowered = stripped[:1024].lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or (lowered.startswith(b"<?xml") and b"<html" in lowered):
        return "html"
    from ._text import decode_text

    try:
        if b"\x00" not in head:  # a cut multi-byte sequence at the end of the sample is not an error
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        else:
            decode_text(head)
    except (UnicodeDecodeError, ExtractionError):
        try:
            decode_text(head)
        except ExtractionError:
            return None
    return "text"


def extract(path: Union[str, Path], *, max_bytes: int = DEFAULT_MAX_BYTES,
            timeout: Optional[float] = DEFAULT_TIMEOUT) -> Extracted:
    """The text of the file at `path`, its title and sections. Raises ExtractionError (with `.reason` and
    `.path`) for files that cannot be read: unsupported, encrypted, damaged, too large, zip bombs, binary,
    empty, over the time budget, or unreadable. Never raises anything else for a bad file."""
    path = Path(path)
    try:
        return _extract(path, max_bytes, Deadline(timeout))
    except ExtractionError as e:
        e.path = path
        raise
    except MemoryError:
        raise ExtractionError("too-large", "the file needs more memory than is available", path) from None
    except RecursionError:
        raise ExtractionError("damaged", "the file nests too deeply to read", path) from None
    except OSError as e:
        raise ExtractionError("unreadable", f"the file cannot be read: {e.strerror or e}", path) from None
    except Exception as e:  # a library failing on one bad file must not stop a folder's indexing
        raise ExtractionError("damaged", f"the file cannot be read ({type(e).__name__}: {e})", path) from None


def _extract(path: Path, max_bytes: int, deadline: Deadline) -> Extracted:
    try:
        st = path.stat()
    except OSError as e:
        raise ExtractionError("unreadable", f"the file cannot be read: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ExtractionError("unreadable", "not a regular file")
    if not os.access(path, os.R_OK):
        raise ExtractionError("unreadable", "the file cannot be read: permission denied")
    fmt = detect_format(path)
    if fmt is None:
        raise ExtractionError("unsupported-type", f"not a supported document type ({path.suffix or 'no suffix'})")
    if st.st_size == 0:
        raise ExtractionError("empty", "the file is empty")
    if st.st_size > max_bytes:
        raise ExtractionError("too-large", f"the file holds {st.st_size} bytes, more than the {max_bytes} byte limit")
    if fmt == "pdf":
        from ._pdf import extract_pdf

        return extract_pdf(path, deadline)
    if fmt == "docx":
        from ._office import extract_docx

        return extract_docx(path, max_bytes, deadline)
    if fmt == "odt":
        from ._office import extract_odt

        return extract_odt(path, max_bytes, deadline)
    if fmt == "epub":
        from ._epub import extract_epub

        return extract_epub(path, max_bytes, deadline)
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ExtractionError("too-large", f"the file holds more than the {max_bytes} byte limit")
    if fmt == "html":
        from ._html import extract_html

        return extract_html(data)
    if fmt == "rtf":
        from ._text import extract_rtf

        return extract_rtf(data)
    if fmt == "markdown":
        from ._text import extract_markdown

        return extract_markdown(data, deadline)
    from ._text import extract_text

    return extract_text(data)
