"""Dense sentence encoder on onnxruntime.

    enc = Encoder.load("multilingual-e5-small", threads=2)
    Q = enc.encode_queries(["wie hoch ist der Mount Everest?"])    # [1, 384] float32
    P = enc.encode_passages(docs)                                   # [n, 384], unit length
    D, W = enc.encode_documents(docs)           # D as P; W[i]: vectors of doc i's passage windows

Texts are tokenised in one call, sorted by token length and cut into batches
that are padded only to their own longest member (dynamic padding); results
come back in input order. Every output row is L2-normalised.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np

from ..errors import ModelCorruptError, ModelError, ModelMissingError
from ..fileio import sha256_file
from ..index_config import Metric, VectorConfig
from .config import resolve
from .manifest import COMPOSITES, DEFAULT_MODEL, CompositeSpec, ModelConfig

__all__ = ["Encoder", "DEFAULT_PASSAGE_TOKENS", "DEFAULT_PASSAGE_STRIDE"]

# A long document is also embedded as overlapping windows of this many tokens, one every STRIDE
# tokens, and search mixes its best window's score with the whole document's: a question matches one
# sentence, which a single vector for the whole paragraph blurs (and an encoder reads only its first
# 512 tokens). Chosen on the bench's XQuAD dev paragraphs (BENCHMARKS.md, "Passage windows").
DEFAULT_PASSAGE_TOKENS = 32
DEFAULT_PASSAGE_STRIDE = 16
# Models that take raw text have no tokenizer here: their windows are cut in characters instead.
CHARS_PER_TOKEN = 4
# At most this many windows per document (with the defaults, its first ~16,000 tokens): embedding every
# window of a 100 MB text would take hours. Only a prefix long enough for them is tokenised, assuming
# no token is longer than MAX_CHARS_PER_TOKEN characters.
MAX_WINDOWS = 1024
MAX_CHARS_PER_TOKEN = 16

# Upper bound on padded tokens per batch: attention materialises
# batch x heads x seq x seq floats, so long texts get smaller batches.
DEFAULT_MAX_BATCH_TOKENS = 8192
# With low_memory (indexing), also at most this many batch x seq x seq (512 tokens: one text per batch,
# 128: 16): the token budget alone lets 16 texts of 512 tokens run at once, and their attention is the
# indexing peak; long batches are memory-bound, so the bound costs no time. The int8 model quantises its
# activations per batch, so batch composition moves vectors a little: searches keep the default batching.
# Peaks, times and how far vectors move: BENCHMARKS.md, "Sync: ... peak RSS while indexing".
LOW_MEMORY_BATCH_ATTENTION = 1 << 18


def _need(module: str, pip_line: str) -> Any:
    """Import a runtime dependency or say which pip line installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModelMissingError(
            f"the dense encoder needs {module}; install it with: pip install {pip_line} "
            "(or: make setup; by hand: pip install --require-hashes -r requirements/lock.txt)"
        ) from None


def _ort_session(cfg: ModelConfig, threads: int, low_memory: bool = False) -> Any:
    ort = _need("onnxruntime", "onnxruntime==1.32.0")

    so = ort.SessionOptions()
    if low_memory:
        # Every batch has its own shape; ORT's arena and per-shape memory patterns keep the largest
        # allocations of all of them. Off, indexing peaks much lower for a little speed (BENCHMARKS.md,
        # "Sync: ... peak RSS while indexing", onnxruntime's arena). Indexing uses this; query encoding does not.
        so.enable_cpu_mem_arena = False
        so.enable_mem_pattern = False
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    if cfg.ort_custom_ops:
        try:
            from onnxruntime_extensions import get_library_path
        except ImportError:
            raise ModelMissingError(
                f"model {cfg.name!r} needs onnxruntime-extensions; install it with: "
                "pip install onnxruntime-extensions==0.15.2"
            ) from None
        so.register_custom_ops_library(get_library_path())
    try:
        return ort.InferenceSession(
            str(cfg.onnx_path), so, providers=["CPUExecutionProvider"],
            disabled_optimizers=list(cfg.disabled_optimizers) or None,
        )
    except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf/... types
        raise ModelCorruptError(f"onnxruntime cannot load {cfg.onnx_path}: {e}") from None


