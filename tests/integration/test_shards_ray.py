"""Sharded indexes on a real local Ray cluster (`ray.init(num_cpus=2)`, once per session): the Ray Data
build behind `xlqe index --shards N --ray ...`, searches fanned out to one actor per shard giving the
in-process lists, and a shard actor killed or stalled mid-query costing only its own results, with a
warning, within the timeout."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import ray  # in the lock: a missing ray is a broken set-up, and this import says so
from support.common import E5, SAMPLE, run_xlqe
from support.shard_data import xquad_docs, xquad_queries

from xlqe_lite import Filter
from xlqe_lite.search import SearchEngine
from xlqe_lite.shard import ShardedIndex, open_index, shard_of

pytestmark = pytest.mark.slow



@pytest.fixture(scope="session")
def cluster() -> Any:
    """A local Ray cluster of 2 CPUs for the session; its address lets subprocesses join it."""
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                       object_store_memory=300 * 1024 * 1024)
    yield context.address_info["address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def dev_index(tmp_path_factory: pytest.TempPathFactory, bench: Path, prepared) -> tuple[str, Any]:
    """Two XQuAD dev languages in a 4-shard index with e5 vectors and passages (cached embeddings)."""
    from xlqe_lite.models.encoder import Encoder
    from xlqe_lite.evaluation import index_with_vectors

    root = tmp_path_factory.mktemp("raydev")
    encoder = Encoder.load(E5, threads=2)
    docs = [(d["id"], d["text"]) for d in xquad_docs(bench, ("de", "en"))]
    index_with_vectors(str(root / "ix"), docs, encoder, shards=4).close()
    return str(root / "ix"), encoder


@pytest.mark.bench
@pytest.mark.model
def test_ray_fanout_gives_the_in_process_lists(cluster: str, dev_index: tuple[str, Any], bench: Path) -> None:
    path, encoder = dev_index
    local = SearchEngine(ShardedIndex.open(path), encoder)
    remote = SearchEngine(ShardedIndex.open(path, ray=cluster), encoder)
    assert len(remote.index) == len(local.index) == 480 and remote.index.languages() == local.index.languages()
    for lang in ("de", "en", "ru"):
        for q in xquad_queries(bench, lang, every=60):
            v = encoder.encode_queries([q])[0]
            for mode in ("bm25", "dense", "hybrid"):
                got = remote.search(q, k=10, mode=mode, query_vector=v, snippets=True, explain=True)
                want = local.search(q, k=10, mode=mode, query_vector=v, snippets=True, explain=True)
                assert [(h.id, h.score, h.snippet, h.place) for h in got] == \
                       [(h.id, h.score, h.snippet, h.place) for h in want], (q, mode)
                assert not got.warnings
            # A metadata filter travels to the shard actors with the query (ids "xq-p012.de": the first 50
            # paragraphs of each language).
            where = Filter(paths=["xq-p00*", "xq-p01*", "xq-p02*", "xq-p03*", "xq-p04*"])
            got = remote.search(q, k=10, query_vector=v, where=where)
            assert [(h.id, h.score) for h in got] == [(h.id, h.score) for h in local.search(q, k=10, query_vector=v, where=where)]
            assert got and all(h.id[:6] in ("xq-p00", "xq-p01", "xq-p02", "xq-p03", "xq-p04") for h in got)
    doc = local.index.get("xq-p000.de")
    assert remote.index.get("xq-p000.de") == doc and "xq-p000.de" in remote.index
    assert remote.index.verify() == []
    remote.index.close()


@pytest.mark.bench
@pytest.mark.model
def test_a_shard_actor_killed_mid_query_costs_only_its_results(cluster: str, dev_index: tuple[str, Any]) -> None:
    path, _ = dev_index
    index = ShardedIndex.open(path, ray=cluster, timeout=20.0)
    engine = SearchEngine(index, None)
    query = "Verteidigung der Panthers Punkte"
    full = engine.search(query, k=30, mode="bm25", lang="de")
    assert {shard_of(h.id, 4) for h in full} == {0, 1, 2, 3}
    victim = index.fanout.actors[1]  # type: ignore[union-attr]
    ray.get(victim.set_delay.remote(60.0))  # every call of shard 1 now stalls: the query is surely in flight
    killer = threading.Timer(1.0, lambda: ray.kill(victim))
    started = time.monotonic()
    killer.start()
    hits = engine.search(query, k=30, mode="bm25", lang="de")
    elapsed = time.monotonic() - started
    killer.join()
    assert 0.9 < elapsed < 15.0, elapsed  # answered once the actor died, long before its 60 s stall or the timeout
    assert hits and {shard_of(h.id, 4) for h in hits} == {0, 2, 3}
    assert any("shard 1" in w and "unavailable" in w for w in hits.warnings), hits.warnings
    # The next search starts a new actor for shard 1: every shard answers again, as before the kill.
    again = engine.search(query, k=30, mode="bm25", lang="de")
    assert not again.warnings and [(h.id, h.score) for h in again] == [(h.id, h.score) for h in full]
    index.close()


@pytest.mark.bench
@pytest.mark.model
def test_a_stalled_shard_is_left_out_after_the_timeout(cluster: str, dev_index: tuple[str, Any]) -> None:
    path, _ = dev_index
    index = ShardedIndex.open(path, ray=cluster, timeout=1.0)
    engine = SearchEngine(index, None)
    full = engine.search("Super Bowl", k=20, mode="bm25")
    slow = index.fanout.actors[2]  # type: ignore[union-attr]
    ray.get(slow.set_delay.remote(4.0))
    started = time.monotonic()
    hits = engine.search("Super Bowl", k=20, mode="bm25")
    assert time.monotonic() - started < 3.5  # two calls (statistics, search), each cut at 1 s
    assert hits and all(shard_of(h.id, 4) != 2 for h in hits)
    assert any("shard 2" in w and "within 1 s" in w for w in hits.warnings), hits.warnings
    ray.get(slow.set_delay.remote(0.0))
    time.sleep(4.5)  # the stalled calls finish
    assert [(h.id, h.score) for h in engine.search("Super Bowl", k=20, mode="bm25")] == [(h.id, h.score) for h in full]
    index.close()


@pytest.mark.model
def test_ray_data_build_from_jsonl_and_files(cluster: str, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Seen\n\nThe heron stood in the cold river at dawn.\n")
    (folder / "b.txt").write_text("Der Reiher stand im kalten Fluss.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    sample = tmp_path / "sample.jsonl"  # 30 of the sample's paragraphs: embedding is most of the test's time
    sample.write_text("".join(SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:30]), encoding="utf-8")
    bad = tmp_path / "mixed.jsonl"
    bad.write_text('{"id": "ok1", "text": "A heron again, by the river.", "lang": "en"}\n{not json}\n')
    path = tmp_path / "ix"
    proc = run_xlqe("index", str(path), str(sample), str(folder), str(bad), "--shards", "3", "--ray", cluster,
                    "--workers", "2", "--json", check=True)
    report = json.loads(proc.stdout)
    assert report["documents"] == 30 + 2 + 1 and sum(report["per_shard"]) == 33 and report["generation"] == 1
    assert report["skipped"].get("invalid JSON") == 1 and report["skipped"].get("damaged") == 1, report["skipped"]
    # The same inputs synced in-process through the sharded index: the same documents in the same shards.
    same = tmp_path / "same"
    run_xlqe("index", str(same), str(sample), str(folder), str(bad), "--shards", "3", "--quiet")
    built, synced = open_index(path), open_index(same)
    assert isinstance(built, ShardedIndex) and isinstance(synced, ShardedIndex)
    for a, b in zip(built.fanout.ops, synced.fanout.ops):  # type: ignore[union-attr]
        assert sorted(a.index.ids()) == sorted(b.index.ids())
    assert built.passage_count == synced.passage_count > 0
    note = built.get(str((folder / "a.md").resolve()))
    assert note is not None and note.metadata["format"] == "markdown" and note.lang == "en"
    check = json.loads(run_xlqe("check", str(path), "--json").stdout)
    assert check["ok"] and check["documents"] == 33, check
    # Searched through the CLI on the cluster: the in-process answer.
    query = "Wie viele Interceptions hatte die Verteidigung der Panthers?"
    on_ray = json.loads(run_xlqe("search", str(path), query, "--json", "--ray", cluster, check=True).stdout)
    here = json.loads(run_xlqe("search", str(path), query, "--json", check=True).stdout)
    assert [(r["id"], r["score"]) for r in on_ray] == [(r["id"], r["score"]) for r in here] and len(here) == 10
    # Vectors made on the encoder actors rank as the in-process sync's (embeddings equal up to batch rounding).
    dense_built = json.loads(run_xlqe("search", str(path), query, "--json", "--mode", "dense", check=True).stdout)
    dense_synced = json.loads(run_xlqe("search", str(same), query, "--json", "--mode", "dense", check=True).stdout)
    assert [r["id"] for r in dense_built][:5] == [r["id"] for r in dense_synced][:5]
    # On this index of two languages dense scores are per-language z-scores (search.calibrated_merge), which
    # magnify the embeddings' batch rounding (cosine within ~1e-4) by the inverse of the list's spread.
    assert all(abs(a["score"] - b["score"]) < 0.05 for a, b in zip(dense_built, dense_synced))


def test_a_failed_first_build_leaves_nothing(cluster: str, tmp_path: Path) -> None:
    proc = run_xlqe("index", str(tmp_path / "ix"), str(tmp_path / "missing.jsonl"), "--shards", "2", "--ray", cluster)
    assert proc.returncode == 1 and "no such file" in proc.stderr and not (tmp_path / "ix").exists()
    proc = run_xlqe("index", str(tmp_path / "ix"), str(SAMPLE), "--ray", cluster, "--no-vectors")
    assert proc.returncode == 1 and "needs --shards" in proc.stderr and not (tmp_path / "ix").exists()


@pytest.mark.bench
def test_eval_on_ray_shards_gives_the_in_process_figures(cluster: str, bench: Path, tmp_path: Path) -> None:
    args = ["eval", "--bench", str(bench), "--mode", "bm25", "--langs", "de,en", "--max-queries", "40", "--quiet",
            "--shards", "4"]
    figures = []
    for name, ray_mode in (("ray", cluster), ("here", "none")):
        out = tmp_path / f"{name}.json"
        run_xlqe(*args, "--ray", ray_mode, "--run", str(tmp_path / f"{name}.run"), "--json", str(out), check=True)
        figures.append(json.loads(out.read_text()))
    assert figures[0]["config"]["ray"] == cluster and figures[0]["macro"]["ALL"]["nDCG@10"] > 0.1
    assert figures[0]["pairs"] == figures[1]["pairs"]
