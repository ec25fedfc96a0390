"""Extraction of real files in every supported format, made here by the libraries that write them in the
wild, and every kind of bad input, each with its reason."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support.docfiles import (chromium, html_page, write_docx, write_epub, write_markdown, write_odt, write_pdf_chromium,
                      write_pdf_pages, write_pdf_story, write_rtf)
from xlqe_lite import InvalidInputError
from xlqe_lite.ingest import FORMATS, Extracted, ExtractionError, detect_format, extract

RU = "Москва — столица России, город на реке Москве."
DE = "Die Häuser am See sind schön, und die Straßen sind ruhig."
ZH = "他们说“别戴着那顶帽子出去”。"


def _consistent(result: Extracted) -> Extracted:
    """Every section sits at its offset in the whole text, and the sections make up the text."""
    assert result.sections
    for s in result.sections:
        assert result.text[s.start:s.start + len(s.text)] == s.text
    assert result.text == "\n\n".join(s.text for s in result.sections)
    return result


def _reason(path: Path, **kwargs) -> str:
    with pytest.raises(ExtractionError) as info:
        extract(path, **kwargs)
    assert isinstance(info.value, InvalidInputError)
    assert info.value.path == path and str(info.value)
    return info.value.reason


# --- PDF ---------------------------------------------------------------------------------------------------

def test_pdf_text_per_page_with_page_numbers_and_title(tmp_path) -> None:
    path = tmp_path / "report.pdf"
    write_pdf_pages(path, [["The first page speaks of the harbour.", "A second line."], [], [RU, DE]],
                    title="Quarterly report", lang="ru")
    result = _consistent(extract(path))
    assert result.format == "pdf" and result.title == "Quarterly report"
    assert [s.page for s in result.sections] == [1, 3]  # the blank page 2 holds no text
    assert "The first page speaks of the harbour." in result.sections[0].text
    assert RU in result.sections[1].text and DE in result.sections[1].text


def test_pdf_cjk_text(tmp_path) -> None:
    path = tmp_path / "zh.pdf"
    write_pdf_pages(path, [[ZH]], lang="zh")
    assert ZH in extract(path).text


def test_pdf_hyphen_at_a_line_end_is_kept(tmp_path) -> None:
    path = tmp_path / "hyphen.pdf"
    write_pdf_pages(path, [["The boy was a 16-year-", "old from the town."]])
    assert extract(path).text == "The boy was a 16-year-old from the town."


def test_pdf_encrypted_is_refused(tmp_path) -> None:
    path = tmp_path / "secret.pdf"
    write_pdf_pages(path, [["Nothing to see without the password."]], encrypt="secret")
    assert _reason(path) == "encrypted"


def test_pdf_damaged_and_truncated(tmp_path) -> None:
    path = tmp_path / "ok.pdf"
    write_pdf_pages(path, [["A page of text that will be cut short."]] * 3)
    data = path.read_bytes()
    header_only = tmp_path / "header.pdf"
    header_only.write_bytes(data[:16])
    assert _reason(header_only) == "damaged"
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\n" + random.Random(1).randbytes(5000))
    assert _reason(garbage) in ("damaged", "empty")


@pytest.mark.parametrize("source", ["reportlab", "chromium-arabic"])
def test_pdfium_survives_corrupted_files_in_process(tmp_path, source) -> None:
    """Truncations and byte flips of a real PDF, read in one process: each is text or an ExtractionError,
    and the process lives to print the tally (a crash in PDFium would kill it). The Arabic one goes
    through the repair of shaped text (`_pdf_text`), which walks PDFium's objects and marks."""
    path = tmp_path / "ok.pdf"
    if source == "reportlab":
        write_pdf_pages(path, [[f"Page {i} holds a line about the river."] for i in range(5)], title="River")
    else:
        _chromium_pdf(path, "ar", SHAPED_LINES["ar"] * 3)
    script = f"""
import random, sys
from pathlib import Path
from xlqe_lite.ingest import extract, ExtractionError
data = Path({str(path)!r}).read_bytes()
rng = random.Random(7)
out = Path({str(tmp_path)!r}) / "bad.pdf"
ok = failed = 0
for i in range(60):
    if i < 20:
        bad = data[: max(1, len(data) * i // 20)]
    else:
        bad = bytearray(data)
        for _ in range(rng.randint(1, 40)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        bad = bytes(bad)
    out.write_bytes(bad)
    try:
        extract(out)
        ok += 1
    except ExtractionError as e:
        assert e.reason in ("damaged", "empty", "encrypted"), e.reason
        failed += 1
print(ok, failed)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ok, failed = map(int, proc.stdout.split())
    assert ok + failed == 60 and failed >= 1


def test_pdf_time_budget(tmp_path) -> None:
    path = tmp_path / "long.pdf"
    write_pdf_pages(path, [[f"Page {i}."] for i in range(200)])
    assert _reason(path, timeout=1e-6) == "timeout"
    assert len(extract(path, timeout=None).sections) == 200


def test_markdown_time_budget(tmp_path) -> None:
    path = tmp_path / "long.md"
    path.write_text("# Heading\n\nSome *text* with [links](x) and `code`.\n\n- item\n- item\n\n" * 50_000,
                    encoding="utf-8")
    assert _reason(path, timeout=0.05) == "timeout"


def test_pdf_story_wraps_and_reads_back(tmp_path) -> None:
    path = tmp_path / "story.pdf"
    paragraphs = [DE * 3, RU * 3]
    write_pdf_story(path, "Eine Geschichte", paragraphs, "de")
    text = " ".join(extract(path).text.split())
    assert "Eine Geschichte" in text and "Die Häuser am See" in text and "столица России" in text


# Lines short enough to print on one line of an A4 page, in scripts whose PDFs hold shaped glyphs: Thai and
# Devanagari clusters that Chromium wraps in /ActualText spans over several glyphs, Arabic and Hebrew drawn
# right to left (with a Latin word, digits and a percent sign among them), and a Latin line beside them.
SHAPED_TITLES = {"th": "ข่าววันนี้", "hi": "आज की ख़बरें", "ar": "أخبار اليوم", "he": "החדשות היום", "de": "Nachrichten"}
SHAPED_LINES = {
    "th": ["วอร์เรนจะเดินทางไปกรุงเทพมหานครในวันพรุ่งนี้ เพื่อพบกับรัฐมนตรี", "ผู้ประท้วงหลายพันคนเดินขบวนบนถนน"],
    "hi": ["सरकार ने कहा कि बातचीत जारी रहेगी", "विद्यार्थियों की संख्या 2019 में बढ़ी।"],
    "ar": ["في عام 2019 قالت شركة Apple إن الأرباح ارتفعت بنسبة 15%.", "وقال المتحدث باسم الوزارة إن الاجتماع سيعقد يوم الثلاثاء.",
           "لا تزال العلاقة مستعرة، مستعينًا بالمبادئ الأساسية للأمم المتحدة.", "1953."],  # lam-alef, tanween, digits alone
    "he": ["הממשלה הודיעה כי השיחות יימשכו בשבוע הבא.", "בשנת 2020 ביקרו בעיר 300 אלף תיירים."],
    "de": [DE, "Im Jahr 2019 stieg der Umsatz um 15%."],
}


def _chromium_pdf(path: Path, lang: str, paragraphs: list[str]) -> Path:
    if chromium() is None:
        pytest.fail("chromium is missing: `make browser` installs Debian's chromium")
    write_pdf_chromium(path, SHAPED_TITLES[lang], paragraphs, lang, rtl=lang in ("ar", "he"))
    return path


@pytest.mark.parametrize("lang", sorted(SHAPED_LINES))
def test_pdf_shaped_and_right_to_left_text_as_browsers_print_it(tmp_path, lang) -> None:
    """Each line comes back exactly as written: no repeated Thai clusters, no spaces inside Devanagari words,
    Arabic and Hebrew in reading order with their Latin words and numbers as written."""
    lines = SHAPED_LINES[lang]
    result = _consistent(extract(_chromium_pdf(tmp_path / f"{lang}.pdf", lang, lines)))
    got = result.text.splitlines()
    assert got == [SHAPED_TITLES[lang]] + lines, got  # the <h1> heading, then one line per paragraph
    assert result.title == SHAPED_TITLES[lang]


def test_pdf_pages_past_half_the_time_budget_keep_pdfiums_text(tmp_path, monkeypatch) -> None:
    """Repairing costs tens of microseconds a character: once half the time budget is used, pages keep
    PDFium's own text (Thai clusters repeated), so a long book is indexed rather than refused."""
    from xlqe_lite.ingest import _pdf

    path = _chromium_pdf(tmp_path / "th.pdf", "th", SHAPED_LINES["th"])
    assert SHAPED_LINES["th"][0] in extract(path, timeout=60).text
    monkeypatch.setattr(_pdf, "REPAIR_BUDGET_SHARE", 1.0)  # as if the budget were half used already
    text = extract(path, timeout=60).text
    assert "วอร์เร์รนจะ" in text and SHAPED_LINES["th"][0] not in text
    assert SHAPED_LINES["th"][0] in extract(path, timeout=None).text  # no budget: always repaired


