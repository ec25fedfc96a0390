"""The engine a server keeps in memory: loaded once, refreshed when the index gets a new commit, and
written to under the index's writer lock, taken only for the time of one write.

Reads: every request looks at the index manifest's identity (inode, size, mtime: a commit renames a new
manifest over the old one). When it changed, the engine reloads; until `SearchEngine.reload()` exists
(thread-safe reads in the engine), a new reader is opened beside the old one and swapped in, so searches
already running finish on the generation they started with.

Writes (POST /documents, DELETE /documents/{id}, POST /index): the writer lock is taken for the write
and released after its commit, so `xlqe index` can write to the same index while the server runs. When
another process holds it, the write fails with `WriterBusyError` (HTTP 409) and nothing changes.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, TypeVar

from .._core import IndexLockedError, InvalidInputError, XlqeError, normalize_lang
from ..index import Document, Hit, Index, StoredDocument
from ..ingest.sources import Skipped, guess_language, iter_documents
from ..search import MODES, SearchEngine

if TYPE_CHECKING:
    from ..expansion import Expansion

T = TypeVar("T")
# Documents embedded and added per batch when a folder is indexed.
WRITE_BATCH = 256
# With a path or format filter the engine cannot apply itself, this many hits (at least) are ranked and
# then filtered.
FILTER_DEPTH = 200
# Format names as the ingest metadata writes them; file suffixes and short names map onto them.
FORMAT_ALIASES = {"md": "markdown", "txt": "text", "htm": "html", "xhtml": "html", "rst": "text", "org": "text"}
SNIPPET_CHARS = 240


def format_name(value: str) -> str:
    value = value.lower().lstrip(".")
    return FORMAT_ALIASES.get(value, value)


class WriterBusyError(XlqeError):
    """Another process holds the index's writer lock."""


@dataclass
class SearchResult:
    """One answered search: the hits with their stored documents, and what the client should know."""

    query: str
    query_lang: Optional[str]
    mode: str
    k: int
    hits: list[Hit]
    documents: dict[str, Optional[StoredDocument]]
    expansions: list["Expansion"] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    generation: int = 0


def document_format(metadata: Mapping[str, Any]) -> Optional[str]:
    """A document's format: its "format" metadata, else its path's suffix (md, txt, pdf, ...)."""
    fmt = metadata.get("format")
    if isinstance(fmt, str) and fmt:
        return format_name(fmt)
    path = metadata.get("path")
    if isinstance(path, str):
        return format_name(os.path.splitext(path)[1]) or None
    return None


def _native_filter(path: Optional[str], fmt: Optional[str]) -> Any:
    """The engine's own filter (applied to every list before fusion) when this build has one, else None."""
    try:
        from ..filters import Filter  # type: ignore[import-not-found]
    except ImportError:
        return None
    if "where" not in inspect.signature(SearchEngine.search).parameters:
        return None
    return Filter(paths=[path] if path else (), formats=[format_name(fmt)] if fmt else ())


def _under(path: Optional[str], prefix: str) -> bool:
    if not path:
        return False
    prefix = prefix.rstrip("/") or "/"
    return path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


