"""Getting a person's files into an index: turning documents on disk (PDF, DOCX, ODT, EPUB, HTML, RTF,
Markdown, text) into text with its place in the file (`extract`), JSONL records and plain files
(`sources`), and keeping an index in step with folders (`sync`)."""

from .extract import FORMATS, Extracted, Section, detect_format, extract
from ..errors import ExtractionError
from .isolated import IsolatedExtractor

__all__ = ["FORMATS", "Extracted", "ExtractionError", "IsolatedExtractor", "Section", "detect_format", "extract"]