def test_pdf_right_to_left_paragraph_wrapped_over_lines(tmp_path) -> None:
    """A long Arabic paragraph wraps over several lines; each line is put in reading order on its own, so
    the whole paragraph reads back in order with its spaces (a line break stands where the page wraps)."""
    paragraph = " ".join(SHAPED_LINES["ar"][:3] * 4)
    text = extract(_chromium_pdf(tmp_path / "ar-long.pdf", "ar", [paragraph])).text
    body = text.split("\n", 1)[1]
    assert body.count("\n") >= 2  # it did wrap
    assert " ".join(body.split()) == paragraph


# --- DOCX and ODT ------------------------------------------------------------------------------------------

def test_docx_headings_are_chapters(tmp_path) -> None:
    path = tmp_path / "notes.docx"
    write_docx(path, "Travel notes", [(None, ["Before the first heading."]), ("Berlin", [DE]), ("Moscow", [RU, "Last."])])
    result = _consistent(extract(path))
    assert result.format == "docx" and result.title == "Travel notes"
    chapters = {s.chapter: s.text for s in result.sections}
    assert DE in chapters["Berlin"] and RU in chapters["Moscow"] and "Last." in chapters["Moscow"]
    assert chapters["Berlin"].startswith("Berlin\n")


def test_docx_core_title_and_tables(tmp_path) -> None:
    import docx

    path = tmp_path / "table.docx"
    d = docx.Document()
    d.core_properties.title = "Price list"
    d.add_paragraph("Prices this week:")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Äpfel", "2 €"
    table.cell(1, 0).text, table.cell(1, 1).text = "Birnen", "3 €"
    d.save(str(path))
    result = _consistent(extract(path))
    assert result.title == "Price list"
    assert "Äpfel\t2 €" in result.text and "Birnen\t3 €" in result.text


