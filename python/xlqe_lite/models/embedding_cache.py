"""Embeddings of fixed text lists, cached on disk: evaluation and benchmarks embed the same bench texts
run after run, and encoding is the slow part.

The key is the model's identity (its name and the sha256 of its ONNX file), the kind (query or
passage) and the exact texts, so a changed model or text never returns stale vectors.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Optional, Sequence

import numpy as np

from ..paths import embeddings_dir

if TYPE_CHECKING:
    from .encoder import Encoder


def cache_dir() -> Path:
    return embeddings_dir()


def encoder_identity(encoder: Encoder) -> str:
    """What decides an encoder's vectors: its name, its ONNX file and its input settings (a composite's:
    each part's, with its scale)."""
    cfg = encoder.config
    st = os.stat(cfg.onnx_path)
    own = f"{cfg.name}|{cfg.sha256 or ''}|{st.st_size}|{st.st_mtime_ns}|{cfg.query_prefix}|{cfg.passage_prefix}|{cfg.max_length}"
    if not encoder.companions:
        return own
    parts = [f"{own}*{encoder.own_scale}"] + [f"{encoder_identity(c)}*{s}" for c, s in encoder.companions]
    return f"{encoder.name}[{'+'.join(parts)}]"


def encode_cached(encoder: Encoder, texts: Sequence[str], kind: Literal["query", "passage"]) -> np.ndarray:
    """`encoder.encode(texts, kind)`, from the cache when these exact texts were embedded before (a
    composite's parts each from its own entry, so a part already embedded is not embedded again)."""
    if encoder.companions:
        return encoder.combine(encode_cached(encoder.own, texts, kind),
                               [encode_cached(c, texts, kind) for c, _ in encoder.companions])
    h = hashlib.sha256()
    h.update(f"{encoder_identity(encoder)}\0{kind}\0".encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    path = cache_dir() / f"{h.hexdigest()}.npy"
    if path.exists():
        try:
            cached = np.asarray(np.load(path))
            if cached.shape == (len(texts), encoder.dim):
                return cached
        except (OSError, ValueError):
            pass  # a damaged cache entry is recomputed
    vectors = encoder.encode(list(texts), kind=kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return np.asarray(vectors)


def encode_documents_cached(encoder: Encoder, texts: Sequence[str], passage_tokens: int, passage_stride: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """`encoder.encode_documents(texts, ...)`, each part from the cache when embedded before."""
    return encoder.encode_documents(texts, passage_tokens, passage_stride,
                                    embed=lambda part: encode_cached(encoder, part, "passage"))


def _document_path(encoder: Encoder, text: str, passage_tokens: int, passage_stride: int) -> Path:
    h = hashlib.sha256()
    h.update(f"{encoder_identity(encoder)}\0document\0{passage_tokens}\0{passage_stride}\0".encode())
    h.update(text.encode("utf-8", "surrogatepass"))
    digest = h.hexdigest()
    return cache_dir() / "documents" / digest[:2] / f"{digest}.npz"


def load_document_vectors(encoder: Encoder, text: str, passage_tokens: int, passage_stride: int) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """A document's vector and passage vectors as `save_document_vectors` stored them for this encoder,
    text and window settings, or None. Syncing a folder uses this so that a moved, renamed or touched
    file is not embedded again."""
    path = _document_path(encoder, text, passage_tokens, passage_stride)
    try:
        with np.load(path) as f:
            vector, passages = f["vector"], f["passages"]
    except (OSError, ValueError, KeyError):
        return None  # absent or damaged: embedded again
    if vector.shape != (encoder.dim,) or passages.ndim != 2 or passages.shape[1] != encoder.dim:
        return None
    return vector.astype(np.float32, copy=False), passages.astype(np.float32, copy=False)


def save_document_vectors(encoder: Encoder, text: str, passage_tokens: int, passage_stride: int, vector: np.ndarray,
                          passages: np.ndarray) -> None:
    """Stores one document's vectors for `load_document_vectors` (written to a temporary file, then renamed)."""
    path = _document_path(encoder, text, passage_tokens, passage_stride)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, vector=np.asarray(vector, np.float32), passages=np.asarray(passages, np.float32).reshape(-1, encoder.dim))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time later
