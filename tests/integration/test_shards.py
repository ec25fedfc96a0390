"""Sharded indexes searched in-process (xlqe_lite.shard): the same ranked lists as one index of every
document (BM25 scores bit-identical through global statistics, dense and hybrid identical with exact
search), routing of updates and deletes, the manifest, and the CLI on a sharded index. The Ray side is
in test_shards_ray.py; the 1M-document identity check is benchmarks/bench_shards.py (identity)."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.common import E5, run_xlqe
from support.shard_data import (close_ranking, same_ranking, synthetic_docs, synthetic_queries, synthetic_vectors, xquad_docs,
                        xquad_queries)

from xlqe_lite import Filter, Index, IndexCorruptError, InvalidInputError
from xlqe_lite.search import SearchEngine
from xlqe_lite.shard import MANIFEST_NAME, ShardedIndex, is_sharded, open_index, shard_of
from xlqe_lite.shard.manifest import read_manifest

DEV_LANGS = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")
EXACT = 10**9  # exact_below: every vector search is an exact scan


def _route(doc_id: str) -> int:
    return shard_of(doc_id, 7)


def test_routing_is_the_same_in_every_process() -> None:
    ids = [f"doc-{i}" for i in range(200)] + ["日本語", "/home/a b/c.pdf", ""]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.map(_route, ids) == [shard_of(i, 7) for i in ids]
    counts = np.bincount([shard_of(f"d{i}", 4) for i in range(4000)], minlength=4)
    assert counts.min() > 900, counts  # spread evenly
    with pytest.raises(InvalidInputError):
        shard_of("x", 0)


@pytest.fixture(scope="module")
def dev_bm25(tmp_path_factory: pytest.TempPathFactory, bench: Path) -> tuple[Index, ShardedIndex]:
    """Every XQuAD dev paragraph (9 languages) in one index and in a 4-shard index."""
    root = tmp_path_factory.mktemp("dev")
    docs = xquad_docs(bench, DEV_LANGS)
    single = Index.create(root / "single")
    single.add_many(docs)
    single.commit()
    sharded = ShardedIndex.create(root / "sharded", 4)
    sharded.add_many(docs)
    sharded.commit()
    sharded.close()
    return single, ShardedIndex.open(root / "sharded")


@pytest.mark.bench
def test_bm25_on_the_dev_corpora_equals_one_index(dev_bm25: tuple[Index, ShardedIndex], bench: Path) -> None:
    single, sharded = dev_bm25
    assert len(sharded) == len(single) == 9 * 240
    assert sharded.languages() == single.languages()
    compared = 0
    for lang in DEV_LANGS:
        for q in xquad_queries(bench, lang, every=8):
            for kwargs in ({"lang": lang}, {"lang": lang, "langs": [lang, "en"]}):
                want = single.search(q, k=100, **kwargs)
                got = sharded.search(q, k=100, **kwargs)
                assert not same_ranking(got, want, 100), (q, kwargs, same_ranking(got, want, 100))
                compared += 1
    assert compared > 1500


@pytest.mark.bench
def test_term_search_equals_one_index(dev_bm25: tuple[Index, ShardedIndex]) -> None:
    single, sharded = dev_bm25
    terms = sharded.analyze_query("Panthers Verteidigung Punkte", "de", "de") + [("308", 0.5)]
    want = single.search_terms(terms, k=50, langs=["de", "en"])
    got = sharded.search_terms(terms, k=50, langs=["de", "en"])
    assert want and not same_ranking(got, want, 50)
    # Each shard alone, with its own statistics, scores differently: the global statistics matter.
    alone = [h for op in sharded.fanout.ops for h in op.index.search_terms(terms, k=50, langs=["de", "en"])]  # type: ignore[union-attr]
    assert {h.id: h.score for h in alone} != {h.id: h.score for h in want}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory, prepared) -> tuple[Any, ...]:
    """20,000 synthetic documents, the first 5,000 with 384-dimensional random vectors (exact vector search),
    in one index and in 4 shards, each in a SearchEngine whose encoder only checks dimensions (queries come
    as vectors)."""
    from xlqe_lite.models.encoder import Encoder

    root = tmp_path_factory.mktemp("synthetic")
    docs = list(synthetic_docs(20_000))
    single = Index.create(root / "single")
    single.add_many(docs)
    single.commit()
    with ShardedIndex.create(root / "sharded", 4) as sharded:
        sharded.add_many(docs)
    n, dims = 5_000, 384
    vectors = synthetic_vectors(n, dims)
    settings = {"dims": dims, "metric": "ip", "exact_below": EXACT}
    dense_one = Index.create(root / "dense-single", vectors=settings)
    dense_one.add_many(docs[:n], vectors=vectors)
    dense_one.commit()
    with ShardedIndex.create(root / "dense-sharded", 4, vectors=settings) as sharded:
        sharded.add_many(docs[:n], vectors=vectors)
    encoder = Encoder.load(E5, threads=1)
    return (single, ShardedIndex.open(root / "sharded"), SearchEngine(dense_one, encoder),
            SearchEngine(ShardedIndex.open(root / "dense-sharded"), encoder), docs)


@pytest.mark.model
def test_synthetic_bm25_dense_and_hybrid_equal_one_index(synthetic: tuple[Any, ...]) -> None:
    single, sharded, one, four, docs = synthetic
    assert len(sharded) == len(single) == 20_000 and four.index.vector_count == one.index.vector_count == 5_000
    for q in synthetic_queries(docs, 150):
        for langs in (None, ["de"]):
            want = single.search(q, k=50, lang="en", langs=langs)
            got = sharded.search(q, k=50, lang="en", langs=langs)
            assert not same_ranking(got, want, 50), (q, langs, same_ranking(got, want, 50))
    qvecs = synthetic_vectors(40, 384, seed=99)
    for q, v in zip(synthetic_queries(docs[:5000], 40, seed=5), qvecs):
        for mode in ("bm25", "dense", "hybrid"):
            # A metadata filter goes to every shard with the query: the shards' filtered lists merge into
            # the filtered lists of one index.
            for langs, where in ((None, None), (["de"], None), (None, Filter(paths=["*7", "s00001*"]))):
                want = one.search(q, k=20, mode=mode, lang="en", langs=langs, query_vector=v, where=where)
                got = four.search(q, k=20, mode=mode, lang="en", langs=langs, query_vector=v, where=where)
                assert want and not same_ranking(got, want, 20), (q, mode, langs, same_ranking(got, want, 20))
                assert not got.warnings
                if where is not None:
                    assert all(h.id.endswith("7") or h.id.startswith("s00001") for h in got)


@pytest.fixture(scope="module")
def dev_dense(tmp_path_factory: pytest.TempPathFactory, bench: Path, prepared) -> tuple[SearchEngine, SearchEngine]:
    """Three XQuAD dev languages with e5 vectors and passage windows (cached embeddings), f32, exact search."""
    from xlqe_lite.models.encoder import Encoder
    from xlqe_lite.evaluation import index_with_vectors

    root = tmp_path_factory.mktemp("devdense")
    encoder = Encoder.load(E5, threads=os.cpu_count() or 1)
    docs = [(d["id"], d["text"]) for d in xquad_docs(bench, ("de", "en", "zh"))]
    single = index_with_vectors(str(root / "single"), docs, encoder, "f32", vector_settings={"exact_below": EXACT})
    sharded = index_with_vectors(str(root / "sharded"), docs, encoder, "f32", shards=4, vector_settings={"exact_below": EXACT})
    sharded.close()
    return SearchEngine(single, encoder), SearchEngine(ShardedIndex.open(root / "sharded"), encoder)


@pytest.mark.bench
@pytest.mark.model
def test_dev_dense_and_hybrid_with_passages_equal_one_index(dev_dense: tuple[SearchEngine, SearchEngine], bench: Path) -> None:
    """With passage windows a document's dense score mixes its own similarity and its best window's. The
    searches only choose the candidates; every score is computed from the stored vectors, so it does not
    depend on which search reached the document (which depends on the other documents of its shard), and
    the sharded lists equal one index's bit for bit, dense and hybrid."""
    one, four = dev_dense
    assert four.index.passage_count == one.index.passage_count > 0
    for lang in ("de", "en", "zh", "ru"):
        for q in xquad_queries(bench, lang, every=40):
            v = one.encoder.encode_queries([q])[0]  # type: ignore[union-attr]
            for mode in ("dense", "hybrid"):
                want = one.search(q, k=10, mode=mode, query_vector=v)
                got = four.search(q, k=10, mode=mode, query_vector=v, snippets=True)
                assert want and not same_ranking(got, want, 10), (q, mode, same_ranking(got, want, 10))
                assert all(h.snippet for h in got)


