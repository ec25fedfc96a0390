"""Passage windows: long documents are also embedded as overlapping token windows, and a document's
dense score mixes in its best window's. Real encoder, real sample paragraphs, real index directories."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from xlqe_lite import Index, InvalidInputError
from xlqe_lite.models.encoder import DEFAULT_PASSAGE_STRIDE, DEFAULT_PASSAGE_TOKENS, Encoder
from xlqe_lite.search import FusionConfig, SearchEngine

from support.common import E5, SAMPLE, USE, run_xlqe

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def enc(prepared: dict[str, Path]) -> Encoder:
    return Encoder.load(E5, threads=2)


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"]: r["text"] for r in rows if r["lang"] == "en"}


def test_windows_cover_the_whole_text_past_the_encoders_limit(enc: Encoder, english: dict[str, str]) -> None:
    short = " ".join(english["xq-p000.en"].split()[:12])
    assert enc.passage_windows(short) == [], "a text that fits in one window gets no passages"
    long = " ".join(english.values())  # ten paragraphs: well over the encoder's 512 tokens
    assert len(enc.token_ids([long])[0]) == 512, "the encoder alone truncates"
    windows = enc.passage_windows(long)
    tokens = [len(enc.token_ids([w])[0]) - 2 for w in windows]  # without <s> and </s>
    assert max(tokens) <= DEFAULT_PASSAGE_TOKENS + 1 and len(windows) > 2 * 512 // DEFAULT_PASSAGE_TOKENS
    assert long.startswith(windows[0]) and long.rstrip().endswith(windows[-1])
    # Consecutive windows overlap by the stride: the second starts inside the first.
    assert windows[1][:10] in windows[0]
    assert enc.passage_windows(long, tokens=64, stride=64)[1][:10] not in enc.passage_windows(long, tokens=64, stride=64)[0]
    with pytest.raises(ValueError, match="stride"):
        enc.passage_windows(long, tokens=16, stride=32)


def test_windows_cut_from_the_truncating_tokenizer_match_an_untruncated_one(enc: Encoder, english: dict[str, str]) -> None:
    """Windows are cut from the offsets of the encoder's own (truncating) tokenizer, its overflowing tokens
    included: the same windows as a tokenizer without truncation gives, past 512 tokens too, in several
    scripts (a second tokenizer would hold another ~300 MB)."""
    from tokenizers import Tokenizer

    untruncated = Tokenizer.from_str(enc._tok.to_str())
    untruncated.no_truncation()
    texts = [" ".join(english.values()), english["xq-p000.en"], "Москва — столица России. " * 300,
             "他们说“别戴着那顶帽子出去”。" * 200, "ผู้ประท้วงหลายพันคนเดินขบวนบนถนน " * 150, "short"]
    for text in texts:
        offsets = untruncated.encode(text, add_special_tokens=False).offsets
        expected = [text[offsets[start][0]:offsets[min(start + DEFAULT_PASSAGE_TOKENS, len(offsets)) - 1][1]].strip()
                    for start in range(0, len(offsets), DEFAULT_PASSAGE_STRIDE)] if len(offsets) > DEFAULT_PASSAGE_TOKENS else []
        # the last window reaches the end: windows after it would only repeat its tail
        last = next((i for i, start in enumerate(range(0, len(offsets), DEFAULT_PASSAGE_STRIDE))
                     if start + DEFAULT_PASSAGE_TOKENS >= len(offsets)), len(expected) - 1)
        assert enc.passage_windows(text) == expected[: last + 1], text[:30]


def test_a_huge_text_gets_a_bounded_number_of_windows(enc: Encoder, english: dict[str, str]) -> None:
    from xlqe_lite.models.encoder import MAX_CHARS_PER_TOKEN, MAX_WINDOWS

    tokenizer = enc._tok
    seen: list[int] = []

    class Recording:  # the real tokenizer, noting how much text it is given
        def encode_batch(self, texts, **kw):
            seen.extend(len(t) for t in texts)
            return tokenizer.encode_batch(texts, **kw)

    huge = " ".join(english.values()) * 2000  # about 17 MB
    enc._tok = Recording()
    try:
        windows = enc.passage_windows(huge)
    finally:
        enc._tok = tokenizer
    assert len(windows) == MAX_WINDOWS and huge.startswith(windows[0])
    assert seen == [(MAX_WINDOWS * DEFAULT_PASSAGE_STRIDE + DEFAULT_PASSAGE_TOKENS) * MAX_CHARS_PER_TOKEN] and seen[0] < len(huge) / 40


def test_text_models_are_windowed_in_characters(prepared: dict[str, Path], english: dict[str, str]) -> None:
    use = Encoder.load(USE, threads=2)
    text = english["xq-p024.en"]
    windows = use.passage_windows(text, tokens=32, stride=16)
    assert all(len(w) <= 32 * 4 for w in windows) and len(windows) >= len(text) // (16 * 4) - 1
    vectors, passages = use.encode_documents([text, "short"], 32, 16)
    assert vectors.shape == (2, use.dim) and passages[0].shape == (len(windows), use.dim) and passages[1].shape == (0, use.dim)


def test_a_fact_past_512_tokens_is_found_through_its_passage(tmp_path, enc: Encoder, english: dict[str, str]) -> None:
    # One long document whose last paragraph answers the question; the encoder sees only its first
    # 512 tokens, so as a single vector it cannot match. Other paragraphs stand alone beside it.
    others = [i for i in english if i != "xq-p000.en"]
    long = " ".join([english[i] for i in others[:5]] + [english["xq-p000.en"]])
    docs = [("long", long)] + [(i, english[i]) for i in others[5:]]
    index = Index.create(tmp_path / "ix", vectors=enc.vector_settings())
    vectors, passages = enc.encode_documents([t for _, t in docs])
    index.add_many(({"id": i, "text": t, "lang": "en"} for i, t in docs), vectors=vectors, passages=passages)
    index.commit()
    reader = Index.open(tmp_path / "ix")
    assert reader.passage_count == sum(len(p) for p in passages) and len(passages[0]) > 20 and reader.verify() == []
    assert reader.vector_config.passage_tokens == DEFAULT_PASSAGE_TOKENS
    assert reader.vector_config.passage_stride == DEFAULT_PASSAGE_STRIDE
    question = enc.encode_queries(["How many points did the Panthers defense give up?"])[0]
    with_passages = reader.search_vector(question, k=3)
    without = reader.search_vector(question, k=3, passage_weight=0.0)
    # As one vector, the long document is as close to the question as the off-topic paragraphs are;
    # through its passages it stands clear of them.
    assert with_passages[0].id == "long" and with_passages[0].score - with_passages[1].score > 0.05, with_passages
    assert abs(without[0].score - without[1].score) < 0.03, without
    # The mixed score is half the document's own similarity and half its best window's.
    own = float(vectors[0] @ question)
    best = float((passages[0] @ question).max())
    assert with_passages[0].score == pytest.approx(0.5 * own + 0.5 * best, abs=0.01)
    # The engine applies its fusion setting's passage weight.
    engine = SearchEngine(reader, enc)
    assert engine.search("How many points did the Panthers defense give up?", k=1, mode="dense")[0].score == pytest.approx(
        with_passages[0].score, abs=1e-3)
    plain = SearchEngine(reader, enc, FusionConfig(passage_weight=0.0))
    assert plain.search("How many points did the Panthers defense give up?", k=1, mode="dense")[0].score == pytest.approx(
        without[0].score, abs=1e-3)


def test_passage_input_errors_add_nothing(tmp_path) -> None:
    index = Index.create(tmp_path / "ix", vectors={"dims": 4, "passage_tokens": 32, "passage_stride": 16})
    v = np.array([1, 0, 0, 0], dtype=np.float32)
    with pytest.raises(InvalidInputError, match="dimensions"):
        index.add("a", "x", vector=v, passages=np.ones((2, 3), dtype=np.float32))
    with pytest.raises(InvalidInputError, match="own vector"):
        index.add("a", "x", passages=np.ones((1, 4), dtype=np.float32))
    with pytest.raises(InvalidInputError, match="passages for 1 documents"):
        index.add_many([{"id": "a", "text": "x"}, {"id": "b", "text": "y"}], vectors=np.stack([v, v]), passages=[None])
    assert len(index) == 0 and index.passage_count == 0
    index.add_many([{"id": "a", "text": "x"}, {"id": "b", "text": "y"}], vectors=np.stack([v, v]),
                   passages=[np.stack([v, v]), None])
    assert index.passage_count == 2
    with pytest.raises(InvalidInputError, match="passage_weight"):
        index.search_vector(v, passage_weight=2.0)
    for bad in ({"passage_tokens": 4, "passage_stride": 2}, {"passage_tokens": 32, "passage_stride": 33}):
        with pytest.raises(InvalidInputError, match="passage windows"):
            Index.create(tmp_path / f"bad{bad['passage_tokens']}", vectors={"dims": 4, **bad})


def test_cli_indexes_passages_unless_told_not_to(tmp_path) -> None:
    run_xlqe("index", str(tmp_path / "with"), str(SAMPLE), check=True)
    run_xlqe("index", str(tmp_path / "without"), str(SAMPLE), "--no-passages", check=True)
    with_passages, without = Index.open(tmp_path / "with"), Index.open(tmp_path / "without")
    assert with_passages.vector_count == without.vector_count == 90
    assert with_passages.passage_count > 5 * 90 and without.passage_count == 0
    assert without.vector_config.passage_tokens == 0
    # Adding to an existing index follows its own setting.
    extra = tmp_path / "extra.txt"
    extra.write_text(" ".join(["The Panthers defense gave up just 308 points."] * 20), encoding="utf-8")
    run_xlqe("index", str(tmp_path / "without"), str(extra), check=True)
    assert Index.open(tmp_path / "without").passage_count == 0
    before = Index.open(tmp_path / "with").passage_count
    run_xlqe("index", str(tmp_path / "with"), str(extra), check=True)
    assert Index.open(tmp_path / "with").passage_count > before


@pytest.mark.slow
@pytest.mark.bench
def test_the_index_ranks_as_the_exact_mix_even_through_hnsw(tmp_path, enc: Encoder, bench: Path) -> None:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    vectors, passages = enc.encode_documents([r["text"] for r in rows])
    index = Index.create(tmp_path / "ix", vectors=replace(enc.vector_settings(), exact_below=0))  # HNSW for both
    index.add_many(rows, vectors=vectors, passages=passages)
    index.commit()
    questions = [json.loads(line)["text"] for line in (bench / "xquad" / "queries.en.jsonl").read_text(encoding="utf-8").splitlines()[:40]]
    flat, owner = np.concatenate([p for p in passages if len(p)]), np.repeat(np.arange(len(rows)), [len(p) for p in passages])
    same = []
    for q in enc.encode_queries(questions):
        own = vectors @ q
        best = np.full_like(own, -np.inf)
        np.maximum.at(best, owner, flat @ q)
        mix = 0.5 * own + 0.5 * np.where(np.isinf(best), own, best)
        exact = {rows[i]["id"] for i in np.argsort(-mix)[:10]}
        same.append(len(exact & {h.id for h in index.search_vector(q, k=10)}) / 10)
    assert np.mean(same) >= 0.98, same
