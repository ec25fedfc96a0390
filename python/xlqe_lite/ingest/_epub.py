"""EPUB, chapter by chapter, read with zipfile and lxml.

ebooklib, the usual EPUB library, is AGPL-3.0, which an Apache-2.0 default install cannot carry. An EPUB is
a zip: META-INF/container.xml names the OPF package file, whose <spine> lists the chapters in reading order
and whose <manifest> maps them to XHTML files; chapter names come from the EPUB 3 navigation document or
the EPUB 2 NCX. Each chapter's XHTML goes through the HTML extractor's body text (`_html.body_text`), which
drops scripts, styles and <nav>: chapters carry no web boilerplate, so trafilatura's main-text heuristics
(made for web pages) are not applied to them. XML is parsed with entity resolution and network access off.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import unquote

from ._base import Deadline, Extracted, Part, assemble
from ..errors import ExtractionError
from ._html import body_text, first_heading, html_title, parse_html
from ._zip import open_zip, read_member

# Font obfuscation (IDPF, Adobe) leaves the text readable; any other encryption of content is DRM.
_FONT_OBFUSCATION = ("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC")
_HTML_TYPES = ("application/xhtml+xml", "text/html", "application/x-dtbook+xml")


def _xml(data: bytes, what: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise ExtractionError("damaged", f"the EPUB's {what} is not XML ({e})") from None
    if root is None:
        raise ExtractionError("damaged", f"the EPUB's {what} is empty or not XML")
    return root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _resolve(base: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(href.split("#", 1)[0])))


def extract_epub(path: Path, max_bytes: int, deadline: Deadline) -> Extracted:
    with open_zip(path, max_bytes) as zf:
        names = set(zf.namelist())

        def read(name: str) -> bytes:
            return read_member(zf, name, max_bytes, deadline)

        if "META-INF/encryption.xml" in names:
            enc = _xml(read("META-INF/encryption.xml"), "encryption.xml")
            for method in enc.iter():
                if _local(method.tag) == "EncryptionMethod" and method.get("Algorithm") not in _FONT_OBFUSCATION:
                    raise ExtractionError("encrypted", "the EPUB's content is encrypted (DRM)")
        if "META-INF/container.xml" not in names:
            raise ExtractionError("damaged", "the EPUB has no META-INF/container.xml")
        container = _xml(read("META-INF/container.xml"), "container.xml")
        opf_path = next((r.get("full-path") for r in container.iter() if _local(r.tag) == "rootfile"), None)
        if not opf_path or opf_path not in names:
            raise ExtractionError("damaged", "the EPUB's container.xml names no package file it holds")
        opf = _xml(read(opf_path), "package file")
        title = next((e.text for e in opf.iter() if _local(e.tag) == "title" and (e.text or "").strip()), None)
        manifest: dict[str, tuple[str, str, str]] = {}
        spine: list[str] = []
        toc_id: Optional[str] = None
        for e in opf.iter():
            name = _local(e.tag)
            if name == "item" and e.get("id") and e.get("href"):
                manifest[e.get("id")] = (_resolve(opf_path, e.get("href")), e.get("media-type", ""), e.get("properties", ""))
            elif name == "spine":
                toc_id = e.get("toc")
            elif name == "itemref" and e.get("idref"):
                spine.append(e.get("idref"))
        labels = _toc_labels(manifest, toc_id, names, read)
        parts: list[Part] = []
        for n, idref in enumerate(spine):
            deadline.check(f"reading chapter {n + 1} of the EPUB")
            if idref not in manifest:
                continue
            href, media, _ = manifest[idref]
            if media not in _HTML_TYPES or href not in names:
                continue
            tree = parse_html(read(href))
            chapter = labels.get(href) or first_heading(tree) or html_title(tree)
            parts.append((body_text(tree), None, chapter))
    if not spine:
        raise ExtractionError("damaged", "the EPUB's package file has no spine (no chapters)")
    return assemble("epub", title, parts)


def _toc_labels(manifest: dict[str, tuple[str, str, str]], toc_id: Optional[str], names: set[str],
                read: Callable[[str], bytes]) -> dict[str, str]:
    """Chapter file -> its name in the table of contents (EPUB 3 nav document, else EPUB 2 NCX)."""
    labels: dict[str, str] = {}
    nav = next((href for href, _, props in manifest.values() if "nav" in props.split()), None)
    if nav and nav in names:
        root = _xml(read(nav), "navigation document")
        navs = [e for e in root.iter() if _local(e.tag) == "nav"]
        tocs = [e for e in navs if any(k.endswith("type") and v == "toc" for k, v in e.attrib.items())] or navs[:1]
        for toc in tocs:
            for a in toc.iter():
                if _local(a.tag) == "a" and a.get("href"):
                    text = " ".join("".join(a.itertext()).split())
                    labels.setdefault(_resolve(nav, a.get("href")), text)
    if not labels:
        ncx = manifest.get(toc_id or "") or next((m for m in manifest.values() if m[1] == "application/x-dtbncx+xml"), None)
        if ncx and ncx[0] in names:
            root = _xml(read(ncx[0]), "NCX table of contents")
            for point in root.iter():
                if _local(point.tag) != "navPoint":
                    continue
                label = next((" ".join("".join(t.itertext()).split()) for t in point.iter() if _local(t.tag) == "text"), "")
                src = next((c.get("src") for c in point if _local(c.tag) == "content"), None)
                if src and label:
                    labels.setdefault(_resolve(ncx[0], src), label)
    return {k: v for k, v in labels.items() if v}
