"""Repairing PDFium's text of shaped scripts (Thai, Devanagari and the other Indic scripts, Arabic, Hebrew).

Browsers and office software write these scripts as shaped glyphs: a glyph may stand for several characters,
or several glyphs for one cluster, so the writer wraps the glyphs in `/Span <</ActualText (...)>> BDC ... EMC`
with the cluster's characters, and right-to-left text is drawn in visual order (Chromium also marks it
`/ReversedChars`). Such PDFs carry the right text: poppler's `pdftotext` reads Thai and Devanagari from
Chromium's PDFs exactly, and Arabic but for the lam-alef ligature. PDFium's text page (what
`PdfTextPage.get_text_range` returns) gets three things wrong, seen on Chromium's PDFs:

1. an ActualText span over several text objects has its text emitted once per object, so Thai clusters
   repeat ("วอร์เร์รนจะ" for "วอร์เรนจะ"), and the characters of an ActualText are sometimes reversed
   ("ال" for the lam-alef ligature's "لا");
2. or, for the second object, a generated space instead, so Devanagari words break ("सरका र" for "सरकार"),
   or line breaks around it when that object is drawn back over the glyphs before it ("ข่า\nข่\nววัน");
3. right-to-left words come out in an order mixing visual and logical ("تلاق ةموكحلا" for "قالت الحكومة").

`repair_page_text` rebuilds a page's text from PDFium's characters, in PDFium's order and lines:
- each ActualText span becomes one unit holding its /ActualText string (read from the PDF's marked content,
  not from PDFium's characters), where PDFium puts the span's first text object; the characters PDFium
  gives for its other objects are dropped (the mark item is shared by the objects of one span, so its
  address identifies the span);
- a glyph of several characters (a ligature without ActualText) stays one unit;
- PDFium's generated spaces between glyphs closer than `_GAP` of the font size are dropped, and so are its
  line breaks between glyphs on one baseline beside a dropped span object or beside RTL letters;
- each line holding right-to-left letters (or only numbers, on a right-to-left page) is put in reading
  order by position: units sorted left to right, then an RTL line reversed with its left-to-right runs
  (Latin words, numbers) kept as drawn, or an LTR line with its RTL runs reversed; combining marks follow
  the glyph they sit on. That is the visual-to-logical step of text extractors (poppler's too), done on
  whole units so that a ligature keeps its characters in order (poppler reverses lam-alef).

PDFium gives a space drawn as its own glyph no text object and the position of the glyph before it in the
content stream, so in a right-to-left line the space glyphs of the page (blank text objects on the line's
baseline) take the place of PDFium's spaces when there are any.

It runs only for pages whose PDFium text holds such a script (other pages keep PDFium's text as it is: the
per-character calls cost a few microseconds a character). A PDF whose writer put right-to-left text in
logical order but drew it left to right (unshaped, as it reads wrongly on screen too) comes out reversed:
the text is taken as the page shows it.
"""

from __future__ import annotations

import ctypes
import re
import statistics
import unicodedata
from typing import Any, Optional

# Scripts that are shaped into clusters or drawn right to left: Hebrew to Tibetan (Arabic, Syriac, Thaana,
# N'Ko, the Indic scripts, Thai, Lao), Myanmar, Khmer, and the Hebrew/Arabic presentation forms.
SHAPED = re.compile("[\u0590-\u0fff\u1000-\u109f\u1780-\u17ff\ufb1d-\ufdff\ufe70-\ufefe]")
_RTL = frozenset({"R", "AL"})
_LTR = frozenset({"L", "EN", "AN"})  # drawn left to right inside right-to-left text: words, numbers
# Glyphs closer than this share of the font size are one word: PDFium's space between them is dropped.
_GAP = 0.15


class _Unit:
    """One character (or a ligature's characters), or the ActualText of a span, where it starts on the
    line (`x`, `y`: its origin; a span's leftmost object's) and what it covers (`left`, `right`: all of a
    span's glyphs, so that a space is judged against the whole cluster).
    `loose`: a character without a text object (a space PDFium generated, or one it took from its glyph)."""

    __slots__ = ("chars", "x", "y", "left", "right", "size", "loose", "_kinds")

    def __init__(self, ch: str, x: float, y: float, left: float, right: float, size: float, loose: bool = False) -> None:
        self.chars = [ch]
        self.x, self.y, self.left, self.right, self.size, self.loose = x, y, left, right, size, loose
        self._kinds: Optional[tuple[str, Optional[str]]] = None  # (kind, strong), once the characters are all in

    def _classes(self) -> tuple[str, Optional[str]]:
        if self._kinds is None:
            classes = {unicodedata.bidirectional(c) for c in self.chars}
            kind = "R" if classes & _RTL else "L" if classes & _LTR else "M" if classes == {"NSM"} else "N"
            self._kinds = (kind, "R" if kind == "R" else "L" if "L" in classes else None)
        return self._kinds

    def kind(self) -> str:
        """"R" if it holds a right-to-left letter, "L" a left-to-right letter or a digit, "M" if it is
        only combining marks, else "N"."""
        return self._classes()[0]

    def strong(self) -> Optional[str]:
        """The direction of its letters: "R", "L" (letters, not digits) or None."""
        return self._classes()[1]


