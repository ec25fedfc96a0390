"""The dense encoders on the real models: cross-lingual sanity, batching/ordering, edge cases, USE (the
e5 graphs against an independent reference are in comparison/test_e5_reference.py; the encoder fixtures in
tests/conftest.py). Sentences are the first lines of bench files (read-only), not hand-picked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xlqe_lite.models.encoder import Encoder

from support.common import E5, E5_USE, USE

pytestmark = [pytest.mark.model, pytest.mark.bench]


def _first_lines(path: Path, n: int) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


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


def test_the_composite_is_its_parts_side_by_side_weighted(enc_int8: Encoder, enc_use: Encoder, bench: Path,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default encoder's vector of a text is e5's and USE's unit vectors scaled by the roots of their
    weights over the weights' sum: so two vectors' inner product is (cos_e5 + w cos_use) / (1 + w)."""
    from xlqe_lite.models.embedding_cache import encode_cached, encode_documents_cached
    from xlqe_lite.models.manifest import COMPOSITES, DEFAULT_ENCODER

    assert DEFAULT_ENCODER == E5_USE
    w = dict(COMPOSITES[E5_USE].parts)[USE]
    enc = Encoder.load(E5_USE, threads=2)
    assert enc.name == E5_USE and enc.dim == 384 + 512
    assert enc.vector_settings().model == E5_USE and enc.vector_settings().dims == 896
    rows = _first_lines(bench / "tatoeba" / "deu-eng.jsonl", 4)
    texts = [r["src_text"] for r in rows] + [r["tgt_text"] for r in rows]
    for kind in ("query", "passage"):
        v = enc.encode(texts, kind)
        e5, use = enc_int8.encode(texts, kind), enc_use.encode(texts, kind)
        assert v.shape == (8, 896) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        assert np.allclose(v[:, :384] * np.sqrt(1 + w), e5, atol=1e-5)
        assert np.allclose(v[:, 384:] * np.sqrt((1 + w) / w), use, atol=1e-5)
        assert np.allclose(v[:4] @ v[4:].T, (e5[:4] @ e5[4:].T + w * use[:4] @ use[4:].T) / (1 + w), atol=1e-5)
    # Passage windows: cut by e5's tokenizer, each embedded by both parts.
    long = " ".join(texts * 6)
    vec, windows = enc.encode_documents([long])
    cut = enc_int8.passage_windows_many([long])[0]
    assert windows[0].shape == (len(cut), 896) and len(cut) > 1
    assert np.allclose(windows[0], enc.encode(cut, "passage"), atol=1e-6)
    # The cache keeps each part under its own encoder: vectors e5 already made are not made again, and a
    # composite's cached vectors are its direct ones.
    monkeypatch.setenv("XLQE_CACHE_DIR", str(tmp_path))
    e5_cached = encode_cached(enc_int8, texts, "passage")
    assert np.allclose(encode_cached(enc, texts, "passage")[:, :384] * np.sqrt(1 + w), e5_cached, atol=1e-6)
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 2  # e5's entry reused, USE's added
    assert np.allclose(encode_documents_cached(enc, [long], 32, 16)[1][0], windows[0], atol=1e-6)