def test_odt_headings_and_title(tmp_path) -> None:
    path = tmp_path / "letter.odt"
    write_odt(path, "A letter", [(None, ["Dear friend,"]), ("News", [DE, RU])])
    result = _consistent(extract(path))
    assert result.format == "odt" and result.title == "A letter"
    assert result.sections[0].text == "Dear friend," and result.sections[0].chapter is None
    assert result.sections[1].chapter == "News" and RU in result.sections[1].text


def test_odt_encrypted(tmp_path) -> None:
    path = tmp_path / "locked.odt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("META-INF/manifest.xml",
                   '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
                   '<manifest:encryption-data manifest:checksum-type="SHA1" manifest:checksum="x"/>'
                   "</manifest:file-entry></manifest:manifest>")
        z.writestr("content.xml", os.urandom(2000))
    assert _reason(path) == "encrypted"


def test_docx_office_encrypted_and_damaged(tmp_path) -> None:
    ole = tmp_path / "protected.docx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4000))
    assert _reason(ole) == "encrypted"
    good = tmp_path / "good.docx"
    write_docx(good, "T", [(None, ["text"])])
    cut = tmp_path / "cut.docx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert _reason(cut) == "damaged"
    not_docx = tmp_path / "other.docx"
    with zipfile.ZipFile(not_docx, "w") as z:
        z.writestr("hello.txt", "not a word document")
    assert _reason(not_docx) == "damaged"


