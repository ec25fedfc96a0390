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

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, TypeVar

from .._core import normalize_lang
from ..errors import IndexLockedError, InvalidInputError, WriterBusyError, XlqeError
from ..filters import Filter
from ..index import Document, Hit, Index, StoredDocument
from ..ingest.sources import guess_language
from ..search import MODES, Explanation, ListEntry, SearchEngine

if TYPE_CHECKING:
    from ..expansion import Expansion

T = TypeVar("T")
# JSON documents embedded and added per batch.
WRITE_BATCH = 256
# Format names as the ingest metadata writes them; file suffixes and short names map onto them.
FORMAT_ALIASES = {"md": "markdown", "txt": "text", "htm": "html", "xhtml": "html", "rst": "text", "org": "text"}
SNIPPET_CHARS = 240


def format_name(value: str) -> str:
    value = value.lower().lstrip(".")
    return FORMAT_ALIASES.get(value, value)


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
            from ..shard import MANIFEST_NAME, is_sharded

            # A sharded index's manifest is rewritten by each of its commits, as one index's is.
            st = os.stat(os.path.join(self.path, MANIFEST_NAME if is_sharded(self.path) else "xlqe.manifest"))
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
        where = Filter(paths=[path] if path else (), formats=[format_name(fmt)] if fmt else ()) if (path or fmt) else None
        found = engine.search(query, k=k, mode=mode, lang=lang, langs=langs, explain=explain,
                              expansions=expansions, snippets=True, snippet_chars=SNIPPET_CHARS, where=where)
        warnings.extend(str(w) for w in found.warnings)
        hits = list(found)
        documents = {h.id: engine.index.get(h.id) for h in hits}
        hits = [self._with_expansion_snippet(engine, h, query, expansions) for h in hits]
        if explain:
            hits = [h if h.explanation is not None else
                    h._replace(explanation=Explanation.single(lang, str(mode), ListEntry(rank, h.score, 1.0)))
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
            "model": None if not vectors else {"encoder": vectors.model or (encoder.name if encoder else None),
                                               "dims": vectors.dims, "vectors": index.vector_count,
                                               "passages": index.passage_count},
            "llm": getattr(expander, "model_name", None),
            "modes": [m for m in MODES if m == "bm25" or engine.has_dense],
            "uptime_s": round(time.time() - self.started, 1),
        }

    # -- writing ----------------------------------------------------------------------------------
    def _write(self, change: Callable[[Index], T]) -> tuple[T, int]:
        with self._write_lock:
            try:
                from ..shard import open_index

                writer = open_index(self.path, writer=True)  # an Index, or a ShardedIndex with the same writes
            except IndexLockedError as e:
                raise WriterBusyError("the index is being written by another process (it holds the writer lock "
                                      f"{os.path.join(self.path, 'xlqe.lock')}, e.g. `xlqe index`); nothing was "
                                      "changed: try again when it has finished") from e
            try:
                out = change(writer)  # type: ignore[arg-type]
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
        vectors, passages = encoder.encode_documents([d.text for d in docs], settings.passage_tokens or 0,
                                                     settings.passage_stride or 0)
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

    def sync_paths(self, paths: Sequence[str], lang: Optional[str] = None) -> dict[str, Any]:
        """Syncs folders and files into the index as `xlqe index` does (`ingest.sync.Syncer`: new and
        changed files indexed, unchanged ones not re-read, files gone from a folder removed); the writer
        lock is held for that one sync. Returns the sync's summary with the new generation."""
        from ..ingest.report import canonical
        from ..ingest.sync import Syncer

        missing = [p for p in paths if not os.path.exists(p)]
        if missing:  # before the lock is taken: nothing is changed
            raise InvalidInputError(f"no such file or folder: {', '.join(missing)}")
        # Syncer commits its own steps; _write's closing commit then has nothing left to write.
        report, generation = self._write(lambda writer: Syncer(writer, self._engine.encoder, lang=lang)
                                         .sync([canonical(p) for p in paths]))
        return {**report.as_dict(), "summary": report.summary(), "generation": generation}

    def watch(self, paths: Sequence[str], stop: "threading.Event", debounce_ms: int = 500) -> "threading.Thread":
        """Keeps the index in step with `paths` in a background thread (`ingest.watch.watch`): a sync now
        and after each debounced burst of changes, until `stop` is set. A round that cannot take the
        writer lock (another writer is busy) or fails is reported on stderr and retried on the next
        change; the server keeps serving."""
        from ..ingest.report import SyncReport
        from ..ingest.watch import watch

        def one_round() -> SyncReport:
            try:
                report = self.sync_paths(paths)
                print(f"xlqe serve: synced {', '.join(paths)}: {report['summary']}", file=sys.stderr, flush=True)
            except XlqeError as e:
                print(f"xlqe serve: warning: sync of {', '.join(paths)} failed: {e}", file=sys.stderr, flush=True)
            return SyncReport()

        thread = threading.Thread(target=watch, args=(one_round, list(paths)),
                                  kwargs={"debounce_ms": debounce_ms, "stop_event": stop}, name="xlqe-watch",
                                  daemon=True)
        thread.start()
        return thread
