"""PDF text, page by page, with pypdfium2 (PDFium, the PDF engine of Chromium). Pages in shaped or
right-to-left scripts have PDFium's text rebuilt from its characters (`_pdf_text`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator, Optional

from ._base import Deadline, Extracted, Part, assemble
from ..errors import ExtractionError
from ._pdf_text import SHAPED, repair_page_text

# PDFium is not thread-safe: one document is read at a time in this process.
_LOCK = threading.Lock()
_PASSWORD, _SECURITY = 4, 5  # FPDF_ERR_PASSWORD, FPDF_ERR_SECURITY
# Pages in shaped scripts are repaired while more than this share of the time budget is left.
REPAIR_BUDGET_SHARE = 0.5


def extract_pdf(path: Path, deadline: Deadline) -> Extracted:
    import pypdfium2 as pdfium

    with _LOCK:
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as e:
            code = getattr(e, "err_code", None)
            if code in (_PASSWORD, _SECURITY) or "password" in str(e).lower():
                raise ExtractionError("encrypted", "the PDF is encrypted with a password") from None
            raise ExtractionError("damaged", f"the PDF cannot be read ({e})") from None
        try:
            title: Optional[str] = None
            try:
                title = pdf.get_metadata_dict().get("Title")
            except pdfium.PdfiumError:
                pass
            parts = list(_pages(pdf, deadline))
        finally:
            pdf.close()
    return assemble("pdf", title, parts, what="text layer (a scanned PDF without OCR?)")


def _pages(pdf: Any, deadline: Deadline) -> Iterator[Part]:
    import pypdfium2 as pdfium

    for i in range(len(pdf)):
        deadline.check(f"reading page {i + 1} of the PDF")
        try:
            page = pdf[i]
        except pdfium.PdfiumError as e:
            raise ExtractionError("damaged", f"page {i + 1} of the PDF cannot be read ({e})") from None
        try:
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
                # Thai, Indic, Arabic, Hebrew...: PDFium's text needs repair, which costs 30-55 us a character
                # (per file: BENCHMARKS.md, "A person's folder"); past half the time budget, pages keep
                # PDFium's text, so that a long book is indexed (partly garbled) rather than refused for the
                # time it took.
                if SHAPED.search(text) and deadline.share_left() > REPAIR_BUDGET_SHARE:
                    text = repair_page_text(page.raw, textpage.raw)
            finally:
                textpage.close()
        except pdfium.PdfiumError as e:
            raise ExtractionError("damaged", f"the text of page {i + 1} cannot be read ({e})") from None
        finally:
            page.close()
        # PDFium marks a hyphen that ends a line as U+FFFE and drops the line break: the hyphen was on the
        # page ("16-year-" / "old"), so it is kept.
        yield text.replace("\ufffe", "-"), i + 1, None