def test_updates_and_deletes_route_to_their_shard(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    with ShardedIndex.create(path, 3) as index:
        index.add_many({"id": f"d{i}", "text": f"alpha number {i}", "lang": "en"} for i in range(30))
    assert is_sharded(path) and read_manifest(str(path)).generation == 1
    with ShardedIndex.open(path, writer=True) as index:
        index.add("d5", "beta replaced text", lang="en")
        assert index.delete("d7") and not index.delete("nope")
    reader = open_index(path)
    assert isinstance(reader, ShardedIndex)
    assert len(reader) == 29 and "d7" not in reader and "d5" in reader
    assert reader.get("d5").text == "beta replaced text"  # type: ignore[union-attr]
    assert [h.id for h in reader.search("beta", k=5)] == ["d5"]
    # Each document is only in the shard its id routes to.
    for i, op in enumerate(reader.fanout.ops):  # type: ignore[union-attr]
        assert all(shard_of(d, 3) == i for d in op.index.ids())
    assert reader.verify() == [] and read_manifest(str(path)).generation == 2
    with pytest.raises(InvalidInputError):
        reader.add("x", "y")


def test_a_damaged_or_unfinished_sharded_index_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    with ShardedIndex.create(path, 2) as index:
        index.add_many({"id": f"d{i}", "text": f"gamma {i}"} for i in range(10))
    # A shard committed after the manifest was written (a sharded commit cut short): check says so.
    shard = Index.open(path / "shard-0001", writer=True)
    shard.add("late", "gamma late")
    shard.commit()
    shard.close()
    report = json.loads(run_xlqe("check", str(path), "--json").stdout)
    assert not report["ok"] and any("shard-0001" in p and "generation" in p for p in report["problems"]), report
    # A document in the wrong shard.
    wrong = next(f"w{i}" for i in range(100) if shard_of(f"w{i}", 2) == 1)
    with Index.open(path / "shard-0000", writer=True) as s0:
        s0.add(wrong, "misplaced")
    problems = ShardedIndex.open(path).verify()
    assert any("belong to other shards" in p for p in problems), problems
    (path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(IndexCorruptError):
        ShardedIndex.open(path)
    proc = run_xlqe("check", str(path))
    assert proc.returncode == 1 and "unreadable shard manifest" in proc.stderr


def test_cli_indexes_searches_checks_and_removes_in_process(tmp_path: Path) -> None:
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"r{i}", "text": t, "lang": "en"}) + "\n" for i, t in enumerate(
        ["The Panthers won the Super Bowl.", "Denver's defense stopped the Panthers.", "A quiet lake in winter.",
         "Snow on the lake and the hills."] * 5)))
    path = tmp_path / "ix"
    run_xlqe("index", str(path), str(corpus), "--shards", "3", "--ray", "none", "--no-vectors", "--quiet", check=True)
    assert is_sharded(path) and len(open_index(path)) == 20
    one = tmp_path / "one"
    run_xlqe("index", str(one), str(corpus), "--no-vectors", "--quiet", check=True)
    got = json.loads(run_xlqe("search", str(path), "super bowl panthers", "--json", "-k", "20", check=True).stdout)
    want = json.loads(run_xlqe("search", str(one), "super bowl panthers", "--json", "-k", "20", check=True).stdout)
    assert [(r["score"]) for r in got] == [r["score"] for r in want] and got[0]["snippet"]
    assert {r["id"] for r in got} == {r["id"] for r in want}
    report = json.loads(run_xlqe("check", str(path), "--json", check=True).stdout)
    assert report["ok"] and report["documents"] == 20 and report["shard_count"] == 3
    run_xlqe("rm", str(path), "r0", "r1", check=True)
    assert len(open_index(path)) == 18 and json.loads(run_xlqe("check", str(path), "--json").stdout)["ok"]
    # A sharded index keeps its shard count.
    proc = run_xlqe("index", str(path), str(corpus), "--shards", "2", "--ray", "none", "--quiet")
    assert proc.returncode == 1 and "has 3 shards" in proc.stderr
    proc = run_xlqe("search", str(one), "lake", "--ray", "local")
    assert proc.returncode == 1 and "not a sharded one" in proc.stderr


