"""`xlqe index --shards N --ray ...`: a sharded index built on Ray.

The pipeline (Ray Data, streaming, so memory stays bounded whatever the input size):

1. The driver walks the inputs (folders, files, JSONL) as `xlqe index` does, and Ray Data gets one row
   per file; read tasks extract each file's text (or parse each JSONL line, bad lines skipped with their
   reason) and guess its language.
2. Encoder actors (`workers` of them, the ONNX encoder loaded once per actor) embed batches of documents
   and their passage windows.
3. Router tasks send each document to the writer actor of its shard (`router.shard_of`, a stable hash of
   the id); each writer holds its shard's writer lock and adds to an ordinary index directory, committing
   every `commit_every` documents and at the end.
4. The driver records the shards' generations in the manifest, atomically.

Running into an existing sharded index adds and replaces documents by id (each in its own shard); it does
not remove documents whose files are gone (that is `xlqe rm`). On a real cluster every node must see the
inputs and the index directory at the same paths (a shared file system) and have xlqe-lite installed.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from .._core import normalize_lang
from ..errors import ExtractionError, InvalidInputError
from ..models.manifest import DEFAULT_ENCODER
from .manifest import is_sharded, read_manifest, write_manifest
from .ops import ShardOps
from .router import shard_of
from .sharded import ShardedIndex

DEFAULT_BATCH = 256


@dataclass
class BuildReport:
    """What a sharded build did."""

    documents: int = 0
    per_shard: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    generation: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"documents": self.documents, "per_shard": self.per_shard, "skipped": self.skipped,
                "skipped_examples": self.skipped_examples, "seconds": round(self.seconds, 3),
                "workers": self.workers, "generation": self.generation,
                "docs_per_second": round(self.documents / self.seconds, 1) if self.seconds else None}


def walk_inputs(paths: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows {"path", "root", "kind": "file" | "jsonl"} for every input file (folders walked as `xlqe index`
    walks them: hidden entries skipped, supported types only), and "where: reason" of what was skipped."""
    from ..ingest.extract import FORMATS, detect_format
    from ..ingest.sources import JSONL_SUFFIXES
    from ..ingest.report import canonical

    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing:
        raise InvalidInputError(f"no such file or directory: {', '.join(missing)}")

    def add(path: str, root: str, explicit: bool) -> None:
        try:
            st = os.stat(path)
        except OSError as e:
            skipped.append(f"{path}: {e.strerror or e}")
            return
        if not stat.S_ISREG(st.st_mode):
            skipped.append(f"{path}: not a regular file")
            return
        suffix = os.path.splitext(path)[1].lower()
        if suffix in JSONL_SUFFIXES:
            rows.append({"path": path, "root": root, "kind": "jsonl"})
        elif suffix in FORMATS or detect_format(path) is not None or explicit:
            rows.append({"path": path, "root": root, "kind": "file"})
        else:
            skipped.append(f"{path}: unsupported-type")

    for p in paths:
        top = canonical(p)
        if os.path.isdir(top):
            for folder, dirs, files in os.walk(top):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        add(os.path.join(folder, name), top, explicit=False)
        else:
            add(top, os.path.dirname(top), explicit=True)
    return rows, skipped


def read_documents(row: dict[str, Any], lang: Optional[str], detect: bool, max_bytes: int,
                   timeout: float) -> Iterator[dict[str, Any]]:
    """The documents of one input row as {"id", "text", "lang", "metadata" (JSON), "skip"}: a JSONL file's
    records, or a file's extracted text; what cannot be read is one row with "skip" = "reason: where"."""
    from ..ingest.sources import Skipped, _jsonl_file, guess_language

    path = str(row["path"])
    if row["kind"] == "jsonl":
        for item in _jsonl_file(Path(path), lang, detect, max_bytes):
            if isinstance(item, Skipped):
                yield {"id": "", "text": "", "lang": "", "metadata": "", "skip": f"{item.reason}: {item.where}"}
            else:
                yield {"id": item.id, "text": item.text, "lang": item.lang or "",
                       "metadata": json.dumps(dict(item.metadata), ensure_ascii=False), "skip": ""}
        return
    from ..ingest.extract import extract
    from ..ingest.sync import FILE_SOURCE

    try:
        got = extract(path, max_bytes=max_bytes, timeout=timeout)
        st = os.stat(path)
    except ExtractionError as e:
        yield {"id": "", "text": "", "lang": "", "metadata": "", "skip": f"{e.reason}: {path}"}
        return
    except OSError as e:
        yield {"id": "", "text": "", "lang": "", "metadata": "", "skip": f"unreadable: {path} ({e.strerror})"}
        return
    if not got.text.strip():
        yield {"id": "", "text": "", "lang": "", "metadata": "", "skip": f"empty: {path}"}
        return
    meta = {"source": FILE_SOURCE, "root": row["root"], "path": os.path.relpath(path, row["root"]).replace(os.sep, "/"),
            "size": st.st_size, "mtime_ns": st.st_mtime_ns, "mtime": st.st_mtime_ns / 1e9,
            "title": got.title or os.path.basename(path), "format": got.format,
            "sections": [[s.start, s.page, s.chapter] for s in got.sections if s.page is not None or s.chapter]}
    doc_lang = lang or (guess_language(got.text) if detect else None)
    yield {"id": path, "text": got.text, "lang": doc_lang or "", "metadata": json.dumps(meta, ensure_ascii=False),
           "skip": ""}


