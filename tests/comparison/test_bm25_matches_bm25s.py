"""Our BM25 is Lucene's: on identical token lists its scores equal bm25s (method "lucene") within 1e-4."""

from __future__ import annotations

import json

import bm25s
import numpy as np
import pytest

from xlqe_lite import Index, analyze

pytestmark = pytest.mark.bench

PLAIN = {"stem": False, "stopwords": False}


def _load(bench, name: str, n: int) -> list[str]:
    with open(bench / "xquad" / name, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f][:n]


@pytest.mark.parametrize("lang,k1,b", [("en", 1.2, 0.75), ("de", 1.5, 0.3), ("zh", 0.9, 1.0)])
def test_scores_equal_bm25s_lucene(bench, tmp_path, lang: str, k1: float, b: float) -> None:
    # Real paragraphs and questions, tokenised once by our analyzer; both engines get the same tokens.
    docs = [analyze(t, None, **PLAIN) for t in _load(bench, f"corpus.{lang}.jsonl", 240)]
    queries = [analyze(t, None, **PLAIN) for t in _load(bench, f"queries.{lang}.jsonl", 60)]
    index = Index.create(tmp_path / "ix", k1=k1, b=b, **PLAIN)
    for i, tokens in enumerate(docs):
        text = " ".join(tokens)
        assert analyze(text, None, **PLAIN) == tokens  # re-analysis is the identity on these tokens
        index.add(str(i), text)
    index.commit()

    peer = bm25s.BM25(method="lucene", k1=k1, b=b)
    peer.index(docs, show_progress=False)
    compared = 0
    for tokens in queries:
        # Unique terms: bm25s scores each query token once.
        unique = list(dict.fromkeys(tokens))
        expected = np.asarray(peer.get_scores(unique))
        hits = index.search_terms([(t, 1.0) for t in unique], k=len(docs))
        assert hits, "every question shares a term with its corpus"
        for hit in hits:
            assert hit.score == pytest.approx(float(expected[int(hit.id)]), abs=1e-4)
            compared += 1
        # And nothing bm25s scores above zero is missing from ours.
        assert len(hits) == int(np.count_nonzero(expected > 0))
    assert compared > 1000
