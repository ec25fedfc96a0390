"""A sharded index: N ordinary index directories and a manifest, read and written through the same calls
`Index` offers, so `SearchEngine` (and with it `xlqe search`, `eval`, `serve`) works on it unchanged.

Scores equal those of one index of all documents:
- BM25: the query's terms are named once here for every language the shards hold; every shard reports
  its document count, total length and document frequencies of those terms; the sums go back to every
  shard, which scores with them (global idf and average length), and the lists are merged by score.
- Dense: each shard returns its own top k by similarity (the same scores a single index computes), merged
  by score. With exact search the merge is the single index's list; with HNSW each shard's graph is
  searched on its own, which may find slightly different neighbours than one graph.
- Hybrid: `SearchEngine` fuses the merged lists once, as for one index.
Ties (equal scores) are ordered by document id; one index orders them by insertion, so lists are equal up
to the order of equal scores.

The query is analysed here (with a scratch index of the shards' analysis settings, so a coordinator needs
no shard files); the shards are reached in-process (`LocalFanout`) or through Ray actors (`RayFanout`).
Writes route each document to its shard by a stable hash of its id (`router.shard_of`) and commit shard
by shard, then the manifest (see manifest.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Union

from .. import _core
from ..errors import InvalidInputError, XlqeError
from ..index_config import VectorConfig
from ..index import DEFAULT_B, DEFAULT_K1, DEFAULT_PASSAGE_WEIGHT, Document, Hit, Index, PathLike, StoredDocument, _as_matrix
from .fanout import DEFAULT_TIMEOUT, LocalFanout, RayFanout
from .manifest import ShardManifest, read_manifest, write_manifest
from .router import shard_of

if TYPE_CHECKING:
    import numpy as np

    from ..filters import Filter


def merge_hits(lists: Iterable[Optional[Sequence[Hit]]], k: int) -> list[Hit]:
    """The best `k` of several shards' ranked lists: by score, ties by id (None: a shard that failed)."""
    hits = [h for hits in lists if hits for h in hits]
    hits.sort(key=lambda h: (-h.score, h.id))
    return hits[:k]