class ResidentEngine:
    """A `SearchEngine` held by a server: `engine()` gives the current one (refreshed on a new commit)."""

    def __init__(self, engine: SearchEngine) -> None:
        self.path = engine.index.path
        self._engine = engine
        self._stamp = self._manifest_stamp()
        self._refresh_lock = threading.Lock()
        # Only one write at a time in this process (the index allows one writer); searches never wait on it.
        self._write_lock = threading.Lock()
        self.started = time.time()

    @classmethod
    def open(cls, path: str, *, threads: Optional[int] = None, llm: Optional[str] = None,
             expansion: bool = True) -> "ResidentEngine":
        """Opens the index with its encoder and, when `expansion`, the expansion LLM (`llm` or the default)."""
        expander = None
        if expansion:
            from ..expansion import Expander

            expander = Expander(llm, threads=threads)
        return cls(SearchEngine.open(path, threads=threads, expander=expander))

    # -- reading ----------------------------------------------------------------------------------
    def _manifest_stamp(self) -> tuple[int, int, int]:
        try:
            st = os.stat(os.path.join(self.path, "xlqe.manifest"))
        except OSError:
            return (0, 0, 0)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def engine(self) -> SearchEngine:
        """The engine on the index's latest commit."""
        if self._manifest_stamp() != self._stamp:
            self.refresh()
        return self._engine

    def refresh(self) -> bool:
        """Switches to the index's latest commit; returns whether the generation changed."""
        with self._refresh_lock:
            stamp = self._manifest_stamp()
            if stamp == self._stamp:  # another request refreshed while this one waited
                return False
            old = self._engine
            before = old.index.generation
            reload = getattr(old, "reload", None)
            if callable(reload):  # the engine's own thread-safe reload
                reload()
            else:
                index = Index.open(self.path)
                if index.generation != before:
                    self._engine = SearchEngine(index, old.encoder, old.fusion, old.expander, old.pivot_lang)
                else:
                    index.close()
            self._stamp = stamp
            return self._engine.index.generation != before

    def search(self, query: str, *, k: int = 10, mode: Optional[str] = None, langs: Optional[Sequence[str]] = None,
               query_lang: Optional[str] = None, expand: Optional[str] = None, explain: bool = False,
               path: Optional[str] = None, fmt: Optional[str] = None, budget: Optional[float] = None) -> SearchResult:
        """A search as the API answers it. Raises InvalidInputError for bad input."""
        engine = self.engine()
        if not query.strip():
            raise InvalidInputError("the query is empty")
        if mode is None:
            mode = "hybrid" if engine.has_dense else "bm25"
        if mode not in MODES:
            raise InvalidInputError(f"mode must be one of {', '.join(MODES)}")
        langs = [normalize_lang(l) for l in langs] if langs else None
        lang = normalize_lang(query_lang) if query_lang else engine.guess_query_language(query)
        warnings: list[str] = []
        expansions: list["Expansion"] = []
        if expand and expand != "none":
            if engine.expander is None:
                raise InvalidInputError("query expansion is off on this server (it was started with --no-llm)")
            expansions = engine.expand(query, strategy=expand, lang=lang, langs=langs, budget=budget)
            for e in expansions:
                if not e.complete:
                    warnings.append(f"the expansion into {e.lang or lang or 'the query language'} was cut short "
                                    f"by the time budget ({budget} s); the search used what was written by then")
        where = _native_filter(path, fmt) if (path or fmt) else None
        filtered = bool(path or fmt) and where is None
        size = len(engine.index)
        depth = min(size, max(FILTER_DEPTH, 20 * k)) if filtered else k
        options: dict[str, Any] = {"where": where} if where is not None else {}
        found = engine.search(query, k=max(depth, k), mode=mode, lang=lang, langs=langs, explain=explain,  # type: ignore[arg-type]
                              expansions=expansions, snippets=not filtered, snippet_chars=SNIPPET_CHARS, **options)
        warnings.extend(str(w) for w in getattr(found, "warnings", None) or ())
        hits = list(found)
        documents = {h.id: engine.index.get(h.id) for h in hits}
        if filtered:
            fmt_name = format_name(fmt) if fmt else None

            def keep(h: Hit) -> bool:
                doc = documents.get(h.id)
                meta = doc.metadata if doc else {}
                if path and not _under(meta.get("path") if isinstance(meta.get("path"), str) else None, path):
                    return False
                return not fmt_name or document_format(meta) == fmt_name

            hits = [h for h in hits if keep(h)]
            if len(hits) < k and depth < size:
                warnings.append(f"the path/format filter was applied to the best {depth} of {size} documents")
        hits = hits[:k]
        documents = {h.id: documents[h.id] for h in hits}
        if filtered:  # snippets only for the hits kept
            hits = [engine.index._with_snippet(h, query, SNIPPET_CHARS) for h in hits]
        hits = [self._with_expansion_snippet(engine, h, query, expansions) for h in hits]
        if explain:
            hits = [h if h.explanation is not None else
                    h._replace(explanation={"query_lang": lang, mode: {"rank": rank, "score": h.score, "weight": 1.0}})
                    for rank, h in enumerate(hits, 1)]
        return SearchResult(query, lang, mode, k, hits, documents, expansions, warnings, engine.index.generation)

    @staticmethod
    def _with_expansion_snippet(engine: SearchEngine, hit: Hit, query: str, expansions: Sequence["Expansion"]) -> Hit:
        """The expansions written in the document's language highlight its own words too: a German query
        then marks the Chinese words it was translated into, not only shared names and numbers."""
        own = [t for e in expansions if e.lang and e.lang == hit.lang for t in e.texts]
        if not own:
            return hit
        found = engine.index._with_snippet(hit, " ".join([query, *own]), SNIPPET_CHARS)
        return found if len(found.highlights) > len(hit.highlights) else hit

    def document(self, doc_id: str) -> Optional[StoredDocument]:
        return self.engine().index.get(doc_id)

    def stats(self) -> dict[str, Any]:
        engine = self.engine()
        index, encoder, expander = engine.index, engine.encoder, engine.expander
        vectors = index.vector_config
        return {
            "index": index.path,
            "generation": index.generation,
            "documents": len(index),
            "languages": dict(index.languages()),
            "model": None if not vectors else {"encoder": vectors.get("model") or (encoder.name if encoder else None),
                                               "dims": vectors.get("dims"), "vectors": index.vector_count,
                                               "passages": index.passage_count},
            "llm": getattr(expander, "model_name", None),
            "modes": [m for m in MODES if m == "bm25" or engine.has_dense],
            "uptime_s": round(time.time() - self.started, 1),
        }

    # -- writing ----------------------------------------------------------------------------------
    def _write(self, change: Callable[[Index], T]) -> tuple[T, int]:
        with self._write_lock:
            try:
                writer = Index.open(self.path, writer=True)
            except IndexLockedError as e:
                raise WriterBusyError("the index is being written by another process (it holds the writer lock "
                                      f"{os.path.join(self.path, 'xlqe.lock')}, e.g. `xlqe index`); nothing was "
                                      "changed: try again when it has finished") from e
            try:
                out = change(writer)
                writer.commit()
                generation = writer.generation
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.close()
        self.refresh()
        return out, generation

    def _add(self, writer: Index, docs: Sequence[Document]) -> int:
        encoder = self._engine.encoder
        settings = writer.vector_config
        if not settings:
            return writer.add_many(docs)
        if encoder is None:
            raise InvalidInputError("this index holds vectors but the server has no encoder loaded for it")
        vectors, passages = encoder.encode_documents([d.text for d in docs], settings.get("passage_tokens", 0),
                                                     settings.get("passage_stride", 0))
        return writer.add_many(docs, vectors=vectors, passages=passages)

    def add_documents(self, docs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Adds (or replaces) JSON documents {"id", "text", "lang"?, "metadata"?}; one commit."""
        ready = []
        for d in docs:
            lang = normalize_lang(d["lang"]) if d.get("lang") else guess_language(d["text"])
            ready.append(Document(d["id"], d["text"], lang, dict(d.get("metadata") or {})))
        added, generation = self._write(lambda w: sum(self._add(w, ready[i:i + WRITE_BATCH])
                                                      for i in range(0, len(ready), WRITE_BATCH)))
        return {"added": added, "ids": [d.id for d in ready], "generation": generation}

    def delete(self, doc_id: str) -> dict[str, Any]:
        existed, generation = self._write(lambda w: w.delete(doc_id))
        return {"deleted": existed, "id": doc_id, "generation": generation}

    def index_paths(self, paths: list[str], lang: Optional[str] = None) -> dict[str, Any]:
        """Indexes files and folders as `xlqe index` does (documents with an existing id are replaced)."""
        items = iter_documents(paths, lang=lang)  # raises for a missing path before the lock is taken
        skipped: list[dict[str, str]] = []

        def change(writer: Index) -> int:
            added, batch = 0, []
            for item in items:
                if isinstance(item, Skipped):
                    skipped.append({"where": item.where, "reason": item.reason})
                    continue
                batch.append(item)
                if len(batch) >= WRITE_BATCH:
                    added += self._add(writer, batch)
                    batch = []
            return added + (self._add(writer, batch) if batch else 0)

        added, generation = self._write(change)
        return {"added": added, "skipped": skipped, "generation": generation}