def _bomb(path: Path, member: str, size: int, extra: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, text in extra.items():
            z.writestr(name, text)
        with z.open(member, "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)


def test_zip_bombs_in_docx_and_epub(tmp_path) -> None:
    docx_bomb = tmp_path / "bomb.docx"
    _bomb(docx_bomb, "word/media/image1.png", 64 << 20, {"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"})
    assert docx_bomb.stat().st_size < 1 << 20
    assert _reason(docx_bomb) == "zip-bomb"
    epub_bomb = tmp_path / "bomb.epub"
    _bomb(epub_bomb, "OEBPS/ch1.xhtml", 64 << 20, {"mimetype": "application/epub+zip"})
    assert _reason(epub_bomb) == "zip-bomb"


def test_zip_expanding_beyond_the_budget_is_too_large(tmp_path) -> None:
    path = tmp_path / "big.docx"
    rng = random.Random(3)
    words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega", "sigma"]) for _ in range(400_000))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", words)
    size = path.stat().st_size
    assert size < len(words) < 100 * size  # compressible, but not bomb-like
    assert _reason(path, max_bytes=size + 1000) == "too-large"


# --- EPUB ----------------------------------------------------------------------------------------------------

def test_epub_chapters_in_spine_order_with_toc_names(tmp_path) -> None:
    path = tmp_path / "book.epub"
    write_epub(path, "A small book", [("Chapter One: Arrival", ["They arrived at dawn.", DE]), ("Глава вторая", [RU])])
    result = _consistent(extract(path))
    assert result.format == "epub" and result.title == "A small book"
    assert [s.chapter for s in result.sections] == ["Chapter One: Arrival", "Глава вторая"]
    assert "They arrived at dawn." in result.sections[0].text and RU in result.sections[1].text
    assert "margin" not in result.text  # the chapter's <style>


def test_epub2_ncx_names(tmp_path) -> None:
    path = tmp_path / "old.epub"
    write_epub(path, "Old book", [("Opening", ["One."]), ("Closing", ["Two."])], nav=False)
    assert [s.chapter for s in extract(path).sections] == ["Opening", "Closing"]


def test_epub_with_drm_and_without_package(tmp_path) -> None:
    drm = tmp_path / "drm.epub"
    write_epub(drm, "Locked", [("One", ["Text."])])
    with zipfile.ZipFile(drm, "a") as z:
        z.writestr("META-INF/encryption.xml",
                   '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                   'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
                   '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
                   '<enc:CipherData><enc:CipherReference URI="OEBPS/text/ch1.xhtml"/></enc:CipherData>'
                   "</enc:EncryptedData></encryption>")
    assert _reason(drm) == "encrypted"
    broken = tmp_path / "broken.epub"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
    assert _reason(broken) == "damaged"


# --- HTML, RTF, Markdown ---------------------------------------------------------------------------------------

def test_html_main_text_only_and_title(tmp_path) -> None:
    path = tmp_path / "page.html"
    paragraphs = ["The council met on Tuesday to discuss the new bridge over the river, which has been delayed twice.",
                  "Engineers said the foundations were sound, but the steel had arrived late from the mill.",
                  "Residents asked whether the footpath would stay open while the work went on through the winter."]
    path.write_text(html_page("Bridge delayed again | City News", "Bridge delayed again", paragraphs), encoding="utf-8")
    result = _consistent(extract(path))
    assert result.format == "html" and result.title == "Bridge delayed again | City News"
    for p in paragraphs:
        assert p in result.text
    for noise in ("UA-000000-1", "dataLayer", "font-family", "Home", "Sport", "Cookie settings"):
        assert noise not in result.text


def test_html_short_page_falls_back_to_body_text(tmp_path) -> None:
    path = tmp_path / "short.htm"
    path.write_text("<html><head><title>Tiny</title><script>var UA = 1;</script></head>"
                    "<body><nav>Menu</nav><div>Ok.</div></body></html>", encoding="utf-8")
    result = extract(path)
    assert result.text == "Ok." and result.title == "Tiny"


def test_html_page_too_big_for_trafilatura_takes_the_body_text(tmp_path, monkeypatch) -> None:
    from xlqe_lite.ingest import _html

    monkeypatch.setattr(_html, "MAX_MAIN_TEXT_ELEMENTS", 100)
    paragraphs = [f"Paragraph {i} of a very long page about the history of the river." for i in range(300)]
    path = tmp_path / "long.html"
    path.write_text(html_page("Long page", "A long page", paragraphs), encoding="utf-8")
    result = extract(path)
    assert result.title == "Long page" and all(p in result.text for p in paragraphs)
    assert "Home" not in result.text and "UA-000000-1" not in result.text and "Cookie settings" not in result.text


def test_rtf_text_title_and_escapes(tmp_path) -> None:
    path = tmp_path / "memo.rtf"
    write_rtf(path, "Memo über Москва", [DE, RU, ZH])
    result = _consistent(extract(path))
    assert result.format == "rtf" and result.title == "Memo über Москва"
    for p in (DE, RU, ZH):
        assert p in result.text
    assert "\\" not in result.text and "fonttbl" not in result.text and "Helvetica" not in result.text
    legacy = tmp_path / "legacy.rtf"
    legacy.write_bytes(b"{\\rtf1\\ansi\\ansicpg1252 Caf\\'e9 cr\\'e8me\\par}")
    assert extract(legacy).text == "Café crème"
    bad = tmp_path / "bad.rtf"
    bad.write_bytes(b"This is not RTF at all.")
    assert _reason(bad) == "damaged"


def test_markdown_as_plain_text(tmp_path) -> None:
    path = tmp_path / "readme.md"
    path.write_text("# Field notes\n\nWe saw **three** herons and a `kingfisher` near [the weir](http://x.org).\n\n"
                    "## Later\n\n- a grey wagtail\n- ![alt: an otter](otter.png)\n\n| bird | count |\n|---|---|\n"
                    "| heron | 3 |\n", encoding="utf-8")
    result = _consistent(extract(path))
    assert result.format == "markdown" and result.title == "Field notes"
    assert "We saw three herons and a kingfisher near the weir." in result.text
    assert "an otter" in result.text and "heron\t3" in result.text
    for mark in ("#", "*", "`", "[", "](", "|", "http"):
        assert mark not in result.text
    assert [s.chapter for s in result.sections] == ["Field notes", "Later"]
    front = tmp_path / "post.markdown"
    front.write_text("---\ntitle: \"A post\"\ndate: 2020-01-01\n---\nBody text.\n", encoding="utf-8")
    assert (extract(front).title, extract(front).text) == ("A post", "Body text.")


# --- plain text in any encoding ----------------------------------------------------------------------------------

FR = "Le café crème était très chaud, et nous avons mangé des crêpes à la française près de la fenêtre."


@pytest.mark.parametrize("encoding,text", [
    ("latin-1", FR), ("cp1252", FR + " « Ça coûte 5 € »"), ("utf-16", RU), ("utf-16-le", DE + " " + RU),
    ("utf-16-be", DE), ("utf-8-sig", ZH), ("utf-8", ZH + RU), ("shift_jis", "日本語のテキストです。東京は晴れでした。" * 3),
    ("koi8-r", RU.replace("—", "-") * 3), ("gb18030", "北京是中华人民共和国的首都，也是政治和文化中心。" * 3),
])
def test_text_in_common_encodings(tmp_path, encoding: str, text: str) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(text.encode(encoding))
    result = extract(path)
    assert result.text == text and result.format == "text" and result.encoding


# --- bad input ---------------------------------------------------------------------------------------------------

def test_bad_files_each_have_a_reason(tmp_path) -> None:
    png = tmp_path / "image.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    assert _reason(png) == "binary"
    noisy = tmp_path / "noise.md"
    noisy.write_bytes(bytes(random.Random(5).randrange(1, 32) for _ in range(5000)))
    assert _reason(noisy) == "binary"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert _reason(empty) == "empty"
    blank = tmp_path / "blank.md"
    blank.write_text("\n\n   \n\t\n", encoding="utf-8")
    assert _reason(blank) == "empty"
    blank_pdf = tmp_path / "blank.pdf"
    write_pdf_pages(blank_pdf, [[], []])
    assert _reason(blank_pdf) == "empty"
    unknown = tmp_path / "photo.jpeg"
    unknown.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    assert _reason(unknown) == "unsupported-type"
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000, encoding="utf-8")
    assert _reason(big, max_bytes=4000) == "too-large"
    assert _reason(tmp_path / "missing.txt") == "unreadable"
    assert _reason(tmp_path) == "unreadable"