class Encoder:
    """Sentence encoder; build it with :meth:`Encoder.load`."""

    def __init__(self, config: ModelConfig, session: Any, tokenizer: Any | None, threads: int,
                 max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS, max_batch_attention: int = 0) -> None:
        self.config = config
        self.name: str = config.name
        self.dim: int = config.dim
        # Encoders whose vectors follow this one's in each text's vector (a manifest composite; see
        # `CompositeSpec`), each with its scale; this encoder's own part is scaled by `own_scale`, and
        # `_base` is the plain encoder it was made from.
        self.companions: tuple[tuple[Encoder, float], ...] = ()
        self.own_scale = 1.0
        self._base: Optional[Encoder] = None
        self.threads = threads
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_attention = max_batch_attention
        self._sess = session
        self._tok = tokenizer
        inputs = {i.name: i for i in session.get_inputs()}
        outputs = [o.name for o in session.get_outputs()]
        self._output = config.output or outputs[0]
        if self._output not in outputs:
            raise ModelError(f"{config.onnx_path} has no output {self._output!r} (outputs: {outputs})")
        if config.input_kind == "text":
            if len(inputs) != 1:
                raise ModelError(f"{config.onnx_path}: text models must take exactly one string input, got {list(inputs)}")
            self._text_input = next(iter(inputs))
        else:
            if "input_ids" not in inputs:
                raise ModelError(f"{config.onnx_path} has no 'input_ids' input (inputs: {list(inputs)})")
            self._int_type = {n: (np.int32 if "int32" in i.type else np.int64) for n, i in inputs.items()}
            self._pad_id = 0
            if tokenizer is not None:
                pad = tokenizer.token_to_id("<pad>")
                if pad is None:
                    pad = tokenizer.token_to_id("[PAD]")
                self._pad_id = int(pad) if pad is not None else 0

    # ------------------------------------------------------------------ load
    @classmethod
    def load(
        cls,
        name_or_config: str | os.PathLike[str] | ModelConfig = DEFAULT_MODEL,
        threads: int = 2,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        auto_prepare: bool = True,
        check_hash: bool = True,
        max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS,
        low_memory: bool = False,
    ) -> "Encoder":
        """Load a manifest model (prepared on first use unless auto_prepare=False), a manifest composite
        (its parts loaded alike), a user config file (.toml/.json) or a ModelConfig. `low_memory` turns off onnxruntime's
        memory arena and patterns and bounds each batch's attention (`LOW_MEMORY_BATCH_ATTENTION`):
        bounded memory for long indexing runs.

        check_hash re-hashes model.onnx against its recorded sha256 (~0.1 s per
        70 MB) so a damaged file fails here with ModelCorruptError rather than
        producing wrong vectors.
        """
        composite = COMPOSITES.get(name_or_config) if isinstance(name_or_config, str) else None
        if composite is not None:
            parts = [cls.load(part, threads, cache_dir=cache_dir, auto_prepare=auto_prepare, check_hash=check_hash,
                              max_batch_tokens=max_batch_tokens, low_memory=low_memory) for part, _ in composite.parts]
            return parts[0]._with_companions(composite, parts[1:])
        cfg = resolve(name_or_config, cache_dir=cache_dir, auto_prepare=auto_prepare)
        path = Path(cfg.onnx_path)
        if not path.is_file():
            raise ModelMissingError(f"model file {path} does not exist")
        size = path.stat().st_size
        if cfg.size is not None and size != cfg.size:
            raise ModelCorruptError(f"{path} is {size} bytes, expected {cfg.size} (truncated?); re-run prepare with --force")
        if check_hash and cfg.sha256:
            digest = sha256_file(path)
            if digest != cfg.sha256:
                raise ModelCorruptError(f"{path} has sha256 {digest}, expected {cfg.sha256}; re-run prepare with --force")
        tok = None
        if cfg.input_kind == "tokens":
            if cfg.tokenizer_path is None or not Path(cfg.tokenizer_path).is_file():
                raise ModelMissingError(f"tokenizer file {cfg.tokenizer_path} does not exist")
            Tokenizer = _need("tokenizers", "tokenizers==0.23.3").Tokenizer
            try:
                tok = Tokenizer.from_file(str(cfg.tokenizer_path))
            except Exception as e:
                raise ModelCorruptError(f"cannot read tokenizer {cfg.tokenizer_path}: {e}") from None
            tok.no_padding()  # we pad per batch ourselves
            if cfg.max_length:
                tok.enable_truncation(max_length=cfg.max_length)  # counts the special tokens too
            else:
                tok.no_truncation()
        sess = _ort_session(cfg, threads, low_memory)
        return cls(cfg, sess, tok, threads, max_batch_tokens, LOW_MEMORY_BATCH_ATTENTION if low_memory else 0)

    def _with_companions(self, spec: CompositeSpec, companions: Sequence[Encoder]) -> Encoder:
        """A new encoder named `spec.name` over this one's session, `companions` embedding beside it."""
        out = copy.copy(self)
        out._base = self
        total = sum(w for _, w in spec.parts)
        out.name = spec.name
        out.dim = self.dim + sum(c.dim for c in companions)
        out.own_scale = float(np.sqrt(spec.parts[0][1] / total))
        out.companions = tuple((c, float(np.sqrt(w / total))) for c, (_, w) in zip(companions, spec.parts[1:]))
        return out

    @property
    def own(self) -> Encoder:
        """This encoder without its companions (itself when it has none)."""
        return self._base or self

    def combine(self, own: np.ndarray, companions: Sequence[np.ndarray]) -> np.ndarray:
        """A composite's vectors from its parts' ([n, part dim] each, in the order of `companions`): each
        part normalised and scaled, side by side."""
        if not self.companions:
            return own
        parts = [own, *companions]
        scales = [self.own_scale, *(s for _, s in self.companions)]
        return np.hstack([p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12) * s
                          for p, s in zip(parts, scales)]).astype(np.float32, copy=False)

    # ------------------------------------------------------------- encoding
    def encode_queries(self, texts: Sequence[str] | str, batch_size: int = 32) -> np.ndarray:
        """float32 [n, dim], with the model's query prefix."""
        return self.encode(texts, "query", batch_size)

    def encode_passages(self, texts: Sequence[str] | str, batch_size: int = 32) -> np.ndarray:
        """float32 [n, dim], with the model's passage prefix."""
        return self.encode(texts, "passage", batch_size)

    def encode(self, texts: Sequence[str] | str, kind: Literal["query", "passage"] = "passage",
               batch_size: int = 32) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        own = self._encode_own(texts, kind, batch_size)
        return self.combine(own, [c.encode(texts, kind, batch_size) for c, _ in self.companions])

    def _encode_own(self, texts: list[str], kind: Literal["query", "passage"], batch_size: int) -> np.ndarray:
        if self.config.max_batch:
            batch_size = min(batch_size, self.config.max_batch)
        prefix = self.config.query_prefix if kind == "query" else self.config.passage_prefix
        out = np.zeros((len(texts), self.config.dim), dtype=np.float32)
        if not texts:
            return out
        if self.config.input_kind == "text":
            strings = [prefix + t for t in texts]
            for idx in self._batches([len(s) for s in strings], batch_size, token_budget=False):
                out[idx] = self._run_text([strings[i] for i in idx])
        else:
            # The model reads max_length tokens; tokenising the rest first made one 20 MB text peak at
            # 2.4 GB (HF tokenizers builds every token's offsets and strings before truncating). No token
            # is longer than MAX_CHARS_PER_TOKEN characters, so this prefix holds all the model reads.
            limit = self.config.max_length * MAX_CHARS_PER_TOKEN if self.config.max_length else None
            ids = self.token_ids([prefix + t[:limit] for t in texts])
            lengths = [len(x) for x in ids]
            for idx in self._batches(lengths, batch_size, token_budget=True):
                out[idx] = self._run_tokens([ids[i] for i in idx])
        return out

    def vector_settings(self, passages: bool = True) -> VectorConfig:
        """The `vectors` settings of an index made with this encoder (see `Index.create`)."""
        return VectorConfig(self.dim, metric=Metric.IP if self.config.normalize else Metric.COSINE, model=self.name,
                            passage_tokens=DEFAULT_PASSAGE_TOKENS if passages else 0,
                            passage_stride=DEFAULT_PASSAGE_STRIDE if passages else 0)

    def passage_windows(self, text: str, tokens: int = DEFAULT_PASSAGE_TOKENS,
                        stride: int = DEFAULT_PASSAGE_STRIDE) -> list[str]:
        """`text` cut into windows of `tokens` tokens starting every `stride` tokens (the last one
        reaches the end); [] when the text fits in one window, so short texts get no passages."""
        return self.passage_windows_many([text], tokens, stride)[0]

    def passage_windows_many(self, texts: Sequence[str], tokens: int = DEFAULT_PASSAGE_TOKENS,
                             stride: int = DEFAULT_PASSAGE_STRIDE) -> list[list[str]]:
        if not (tokens >= 1 and 1 <= stride <= tokens):
            raise ValueError(f"passage windows need tokens >= 1 and 1 <= stride <= tokens, got {tokens} / {stride}")
        texts = [t[: (MAX_WINDOWS * stride + tokens) * MAX_CHARS_PER_TOKEN] for t in texts]
        if self._tok is None:
            spans = [[(i, i + 1) for i in range(len(t))] for t in texts]
            tokens, stride = tokens * CHARS_PER_TOKEN, stride * CHARS_PER_TOKEN
        else:
            spans = [self._all_offsets(e) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]
        out: list[list[str]] = []
        for text, offsets in zip(texts, spans):
            windows: list[str] = []
            if len(offsets) > tokens:
                for start in range(0, len(offsets), stride):
                    end = min(start + tokens, len(offsets))
                    window = text[offsets[start][0] : offsets[end - 1][1]].strip()
                    if window:
                        windows.append(window)
                    if end == len(offsets) or len(windows) == MAX_WINDOWS:
                        break
            out.append(windows)
        return out

    def encode_documents(self, texts: Sequence[str], passage_tokens: int = DEFAULT_PASSAGE_TOKENS,
                         passage_stride: int = DEFAULT_PASSAGE_STRIDE,
                         embed: Optional[Callable[[list[str]], np.ndarray]] = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's passage embedding, and the embeddings of its passage windows ([n_i, dim]; none
        for a text that fits in one window). `passage_tokens=0`: no windows at all. `embed` replaces
        `encode_passages` (e.g. a cached version)."""
        embed = embed or self.encode_passages
        vectors = embed(list(texts))
        if passage_tokens <= 0:
            return vectors, [np.zeros((0, self.dim), dtype=np.float32) for _ in texts]
        windows = self.passage_windows_many(list(texts), passage_tokens, passage_stride)
        flat = embed([w for ws in windows for w in ws])
        return vectors, split_rows(flat, [len(ws) for ws in windows])

    @staticmethod
    def _all_offsets(encoding: Any) -> list[tuple[int, int]]:
        """The character offsets of every token of a text, from the truncating tokenizer's encoding: the
        tokens past `max_length` are in its overflowing encodings, in order (stride 0), with offsets in the
        same text. A second, non-truncating copy of the tokenizer did this before, but a copy of the
        multilingual-e5 tokenizer (250,000 pieces) is most of the loaded model's memory (BENCHMARKS.md,
        "Sync: ... peak RSS while indexing", the tokenizer, twice)."""
        offsets = list(encoding.offsets)
        for more in encoding.overflowing:
            offsets.extend(more.offsets)
        return offsets

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids (with special tokens, truncated to max_length) of already-prefixed texts."""
        if self._tok is None:
            raise ModelError(f"{self.name} takes raw text; it has no tokenizer")
        return [e.ids for e in self._tok.encode_batch(list(texts))]

    # ------------------------------------------------------------ internals
    def _batches(self, lengths: Sequence[int], batch_size: int, token_budget: bool) -> Iterator[np.ndarray]:
        """Index arrays of batches, shortest texts first (ties keep input order)."""
        order = np.argsort(np.asarray(lengths), kind="stable")
        batch: list[int] = []
        for i in order:
            # sorted ascending, so the newest member is the longest of the batch
            width = max(lengths[i], 1)
            over = token_budget and ((len(batch) + 1) * width > self.max_batch_tokens
                                     or (self.max_batch_attention and (len(batch) + 1) * width * width > self.max_batch_attention))
            if batch and (len(batch) == batch_size or over):
                yield np.asarray(batch)
                batch = []
            batch.append(int(i))
        if batch:
            yield np.asarray(batch)

    def _run_tokens(self, id_lists: list[list[int]]) -> np.ndarray:
        width = max(max((len(x) for x in id_lists), default=0), 1)
        ids = np.full((len(id_lists), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(id_lists), width), dtype=np.int64)
        for r, x in enumerate(id_lists):
            ids[r, : len(x)] = x
            mask[r, : len(x)] = 1
        feeds: dict[str, np.ndarray] = {}
        for name, dtype in self._int_type.items():
            if name == "input_ids":
                feeds[name] = ids.astype(dtype, copy=False)
            elif name == "attention_mask":
                feeds[name] = mask.astype(dtype, copy=False)
            elif name == "token_type_ids":
                feeds[name] = np.zeros_like(ids, dtype=dtype)
            else:
                raise ModelError(f"{self.config.onnx_path}: don't know what to feed input {name!r}")
        y = self._sess.run([self._output], feeds)[0]
        return self._finish(self._pool(np.asarray(y, dtype=np.float32), mask))

    def _run_text(self, strings: list[str]) -> np.ndarray:
        y = self._sess.run([self._output], {self._text_input: np.asarray(strings, dtype=object)})[0]
        return self._finish(np.asarray(y, dtype=np.float32))

    def _pool(self, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
        pooling = self.config.pooling
        if pooling == "none":
            return y
        if y.ndim != 3:
            raise ModelError(f"{self.name}: pooling {pooling!r} needs token states [batch, seq, dim], got {y.shape}")
        if pooling == "cls":
            return np.asarray(y[:, 0, :])
        m = mask[:, :, None].astype(np.float32)
        return np.asarray((y * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0))

    def _finish(self, v: np.ndarray) -> np.ndarray:
        if v.ndim != 2 or v.shape[1] != self.config.dim:
            raise ModelError(f"{self.config.name}: model output has shape {v.shape}, expected [batch, {self.config.dim}]")
        if self.config.normalize:
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return v.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"Encoder(name={self.name!r}, dim={self.dim}, threads={self.threads})"


def split_rows(flat: np.ndarray, counts: Sequence[int]) -> list[np.ndarray]:
    """`flat`'s rows cut into consecutive groups of `counts[i]` rows."""
    bounds = np.cumsum([0, *counts])
    return [flat[bounds[i] : bounds[i + 1]] for i in range(len(counts))]
