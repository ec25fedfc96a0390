"""The index a user opens: documents in many languages, searched with multilingual BM25.

    >>> import tempfile, os
    >>> from xlqe_lite import Index
    >>> path = os.path.join(tempfile.mkdtemp(), "notes")
    >>> with Index.create(path) as index:
    ...     _ = index.add("a", "The Panthers won the Super Bowl.", lang="en")
    ...     _ = index.add("b", "Die Broncos gewannen den Super Bowl.", lang="de")
    >>> [hit.id for hit in Index.open(path).search("who won the super bowl", lang="en")]
    ['a', 'b']
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Optional, Sequence, Union

from . import _core
from .errors import InvalidInputError
from .filters import core_filter
from .index_config import VectorConfig

if TYPE_CHECKING:
    import numpy as np

    from .models.encoder import Encoder
    from .filters import Filter
    from .search.explanation import Explanation

PathLike = Union[str, "os.PathLike[str]"]

# The share of a document's best passage in its vector score, when it has passages (chosen on the
# bench's XQuAD dev paragraphs; BENCHMARKS.md, "Passage windows").
DEFAULT_PASSAGE_WEIGHT = 0.5
# BM25's term-frequency saturation and length normalisation for a new index (Robertson's usual values).
DEFAULT_K1 = 1.2
DEFAULT_B = 0.75


@dataclass(frozen=True)
class Document:
    """A document to index: an id unique in the index, its text, its language (ISO 639-1) if known,
    and free metadata (anything JSON can hold)."""

    id: str
    text: str
    lang: Optional[str] = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredDocument(Document):
    """A document as the index holds it, with its stable key."""

    key: int = -1


class Hit(NamedTuple):
    """One search result. `snippet` and `highlights` (character ranges in the snippet) are filled when
    the search asked for snippets. A named tuple: results are built by the thousand per second."""

    id: str
    score: float
    lang: Optional[str]
    key: int
    snippet: Optional[str] = None
    highlights: tuple[tuple[int, int], ...] = ()
    # With explain=True: each list's rank, score and weight for this hit (`to_dict()` for JSON).
    explanation: Optional["Explanation"] = None
    # Where in the document the snippet comes from, when it is a passage window: {"passage", "start",
    # "end"} character offsets, and "page" / "chapter" when the file has them.
    place: Optional[Mapping[str, Any]] = None


def _as_vector(vector: Any) -> Any:
    if vector is None:
        return None
    import numpy as np

    v = np.ascontiguousarray(vector, dtype=np.float32)
    if v.ndim != 1:
        raise InvalidInputError(f"a vector must be one-dimensional, got shape {v.shape}")
    return v


def _as_matrix(vectors: Any) -> Any:
    import numpy as np

    m = np.ascontiguousarray(vectors, dtype=np.float32)
    if m.ndim != 2:
        raise InvalidInputError(f"vectors must be a 2-D array (documents × dims), got shape {m.shape}")
    return m


def _metadata_json(metadata: Optional[Mapping[str, Any]]) -> Optional[str]:
    if not metadata:
        return None
    try:
        return json.dumps(metadata, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"metadata must be JSON-serialisable: {e}") from e


def place_of(metadata: dict[str, Any], passage: int) -> dict[str, Any]:
    """Where passage number `passage` of a file document sits: its character offsets, and the page and
    chapter of the section it starts in (when the format has them)."""
    spans = metadata.get("passages") or []
    if not 0 <= passage < len(spans):
        return {}
    start, end = spans[passage]
    place: dict[str, Any] = {"passage": passage, "start": start, "end": end}
    sections = metadata.get("sections") or []
    i = bisect.bisect_right([s[0] for s in sections], start) - 1
    if i >= 0:
        if sections[i][1] is not None:
            place["page"] = sections[i][1]
        if sections[i][2] is not None:
            place["chapter"] = sections[i][2]
    return place


class Index:
    """A search index in a directory. Open it for writing (one writer at a time; the lock is released
    by the OS if the process dies) or for reading (any number, in any process).

    Changes are visible to this object's searches at once and to other readers after `commit()`, which
    is atomic: a crash at any moment leaves the last committed state. Used as a context manager, a
    writer commits on normal exit and rolls back on an exception.
    """

    def __init__(self, core: _core.LexicalIndex) -> None:
        self._core = core
        # The encoder named in the vector settings, loaded on the first add that needs it.
        self._encoder: Optional["Encoder"] = None
        self._encoder_lock = threading.Lock()

    @classmethod
    def create(
        cls,
        path: PathLike,
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        stem: bool = True,
        stopwords: bool = True,
        vectors: Union[VectorConfig, Mapping[str, Any], None] = None,
    ) -> "Index":
        """Creates a new index at `path` (absent or an empty directory) and opens it for writing.

        `vectors` makes it hold dense vectors too: a `VectorConfig` (or a mapping of its fields, e.g.
        {"dims": 384}): the metric, storage, HNSW settings, encoder model and passage windows.
        """
        config = VectorConfig.from_mapping(vectors) if vectors else None
        return cls(_core.LexicalIndex.create(os.fspath(path), k1=k1, b=b, stem=stem, stopwords=stopwords,
                                             vectors=config.to_dict() if config else None))

    @classmethod
    def open(cls, path: PathLike, *, writer: bool = False) -> "Index":
        """Opens an existing index; `writer=True` takes the writer lock."""
        return cls(_core.LexicalIndex.open(os.fspath(path), writer=writer))

    @classmethod
    def open_or_create(cls, path: PathLike, **config: Any) -> "Index":
        """Opens the index at `path` for writing, creating it (with `config`) if it does not exist."""
        manifest = os.path.join(os.fspath(path), "xlqe.manifest")
        if os.path.exists(manifest):
            return cls.open(path, writer=True)
        return cls.create(path, **config)

    # -- properties -------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return str(self._core.path)

    @property
    def config(self) -> dict[str, Any]:
        return self._core.config

    @property
    def generation(self) -> int:
        """How many commits the index has seen."""
        return self._core.generation

    @property
    def is_writer(self) -> bool:
        return self._core.is_writer

    @property
    def vector_config(self) -> Optional[VectorConfig]:
        """The vector settings the index was created with (a `VectorConfig`), or None for a lexical-only index."""
        vectors = self._core.config["vectors"]
        return VectorConfig.from_mapping(vectors) if isinstance(vectors, dict) else None

    @property
    def passage_count(self) -> int:
        """How many passage vectors the index holds."""
        return self._core.passage_count

    @property
    def vector_count(self) -> int:
        return self._core.vector_count

    def __len__(self) -> int:
        return len(self._core)

    def __contains__(self, id: object) -> bool:
        return isinstance(id, str) and id in self._core

    def languages(self) -> list[tuple[str, int]]:
        """(language, number of documents), most frequent first."""
        return self._core.languages()

    # -- writing ----------------------------------------------------------------------------------
    def add(
        self,
        id: str,
        text: str,
        *,
        lang: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        vector: Optional["np.ndarray"] = None,
        passages: Optional["np.ndarray"] = None,
    ) -> int:
        """Adds a document (replacing one with the same id); returns its stable key.

        On an index with vectors, `vector` is the document's vector and `passages` its passage windows'
        vectors (n × dims; see `Encoder.encode_documents`). Without them the text is embedded with the
        encoder the vector settings name ("model"; loaded once, on first need); an index that names
        none refuses the document with InvalidInputError, as a document without a vector would be
        invisible to dense search."""
        if vector is None and passages is None and self._core.config["vectors"]:
            vectors, windows = self._embed_documents([text], [id])
            vector, passages = vectors[0], (windows[0] if len(windows[0]) else None)
        return self._core.add(id, text, lang, _metadata_json(metadata), _as_vector(vector),
                              None if passages is None else _as_matrix(passages))

    def _embedder(self, first_id: str) -> "Encoder":
        """The encoder of the vector settings, loaded once; InvalidInputError when they name none."""
        settings = self._core.config["vectors"] or {}
        name = settings.get("model")
        if not name:
            raise InvalidInputError(
                f"document {first_id!r} has no vector, and this index holds {settings.get('dims')}-dimensional "
                "vectors without naming the encoder that made them: pass vector= (and passages=), or create "
                "the index with vectors={..., 'model': NAME} so that the index embeds texts itself")
        with self._encoder_lock:
            if self._encoder is None:
                from .models.encoder import Encoder

                encoder = Encoder.load(str(name), threads=os.cpu_count() or 1)
                if encoder.dim != settings.get("dims"):
                    raise InvalidInputError(f"encoder {name} makes {encoder.dim}-dimensional vectors; "
                                                  f"the index holds {settings.get('dims')}-dimensional ones")
                self._encoder = encoder
            return self._encoder

    def _embed_documents(self, texts: list[str], ids: list[str]) -> tuple[Any, list[Any]]:
        """The texts' vectors and passage-window vectors, made as `xlqe index` makes them."""
        encoder = self._embedder(ids[0])
        settings = self._core.config["vectors"] or {}
        return encoder.encode_documents(texts, int(settings.get("passage_tokens") or 0),
                                        int(settings.get("passage_stride") or 0))

    def add_many(
        self,
        documents: Iterable[Union[Document, Mapping[str, Any]]],
        *,
        vectors: Optional["np.ndarray"] = None,
        passages: Optional[Sequence[Optional["np.ndarray"]]] = None,
        batch_size: int = 1000,
    ) -> int:
        """Adds documents given as `Document`s or mappings with "id", "text" and optional "lang" and
        "metadata"; row i of `vectors` (n × dims) is document i's vector, and `passages[i]` (m_i × dims,
        or None) its passages' vectors. Without `vectors`, an index with vectors embeds the texts (see
        `add`). Returns how many were added."""
        matrix = None if vectors is None else _as_matrix(vectors)
        if matrix is None and passages is not None:
            raise InvalidInputError("passage vectors need the documents' own vectors too")
        embed = matrix is None and bool(self._core.config["vectors"])
        if passages is not None and matrix is not None and len(passages) != len(matrix):
            raise InvalidInputError(f"{len(matrix)} vectors but passages for {len(passages)} documents")
        added = 0
        batch: list[tuple[str, str, Optional[str], Optional[str]]] = []

        def flush() -> int:
            if embed:
                own, windows = self._embed_documents([d[1] for d in batch], [d[0] for d in batch])
                import numpy as np

                flat = np.concatenate(windows) if any(len(w) for w in windows) else None
                counts = [len(w) for w in windows] if flat is not None else None
                return len(self._core.add_many(batch, own, flat, counts))
            rows = None if matrix is None else matrix[added : added + len(batch)]
            if rows is not None and len(rows) != len(batch):
                raise InvalidInputError(f"more documents than vectors ({len(matrix)})")  # type: ignore[arg-type]
            if passages is None:
                return len(self._core.add_many(batch, rows))
            import numpy as np

            mine = list(passages[added : added + len(batch)])
            if len(mine) != len(batch):
                raise InvalidInputError(f"more documents than passage lists ({len(passages)})")
            groups = [_as_matrix(p) for p in mine if p is not None and len(p)]
            flat = np.concatenate(groups) if groups else None
            counts = [0 if p is None else len(p) for p in mine]
            return len(self._core.add_many(batch, rows, flat, counts))

        for doc in documents:
            if isinstance(doc, Document):
                batch.append((doc.id, doc.text, doc.lang, _metadata_json(doc.metadata)))
            else:
                batch.append((doc["id"], doc["text"], doc.get("lang"), _metadata_json(doc.get("metadata"))))
            if len(batch) >= batch_size:
                added += flush()
                batch = []
        if batch:
            added += flush()
        if matrix is not None and added != len(matrix):
            raise InvalidInputError(f"{added} documents but {len(matrix)} vectors")
        return added

    def delete(self, id: str) -> bool:
        """Deletes the document `id`; returns whether it existed."""
        return self._core.delete(id)

    def commit(self) -> None:
        """Makes all changes durable, atomically."""
        self._core.commit()

    def rollback(self) -> None:
        """Drops all changes since the last commit."""
        self._core.rollback()

    def reload(self) -> bool:
        """For readers: switches to the latest commit. Returns whether there was a newer one."""
        return self._core.reload()

    def close(self) -> None:
        """Releases the index and, for a writer, its lock. Uncommitted changes are dropped."""
        self._core.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._core.closed:
            return
        if self.is_writer:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        self.close()

    # -- reading ----------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        k: int = 10,
        lang: Optional[str] = None,
        langs: Optional[Sequence[str]] = None,
        snippets: bool = False,
        snippet_chars: int = 200,
        where: Optional["Filter"] = None,
    ) -> list[Hit]:
        """The `k` best documents for `query`.

        `lang` is the query's language when known (its stop words are then ignored against documents
        of other languages); `langs` keeps only documents in those languages. Each document language
        is matched with its own analysis, so stemmed forms meet whatever the query language. `where`
        keeps only the documents a `Filter` (path, format, modification time) allows.
        """
        if k < 0:
            raise InvalidInputError("k must be >= 0")
        filter_langs = list(langs) if langs else None
        hits = [Hit(*h) for h in self._core.search(query, k, lang, filter_langs, core_filter(where))]
        if snippets:
            hits = [self._with_snippet(h, query, snippet_chars) for h in hits]
        return hits

    def search_terms(
        self, terms: Sequence[tuple[str, float]], *, k: int = 10, langs: Optional[Sequence[str]] = None,
        where: Optional["Filter"] = None,
    ) -> list[Hit]:
        """Scores already analysed terms with weights (query expansion uses this). Each weight must be
        above 0 and at most 1e6; repeated terms add up."""
        terms, filter_langs = list(terms), list(langs) if langs else None
        if k < 0:
            raise InvalidInputError("k must be >= 0")
        return [Hit(*h) for h in self._core.search_terms(terms, k, filter_langs, core_filter(where))]

    def analyze_query(self, text: str, doc_lang: Optional[str] = None, query_lang: Optional[str] = None) -> list[tuple[str, float]]:
        """`text`'s weighted terms as this index analyses documents of `doc_lang` (stemming, stop words)."""
        return self._core.analyze_query(text, doc_lang, query_lang)

    def set_vector_expansion_search(self, ef: int) -> None:
        """HNSW search breadth (ef) for this handle: higher finds more of the true nearest neighbours,
        more slowly. Not persisted; the index's own setting stays."""
        self._core.set_vector_expansion_search(ef)

    def search_vector(self, vector: "np.ndarray", *, k: int = 10, langs: Optional[Sequence[str]] = None,
                      passage_weight: float = DEFAULT_PASSAGE_WEIGHT, where: Optional["Filter"] = None) -> list[Hit]:
        """The `k` documents nearest to `vector`; the score is the similarity (cosine or inner product),
        for a document with passages `(1 - passage_weight) * its own + passage_weight * its best
        passage's`."""
        if k < 0:
            raise InvalidInputError("k must be >= 0")
        v, filter_langs = _as_vector(vector), list(langs) if langs else None
        return [Hit(*h) for h in self._core.search_vector(v, k, filter_langs, passage_weight, core_filter(where))]

    def language_vector_sum(self, lang: Optional[str]) -> Optional[tuple[list[float], int]]:
        """The vectors of language `lang`'s documents (None: of no language) summed in f64, each normalised
        first under the cosine metric, and their count; None when none has a vector. Kept by the core until
        the vectors change."""
        return self._core.language_vector_sum(_core.normalize_lang(lang) if lang else None)

    def language_centroid(self, lang: Optional[str]) -> Optional["np.ndarray"]:
        """The mean vector of language `lang`'s documents (see `language_vector_sum`), or None."""
        from .centroids import centroid

        return centroid(self.language_vector_sum(lang))

    def query_toward(self, vector: "np.ndarray", from_lang: str, to_lang: str, alpha: float,
                     min_documents: int = 1) -> Optional["np.ndarray"]:
        """`vector` moved from language `from_lang`'s documents toward `to_lang`'s: `vector + alpha *
        (centroid(to_lang) - centroid(from_lang))`, scaled back to its length; None when nothing moves (the
        same language, alpha 0, a language with fewer than `min_documents` vectors). How a mixed index's
        search meets each other language's documents on their ground (`FusionConfig.centroid_shift`)."""
        from .centroids import move_query

        return move_query(self, vector, from_lang, to_lang, alpha, min_documents)

    def _with_snippet(self, hit: Hit, query: str, chars: int) -> Hit:
        found = self._core.snippet(hit.id, query, chars)
        if found is None:
            return hit
        text, ranges = found
        return hit._replace(snippet=text, highlights=tuple(ranges))

    def best_passage(self, id: str, vector: "np.ndarray") -> Optional[tuple[int, float]]:
        """(window number, similarity) of document `id`'s passage nearest to `vector`, or None when it
        has no passages."""
        return self._core.best_passage(id, _as_vector(vector))

    def _with_passage_snippet(self, hit: Hit, query: str, vector: "np.ndarray", chars: int) -> Hit:
        """The snippet from the best-matching passage window, with its place, when the document is a
        file with passages; the whole text's snippet wins when only it shows query words."""
        best = self.best_passage(hit.id, vector)
        doc = self.get(hit.id) if best is not None else None
        place = place_of(dict(doc.metadata), best[0]) if doc is not None and best is not None else {}
        if not place or place["start"] < 0:
            return self._with_snippet(hit, query, chars)
        found = self._core.snippet(hit.id, query, chars, (place["start"], place["end"]))
        if found is None:
            return self._with_snippet(hit, query, chars)
        text, ranges = found
        if not ranges:
            # The passage shows none of the query's words: the whole text's snippet is kept instead only
            # when it shows at least two different ones (one shared word is usually noise).
            whole = self._with_snippet(hit, query, chars)
            if whole.snippet and len({whole.snippet[a:b].lower() for a, b in whole.highlights}) >= 2:
                return whole
        return hit._replace(snippet=text, highlights=tuple(ranges), place=place)

    def get(self, id: str) -> Optional[StoredDocument]:
        """The stored document `id`, or None."""
        d = self._core.get(id)
        if d is None:
            return None
        meta = json.loads(str(d["metadata"])) if d["metadata"] else {}
        lang = str(d["lang"]) if d["lang"] else None
        return StoredDocument(str(d["id"]), str(d["text"]), lang, meta, int(d["key"]))  # type: ignore[call-overload]

    def ids(self) -> list[str]:
        return self._core.ids()

    def verify(self) -> list[str]:
        """Checks the committed state (checksums, postings against document lengths, ids); returns the
        problems found, empty when the index is consistent."""
        return self._core.verify()

    def __repr__(self) -> str:
        mode = "writer" if not self._core.closed and self.is_writer else "reader"
        return f"Index({self.path!r}, {mode})"