class ShardedIndex:
    """A sharded index directory, opened for reading (in-process or on Ray) or for writing (in-process)."""

    def __init__(self, root: str, manifest: ShardManifest, fanout: Union[LocalFanout, RayFanout],
                 writer: bool = False) -> None:
        self.root, self.manifest, self.fanout, self._writer = root, manifest, fanout, writer
        self._info: Optional[list[dict[str, Any]]] = None
        self._sums: dict[Optional[str], Optional[tuple[list[float], int]]] = {}
        self._info_lock = threading.Lock()
        self._local = threading.local()
        if isinstance(fanout, RayFanout):
            self._warn(fanout.startup_warnings)
            if not fanout.startup_warnings:
                self._info = [i for i in fanout.started_info if i is not None]
        self._closed = False
        # Query analysis happens here, with the shards' analysis settings (stemming, stop words) in an empty
        # scratch index, so that a coordinator on Ray needs none of the shards' files.
        self._scratch = tempfile.mkdtemp(prefix="xlqe-analysis-")
        config = manifest.config
        self._analyzer = Index.create(os.path.join(self._scratch, "a"), stem=bool(config.get("stem", True)),
                                      stopwords=bool(config.get("stopwords", True)))

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: PathLike, shards: int, *, k1: float = DEFAULT_K1, b: float = DEFAULT_B, stem: bool = True,
               stopwords: bool = True, vectors: Union[VectorConfig, Mapping[str, Any], None] = None) -> "ShardedIndex":
        """Creates a sharded index of `shards` empty shards at `path` (absent or an empty directory) and
        opens it for writing. Every shard has the same settings (see `Index.create`)."""
        root = os.fspath(path)
        if shards < 1:
            raise InvalidInputError("a sharded index needs at least one shard")
        if os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
            raise InvalidInputError(f"{root} exists and is not an empty directory")
        existed = os.path.exists(root)
        os.makedirs(root, exist_ok=True)
        vectors = VectorConfig.from_mapping(vectors) if vectors else None
        try:
            manifest = ShardManifest(shards=shards, encoder=vectors.model if vectors else None,
                                     config={"k1": k1, "b": b, "stem": stem, "stopwords": stopwords,
                                             "vectors": vectors.to_dict() if vectors else None})
            generations = []
            for p in manifest.shard_paths(root):
                with Index.create(p, k1=k1, b=b, stem=stem, stopwords=stopwords, vectors=vectors) as ix:
                    ix.commit()
                    generations.append(ix.generation)
            manifest = replace(manifest, shard_generations=tuple(generations))
            write_manifest(root, manifest)
        except BaseException:
            if existed:
                for entry in os.listdir(root):
                    shutil.rmtree(os.path.join(root, entry), ignore_errors=True)
            else:
                shutil.rmtree(root, ignore_errors=True)
            raise
        return cls.open(root, writer=True)

    @classmethod
    def open(cls, path: PathLike, *, writer: bool = False, ray: Optional[str] = None,
             timeout: float = DEFAULT_TIMEOUT) -> "ShardedIndex":
        """Opens the sharded index at `path`. `ray` (None or "none": in-process; "local", "auto" or a
        cluster address) searches it through one Ray actor per shard, each call waiting at most `timeout`
        seconds for a shard. A writer is always in-process and takes every shard's writer lock."""
        root = os.fspath(path)
        manifest = read_manifest(root)
        paths = manifest.shard_paths(root)
        if ray and ray != "none":
            if writer:
                raise InvalidInputError("a sharded index is written in-process (or by `xlqe index --ray`), "
                                              "not through shard actors")
            from .fanout import connect

            connect(ray)
            return cls(root, manifest, RayFanout(paths, timeout=timeout))
        return cls(root, manifest, LocalFanout(paths, writer=writer), writer=writer)

    # -- warnings ---------------------------------------------------------------------------------
    def _warn(self, warnings: Sequence[str]) -> None:
        if warnings:
            if not hasattr(self._local, "warnings"):
                self._local.warnings = []
            self._local.warnings.extend(warnings)

    def drain_warnings(self) -> list[str]:
        """The warnings of this thread's calls since the last drain (shards that failed or were too slow),
        each once; `SearchEngine.search` puts them in its results' `warnings`."""
        found = list(dict.fromkeys(getattr(self._local, "warnings", [])))
        self._local.warnings = []
        return found

    def _all(self, method: str, *args: Any, only: Optional[Sequence[int]] = None) -> list[Optional[Any]]:
        answers, warnings = self.fanout.all(method, *args, only=only)
        self._warn(warnings)
        return answers

    def _shard(self, doc_id: str) -> int:
        return shard_of(doc_id, self.manifest.shards, self.manifest.hash)

    def _one(self, doc_id: str, method: str, *args: Any) -> Any:
        return self.fanout.one(self._shard(doc_id), method, *args)

    def _forget(self) -> None:
        """What was read off the shards is stale: their documents or commits changed."""
        self._info = None
        self._sums = {}

    # -- properties -------------------------------------------------------------------------------
    def _shard_info(self) -> list[dict[str, Any]]:
        with self._info_lock:
            if self._info is None:
                answers = self._all("info")
                self._info = [a for a in answers if a is not None]
            return self._info

    @property
    def path(self) -> str:
        return self.root

    @property
    def shards(self) -> int:
        return self.manifest.shards

    @property
    def config(self) -> dict[str, Any]:
        info = self._shard_info()
        return dict(info[0]["config"]) if info else dict(self.manifest.config)

    @property
    def generation(self) -> int:
        """How many sharded commits the index has seen."""
        return self.manifest.generation

    @property
    def is_writer(self) -> bool:
        return self._writer

    @property
    def vector_config(self) -> Optional[VectorConfig]:
        vectors = self.config.get("vectors")
        return VectorConfig.from_mapping(vectors) if vectors else None

    @property
    def passage_count(self) -> int:
        return sum(int(i["passage_count"]) for i in self._shard_info())

    @property
    def vector_count(self) -> int:
        return sum(int(i["vector_count"]) for i in self._shard_info())

    def __len__(self) -> int:
        return sum(int(i["documents"]) for i in self._shard_info())

    def __contains__(self, id: object) -> bool:
        return isinstance(id, str) and bool(self._one(id, "contains", id))

    def languages(self) -> list[tuple[str, int]]:
        """(language, number of documents) over all shards, most frequent first (ties by name)."""
        counts: dict[str, int] = {}
        for info in self._shard_info():
            for lang, n in info["languages"]:
                counts[lang] = counts.get(lang, 0) + int(n)
        return sorted(counts.items(), key=lambda ln: (-ln[1], ln[0]))

    # -- reading ----------------------------------------------------------------------------------
    def _stats(self, terms: list[str]) -> tuple[tuple[int, int, dict[str, int]], list[int]]:
        """The whole index's (documents, total length, {term: df}) for `terms`, summed over the shards
        that answered, and those shards: only they are then searched, so every score of a list uses the
        same statistics (a missing shard's documents are missing from both)."""
        n = total = 0
        df = dict.fromkeys(terms, 0)
        answered = []
        for i, answer in enumerate(self._all("stats", terms)):
            if answer is None:
                continue
            answered.append(i)
            docs, length, freqs = answer
            n, total = n + docs, total + length
            for t, f in zip(terms, freqs):
                df[t] += f
        return (n, total, df), answered

    def search(self, query: str, *, k: int = 10, lang: Optional[str] = None, langs: Optional[Sequence[str]] = None,
               snippets: bool = False, snippet_chars: int = 200, where: Optional["Filter"] = None) -> list[Hit]:
        """As `Index.search`, with BM25 statistics of all shards (see the module's docstring)."""
        if k < 0:
            raise InvalidInputError("k must be >= 0")
        filter_langs = list(langs) if langs else None
        self.fanout.revive()
        terms = _core.query_terms(self._analyzer._core, query, lang, [l for l, _ in self.languages()])
        stats, answered = self._stats(terms)
        hits = merge_hits(self._all("search", query, k, lang, filter_langs, stats, where, only=answered), k)
        if snippets:
            hits = [self._with_snippet(h, query, snippet_chars) for h in hits]
        return hits

    def search_terms(self, terms: Sequence[tuple[str, float]], *, k: int = 10, langs: Optional[Sequence[str]] = None,
                     where: Optional["Filter"] = None) -> list[Hit]:
        """As `Index.search_terms`, with BM25 statistics of all shards."""
        terms, filter_langs = list(terms), list(langs) if langs else None
        self.fanout.revive()
        stats, answered = self._stats(sorted({t for t, _ in terms}))
        return merge_hits(self._all("search_terms", terms, k, filter_langs, stats, where, only=answered), k)

    def search_vector(self, vector: "np.ndarray", *, k: int = 10, langs: Optional[Sequence[str]] = None,
                      passage_weight: float = DEFAULT_PASSAGE_WEIGHT, where: Optional["Filter"] = None) -> list[Hit]:
        """As `Index.search_vector`: every shard's nearest `k`, merged by similarity."""
        from ..index import _as_vector

        v, filter_langs = _as_vector(vector), list(langs) if langs else None
        self.fanout.revive()
        return merge_hits(self._all("search_vector", v, k, filter_langs, passage_weight, where), k)

    def language_vector_sum(self, lang: Optional[str]) -> Optional[tuple[list[float], int]]:
        """As `Index.language_vector_sum`, over every shard: their sums added in shard order, so the centroid
        is the one a single index of all the documents has. Kept until the shards change; not kept when a
        shard did not answer (the sum then covers the others)."""
        sums = self._sums
        if lang in sums:
            return sums[lang]
        self.fanout.revive()
        answers, warnings = self.fanout.all("language_vector_sum", lang)
        self._warn(warnings)
        found = [a for a in answers if a is not None]
        total: Optional[tuple[list[float], int]] = None
        if found:
            vector = [0.0] * len(found[0][0])
            for part, _ in found:
                vector = [x + y for x, y in zip(vector, part)]
            total = (vector, sum(n for _, n in found))
        if not warnings:
            sums[lang] = total
        return total

    def query_toward(self, vector: "np.ndarray", from_lang: str, to_lang: str, alpha: float,
                     min_documents: int = 1) -> Optional["np.ndarray"]:
        """As `Index.query_toward`, with the centroids of all shards' documents."""
        from ..centroids import move_query

        return move_query(self, vector, from_lang, to_lang, alpha, min_documents)

    def analyze_query(self, text: str, doc_lang: Optional[str] = None, query_lang: Optional[str] = None) -> list[tuple[str, float]]:
        """`text`'s weighted terms as the shards analyse documents of `doc_lang` (all shards share settings)."""
        return self._analyzer.analyze_query(text, doc_lang, query_lang)

    def set_vector_expansion_search(self, ef: int) -> None:
        self._all("set_vector_expansion_search", ef)

    def _snippet_call(self, hit: Hit, method: str, *args: Any) -> Hit:
        try:
            return self._one(hit.id, method, hit, *args)  # type: ignore[no-any-return]
        except InvalidInputError:
            raise
        except XlqeError as e:
            self._warn([str(e)])
            return hit

    def _with_snippet(self, hit: Hit, query: str, chars: int) -> Hit:
        return self._snippet_call(hit, "snippet", query, chars)

    def _with_passage_snippet(self, hit: Hit, query: str, vector: "np.ndarray", chars: int) -> Hit:
        return self._snippet_call(hit, "passage_snippet", query, vector, chars)

    def best_passage(self, id: str, vector: "np.ndarray") -> Optional[tuple[int, float]]:
        return self._one(id, "best_passage", id, vector)  # type: ignore[no-any-return]

    def get(self, id: str) -> Optional[StoredDocument]:
        return self._one(id, "get", id)  # type: ignore[no-any-return]

    def ids(self) -> list[str]:
        return [i for ids in self._all("ids") if ids for i in ids]

    def verify(self) -> list[str]:
        """Every shard's own check, plus the sharding's: each shard answers, holds the manifest's settings
        and only documents that route to it, and is at the generation the manifest recorded."""
        problems: list[str] = []
        answers, warnings = self.fanout.all("verify")
        problems.extend(warnings)
        infos, more = self.fanout.all("info")
        problems.extend(more)
        ids, more = self.fanout.all("ids")
        problems.extend(more)
        expected = self.manifest.config
        for i, (found, info, shard_ids) in enumerate(zip(answers, infos, ids)):
            name = os.path.basename(self.manifest.shard_paths(self.root)[i])
            problems.extend(f"{name}: {p}" for p in found or ())
            if info is not None:
                config = info["config"]
                for key in ("k1", "b", "stem", "stopwords"):
                    if key in expected and key in config and config[key] != expected[key] and \
                            not (isinstance(config[key], float) and abs(config[key] - expected[key]) < 1e-6):
                        problems.append(f"{name}: {key} is {config[key]!r}, the manifest says {expected[key]!r}")
                if bool(config.get("vectors")) != bool(expected.get("vectors")):
                    problems.append(f"{name}: vectors {'present' if config.get('vectors') else 'absent'}, "
                                    "unlike the manifest")
                recorded = self.manifest.shard_generations[i]
                if info["generation"] != recorded:
                    problems.append(f"{name}: at generation {info['generation']}, the manifest recorded {recorded} "
                                    "(a sharded commit did not finish; the next commit records it)")
            wrong = [d for d in shard_ids or () if self._shard(d) != i]
            if wrong:
                problems.append(f"{name}: {len(wrong)} documents belong to other shards (e.g. {wrong[0]!r})")
        return problems

    def reload(self) -> bool:
        """Switches every shard to its latest commit; returns whether any had a newer one."""
        self.fanout.revive()
        changed = any(bool(a) for a in self._all("reload"))
        try:
            self.manifest = read_manifest(self.root)
        except XlqeError:
            pass  # a coordinator without the files keeps the manifest it opened with
        with self._info_lock:
            self._forget()
        return changed

    def close(self) -> None:
        """Releases the shards (a writer's locks; uncommitted changes are dropped) and the actors."""
        if self._closed:
            return
        self._closed = True
        self.fanout.close()
        self._analyzer.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> "ShardedIndex":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._closed:
            return
        if self._writer:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        self.close()

    def __del__(self) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch and not getattr(self, "_closed", True):
            shutil.rmtree(scratch, ignore_errors=True)

    # -- writing ----------------------------------------------------------------------------------
    def _require_writer(self) -> LocalFanout:
        if not self._writer or not isinstance(self.fanout, LocalFanout):
            raise InvalidInputError("this sharded index was opened for reading")
        return self.fanout

    def add(self, id: str, text: str, *, lang: Optional[str] = None, metadata: Optional[Mapping[str, Any]] = None,
            vector: Optional["np.ndarray"] = None, passages: Optional["np.ndarray"] = None) -> int:
        """As `Index.add`, into the document's shard; returns its key (unique within its shard)."""
        fanout = self._require_writer()
        self._forget()
        return fanout.ops[self._shard(id)].index.add(id, text, lang=lang, metadata=metadata, vector=vector,
                                                      passages=passages)

    def add_many(self, documents: Iterable[Union[Document, Mapping[str, Any]]], *, vectors: Optional["np.ndarray"] = None,
                 passages: Optional[Sequence[Optional["np.ndarray"]]] = None, batch_size: int = 1000) -> int:
        """As `Index.add_many`: each document (with its row of `vectors` and its `passages`) goes to its
        shard, in the order given. Without `vectors`, an index with vectors embeds the texts once here."""
        fanout = self._require_writer()
        self._forget()
        rows: list[dict[str, Any]] = [{"id": d.id, "text": d.text, "lang": d.lang, "metadata": dict(d.metadata)} if isinstance(d, Document)
                else dict(d) for d in documents]
        matrix = None if vectors is None else _as_matrix(vectors)
        if matrix is not None and len(matrix) != len(rows):
            raise InvalidInputError(f"{len(rows)} documents but {len(matrix)} vectors")
        if passages is not None and len(passages) != len(rows):
            raise InvalidInputError(f"{len(rows)} documents but passages for {len(passages)} documents")
        if matrix is None and self.vector_config and rows:
            # One encoder for every shard: the first shard's index loads the one its settings name.
            first = fanout.ops[0].index
            matrix, passages = first._embed_documents([r["text"] for r in rows], [r["id"] for r in rows])
        groups: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            groups.setdefault(self._shard(str(r["id"])), []).append(i)
        added = 0
        for shard, members in sorted(groups.items()):
            sub_vectors = None if matrix is None else matrix[members]
            sub_passages = None if passages is None else [passages[i] for i in members]
            added += fanout.ops[shard].index.add_many([rows[i] for i in members], vectors=sub_vectors,
                                                      passages=sub_passages, batch_size=batch_size)
        return added

    def delete(self, id: str) -> bool:
        """Deletes `id` from its shard; returns whether it existed."""
        fanout = self._require_writer()
        self._forget()
        return fanout.ops[self._shard(id)].index.delete(id)

    def commit(self) -> None:
        """Commits every shard (each atomically), then records their generations in the manifest (atomically)."""
        fanout = self._require_writer()
        generations = [op.commit() for op in fanout.ops]
        self.manifest = self.manifest.committed(generations)
        write_manifest(self.root, self.manifest)
        self._forget()

    def rollback(self) -> None:
        fanout = self._require_writer()
        for op in fanout.ops:
            op.rollback()
        self._forget()

    def __repr__(self) -> str:
        kind = "writer" if self._writer else ("ray" if isinstance(self.fanout, RayFanout) else "reader")
        return f"ShardedIndex({self.root!r}, {self.manifest.shards} shards, {kind})"


def open_index(path: PathLike, *, writer: bool = False, ray: Optional[str] = None,
               timeout: float = DEFAULT_TIMEOUT) -> Union[Index, ShardedIndex]:
    """The index at `path`, sharded or not: what `SearchEngine.open` and the CLI open."""
    from .manifest import is_sharded

    if is_sharded(path):
        return ShardedIndex.open(path, writer=writer, ray=ray, timeout=timeout)
    if ray and ray != "none":
        raise InvalidInputError(f"{os.fspath(path)} is one index, not a sharded one: --ray does not apply")
    return Index.open(path, writer=writer)