def test_detect_format_by_suffix_then_content(tmp_path) -> None:
    assert FORMATS[".pdf"] == "pdf" and FORMATS[".md"] == "markdown" and ".json" not in FORMATS
    made = {
        "pdf": lambda p: write_pdf_pages(p, [["x"]]),
        "docx": lambda p: write_docx(p, "t", [(None, ["x"])]),
        "odt": lambda p: write_odt(p, "t", [(None, ["x"])]),
        "epub": lambda p: write_epub(p, "t", [("c", ["x"])]),
        "rtf": lambda p: write_rtf(p, "t", ["x"]),
        "html": lambda p: p.write_text(html_page("t", "h", ["x"])),
        "text": lambda p: p.write_bytes(FR.encode("latin-1")),
    }
    for fmt, write in made.items():
        path = tmp_path / f"noext-{fmt}"
        write(path)
        assert detect_format(path) == fmt, fmt
    binary = tmp_path / "noext-bin"
    binary.write_bytes(bytes(range(256)) * 4)
    assert detect_format(binary) is None
    md = tmp_path / "x.MD"
    write_markdown(md, "Title", ["Body."])
    assert detect_format(md) == "markdown" and extract(md).title == "Title"


# --- the isolated worker -------------------------------------------------------------------------------------

def test_isolated_worker_reads_files_and_survives_kills_and_hangs(tmp_path) -> None:
    import signal
    import threading

    from xlqe_lite.ingest.isolated import IsolatedExtractor

    book = tmp_path / "book.epub"
    write_epub(book, "A small book", [("One", [DE]), ("Two", [RU])])
    slow = tmp_path / "long.rtf"  # 3 MB: striprtf reads it in one call of seconds, with no budget checks
    write_rtf(slow, "Long", [DE] * 40_000)
    with IsolatedExtractor(grace=0.0) as ex:
        assert ex.extract(book) == extract(book)
        with pytest.raises(ExtractionError) as info:
            ex.extract(tmp_path / "missing.txt")
        assert info.value.reason == "unreadable"
        # A worker killed mid-file (as a crash in a C library would end it): that file fails, the next works.
        pid = ex.pid
        assert pid is not None
        killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
        killer.start()
        with pytest.raises(ExtractionError) as info:
            ex.extract(slow, timeout=None)
        killer.join()
        assert info.value.reason == "damaged" and "died" in str(info.value)
        assert ex.extract(book).title == "A small book" and ex.pid != pid
        # Past the budget the worker is stopped from outside, whatever the library is doing.
        pid = ex.pid
        with pytest.raises(ExtractionError) as info:
            ex.extract(slow, timeout=0.3)
        assert info.value.reason == "timeout" and ex.pid is None
        assert ex.extract(book).format == "epub" and ex.pid != pid


