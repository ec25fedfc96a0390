"""Reading a person's files: turning documents on disk (PDF, DOCX, ODT, EPUB, HTML, RTF, Markdown, text)
into text with its place in the file (`extract`), ready for indexing."""

from .extract import FORMATS, Extracted, ExtractionError, Section, detect_format, extract
from .isolated import IsolatedExtractor

__all__ = ["FORMATS", "Extracted", "ExtractionError", "IsolatedExtractor", "Section", "detect_format", "extract"]
