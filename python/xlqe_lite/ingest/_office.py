"""Word-processor documents: DOCX with python-docx, ODT with odfpy; a section starts at each heading."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional

from ._base import Deadline, Extracted, Part, assemble
from ..errors import ExtractionError
from ._zip import open_zip, read_member, verify_members

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Office encrypts a DOCX into an OLE compound file


class _Sections:
    """Paragraphs gathered into sections, a new one at each heading (the heading is its first line)."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.lines: list[str] = []
        self.chapter: Optional[str] = None
        self.first_heading: Optional[str] = None

    def heading(self, text: str) -> None:
        if not text.strip():
            return
        self.flush()
        self.chapter = text.strip()
        self.first_heading = self.first_heading or self.chapter
        self.lines.append(text)

    def line(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        if self.lines:
            self.parts.append(("\n".join(self.lines), None, self.chapter))
        self.lines = []


def _guarded_zip(path: Path, max_bytes: int, deadline: Deadline, kind: str) -> None:
    with open(path, "rb") as f:
        head = f.read(8)
    if head == OLE_MAGIC:
        raise ExtractionError("encrypted", f"the {kind} file is encrypted (an Office-protected compound file)")
    with open_zip(path, max_bytes) as zf:
        verify_members(zf, max_bytes, deadline)


def extract_docx(path: Path, max_bytes: int, deadline: Deadline) -> Extracted:
    _guarded_zip(path, max_bytes, deadline, "DOCX")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as e:  # python-docx raises KeyError, ValueError, lxml and package errors for broken files
        raise ExtractionError("damaged", f"the DOCX cannot be read ({type(e).__name__}: {e})") from None
    out = _Sections()
    title_style: Optional[str] = None
    try:
        for n, block in enumerate(document.iter_inner_content()):
            if n % 200 == 0:
                deadline.check()
            if isinstance(block, Paragraph):
                style = (block.style.name or "") if block.style is not None else ""
                if style == "Title" or style.startswith("Heading"):
                    if style == "Title" and title_style is None:
                        title_style = block.text
                    out.heading(block.text)
                else:
                    out.line(block.text)
            elif isinstance(block, Table):
                for row in _table_rows(block):
                    out.line(row)
        out.flush()
        title = document.core_properties.title or title_style or out.first_heading
    except ExtractionError:
        raise
    except Exception as e:
        raise ExtractionError("damaged", f"the DOCX content cannot be read ({type(e).__name__}: {e})") from None
    return assemble("docx", title, out.parts)


def _table_rows(table: Any) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is returned once per grid column it spans
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        yield "\t".join(cells)


def extract_odt(path: Path, max_bytes: int, deadline: Deadline) -> Extracted:
    with open_zip(path, max_bytes) as zf:
        manifest = read_member(zf, "META-INF/manifest.xml", max_bytes, deadline) if "META-INF/manifest.xml" in zf.namelist() else b""
        if b"encryption-data" in manifest:
            raise ExtractionError("encrypted", "the ODT file is encrypted with a password")
        verify_members(zf, max_bytes, deadline)
    from odf import dc, teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load

    try:
        document = load(str(path))
    except Exception as e:  # odfpy raises zip, XML (defusedxml) and KeyError failures for broken files
        raise ExtractionError("damaged", f"the ODT cannot be read ({type(e).__name__}: {e})") from None
    out = _Sections()
    count = 0

    def walk(element: Any) -> None:
        nonlocal count
        for child in element.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            count += 1
            if count % 200 == 0:
                deadline.check()
            qname = child.qname
            if qname == (TEXTNS, "h"):
                out.heading(teletype.extractText(child))
            elif qname == (TEXTNS, "p"):
                out.line(teletype.extractText(child))
            elif qname == (TABLENS, "table-row"):
                out.line("\t".join(" ".join(teletype.extractText(c).split()) for c in child.childNodes
                                   if c.nodeType == c.ELEMENT_NODE))
            elif qname[0] in (TEXTNS, TABLENS) and qname[1] in (
                # Tables of contents and indexes repeat the headings; they are left out.
                "list", "list-item", "list-header", "section", "table", "table-rows", "table-header-rows",
                "bibliography", "index-body",
            ):
                walk(child)

    try:
        walk(document.text)
        out.flush()
        titles = document.meta.getElementsByType(dc.Title)
        title = teletype.extractText(titles[0]) if titles else out.first_heading
    except ExtractionError:
        raise
    except Exception as e:
        raise ExtractionError("damaged", f"the ODT content cannot be read ({type(e).__name__}: {e})") from None
    return assemble("odt", title, out.parts)
