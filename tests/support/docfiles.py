"""Writers of real document files (PDF, DOCX, ODT, EPUB, HTML, RTF, Markdown, text) with the libraries that
make them in the wild: reportlab, python-docx, odfpy, zipfile. Used by tests/unit/test_extract.py and by
benchmarks/build_folder.py."""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Optional, Sequence
from xml.sax.saxutils import escape

# Fonts with the glyphs of each script (Debian: fonts-dejavu-core, fonts-noto-core, fonts-wqy-zenhei).
FONT_FILES = {
    "latin": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Latin, Cyrillic, Greek, Arabic
    "thai": "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
    "devanagari": "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
    "cjk": "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Chinese, Japanese kana, Korean hangul
}
SCRIPT_OF_LANG = {"th": "thai", "tha": "thai", "hi": "devanagari", "hin": "devanagari", "zh": "cjk", "zho-CN": "cjk",
                  "ja": "cjk", "jpn": "cjk", "ko": "cjk", "kor": "cjk"}


def _font(lang: Optional[str]) -> str:
    """A registered reportlab font name able to draw `lang`'s script ("Helvetica" when no font file is there)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    script = SCRIPT_OF_LANG.get(lang or "", "latin")
    name = f"xlqe-{script}"
    if name not in pdfmetrics.getRegisteredFontNames():
        path = FONT_FILES[script]
        if not Path(path).exists():
            if script == "latin":
                return "Helvetica"
            raise FileNotFoundError(f"{path} is missing: apt-get install fonts-noto-core fonts-wqy-zenhei")
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(name, path))
    return name


def write_pdf_pages(path: Path, pages: Sequence[Sequence[str]], title: Optional[str] = None,
                    encrypt: Optional[str] = None, lang: Optional[str] = None) -> None:
    """One PDF page per item of `pages`, each line drawn as it is (no wrapping)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt=encrypt)
    if title:
        c.setTitle(title)
    font = _font(lang) if lang else "Helvetica"
    for lines in pages:
        y = 800
        c.setFont(font, 11)
        for line in lines:
            c.drawString(50, y, line)
            y -= 16
        c.showPage()
    c.save()


