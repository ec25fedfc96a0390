"""Fixtures every role's tests share: the bench data beside the checkout, the CLI as a subprocess, the
prepared models and the encoders loaded from them.

Markers (registered in pyproject.toml, `--strict-markers`): `model` (needs the real models), `bench` (needs
the CLIR bench), `slow`. A test that asks for the `bench` fixture must be marked `bench`, and one that asks
for a prepared model (`prepared`, `gemma`, an encoder) must be marked `model`: collection fails otherwise, so
`-m "not model"` and `-m "not bench"` leave out what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.common import E5, E5_Q4, USE, bench_dir, run_xlqe

# The fixtures whose users must carry a marker, and which marker.
_MARKED_FIXTURES = {"bench": "bench", "prepared": "model", "gemma": "model"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = []
    for item in items:
        names = getattr(item, "fixturenames", ())
        for fixture, marker in _MARKED_FIXTURES.items():
            if fixture in names and item.get_closest_marker(marker) is None:
                missing.append(f"{item.nodeid} uses the {fixture!r} fixture but is not marked {marker!r}")
    if missing:
        raise pytest.UsageError("\n".join(missing))


@pytest.fixture(scope="session")
def bench() -> Path:
    path = bench_dir()
    if not (path / "xquad").is_dir():
        pytest.fail(f"the CLIR bench is missing at {path} (set XLQE_BENCH)")
    return path


@pytest.fixture
def xlqe():
    return run_xlqe


@pytest.fixture(scope="session")
def prepared() -> dict[str, Path]:
    """Every manifest model, prepared once (idempotent, cached between runs). The set-up installs the
    model packages, so a missing one is a failure here, never a skip."""
    from xlqe_lite import models
    from xlqe_lite.errors import ModelMissingError

    out = {}
    for name in models.MANIFEST:
        try:
            out[name] = models.prepare(name)
        except ModelMissingError as e:
            pytest.fail(f"model sources not installed (run `make setup`): {e}")
    return out


@pytest.fixture(scope="session")
def gemma() -> Path:
    """The default LLM's GGUF file, assembled from its PyPI chunk packages (a failure if they are missing)."""
    from xlqe_lite.models.llm_registry import DEFAULT_LLM, prepare_llm
    from xlqe_lite.errors import ModelMissingError

    try:
        return prepare_llm(DEFAULT_LLM)
    except ModelMissingError as e:
        pytest.fail(f"the default LLM's packages are not installed (run `make setup`): {e}")


# -- encoders on the real models (integration/test_encoder.py, comparison/test_e5_reference.py) ------------

@pytest.fixture(scope="session")
def enc_int8(prepared: dict[str, Path]):
    from xlqe_lite.models.encoder import Encoder

    return Encoder.load(E5, threads=2)


@pytest.fixture(scope="session")
def enc_q4(prepared: dict[str, Path]):
    from xlqe_lite.models.encoder import Encoder

    return Encoder.load(E5_Q4, threads=2)


@pytest.fixture(scope="session")
def enc_use(prepared: dict[str, Path]):
    from xlqe_lite.models.encoder import Encoder

    return Encoder.load(USE, threads=2)


def _first_lines(path: Path, n: int) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


@pytest.fixture(scope="session")
def sentences(bench: Path) -> list[str]:
    """3 XQuAD sentences in each of 9 languages + 2 Tatoeba pairs in 4 languages (the first lines of bench
    files, read-only, not hand-picked)."""
    out = []
    for lang in ("en", "de", "es", "ru", "tr", "ar", "zh", "th", "hi"):
        out += [r["text"] for r in _first_lines(bench / "xquad" / f"sentences.{lang}.jsonl", 3)]
    for pair in ("deu", "jpn", "kor", "swh"):
        for r in _first_lines(bench / "tatoeba" / f"{pair}-eng.jsonl", 2):
            out += [r["src_text"], r["tgt_text"]]
    return out
