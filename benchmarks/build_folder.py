"""Build the must-reach folder of issue #15: the bench's NTREX news stories written out as real files
(.pdf .docx .odt .epub .html .md .txt .rtf) in nested folders, each non-English story in exactly one other
language, with English stories (not queried) as noise.

    python benchmarks/build_folder.py OUT [--noise 23] [--seed 0] [--verify]

OUT/docs/ is the folder to index; OUT/manifest.jsonl has one row per file: its path (relative to docs/),
story id, language, format, role ("target" or "noise") and, for targets, the English headline and first
sentence to query with (benchmarks/score_folder.py). `--verify` reads every file back with
xlqe_lite.ingest.extract and reports, per format and language, the share of the story's lines found in the
extracted text (whitespace ignored) and that the title came back. NTREX-128 is CC BY-SA 4.0 (../shared/bench/README.md).

Assignment: stories are shuffled with the seed; the first `--noise` become English noise, the rest targets.
Target i gets language LANGS[i % 12] and format FORMATS[(i + i // 12) % 8], so the first 96 targets cover
every (language, format) pair once. A story's title is its headline (NTREX line 0, in the file's language);
its body the other lines; PDF, EPUB and RTF files carry the headline as a heading in the text too. PDFs
are printed by headless Chromium when it is installed (shaped Arabic, Thai and Devanagari, as in PDFs that
browsers and office software make), else drawn with reportlab. Plain-text files are written in a legacy encoding when the language has a common
one (cp1252, cp1251, Shift-JIS, GB18030, cp1254) and the text fits it, else UTF-8; every third is UTF-16.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from collections import OrderedDict
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from support.docfiles import (chromium, html_page, write_docx, write_epub, write_markdown, write_odt,  # noqa: E402
                      write_pdf_chromium, write_pdf_story, write_rtf)

REPO = Path(__file__).resolve().parent.parent
LANGS = ["deu", "fra", "spa", "rus", "arb", "zho-CN", "jpn", "kor", "hin", "tha", "tur", "swa"]
FORMATS = ["pdf", "docx", "odt", "epub", "html", "md", "txt", "rtf"]
ISO = {"eng": "en", "deu": "de", "fra": "fr", "spa": "es", "rus": "ru", "arb": "ar", "zho-CN": "zh", "jpn": "ja",
       "kor": "ko", "hin": "hi", "tha": "th", "tur": "tr", "swa": "sw"}
LEGACY = {"deu": "cp1252", "fra": "cp1252", "spa": "cp1252", "rus": "cp1251", "jpn": "shift_jis",
          "zho-CN": "gb18030", "tur": "cp1254"}


def default_bench() -> Path:
    """$XLQE_BENCH, else shared/bench beside the checkout (or beside its worktree folder)."""
    if os.environ.get("XLQE_BENCH"):
        return Path(os.environ["XLQE_BENCH"])
    candidates = [REPO.parent / "shared" / "bench", REPO.parent.parent / "shared" / "bench"]
    return next((c for c in candidates if (c / "ntrex").is_dir()), candidates[0])


def load_stories(bench: Path) -> dict[str, OrderedDict[str, list[str]]]:
    """language -> story id -> its lines, in NTREX order."""
    out: dict[str, OrderedDict[str, list[str]]] = {}
    for lang in ["eng"] + LANGS:
        stories: OrderedDict[str, list[str]] = OrderedDict()
        with open(bench / "ntrex" / f"sentences.{lang}.jsonl", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                stories.setdefault(r["doc"], []).append(r["text"])
        out[lang] = stories
    return out


def write_story(path: Path, fmt: str, lang: str, lines: list[str], n: int, pdf_writer: str) -> str | None:
    """Writes one story as `fmt`; returns the text encoding of .txt files, the writer of PDFs."""
    title, body = lines[0], lines[1:]
    iso = ISO[lang]
    if fmt == "pdf":
        if pdf_writer == "chromium":
            write_pdf_chromium(path, title, body, iso, rtl=lang == "arb")
        else:
            write_pdf_story(path, title, body, lang)
        return pdf_writer
    elif fmt == "docx":
        write_docx(path, title, [(None, body)])
    elif fmt == "odt":
        write_odt(path, title, [(title, body)])
    elif fmt == "epub":
        half = max(1, len(body) // 2)
        write_epub(path, title, [("I", body[:half]), ("II", body[half:])], lang=iso, heading=title)
    elif fmt == "html":
        path.write_text(html_page(title, title, body, lang=iso), encoding="utf-8")
    elif fmt == "md":
        write_markdown(path, title, body)
    elif fmt == "rtf":
        write_rtf(path, title, body, heading=True)
    elif fmt == "txt":
        text = "\n\n".join([title] + body) + "\n"
        encoding = "utf-16" if n % 3 == 2 else LEGACY.get(lang, "utf-8")
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:
            encoding, data = "utf-8", text.encode("utf-8")
        path.write_bytes(data)
        return encoding
    else:
        raise ValueError(fmt)
    return None


def _squash(text: str) -> str:
    return "".join(text.split())


def verify(docs: Path, rows: list[dict], stories: dict[str, OrderedDict[str, list[str]]]) -> None:
    """Reads every file back with the extractor: lines found and titles kept, per format and language."""
    sys.path.insert(0, str(REPO / "python"))
    from xlqe_lite.ingest import ExtractionError, extract

    found: dict[str, list[int]] = {}
    failures = []
    for row in rows:
        lines = stories[row["lang"]][row["story"]]
        try:
            result = extract(docs / row["path"])
        except ExtractionError as e:
            failures.append(f"{row['path']}: {e.reason}: {e}")
            continue
        text = _squash(result.text)
        hit = sum(_squash(line) in text for line in lines)
        title_ok = result.title is not None and _squash(result.title) == _squash(lines[0])
        for key in (row["format"], row["lang"]):
            acc = found.setdefault(key, [0, 0, 0, 0])
            acc[0] += hit
            acc[1] += len(lines)
            acc[2] += title_ok
            acc[3] += 1
        missing = [line for line in lines if _squash(line) not in text]
        if missing:
            print(f"  {row['path']} ({row['lang']}): {len(missing)} of {len(lines)} lines not found, e.g. {missing[0][:60]!r}")
    for key, (hit, total, titles, files) in sorted(found.items()):
        print(f"{key:>7}: {hit}/{total} lines found ({hit / total:.1%}), titles {titles}/{files}")
    for f in failures:
        print("FAILED", f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--bench", type=Path, default=default_bench())
    ap.add_argument("--noise", type=int, default=23, help="English stories written as noise (not queried)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pdf-writer", choices=["chromium", "reportlab"], default="chromium" if chromium() else "reportlab",
                    help="chromium (headless Print to PDF: shaped text, as people's PDFs are; the default when "
                         "installed) or reportlab (draws right-to-left text in logical order, unshaped)")
    ap.add_argument("--verify", action="store_true", help="read every file back and report what was recovered")
    args = ap.parse_args()

    stories = load_stories(args.bench)
    ids = list(stories["eng"])
    random.Random(args.seed).shuffle(ids)
    docs = args.out / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    rows = []
    for i, story in enumerate(ids):
        noise = i < args.noise
        t = i - args.noise
        lang = "eng" if noise else LANGS[t % len(LANGS)]
        fmt = FORMATS[i % len(FORMATS)] if noise else FORMATS[(t + t // len(LANGS)) % len(FORMATS)]
        source = story.split(".")[0]
        rel = Path(source) / f"{i // 10:02d}" / f"story-{i:03d}.{fmt}"
        path = docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        written = write_story(path, fmt, lang, stories[lang][story], i, args.pdf_writer)
        english = stories["eng"][story]
        row = {"path": rel.as_posix(), "story": story, "lang": lang, "format": fmt,
               "role": "noise" if noise else "target", "bytes": path.stat().st_size}
        if written:
            row["pdf_writer" if fmt == "pdf" else "encoding"] = written
        if not noise:
            row["query_headline"] = english[0]
            row["query_first_sentence"] = english[1] if len(english) > 1 else english[0]
        rows.append(row)
    with open(args.out / "manifest.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    by_format: dict[str, int] = {}
    for row in rows:
        by_format[row["format"]] = by_format.get(row["format"], 0) + 1
    targets = sum(r["role"] == "target" for r in rows)
    print(f"wrote {len(rows)} files ({targets} targets in {len(LANGS)} languages, {len(rows) - targets} English noise) "
          f"to {docs}: " + ", ".join(f"{k} {v}" for k, v in sorted(by_format.items())))
    if args.verify:
        verify(docs, rows, stories)


if __name__ == "__main__":
    main()