class Embedder:
    """A Ray Data actor UDF: loads the encoder once, then embeds each batch's documents and their passage
    windows into float32 bytes (the passage offsets of file documents go into their metadata)."""

    def __init__(self, model: str, threads: int, passage_tokens: int, passage_stride: int) -> None:
        from ..models.encoder import Encoder

        self.encoder = Encoder.load(model, threads=threads, low_memory=True)
        self.passage_tokens, self.passage_stride = passage_tokens, passage_stride

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        from ..ingest.sync import FILE_SOURCE, passage_offsets

        keep = [i for i, s in enumerate(batch["skip"]) if not s]
        texts = [str(batch["text"][i]) for i in keep]
        n = len(batch["id"])
        vectors = [b""] * n
        passages = [b""] * n
        counts = [0] * n
        metadata = list(batch["metadata"])
        if texts:
            own, windows = self.encoder.encode_documents(texts, self.passage_tokens, self.passage_stride)
            cut = (self.encoder.passage_windows_many(texts, self.passage_tokens, self.passage_stride)
                   if self.passage_tokens > 0 else [[] for _ in texts])
            for j, i in enumerate(keep):
                vectors[i] = np.ascontiguousarray(own[j], dtype=np.float32).tobytes()
                passages[i] = np.ascontiguousarray(windows[j], dtype=np.float32).tobytes()
                counts[i] = len(windows[j])
                if cut[j] and metadata[i]:
                    meta = json.loads(str(metadata[i]))
                    if meta.get("source") == FILE_SOURCE:
                        meta["passages"] = passage_offsets(texts[j], cut[j])
                        metadata[i] = json.dumps(meta, ensure_ascii=False)
        return {**batch, "metadata": np.array(metadata, dtype=object), "vector": np.array(vectors, dtype=object),
                "passages": np.array(passages, dtype=object), "n_passages": np.array(counts, dtype=np.int64)}


class ShardWriter(ShardOps):
    """One shard's writer (a Ray actor): adds encoded rows, committing every `commit_every` documents."""

    def __init__(self, path: str, commit_every: int, dims: int) -> None:
        super().__init__(path, writer=True)
        self.commit_every, self.dims, self.since = commit_every, dims, 0

    def add_encoded(self, rows: list[dict[str, Any]], vectors: Optional[list[bytes]], passages: Optional[list[bytes]]) -> int:
        import numpy as np

        if vectors is None:
            added = self.index.add_many(rows)
        else:
            matrix = np.stack([np.frombuffer(v, dtype=np.float32) for v in vectors]).reshape(len(rows), self.dims)
            windows = [np.frombuffer(p, dtype=np.float32).reshape(-1, self.dims) if passages and p else None
                       for p in (passages or [b""] * len(rows))]
            added = self.index.add_many(rows, vectors=matrix, passages=windows)
        self.since += added
        if self.since >= self.commit_every:
            self.index.commit()
            self.since = 0
        return added


class Router:
    """A Ray Data UDF: sends each document of a batch to its shard's writer actor, and returns one row per
    input row: its shard (-1: skipped) and the skip reason."""

    def __init__(self, writers: list[Any], vectors: bool) -> None:
        self.writers, self.vectors = writers, vectors

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np
        import ray

        n = len(batch["id"])
        shards = np.full(n, -1, dtype=np.int64)
        groups: dict[int, list[int]] = {}
        for i in range(n):
            if not batch["skip"][i]:
                shards[i] = shard_of(str(batch["id"][i]), len(self.writers))
                groups.setdefault(int(shards[i]), []).append(i)
        calls = []
        for s, members in groups.items():
            rows = [{"id": str(batch["id"][i]), "text": str(batch["text"][i]), "lang": str(batch["lang"][i]) or None,
                     "metadata": json.loads(str(batch["metadata"][i])) if batch["metadata"][i] else None} for i in members]
            vectors = [bytes(batch["vector"][i]) for i in members] if self.vectors else None
            passages = [bytes(batch["passages"][i]) for i in members] if self.vectors else None
            calls.append(self.writers[s].add_encoded.remote(rows, vectors, passages))
        ray.get(calls)
        return {"shard": shards, "skip": np.array([str(s) for s in batch["skip"]], dtype=object)}