def _address(handle: Any) -> Optional[int]:
    """The address a PDFium handle points at (what identifies an object or a mark), None for NULL."""
    return ctypes.addressof(handle.contents) if handle else None  # ~9x faster than ctypes.cast


def _text_string(data: bytes) -> str:
    """A PDF text string's bytes decoded: UTF-16BE after its byte order mark (or UTF-16LE, UTF-8 after
    theirs), else PDFDocEncoding, taken as Latin-1 (they differ only in rarely used punctuation)."""
    for bom, codec in ((b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, "replace")
    return data.decode("latin-1")


def _actual_text(mark: Any) -> Optional[str]:
    """The /ActualText of a marked-content item, or None."""
    import pypdfium2.raw as raw

    length = ctypes.c_ulong(0)
    # the raw bytes: PDFium's string value of it drops the byte order mark and widens each byte
    if not raw.FPDFPageObjMark_GetParamBlobValue(mark, b"ActualText", None, 0, ctypes.byref(length)):
        return None
    buf = (ctypes.c_ubyte * max(1, length.value))()
    raw.FPDFPageObjMark_GetParamBlobValue(mark, b"ActualText", buf, ctypes.sizeof(buf), ctypes.byref(length))
    return _text_string(bytes(buf)[: length.value])


def _object_text(obj: Any, textpage: Any) -> str:
    import pypdfium2.raw as raw

    buf = (ctypes.c_ushort * 8)()
    n = raw.FPDFTextObj_GetText(obj, textpage, buf, ctypes.sizeof(buf))
    return bytes(buf)[: max(0, min(n, ctypes.sizeof(buf)) - 2)].decode("utf-16-le", "replace")


class _Objects:
    """What the text objects drawn on the page itself say (not those inside form XObjects, whose
    coordinates are their own): each one's ActualText span and origin, each span's extent, and the
    blank glyphs (spaces) with their origins."""

    def __init__(self, page: Any, textpage: Any) -> None:
        import pypdfium2.raw as raw

        self.span: dict[int, Optional[int]] = {}  # text object -> its span
        self.actual_text: dict[int, str] = {}  # span -> its /ActualText
        self.origin: dict[int, tuple[float, float]] = {}  # text object -> its origin
        self.extent: dict[int, tuple[float, float, float]] = {}  # span -> (left, right, leftmost origin)
        self.blanks: list[tuple[float, float]] = []  # origins of space glyphs
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        refs = [ctypes.byref(v) for v in (left, bottom, right, top)]
        matrix = raw.FS_MATRIX()
        marks: dict[int, Optional[str]] = {}  # mark item -> its /ActualText
        for k in range(raw.FPDFPage_CountObjects(page)):
            obj = raw.FPDFPage_GetObject(page, k)
            address = _address(obj)
            if address is None or raw.FPDFPageObj_GetType(obj) != raw.FPDF_PAGEOBJ_TEXT:
                continue
            span = None  # the innermost mark with an /ActualText; marks are shared by many objects
            for j in range(raw.FPDFPageObj_CountMarks(obj)):
                mark = raw.FPDFPageObj_GetMark(obj, j)
                key = _address(mark)
                if key is None:
                    continue
                if key not in marks:
                    marks[key] = _actual_text(mark)
                if marks[key] is not None:
                    span = key
            self.span[address] = span
            if span is not None:
                self.actual_text[span] = marks[span] or ""
            if not raw.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix)) or not raw.FPDFPageObj_GetBounds(obj, *refs):
                continue
            self.origin[address] = (matrix.e, matrix.f)
            # a glyph without ink whose text PDFium gave away (to a character without object) or is blank
            if right.value - left.value < 1e-3 and not _object_text(obj, textpage).strip():
                self.blanks.append((matrix.e, matrix.f))
            if span is not None:
                lo, hi, first = self.extent.get(span, (left.value, right.value, matrix.e))
                self.extent[span] = (min(lo, left.value), max(hi, right.value), min(first, matrix.e))


