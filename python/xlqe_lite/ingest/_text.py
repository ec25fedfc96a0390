"""Plain text in any common encoding (charset-normalizer), Markdown as plain text (markdown-it-py), RTF
(striprtf)."""

from __future__ import annotations

import codecs
import re
from typing import Any, Iterator, Optional

from ._base import Deadline, Extracted, Part, assemble
from ..errors import ExtractionError

_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BAD_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.01


def _utf16_without_bom(data: bytes) -> Optional[str]:
    """UTF-16 text without a byte-order mark shows as NUL bytes in every other place (for Latin text)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of `data` and its encoding: a BOM, else UTF-16 by its NUL pattern, else strict UTF-8, else
    charset-normalizer's best guess. ExtractionError("binary") when the bytes are not text."""
    encoding: Optional[str] = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom):], name
            break
    if encoding is None:
        encoding = _utf16_without_bom(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as e:
            raise ExtractionError("binary", f"not valid {encoding} text (byte {e.start})") from None
    elif b"\x00" in data:
        raise ExtractionError("binary", "binary data (contains NUL bytes)")
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            from charset_normalizer import from_bytes

            matches = from_bytes(data)
            best = matches.best()
            if best is None:
                raise ExtractionError("binary", "binary data (no text encoding fits)") from None
            # Single-byte Latin encodings often tie (a French text reads as cleanly in cp1250 as in cp1252,
            # except for the letters that differ); on a tie, cp1252 (Latin-1's superset) is the likely one.
            for m in matches:
                if (m.chaos, m.coherence) == (best.chaos, best.coherence) and "cp1252" in m.could_be_from_charset:
                    best = m
                    break
            text, encoding = str(best), best.encoding
    sample = text[:65536]
    if sample and len(_BAD_CONTROL.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
        raise ExtractionError("binary", "binary data (control characters)")
    return text, encoding.replace("_", "-")


def extract_text(data: bytes) -> Extracted:
    text, encoding = decode_text(data)
    return assemble("text", None, [(text, None, None)], encoding=encoding)


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.M)


# markdown-it-py is pure Python (13 MB of Markdown took 158 s on 2 busy cores): the text is parsed in pieces
# of about this many characters, cut at blank lines outside code fences, with the time budget checked between.
MARKDOWN_PIECE = 256 * 1024
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _markdown_pieces(text: str) -> Iterator[str]:
    start = size = 0
    in_fence = False
    pos = 0
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        pos += len(line)
        size += len(line)
        if size >= MARKDOWN_PIECE and not in_fence and not line.strip():
            yield text[start:pos]
            start, size = pos, 0
    if start < len(text):
        yield text[start:]


def extract_markdown(data: bytes, deadline: Optional[Deadline] = None) -> Extracted:
    """Markdown rendered to plain text: markup dropped, code and alt texts kept, a section per heading."""
    from markdown_it import MarkdownIt

    text, encoding = decode_text(data)
    title: Optional[str] = None
    front = _FRONT_MATTER.match(text)
    if front:  # YAML front matter: its title is the document's, the rest is not text
        found = _FRONT_TITLE.search(front.group(1))
        title = found.group(1).strip("'\"") if found else None
        text = text[front.end():]
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parts: list[Part] = []
    lines: list[str] = []
    chapter: Optional[str] = None
    first_h1: Optional[str] = None
    heading: Optional[str] = None
    row: Optional[list[str]] = None
    for piece in _markdown_pieces(text):
        if deadline is not None:
            deadline.check("reading the Markdown")
        for t in md.parse(piece):
            if t.type == "heading_open":
                heading = t.tag
            elif t.type == "inline":
                content = _inline_text(t.children or [])
                if heading is not None:
                    if lines:
                        parts.append(("\n".join(lines), None, chapter))
                    lines, chapter = [content], content
                    if heading == "h1" and first_h1 is None:
                        first_h1 = content
                    heading = None
                elif row is not None:
                    row.append(" ".join(content.split()))
                else:
                    lines.append(content)
            elif t.type == "tr_open":
                row = []
            elif t.type == "tr_close":
                lines.append("\t".join(row or []))
                row = None
            elif t.type in ("fence", "code_block"):
                lines.append(t.content.rstrip("\n"))
            elif t.type == "html_block":
                lines.append(_html_fragment_text(t.content))
    if lines:
        parts.append(("\n".join(lines), None, chapter))
    return assemble("markdown", title or first_h1, parts, encoding=encoding)


def _inline_text(children: list[Any]) -> str:
    out: list[str] = []
    for c in children:
        if c.type in ("text", "code_inline"):
            out.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif c.type == "image":
            out.append(_inline_text(c.children or []) or c.content)
    return "".join(out)


def _html_fragment_text(html: str) -> str:
    from lxml import html as lxml_html

    try:
        return lxml_html.fromstring(html).text_content() if html.strip() else ""
    except Exception:  # a fragment lxml cannot parse (e.g. only a comment) holds no text
        return ""


_RTF_CODEPAGE = re.compile(rb"\\ansicpg(\d+)")
_RTF_TITLE = re.compile(rb"\{\\title\s?((?:[^{}\\]|\\[^{}]|\\[{}])*)\}")


def extract_rtf(data: bytes) -> Extracted:
    """RTF through striprtf, in the code page the file declares (\\ansicpg), cp1252 by default."""
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise ExtractionError("damaged", "not an RTF document (no {\\rtf header)")
    found = _RTF_CODEPAGE.search(data[:4096])
    encoding = f"cp{int(found.group(1))}" if found else "cp1252"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "cp1252"
    source = data.decode("latin-1")  # RTF is 7-bit; \'xx escapes are decoded by striprtf in `encoding`
    try:
        text = rtf_to_text(source, encoding=encoding, errors="replace")  # type: ignore[no-untyped-call]  # striprtf: no annotations
        title_match = _RTF_TITLE.search(data[:65536])
        title = rtf_to_text("{\\rtf1 " + title_match.group(1).decode("latin-1") + "}",  # type: ignore[no-untyped-call]
                            encoding=encoding, errors="replace") if title_match else None
    except (ValueError, IndexError, RecursionError) as e:
        raise ExtractionError("damaged", f"the RTF cannot be read ({type(e).__name__}: {e})") from None
    return assemble("rtf", title, [(text, None, None)], encoding=encoding)
