"""Keeping an index in step with folders: `xlqe index INDEX FOLDER...` and `xlqe watch`.

A file is a document whose id is its canonical absolute path (the folder resolved with
`os.path.realpath`, so the same folder given relative or absolute is the same documents). Its metadata:
`source` ("file"), `root` (the indexed folder), `path` (relative to it, with "/"), `title`, `format`,
`size`, `mtime_ns`, `sha256` (of the file's bytes), the extracted `sections` (start offset, page,
chapter) and `passages` (each passage window's [start, end) character offsets in the text).

A sync walks the folders first (names and `stat` only), then:
- a file whose size and mtime match the stored ones is unchanged: not read, not embedded;
- otherwise it is read and hashed; the same bytes as stored (a `touch`) or as a document whose file
  vanished (a move or rename) reuse the stored text and the embeddings, which come from the
  per-document embedding cache (`embedding_cache.encode_document_cached`) instead of the encoder;
- anything else is extracted and embedded; documents of the folders whose files are gone are removed.
Bad files never stop the run: each is skipped with one warning naming the path (undecodable bytes
escaped) and counted by reason. Work is committed every `commit_every` documents or `commit_seconds`
seconds, so an error, Ctrl-C or kill keeps everything up to the last step.

Memory stays bounded: one file's text at a time is extracted, documents are embedded in batches of at
most `batch_size` documents / `batch_chars` characters, the encoder sees only the prefix of a text it
can read (its `max_length` tokens for the document vector, `MAX_WINDOWS` windows for passages), the
CLI's encoder is loaded with `low_memory` (no onnxruntime arena, batches bounded by batch x tokens^2),
and the writer's pending changes are flushed at every commit step. Measured per phase by
benchmarks/profile_index_memory.py: the loaded model and its tokenizer are most of the peak.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional

from .._core import normalize_lang
from ..errors import ExtractionError, InvalidInputError
from ..index import Document, Index
from .report import Events, FileEntry, SyncReport, canonical, display_path
from .sources import DEFAULT_MAX_BYTES, JSONL_SUFFIXES, Skipped, _jsonl_file, guess_language

from .extract import FORMATS, detect_format, extract

FILE_SOURCE = "file"
DEFAULT_COMMIT_EVERY = 500
DEFAULT_COMMIT_SECONDS = 60.0
DEFAULT_BATCH_CHARS = 2_000_000
DEFAULT_TIMEOUT = 60.0
DEFAULT_BATCH_SIZE = 256
# Reading a file to hash it goes in chunks of this size.
_CHUNK = 1 << 20


@dataclass
class _Pending:
    doc: Document
    embed_text: Optional[str]  # None: the vectors are given
    vector: Any = None
    passages: Any = None


def _reason_of(e: OSError) -> str:
    """The reason code of an error reading a file: vanished (or a dangling link), else unreadable."""
    import errno

    return "vanished" if e.errno == errno.ENOENT else "unreadable"


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def passage_offsets(text: str, windows: Iterable[str]) -> list[list[int]]:
    """[start, end) of each window in `text`: windows are stripped slices of it, in order, overlapping."""
    out, pos = [], 0
    for w in windows:
        start = text.find(w, pos)
        if start < 0:  # cannot happen for windows cut from `text`; kept honest rather than guessed
            start = text.find(w)
        if start < 0:
            out.append([-1, -1])
            continue
        out.append([start, start + len(w)])
        pos = start + 1
    return out


class Syncer:
    """Brings `index` in step with folders and files. `encoder` embeds new text when the index holds
    vectors (None: a lexical-only index); it may be a callable that loads it, called only when
    something must be embedded or looked up in the cache (a sync with nothing new loads no model)."""

    def __init__(self, index: Index, encoder: Any = None, *, lang: Optional[str] = None, detect: bool = True,
                 max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT,
                 commit_every: int = DEFAULT_COMMIT_EVERY, commit_seconds: float = DEFAULT_COMMIT_SECONDS,
                 batch_size: int = DEFAULT_BATCH_SIZE, batch_chars: int = DEFAULT_BATCH_CHARS, events: Optional[Events] = None,
                 embedding_cache: bool = True) -> None:
        if commit_every < 1 or commit_seconds <= 0 or batch_size < 1:
            raise InvalidInputError("commit_every and batch_size must be >= 1 and commit_seconds > 0")
        self.index = index
        lazy = callable(encoder) and not hasattr(encoder, "encode")
        self._encoder: Any = None if lazy else encoder
        self._load_encoder: Optional[Callable[[], Any]] = encoder if lazy else None
        self.lang = normalize_lang(lang) if lang else None
        self.detect, self.max_bytes, self.timeout = detect, max_bytes, timeout
        self.commit_every, self.commit_seconds = commit_every, commit_seconds
        self.batch_size, self.batch_chars = batch_size, batch_chars
        self.events = events or Events()
        self.use_cache = embedding_cache
        settings = index.vector_config
        self.has_vectors = encoder is not None
        if settings and encoder is None:
            raise InvalidInputError("this index holds vectors: syncing it needs its encoder")
        self.passage_tokens = int(settings.passage_tokens or 0) if settings else 0
        self.passage_stride = int(settings.passage_stride or 0) if settings else 0
        self._pending: list[_Pending] = []
        self._pending_chars = 0
        self._since_commit = 0
        self._last_commit = time.monotonic()
        self.report = SyncReport()

    @property
    def encoder(self) -> Any:
        if self._encoder is None and self._load_encoder is not None:
            self._encoder, self._load_encoder = self._load_encoder(), None
        return self._encoder

    # -- the walk ---------------------------------------------------------------------------------
    def walk(self, paths: Iterable[str]) -> tuple[list[FileEntry], list[str], list[str]]:
        """(regular files found, folders walked, JSONL files) under `paths`, canonical; what cannot be
        walked is skipped into the report. Raises InvalidInputError if a path does not exist."""
        paths = list(paths)
        missing = [display_path(p) for p in paths if not os.path.lexists(p)]
        if missing:
            raise InvalidInputError(f"no such file or directory: {', '.join(missing)}")
        files: dict[str, FileEntry] = {}
        roots: list[str] = []
        jsonl: list[str] = []
        for p in paths:
            top = canonical(p)
            if os.path.isdir(top):
                roots.append(top)
                for entry in self._scan(top, top):
                    files.setdefault(entry.path, entry)
            else:
                found = self._entry(top, os.path.dirname(top), explicit=True)
                if found is None:
                    continue
                if os.path.splitext(top)[1].lower() in JSONL_SUFFIXES:
                    jsonl.append(top)
                else:
                    files.setdefault(found.path, found)
        for entry in list(files.values()):
            if os.path.splitext(entry.path)[1].lower() in JSONL_SUFFIXES:
                jsonl.append(entry.path)
                del files[entry.path]
        return sorted(files.values(), key=lambda e: e.path), roots, jsonl

    def _scan(self, root: str, folder: str) -> Iterator[FileEntry]:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            self._skip(_reason_of(err), folder, err.strerror or str(err))
            return
        for e in entries:
            if e.name.startswith("."):
                continue  # hidden files and folders (.git, editors' swap files)
            path = os.path.join(folder, e.name)
            try:
                is_dir = e.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if not self._utf8(path):
                    continue
                yield from self._scan(root, path)
                continue
            found = self._entry(path, root, explicit=False)
            if found is not None:
                yield found

    def _utf8(self, path: str) -> bool:
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            self._skip("non-utf8-name", path, "the file name is not valid UTF-8")
            return False
        return True

    def _entry(self, path: str, root: str, explicit: bool) -> Optional[FileEntry]:
        if not self._utf8(path):
            return None
        try:
            st = os.stat(path)
        except OSError as e:
            self._skip(_reason_of(e), path, e.strerror or str(e))
            return None
        if not stat.S_ISREG(st.st_mode):
            self._skip("not-regular-file", path, _file_kind(st.st_mode))
            return None
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in FORMATS and suffix not in JSONL_SUFFIXES and detect_format(path) is None:
            # told by the first 4 KB (a PDF or HTML file without its suffix is still read)
            self._skip("unsupported-type", path, f"not a supported document type ({suffix or 'no suffix'})")
            return None
        return FileEntry(path, root, st.st_size, st.st_mtime_ns)

    def _skip_item(self, where: str, text: str) -> None:
        """Skips with a reason from `sources` ("not valid UTF-8 (byte 3)"): counted by its general part."""
        reason, _, detail = text.partition(" (")
        self._skip(reason, where, detail.removesuffix(")"))

    def _skip(self, reason: str, path: str, detail: str = "") -> None:
        shown = display_path(path)
        self.report.skip(reason, shown)
        self.events.warn(f"skipped {shown}: {detail or reason} [{reason}]")

    # -- stored state ----------------------------------------------------------------------------
    def stored_files(self) -> dict[str, dict[str, Any]]:
        """id -> metadata of every file document in the index."""
        out = {}
        for doc_id in self.index.ids():
            doc = self.index.get(doc_id)
            if doc is not None and doc.metadata.get("source") == FILE_SOURCE:
                out[doc_id] = dict(doc.metadata)
        return out

    # -- the sync --------------------------------------------------------------------------------
    def sync(self, paths: Iterable[str]) -> SyncReport:
        """Makes the index reflect `paths` (folders and files); commits; returns the report. On an
        exception (or Ctrl-C) the work since the last commit step is rolled back and the error raised."""
        t0 = time.monotonic()
        entries, roots, jsonl = self.walk(paths)
        stored = self.stored_files()
        seen = {e.path for e in entries}
        def within(doc_id: str) -> bool:
            return any(doc_id.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

        vanished = {doc_id: meta for doc_id, meta in stored.items() if doc_id not in seen and within(doc_id)
                    and not os.path.isfile(doc_id)}
        by_hash: dict[str, str] = {}
        for doc_id, meta in vanished.items():
            by_hash.setdefault(str(meta.get("sha256")), doc_id)
        self.events.start(len(entries), sum(e.size for e in entries))
        try:
            for entry in entries:
                self.events.file(display_path(entry.path), entry.size)
                self._one(entry, stored.get(entry.path), vanished, by_hash)
                self.events.done(display_path(entry.path), entry.size)
                self._maybe_commit()
            for path in jsonl:
                self._jsonl(path)
            for doc_id in vanished:
                if self.index.delete(doc_id):
                    self.report.removed += 1
            self._flush()
            self.index.commit()
            self.report.commits += 1
            self.events.commit(self._since_commit)
        except BaseException:
            self._pending.clear()
            self.index.rollback()
            raise
        finally:
            self.report.seconds = time.monotonic() - t0
        return self.report

    def _one(self, entry: FileEntry, old: Optional[dict[str, Any]], vanished: dict[str, dict[str, Any]],
             by_hash: dict[str, str]) -> None:
        if old is not None and old.get("size") == entry.size and old.get("mtime_ns") == entry.mtime_ns:
            self.report.unchanged += 1
            return
        if entry.size > self.max_bytes:
            self._skip("too-large", entry.path, f"{entry.size} bytes, the limit is {self.max_bytes}")
            return
        try:
            digest = self._hash(entry.path)
        except OSError as e:
            self._skip(_reason_of(e), entry.path, e.strerror or str(e))
            return
        self.report.files_read += 1
        source_id = None
        if old is not None and old.get("sha256") == digest:
            source_id = entry.path  # touched: same bytes
        elif digest in by_hash:
            source_id = by_hash[digest]  # moved or renamed
        if source_id is not None and self._reuse(entry, source_id, digest):
            if source_id == entry.path:
                self.report.unchanged += 1
            else:
                self.report.moved += 1
                del vanished[by_hash.pop(digest)]
            return
        text, meta = self._read(entry)
        if text is None:
            return
        meta["sha256"] = digest
        lang = self.lang or (guess_language(text[:100_000]) if self.detect else None)
        self._queue(_Pending(Document(entry.path, text, lang, meta), text))
        if old is None:
            self.report.indexed += 1
        else:
            self.report.updated += 1

    def _hash(self, path: str) -> str:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def _meta(self, entry: FileEntry) -> dict[str, Any]:
        return {"source": FILE_SOURCE, "root": entry.root, "path": entry.rel, "size": entry.size,
                "mtime_ns": entry.mtime_ns, "mtime": entry.mtime_ns / 1e9}

    def _read(self, entry: FileEntry) -> tuple[Optional[str], dict[str, Any]]:
        """The extracted text and metadata of `entry`, or (None, {}) after skipping it with a reason."""
        meta = self._meta(entry)
        try:
            got = extract(entry.path, max_bytes=self.max_bytes, timeout=self.timeout)
        except ExtractionError as e:
            self._skip(e.reason, entry.path, e.message)
            return None, {}
        text = got.text
        meta.update(title=got.title or os.path.basename(entry.path), format=got.format)
        if got.encoding:
            meta["encoding"] = got.encoding
        # where each section starts, for the place of a passage: [start, page, chapter]
        meta["sections"] = [[s.start, s.page, s.chapter] for s in got.sections if s.page is not None or s.chapter]
        if not text.strip():
            self._skip("empty", entry.path, "no text")
            return None, {}
        return text, meta

    def _reuse(self, entry: FileEntry, source_id: str, digest: str) -> bool:
        """Re-adds the stored document `source_id` under `entry` with its cached embeddings; False when
        the embeddings are not cached (the file is then extracted and embedded again)."""
        doc = self.index.get(source_id)
        if doc is None:
            return False
        vector = passages = None
        if self.has_vectors:
            cached = self._cached(doc.text)
            if cached is None:
                return False
            vector, passages = cached
        meta = dict(doc.metadata)
        meta.update(self._meta(entry), sha256=digest)
        self._queue(_Pending(Document(entry.path, doc.text, doc.lang, meta), None, vector, passages))
        if source_id != entry.path:
            self.index.delete(source_id)
        return True

    def _jsonl(self, path: str) -> None:
        from pathlib import Path

        try:
            st = os.stat(path)
        except OSError as e:
            self._skip(_reason_of(e), path, e.strerror or str(e))
            return
        self.events.file(display_path(path), st.st_size)
        for item in _jsonl_file(Path(path), self.lang, self.detect, self.max_bytes):
            if isinstance(item, Skipped):
                self._skip_item(item.where, item.reason)
                continue
            self._queue(_Pending(item, item.text))
            self.report.records += 1
            self._maybe_commit()
        self.events.done(display_path(path), st.st_size)

    # -- embedding and writing -------------------------------------------------------------------
    def _cached(self, text: str) -> Optional[tuple[Any, Any]]:
        if not self.use_cache:
            return None
        from ..models.embedding_cache import load_document_vectors

        return load_document_vectors(self.encoder, text, self.passage_tokens, self.passage_stride)

    def _queue(self, item: _Pending) -> None:
        self._pending.append(item)
        self._pending_chars += len(item.embed_text or "")
        if len(self._pending) >= self.batch_size or self._pending_chars >= self.batch_chars:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending, self._pending_chars = self._pending, [], 0
        if self.has_vectors:
            self._embed([p for p in batch if p.embed_text is not None])
        docs = [p.doc for p in batch]
        if not self.has_vectors:
            self.index.add_many(docs)
        else:
            import numpy as np

            self.index.add_many(docs, vectors=np.stack([p.vector for p in batch]),
                                passages=[p.passages for p in batch])
        self._since_commit += len(batch)

    def _embed(self, items: list[_Pending]) -> None:
        """Fills each item's vectors: from the per-document cache, else from the encoder (texts cut to
        what the encoder reads), then stored in the cache."""
        from ..models.embedding_cache import save_document_vectors

        todo = []
        for p in items:
            cached = self._cached(p.embed_text or "")
            if cached is None:
                todo.append(p)
            else:
                p.vector, p.passages = cached
        if not todo:
            return
        enc = self.encoder
        from ..models.encoder import MAX_CHARS_PER_TOKEN, MAX_WINDOWS

        # The encoder reads only a prefix (its max_length tokens; Encoder.encode cuts the text before
        # tokenising it), and passage windows only the first MAX_WINDOWS: the rest is not copied there.
        vectors = enc.encode_passages([p.embed_text or "" for p in todo])
        windows: list[list[str]] = [[] for _ in todo]
        if self.passage_tokens > 0:
            limit = (MAX_WINDOWS * self.passage_stride + self.passage_tokens) * MAX_CHARS_PER_TOKEN
            windows = enc.passage_windows_many([(p.embed_text or "")[:limit] for p in todo], self.passage_tokens,
                                               self.passage_stride)
        import numpy as np

        flat = enc.encode_passages([w for ws in windows for w in ws]) if any(windows) else np.zeros((0, enc.dim), np.float32)
        pos = 0
        for p, v, ws in zip(todo, vectors, windows):
            p.vector, p.passages = v, flat[pos : pos + len(ws)]
            pos += len(ws)
            if p.doc.metadata.get("source") == FILE_SOURCE and ws:
                meta = dict(p.doc.metadata)
                meta["passages"] = passage_offsets(p.embed_text or "", ws)
                p.doc = Document(p.doc.id, p.doc.text, p.doc.lang, meta)
            if self.use_cache:
                save_document_vectors(enc, p.embed_text or "", self.passage_tokens, self.passage_stride, v, p.passages)
        self.report.embedded += len(todo)

    def _maybe_commit(self) -> None:
        due = time.monotonic() - self._last_commit >= self.commit_seconds
        if self._since_commit + len(self._pending) >= self.commit_every or (due and (self._pending or self._since_commit)):
            self._flush()
            self.index.commit()
            self.report.commits += 1
            self.events.commit(self._since_commit)
            self._since_commit = 0
            self._last_commit = time.monotonic()


def remove(index: Index, targets: Iterable[str]) -> tuple[list[str], list[str]]:
    """The ids `targets` name (an id, a file's path, or a folder: every file document under it);
    returns (ids found, targets that named nothing). Does not delete or commit."""
    ids = index.ids()
    found: list[str] = []
    unmatched = []
    for t in targets:
        if t in index:
            found.append(t)
            continue
        path = canonical(t)
        if path in index:
            found.append(path)
            continue
        prefix = path.rstrip(os.sep) + os.sep
        under = [i for i in ids if i.startswith(prefix)]
        if under:
            found.extend(under)
        else:
            unmatched.append(t)
    return list(dict.fromkeys(found)), unmatched