_BREAK, _DROPPED = "break", "dropped"  # markers among the units of `_items`


def _items(objects: _Objects, textpage: Any) -> list[Any]:
    """PDFium's characters of the page as units, in its order, with `(_BREAK, generated)` for each line
    break and `_DROPPED` where the characters of a span's later object were left out (1. above)."""
    import pypdfium2.raw as raw

    left, bottom, right, top, ox, oy = (ctypes.c_double() for _ in range(6))
    box = [ctypes.byref(v) for v in (left, right, bottom, top)]
    origin = [ctypes.byref(ox), ctypes.byref(oy)]
    emitted: set[int] = set()  # spans whose unit is made
    items: list[Any] = []
    current: Optional[int] = None  # the text object of the last unit, when it is a span's
    glyph: Optional[tuple[Optional[int], float]] = None  # (text object, origin) of the last unit, when not
    high: Optional[int] = None
    size, sized = 0.0, None  # the font size of the text object `sized`
    for i in range(raw.FPDFText_CountChars(textpage)):
        code = raw.FPDFText_GetUnicode(textpage, i)
        if 0xD800 <= code < 0xDC00:  # a UTF-16 high surrogate: joined with the low one that follows
            high = code
            continue
        if 0xDC00 <= code < 0xE000 and high is not None:
            code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
        high = None
        ch = chr(code)
        if ch == "\r":
            continue
        if ch == "\n":
            current = glyph = None
            items.append((_BREAK, bool(raw.FPDFText_IsGenerated(textpage, i))))
            continue
        address = _address(raw.FPDFText_GetTextObject(textpage, i))
        span = objects.span.get(address) if address is not None else None
        if span is not None and address == current:
            continue  # the rest of the span's text: its unit holds all of it
        raw.FPDFText_GetCharBox(textpage, i, *box)
        raw.FPDFText_GetCharOrigin(textpage, i, *origin)
        if address is None or address != sized:  # one font size per text object
            size, sized = raw.FPDFText_GetFontSize(textpage, i), address
        if span is None:  # a glyph of its own (an object may hold several, in the order drawn), or a loose one
            if address is not None and glyph == (address, ox.value) and isinstance(items[-1], _Unit):
                items[-1].chars.append(ch)  # one glyph, several characters (a ligature): in reading order
                items[-1].left, items[-1].right = min(items[-1].left, left.value), max(items[-1].right, right.value)
                continue
            items.append(_Unit(ch, ox.value, oy.value, left.value, right.value, size, loose=address is None))
            current, glyph = None, (address, ox.value)
            continue
        glyph = None
        if span in emitted or not objects.actual_text.get(span):
            # the span's text again, for another of its objects, or an empty ActualText
            if items[-1:] != [_DROPPED]:
                items.append(_DROPPED)
            current = address
            continue
        emitted.add(span)
        x, y = objects.origin.get(address, (ox.value, oy.value))  # type: ignore[arg-type]
        lo, hi = left.value, right.value
        if span in objects.extent:
            lo, hi, x = objects.extent[span]
        # The ActualText as the PDF gives it: PDFium's characters for it are sometimes reordered ("ال" for "لا")
        unit = _Unit("", x, y, lo, hi, size)
        unit.chars = list(objects.actual_text[span])
        items.append(unit)
        current = address
    return items


def _lines(items: list[Any]) -> list[list[_Unit]]:
    """`items` cut into lines at their breaks, but for a break PDFium made between glyphs on one baseline
    beside a span's later object (it goes back over glyphs already drawn, which PDFium takes for a new
    line; 2. above) or beside right-to-left letters (PDFium cuts some RTL lines in two, out of order)."""

    def unit_near(i: int, step: int) -> Optional[_Unit]:
        while 0 <= i < len(items):
            item = items[i]
            if isinstance(item, _Unit) and not item.loose:
                return item
            i += step
        return None

    lines: list[list[_Unit]] = [[]]
    for i, item in enumerate(items):
        if isinstance(item, _Unit):
            lines[-1].append(item)
        elif item != _DROPPED:
            beside = [items[j] for j in (i - 1, i + 1) if 0 <= j < len(items)]
            before, after = unit_near(i - 1, -1), unit_near(i + 1, 1)
            if (item[1] and before is not None and after is not None
                    and (_DROPPED in beside or "R" in (before.strong(), after.strong()))
                    and abs(before.y - after.y) < 0.5 * max(before.size, after.size, 1.0)):
                continue
            lines.append([])
    return lines


