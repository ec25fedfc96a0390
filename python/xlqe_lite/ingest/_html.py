"""HTML: the main text with trafilatura, the title from <title>; lxml's text of <body> as the fallback."""

from __future__ import annotations

import copy
from typing import Any, Optional

from ._base import Extracted, assemble
from ..errors import ExtractionError

# Never text: code, styling, navigation and page furniture (a page's own header and footer, not an article's).
_FURNITURE = ("//script", "//style", "//noscript", "//template", "//nav", "//*[@role='navigation']",
              "//*[@hidden]", "//*[@aria-hidden='true']", "//header[not(ancestor::article or ancestor::main)]",
              "//footer[not(ancestor::article or ancestor::main)]", "//aside", "//form", "//svg", "//math",
              "//iframe", "//object", "//embed", "//canvas", "//select", "//button")
# trafilatura's time grows faster than the page (measured on 2 busy cores: 15,000 elements 2.5 s, 60,000
# 13 s, a 24 MB page of 360,000 elements 431 s and 0.97 GB). Larger pages take the linear body-text path.
MAX_MAIN_TEXT_ELEMENTS = 50_000
_BLOCK = frozenset("address article blockquote br dd div dl dt figcaption h1 h2 h3 h4 h5 h6 hr li main ol p pre "
                   "section table td th tr ul".split())


def parse_html(data: bytes) -> Any:
    """The lxml tree of an HTML or XHTML document (encoding from its BOM, XML declaration or <meta>)."""
    from trafilatura.utils import load_html

    try:
        tree = load_html(data)
    except Exception as e:  # lxml raises ParserError/ValueError on documents it cannot make a tree of
        raise ExtractionError("damaged", f"the HTML cannot be parsed ({type(e).__name__}: {e})") from None
    if tree is None:
        raise ExtractionError("damaged", "the HTML cannot be parsed")
    return tree


def html_title(tree: Any) -> Optional[str]:
    """<title>, else og:title, else the first <h1>."""
    for xpath in ("//head/title", "//title"):
        for node in tree.xpath(xpath):
            text = str(node.text_content()).strip()
            if text:
                return text
    for node in tree.xpath("//meta[@property='og:title']/@content"):
        if str(node).strip():
            return str(node).strip()
    for node in tree.xpath("//h1"):
        text = str(node.text_content()).strip()
        if text:
            return text
    return None


def first_heading(tree: Any) -> Optional[str]:
    for node in tree.xpath("//body//*[self::h1 or self::h2 or self::h3]"):
        text = str(node.text_content()).strip()
        if text:
            return text
    return None


def without_furniture(tree: Any, copy_tree: bool = True) -> Any:
    """`tree` (a copy, unless `copy_tree` is False) without scripts, styles, navigation and the page's header
    and footer."""
    if copy_tree:
        tree = copy.deepcopy(tree)
    for node in tree.xpath(" | ".join(_FURNITURE)):
        if node.getparent() is not None:
            node.drop_tree()
    return tree


def body_text(tree: Any, copy_tree: bool = True) -> str:
    """All the text of <body> in reading order, one line per block, without scripts, styles or navigation.
    With `copy_tree` False, `tree` itself is changed (no copy of a big page is made)."""
    tree = without_furniture(tree, copy_tree)
    bodies = tree.xpath("//body")
    root = bodies[0] if bodies else tree
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag.lower() in _BLOCK:
            node.tail = "\n" + (node.tail or "")
            if node.tag.lower() == "br":
                continue
            node.text = "\n" + (node.text or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def main_text(tree: Any) -> str:
    """The main text of a web page: trafilatura's, or the body text when trafilatura finds none (short pages)
    or the page has more than MAX_MAIN_TEXT_ELEMENTS elements. `tree` may be changed."""
    import trafilatura

    elements = 0
    for _ in tree.iter():
        elements += 1
        if elements > MAX_MAIN_TEXT_ELEMENTS:
            return body_text(tree, copy_tree=False)
    text = None
    try:
        text = trafilatura.extract(without_furniture(tree), output_format="txt", include_comments=False, include_tables=True,
                                   favor_recall=True, with_metadata=False, deduplicate=False)
    except Exception:  # trafilatura's heuristics failing on one page leave the fallback below
        text = None
    if not text or not text.strip():
        text = body_text(tree, copy_tree=False)
    return text


def extract_html(data: bytes) -> Extracted:
    tree = parse_html(data)
    title = html_title(tree)
    return assemble("html", title, [(main_text(tree), None, None)])
