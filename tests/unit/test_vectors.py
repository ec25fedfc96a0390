"""Vectors in the index through the Python API: numpy in, nearest documents out, committed with the text."""

from __future__ import annotations

import numpy as np
import pytest

from xlqe_lite import Index, InvalidInputError
from xlqe_lite.index_config import Storage, VectorConfig


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("storage", ["f32", "f16", "i8"])
@pytest.mark.parametrize("exact_below", [1_000_000, 0])
def test_vector_search_matches_exact_search(tmp_path, storage: str, exact_below: int) -> None:
    rng = np.random.default_rng(7)
    vectors = _unit(rng.normal(size=(2000, 32)))
    index = Index.create(tmp_path / "ix", vectors={"dims": 32, "storage": storage, "exact_below": exact_below,
                                                   "expansion_search": 128})
    index.add_many(({"id": f"d{i}", "text": f"doc {i}", "lang": "en" if i % 2 else "de"} for i in range(2000)), vectors=vectors)
    index.commit()
    reader = Index.open(tmp_path / "ix")
    assert reader.vector_count == 2000
    # The settings come back typed, as they were given (the core's defaults filled in).
    settings = reader.vector_config
    assert isinstance(settings, VectorConfig) and settings.dims == 32 and settings.exact_below == exact_below
    assert settings.storage is Storage(storage) and settings.expansion_search == 128
    queries = _unit(rng.normal(size=(50, 32)))
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len({f"d{j}" for j in truth[q]} & {h.id for h in reader.search_vector(queries[q], k=10)}) / 10
                      for q in range(50)])
    assert recall >= (0.99 if storage != "i8" else 0.9), recall
    hit = reader.search_vector(vectors[3], k=1)[0]
    assert hit.id == "d3" and hit.score == pytest.approx(1.0, abs=0.02)
    assert all(h.lang == "de" for h in reader.search_vector(queries[0], k=10, langs=["de"]))


def test_vector_input_errors(tmp_path) -> None:
    index = Index.create(tmp_path / "ix", vectors={"dims": 4})
    with pytest.raises(InvalidInputError, match="dimensions"):
        index.add("a", "text", vector=np.ones(3))
    with pytest.raises(InvalidInputError, match="NaN"):
        index.add("a", "text", vector=np.array([1, np.nan, 0, 0]))
    with pytest.raises(InvalidInputError, match="vectors"):
        index.add_many([{"id": "a", "text": "x"}, {"id": "b", "text": "y"}], vectors=np.ones((1, 4)))
    with pytest.raises(InvalidInputError, match="unknown storage"):
        Index.create(tmp_path / "other", vectors={"dims": 4, "storage": "f8"})
    with pytest.raises(InvalidInputError, match="no vectors"):
        Index.create(tmp_path / "plain").add("a", "x", vector=np.ones(4))
    lexical = Index.create(tmp_path / "lexical")
    assert lexical.vector_config is None
    lexical.close()