@pytest.mark.bench
def test_eval_on_four_shards_equals_one_index_for_bm25(xlqe_eval_args: list[str], tmp_path: Path) -> None:
    def ndcg(extra: list[str]) -> dict:
        out = tmp_path / f"r{len(extra)}.json"
        run_xlqe(*xlqe_eval_args, "--run", str(tmp_path / f"r{len(extra)}.run"), "--json", str(out), *extra, check=True)
        return json.loads(out.read_text())

    one, four = ndcg([]), ndcg(["--shards", "4", "--ray", "none"])
    assert one["config"]["shards"] is None and four["config"]["shards"] == 4
    assert one["macro"]["CROSS"]["nDCG@10"] > 0.1
    for key in ("macro", "micro", "pairs"):
        assert four[key] == one[key], key


@pytest.fixture
def xlqe_eval_args(bench: Path) -> list[str]:
    return ["eval", "--bench", str(bench), "--mode", "bm25", "--langs", "de,en,zh", "--max-queries", "120", "--quiet"]



def test_serve_reads_and_writes_a_sharded_index(tmp_path: Path) -> None:
    import httpx
    from support.server_process import ServerProcess

    path = tmp_path / "ix"
    with ShardedIndex.create(path, 3) as index:
        index.add_many({"id": f"d{i}", "text": f"river number {i}", "lang": "en"} for i in range(12))
    with ServerProcess(path, "--no-llm") as server:
        found = httpx.get(f"{server.url}/search", params={"q": "river 7", "k": 3, "mode": "bm25"}).json()
        assert found["hits"][0]["id"] == "d7" and found["generation"] == 1
        added = httpx.post(f"{server.url}/documents", json={"documents": [{"id": "heron", "text": "a heron", "lang": "en"}]})
        assert added.status_code == 200 and added.json()["generation"] == 2
        found = httpx.get(f"{server.url}/search", params={"q": "heron", "mode": "bm25"}).json()
        assert [h["id"] for h in found["hits"]] == ["heron"]
        assert httpx.get(f"{server.url}/stats").json()["documents"] == 13
    assert "heron" in open_index(path) and ShardedIndex.open(path).verify() == []