# --- text clean-up in pieces -------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xlqe_lite.ingest._base import _clean_piece, clean_text  # noqa: E402

_TRICKY = st.lists(st.sampled_from(list("ab \t\u00a0\n\r\u2028\u2029\x00\x07\x85\ufffe") + ["\r\n", "\n\n\n"]),
                   max_size=200).map("".join)


@settings(max_examples=400, deadline=None)
@given(_TRICKY, st.integers(min_value=1, max_value=40))
def test_clean_text_in_pieces_equals_cleaning_it_whole(text: str, chunk: int) -> None:
    """Long texts are cleaned piece by piece (a 100 MB file no longer peaks at four copies of its text);
    cut anywhere the rules allow, the result is the whole text's, with line breaks, controls, trailing
    spaces, blank runs and the ends' whitespace at every boundary."""
    assert clean_text(text, chunk=chunk) == _clean_piece(text).strip()


def test_a_large_text_file_is_cleaned_in_pieces_the_same(tmp_path) -> None:
    bell = "\x07"  # a control character now and then (a file full of them is binary)
    body = "".join(f"Zeile {i} \t\r\n\r\n\r\n{RU}{bell * (i % 50 == 0)}\u2028" for i in range(60_000))  # ~4.3 M chars
    path = tmp_path / "big.txt"
    path.write_text(body, encoding="utf-8", newline="")
    result = extract(path)
    assert len(body) > 2 * 1 << 20
    assert result.text == _clean_piece(body).strip() and result.text.startswith("Zeile 0\n\n" + RU)