def build_sharded(index_dir: str, paths: Sequence[str], *, shards: Optional[int] = None, ray_address: str = "auto",
                  encoder: Optional[str] = DEFAULT_ENCODER, passages: bool = True, workers: int = 1,
                  threads: Optional[int] = None, lang: Optional[str] = None, detect: bool = True,
                  max_bytes: int = 100 * 1024 * 1024, timeout: float = 60.0, batch_size: int = DEFAULT_BATCH,
                  commit_every: int = 10_000, index_settings: Optional[dict[str, Any]] = None,
                  num_cpus: Optional[int] = None) -> BuildReport:
    """Builds (or adds to) the sharded index at `index_dir` from `paths` on Ray (see the module docstring).
    A new index gets `shards` shards, `encoder`'s vectors (None: lexical only) and `index_settings` (k1, b,
    stem, stopwords); an existing one keeps its own, and `shards`, when given, must match."""
    import ray

    from .fanout import connect

    if workers < 1 or batch_size < 1 or commit_every < 1:
        raise InvalidInputError("workers, batch_size and commit_every must be >= 1")
    lang = normalize_lang(lang) if lang else None
    inputs, walk_skipped = walk_inputs(paths)  # checks every input before anything is created
    created = not is_sharded(index_dir)
    if created:
        if shards is None or shards < 1:
            raise InvalidInputError("a new sharded index needs --shards N (N >= 1)")
        if os.path.exists(os.path.join(index_dir, "xlqe.manifest")):
            raise InvalidInputError(f"{index_dir} is an index of one shard; --shards makes a new sharded index")
        vectors = None
        if encoder:
            from ..models.encoder import Encoder

            vectors = Encoder.load(encoder, threads=1, low_memory=True).vector_settings(passages=passages)
        settings = dict(index_settings or {})
        ShardedIndex.create(index_dir, shards, vectors=vectors, **settings).close()
    manifest = read_manifest(index_dir)
    if shards is not None and shards != manifest.shards:
        raise InvalidInputError(f"{index_dir} has {manifest.shards} shards, not {shards}")
    config = manifest.config
    vector_settings = config.get("vectors") or None
    started = time.monotonic()
    connect(ray_address, num_cpus=num_cpus)
    cluster_cpus = float(ray.cluster_resources().get("CPU", 1.0))  # type: ignore[no-untyped-call]  # ray leaves it unannotated
    threads = threads or max(1, int(cluster_cpus // workers))
    paths_of = manifest.shard_paths(index_dir)
    dims = int(vector_settings["dims"]) if vector_settings else 0
    writer_cls = ray.remote(ShardWriter).options(num_cpus=0)
    writers: list[Any] = [writer_cls.remote(p, commit_every, dims) for p in paths_of]
    report = BuildReport(workers=workers, per_shard=[0] * manifest.shards)
    for s in walk_skipped:
        reason = s.rsplit(": ", 1)[-1].split(" ")[0]
        report.skipped[reason] = report.skipped.get(reason, 0) + 1
        report.skipped_examples.append(s)
    try:
        ds: Any = ray.data.from_items(inputs, override_num_blocks=max(1, min(len(inputs), 4 * workers)))
        # CPUs: the encoder actors share 80% of the cluster's; reading and routing get small slices of the rest,
        # so neither waits for CPUs the long-lived encoder actors hold (which would stall the stream).
        ds = ds.flat_map(lambda row: list(read_documents(row, lang, detect, max_bytes, timeout)),
                         num_cpus=min(0.5, 0.15 * cluster_cpus / 2))
        if vector_settings:
            ds = ds.map_batches(Embedder, batch_size=batch_size, batch_format="numpy", concurrency=workers,
                                num_cpus=min(1.0, 0.8 * cluster_cpus / workers),
                                fn_constructor_kwargs={"model": vector_settings.get("model") or encoder, "threads": threads,
                                                       "passage_tokens": int(vector_settings.get("passage_tokens") or 0),
                                                       "passage_stride": int(vector_settings.get("passage_stride") or 0)})
        ds = ds.map_batches(Router, batch_size=batch_size, batch_format="numpy", concurrency=1,
                            num_cpus=min(0.25, 0.05 * cluster_cpus / 2),
                            fn_constructor_kwargs={"writers": writers, "vectors": bool(vector_settings)})
        for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
            for shard, skip in zip(batch["shard"], batch["skip"]):
                if shard >= 0:
                    report.per_shard[int(shard)] += 1
                    report.documents += 1
                else:
                    reason = str(skip).split(": ", 1)[0].partition(" (")[0]  # "invalid JSON (detail)" counts as one
                    report.skipped[reason] = report.skipped.get(reason, 0) + 1
                    if len(report.skipped_examples) < 20:
                        report.skipped_examples.append(str(skip))
        generations = ray.get([w.commit.remote() for w in writers])
    except BaseException:
        for w in writers:
            ray.kill(w)  # uncommitted work is dropped; committed steps stay
        raise
    ray.get([w.close.remote() for w in writers])
    for w in writers:
        ray.kill(w)
    manifest = read_manifest(index_dir).committed(list(generations))
    write_manifest(index_dir, manifest)
    report.generation = manifest.generation
    report.seconds = time.monotonic() - started
    return report
