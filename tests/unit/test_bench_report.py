"""The bench harness's records and the BENCHMARKS.md tables generated from them, on a small hand-made
results file: ratios are oriented so that > 1 means xlqe is better, and the generated section replaces only
its own blocks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import harness  # noqa: E402
import report  # noqa: E402

MACHINE = {"cpu": "Test CPU", "cores": 2, "ram_gib": 24.0, "load_start": [1.5, 1.0, 1.0], "load_end": [2.0, 1.0, 1.0]}


def _records() -> list[dict]:
    m = harness.measurement
    rows = [
        m("xquad", "BM25 queries", "xlqe", 30000, "queries/s"),
        m("xquad", "BM25 queries", "tantivy", 20000, "queries/s"),
        m("xquad", "BM25 queries", "bm25s", 60000, "queries/s"),
        m("xquad", "indexing time", "xlqe", 2.0, "s"),
        m("xquad", "indexing time", "tantivy", 3.0, "s"),
        m("xquad", "index size", "xlqe", 4 * 2**20, "bytes"),
        m("xquad", "index size", "tantivy", 2 * 2**20, "bytes"),
        m("xquad", "index size", "bm25s", 2 * 2**20, "bytes"),
    ]
    return harness.complete("lexical", rows, "make bench-quick", "abc123", MACHINE, "2026-12-02T20:00:00+00:00")


def test_ratio_orientation() -> None:
    recs = {(r["figure"], r["engine"]): r for r in _records()}
    # throughput: xlqe / peer
    assert recs[("BM25 queries", "tantivy")]["ratio"] == pytest.approx(1.5)
    assert recs[("BM25 queries", "bm25s")]["ratio"] == pytest.approx(0.5)
    # time and size: peer / xlqe
    assert recs[("indexing time", "tantivy")]["ratio"] == pytest.approx(1.5)
    assert recs[("index size", "tantivy")]["ratio"] == pytest.approx(0.5)
    # xlqe's own record has no peer and no ratio
    x = recs[("BM25 queries", "xlqe")]
    assert x["peer"] is None and x["ratio"] is None
    assert recs[("index size", "bm25s")]["peer"] == "bm25s"
    assert set(x) == {"suite", "dataset", "figure", "engine", "value", "unit", "peer", "ratio", "command", "commit",
                      "machine", "date"}
    with pytest.raises(ValueError):
        harness.ratio(1.0, 2.0, "furlongs")


def test_interleave_alternates_and_takes_median() -> None:
    order: list[str] = []
    values = {"a": iter([5.0, 1.0, 3.0]), "b": iter([10.0, 30.0, 20.0])}

    def run(name: str):
        def f() -> dict[str, float]:
            order.append(name)
            return {"x": next(values[name])}
        return f

    out = harness.interleave({"a": run("a"), "b": run("b")}, 3)
    assert order == ["a", "b", "b", "a", "a", "b"]
    assert out == {"a": {"x": 3.0}, "b": {"x": 20.0}}


def test_generated_table(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_records()), encoding="utf-8")
    doc = "# Benchmarks\n\nIntro.\n\n## Quality\n\nkept as is\n"
    out = report.render(doc, json.loads(results.read_text(encoding="utf-8")))
    # the section goes before the first existing section, which is untouched
    assert out.index(report.SECTION) < out.index("## Quality\n\nkept as is\n")
    assert out.startswith("# Benchmarks\n\nIntro.\n\n## One-run comparison (make bench)")
    start, end = out.index("<!-- bench:lexical:start -->"), out.index("<!-- bench:lexical:end -->")
    block = out[start:end]
    assert "| figure | xlqe | tantivy (ratio) | bm25s (ratio) |" in block
    assert "| BM25 queries (queries/s) | 30,000 | 20,000 (1.50×) | 60,000 (0.50×) |" in block
    assert "| indexing time (s) | 2 | 3 (1.50×) | — |" in block
    assert "| index size (MB) | 4.00 MB | 2.00 MB (0.50×) | 2.00 MB (0.50×) |" in block
    assert "`make bench-quick`, commit abc123" in block and "load 1.5 → 2.0" in block
    # regenerating replaces the block instead of adding a second one
    again = report.render(out, _records()[:2])
    assert again.count("<!-- bench:lexical:start -->") == 1
    assert "indexing time" not in again and "## Quality\n\nkept as is\n" in again
