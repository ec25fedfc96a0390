"""The CLIR bench's data (`shared/bench`): XQuAD paragraphs and sentences, the Tatoeba and NTREX bitext, their
qrels, and the language of an item id."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TypeVar

T = TypeVar("T")

METRICS = ("nDCG@10", "Recall@100", "MRR@10", "Acc@1")


RUN_DEPTH = 100


# One unit of work: a document pool (its label, its documents) and the query sets run against it.
Task = tuple[str, list[tuple[str, str]], list[tuple[str, list[tuple[str, str]]]]]
LEVELS = {"paragraph": ("corpus", "qrels.paragraph.tsv"), "sentence": ("sentences", "qrels.sentence.tsv")}


def lang_of(item_id: str) -> str:
    """The bench's rule: the language is what follows the last '.'."""
    return item_id.rsplit(".", 1)[-1] if "." in item_id else ""


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) == 4:
                parts = [parts[0], parts[2], parts[3]]
            if len(parts) != 3:
                raise ValueError(f"{path}:{n + 1}: expected 3 or 4 columns")
            q, d, r = parts
            try:
                rel = int(float(r))
            except ValueError:
                if n == 0:
                    continue  # header
                raise
            qrels[q][d] = max(rel, qrels[q].get(d, rel))
    return qrels


@dataclass
class XquadBench:
    """The XQuAD part of the bench at one level, restricted to some languages."""

    root: Path
    level: str
    langs: list[str]
    queries: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    corpora: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: str, level: str = "paragraph", langs: Optional[Sequence[str]] = None, max_queries: Optional[int] = None,
             sample: Optional[int] = None, sample_offset: int = 0) -> "XquadBench":
        """`max_queries`: the first N queries per language; `sample`: N queries spread evenly over the
        list, starting `sample_offset` places in (the same questions in every language, since the files
        are parallel; different offsets give disjoint samples)."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {sorted(LEVELS)}")
        base = Path(root) / "xquad"
        if not base.is_dir():
            raise FileNotFoundError(f"no xquad/ folder in the bench directory {root}")
        prefix, qrels_name = LEVELS[level]
        available = sorted(p.name.split(".")[1] for p in base.glob("queries.*.jsonl"))
        chosen = list(langs) if langs else available
        unknown = [l for l in chosen if l not in available]
        if unknown:
            raise ValueError(f"languages not in the bench: {', '.join(unknown)} (available: {', '.join(available)})")
        bench = cls(Path(root), level, chosen)
        bench.qrels = read_qrels(base / qrels_name)
        for lang in chosen:
            qs = [(r["id"], r["text"]) for r in _read_jsonl(base / f"queries.{lang}.jsonl") if r["id"] in bench.qrels]
            if sample and sample < len(qs):
                qs = [qs[(i * len(qs) // sample + sample_offset) % len(qs)] for i in range(sample)]
            bench.queries[lang] = qs[:max_queries] if max_queries else qs
            bench.corpora[lang] = [(r["id"], r["text"]) for r in _read_jsonl(base / f"{prefix}.{lang}.jsonl")]
        return bench

    def pairs(self, which: str = "all") -> list[tuple[str, str]]:
        """(query language, document language) pairs: all, cross (Q != D) or mono (Q == D)."""
        out = [(q, d) for d in self.langs for q in self.langs]
        if which == "cross":
            return [(q, d) for q, d in out if q != d]
        if which == "mono":
            return [(q, d) for q, d in out if q == d]
        if which != "all":
            raise ValueError("pairs must be all, cross or mono")
        return out


@dataclass
class BitextBench:
    """Tatoeba or NTREX: each sentence's translation is the one relevant document, searched among the
    other language's sentences (Tatoeba: the other side of the same file, as in XTREME; NTREX: all 1,997
    sentences of the other language). Both directions, every language against English."""

    name: str
    tasks: list[Task]
    qrels: dict[str, dict[str, int]]
    langs: list[str]

    @classmethod
    def load(cls, root: str, name: str, langs: Optional[Sequence[str]] = None, max_queries: Optional[int] = None) -> "BitextBench":
        from .._core import normalize_lang

        base = Path(root) / name
        if not base.is_dir():
            raise FileNotFoundError(f"no {name}/ folder in the bench directory {root}")
        want = {normalize_lang(l) for l in langs} if langs else None

        def cut(xs: list[T]) -> list[T]:
            return xs[:max_queries] if max_queries else xs

        tasks: list[Task] = []
        seen: list[str] = []
        if name == "tatoeba":
            for path in sorted(base.glob("*-eng.jsonl")):
                rows = _read_jsonl(path)
                code = rows[0]["src_lang"]
                if want and normalize_lang(code) not in want:
                    continue
                seen.append(code)
                src = [(r["src_id"], r["src_text"]) for r in rows]
                eng = [(r["tgt_id"], r["tgt_text"]) for r in rows]
                tasks.append((f"eng-of-{code}", eng, [(code, cut(src))]))
                tasks.append((code, src, [("eng", cut(eng))]))
        elif name == "ntrex":
            by_lang = {p.name.split(".")[1]: [(r["id"], r["text"]) for r in _read_jsonl(p)] for p in sorted(base.glob("sentences.*.jsonl"))}
            others = [c for c in by_lang if c != "eng" and (not want or normalize_lang(c) in want)]
            seen = others
            tasks.append(("eng", by_lang["eng"], [(c, cut(by_lang[c])) for c in others]))
            for c in others:
                tasks.append((c, by_lang[c], [("eng", cut(by_lang["eng"]))]))
        else:
            raise ValueError(f"unknown bitext dataset {name!r}")
        if not tasks:
            raise ValueError(f"no {name} languages match {', '.join(langs or [])}")
        return cls(name, tasks, read_qrels(base / "qrels.tsv"), seen)