def write_pdf_story(path: Path, title: str, paragraphs: Sequence[str], lang: str) -> None:
    """A flowing PDF document (reportlab platypus): a heading, then paragraphs wrapped to the page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    font = _font(lang)
    wrap = "CJK" if SCRIPT_OF_LANG.get(lang) in ("cjk", "thai") else None
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=15, wordWrap=wrap, spaceAfter=6)
    head = ParagraphStyle("head", parent=body, fontSize=16, leading=21, spaceAfter=12)
    doc = SimpleDocTemplate(str(path), pagesize=A4, title=title)
    doc.build([Paragraph(escape(title), head)] + [Paragraph(escape(p), body) for p in paragraphs])


def chromium() -> Optional[str]:
    """The Chromium (or Chrome) executable on PATH, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf_chromium(path: Path, title: str, paragraphs: Sequence[str], lang: str, rtl: bool = False) -> None:
    """A PDF as a person's browser saves one ("Print to PDF" of headless Chromium): text shaped by HarfBuzz,
    fonts chosen by fontconfig, right-to-left scripts in visual order, as in PDFs made by office software."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("no chromium on PATH")
    page = (f'<!DOCTYPE html><html lang="{lang}" dir="{"rtl" if rtl else "ltr"}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) + "</body></html>")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(page, encoding="utf-8")
        proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                               f"--user-data-dir={tmp}/profile", f"--print-to-pdf={path}", source.as_uri()],
                              capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not path.exists():
        raise RuntimeError(f"chromium could not print {path}: {proc.stderr[-500:]}")


def write_docx(path: Path, title: Optional[str], sections: Sequence[tuple[Optional[str], Sequence[str]]],
               core_title: Optional[str] = None) -> None:
    """A DOCX: `title` in the Title style, then per section a Heading 1 (when given) and its paragraphs."""
    import docx

    d = docx.Document()
    if core_title:
        d.core_properties.title = core_title
    if title:
        d.add_paragraph(title, style="Title")
    for heading, paragraphs in sections:
        if heading:
            d.add_heading(heading, level=1)
        for p in paragraphs:
            d.add_paragraph(p)
    d.save(str(path))


def write_odt(path: Path, title: Optional[str], sections: Sequence[tuple[Optional[str], Sequence[str]]]) -> None:
    """An ODT (odfpy): dc:title in the metadata, a level-1 heading per section and its paragraphs."""
    from odf import dc
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    d = OpenDocumentText()
    if title:
        d.meta.addElement(dc.Title(text=title))
    for heading, paragraphs in sections:
        if heading:
            d.text.addElement(H(outlinelevel=1, text=heading))
        for p in paragraphs:
            d.text.addElement(P(text=p))
    d.save(str(path))


def write_epub(path: Path, title: str, chapters: Sequence[tuple[str, Sequence[str]]], lang: str = "en",
               nav: bool = True, heading: Optional[str] = None) -> None:
    """An EPUB 3 (or, with nav=False, EPUB 2 with an NCX) written as the zip the standard describes;
    `heading` is an <h1> at the top of the first chapter."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")  # first, stored
        z.writestr("META-INF/container.xml",
                   '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                   '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                   "</rootfiles></container>", compress_type=zipfile.ZIP_DEFLATED)
        items, refs, points, links = [], [], [], []
        for i, (name, paragraphs) in enumerate(chapters, 1):
            body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
            if heading and i == 1:
                body = f"<h1>{escape(heading)}</h1>" + body
            z.writestr(f"OEBPS/text/ch{i}.xhtml",
                       f'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{lang}">'
                       f"<head><title>{escape(name)}</title><style>p {{ margin: 0 }}</style></head>"
                       f"<body><h2>{escape(name)}</h2>{body}</body></html>", compress_type=zipfile.ZIP_DEFLATED)
            items.append(f'<item id="ch{i}" href="text/ch{i}.xhtml" media-type="application/xhtml+xml"/>')
            refs.append(f'<itemref idref="ch{i}"/>')
            points.append(f'<navPoint id="p{i}" playOrder="{i}"><navLabel><text>{escape(name)}</text></navLabel>'
                          f'<content src="text/ch{i}.xhtml"/></navPoint>')
            links.append(f'<li><a href="text/ch{i}.xhtml">{escape(name)}</a></li>')
        if nav:
            items.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
            z.writestr("OEBPS/nav.xhtml",
                       '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml" '
                       'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head><body>'
                       f'<nav epub:type="toc"><ol>{"".join(links)}</ol></nav></body></html>',
                       compress_type=zipfile.ZIP_DEFLATED)
        else:
            items.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
            z.writestr("OEBPS/toc.ncx",
                       '<?xml version="1.0" encoding="utf-8"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
                       f'<docTitle><text>{escape(title)}</text></docTitle><navMap>{"".join(points)}</navMap></ncx>',
                       compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/content.opf",
                   '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
                   'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
                   f'<dc:identifier id="id">urn:xlqe:{escape(path.stem)}</dc:identifier><dc:title>{escape(title)}</dc:title>'
                   f'<dc:language>{lang}</dc:language></metadata><manifest>{"".join(items)}</manifest>'
                   f'<spine{"" if nav else " toc=" + chr(34) + "ncx" + chr(34)}>{"".join(refs)}</spine></package>',
                   compress_type=zipfile.ZIP_DEFLATED)


def html_page(title: str, heading: str, paragraphs: Sequence[str], lang: str = "en") -> str:
    """A web page as sites write them: head with a script and styles, a navigation bar, the article, a footer."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            "<style>body { font-family: sans-serif } .nav a { color: red }</style>"
            "<script>window.dataLayer = []; function track(UA) { dataLayer.push(UA); } track('UA-000000-1');</script>"
            '</head><body><nav class="nav"><a href="/">Home</a> | <a href="/world">World</a> | <a href="/sport">Sport</a></nav>'
            f"<main><article><h1>{html.escape(heading)}</h1>{body}</article></main>"
            "<footer><p>Copyright the publisher. All rights reserved. Cookie settings.</p></footer></body></html>")


def rtf_escape(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\\{}":
            out.append("\\" + ch)
        elif code < 128:
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code if code < 32768 else code - 65536}?")
        else:  # astral characters: a UTF-16 surrogate pair, each as \\uN
            code -= 0x10000
            for unit in (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)):
                out.append(f"\\u{unit - 65536}?")
    return "".join(out)


def write_rtf(path: Path, title: Optional[str], paragraphs: Sequence[str], heading: bool = False) -> None:
    """An RTF document as word processors write it: font table, info group with the title, \\uN escapes;
    with `heading`, the title is also the first, bold paragraph."""
    info = f"{{\\info{{\\title {rtf_escape(title)}}}}}" if title else ""
    body = "".join(f"{rtf_escape(p)}\\par\n" for p in paragraphs)
    if heading and title:
        body = f"{{\\b {rtf_escape(title)}\\par}}\n" + body
    path.write_bytes((f"{{\\rtf1\\ansi\\ansicpg1252\\deff0{{\\fonttbl{{\\f0\\fswiss Helvetica;}}}}{info}\n"
                      f"\\f0\\fs24 {body}}}").encode("ascii"))


def write_markdown(path: Path, title: str, paragraphs: Sequence[str]) -> None:
    path.write_text(f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