def _drop_inner_spaces(line: list[_Unit]) -> list[_Unit]:
    """`line` without PDFium's spaces between glyphs that touch (2. above): a space is kept when the
    glyphs on either side of it are at least `_GAP` of the font size apart."""
    out = []
    for i, unit in enumerate(line):
        if unit.loose and unit.chars == [" "] and 0 < i < len(line) - 1:
            before, after = line[i - 1], line[i + 1]
            if not (before.loose or after.loose):
                gap = max(after.left - before.right, before.left - after.right)
                if gap < _GAP * max(before.size, after.size, 1.0):
                    continue
        out.append(unit)
    return out


def _with_space_glyphs(line: list[_Unit], blanks: list[tuple[float, float]]) -> list[_Unit]:
    """A right-to-left line with PDFium's spaces replaced by the page's space glyphs on its baseline, when
    it has any (the glyphs are taken from `blanks`)."""
    placed = [u for u in line if not u.loose]
    if not placed:
        return line
    y = statistics.median(u.y for u in placed)
    size = max(u.size for u in placed) or 1.0
    lo, hi = min(u.x for u in placed) - size, max(u.x for u in placed) + size
    mine = [b for b in blanks if abs(b[1] - y) < 0.3 * size and lo <= b[0] <= hi]
    if not mine:
        return line
    for b in mine:
        blanks.remove(b)
    return [u for u in line if not (u.loose and u.chars[0].isspace())] + [_Unit(" ", x, by, x, x, size) for x, by in mine]


def _runs(kinds: list[str], member: str) -> list[tuple[int, int]]:
    """[start, end) of each maximal run that begins and ends with a unit of kind `member` and holds
    only `member` and neutral units between."""
    runs: list[tuple[int, int]] = []
    start: Optional[int] = None
    last = 0
    for i, k in enumerate(kinds):
        if k == member:
            if start is None:
                start = i
            last = i
        elif k != "N" and start is not None:
            runs.append((start, last + 1))
            start = None
    if start is not None:
        runs.append((start, last + 1))
    return runs


def _base_of(mark: _Unit, units: list[_Unit]) -> int:
    """The index in `units` of the glyph a combining mark sits on: the one its extent overlaps most, else
    the nearest."""
    def score(u: _Unit) -> tuple[float, float]:
        overlap = min(u.right, mark.right) - max(u.left, mark.left)
        return (overlap, -abs((u.left + u.right) / 2 - (mark.left + mark.right) / 2))

    return max(range(len(units)), key=lambda i: score(units[i]))


def logical_order(units: list[_Unit], rtl: Optional[bool] = None) -> list[_Unit]:
    """The units of one line, given in any order, in reading order: sorted by position, then a
    right-to-left line read from the right with its left-to-right runs (words, numbers) kept as drawn, or
    a left-to-right one with its right-to-left runs reversed; combining marks follow the glyph they sit
    on. The line is right-to-left if it has more RTL letters than LTR ones; `rtl` when it has neither."""
    marks = [u for u in units if u.kind() == "M"]
    visual = sorted((u for u in units if u.kind() != "M"), key=lambda u: u.x)
    if not visual:
        return units
    strong = [u.strong() for u in visual]
    right, left = strong.count("R"), strong.count("L")
    if right > left or (right == left and (right > 0 or bool(rtl))):
        visual.reverse()
        member = "L"
    else:
        member = "R"
    kinds = [u.kind() for u in visual]
    for start, end in _runs(kinds, member):
        visual[start:end] = visual[start:end][::-1]
    after: dict[int, list[_Unit]] = {}
    for mark in sorted(marks, key=lambda u: u.x):
        after.setdefault(id(visual[_base_of(mark, visual)]), []).append(mark)
    return [v for u in visual for v in (u, *after.get(id(u), ()))]


def repair_page_text(page: Any, textpage: Any) -> str:
    """The text of a PDFium page and its text page (raw handles) with shaped and right-to-left text repaired."""
    objects = _Objects(page, textpage)
    lines = [_drop_inner_spaces(line) for line in _lines(_items(objects, textpage))]
    strong = [u.strong() for line in lines for u in line]
    rtl = strong.count("R") > strong.count("L")  # the page's direction, for lines of numbers only
    out = []
    for line in lines:
        kinds = {u.strong() for u in line}
        if "R" in kinds or (rtl and "L" not in kinds):
            line = logical_order(_with_space_glyphs(line, objects.blanks), rtl)
        out.append("".join(ch for unit in line for ch in unit.chars))
    return "\n".join(out)
