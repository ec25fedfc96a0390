"""`xlqe eval` follows its contract and agrees with the bench's own evaluate.py on the run it writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.bench


def test_eval_bm25_matches_reference_evaluator(xlqe, bench, tmp_path) -> None:
    run, out = tmp_path / "bm25.run", tmp_path / "bm25.json"
    proc = xlqe("eval", "--bench", str(bench), "--dataset", "xquad", "--level", "paragraph", "--mode", "bm25",
                "--langs", "en,de,zh,th,hi", "--max-queries", "120", "--run", str(run), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    ours = json.loads(out.read_text())
    ref_json = tmp_path / "ref.json"
    # With --max-queries the run's own qrels (those queries only) are written beside it.
    subprocess.run([sys.executable, str(bench / "evaluate.py"), "--qrels", f"{run}.qrels.tsv",
                    "--run", str(run), "--json", str(ref_json), "--quiet"], check=True, capture_output=True)
    ref = json.loads(ref_json.read_text())
    assert set(ours["pairs"]) == set(ref["pairs"]) and len(ours["pairs"]) == 25
    for pair, metrics in ref["pairs"].items():
        for name, value in metrics.items():
            assert ours["pairs"][pair][name] == value, (pair, name)
    for group in ("ALL", "CROSS", "MONO"):
        assert ours["macro"][group]["nDCG@10"] == ref["macro"][group]["nDCG@10"]
    # Every query has its 100 hits (or all its matches) in the run, 120 per language.
    qids = {line.split()[0] for line in run.read_text().splitlines()}
    assert len(qids) == 5 * 120
    # Same-language BM25 on real data is strong for every script, Chinese and Thai included.
    for lang in ("en", "de", "zh", "th", "hi"):
        assert ours["pairs"][f"{lang}->{lang}"]["nDCG@10"] > 0.85, lang


def test_eval_pairs_and_sentence_level(xlqe, bench, tmp_path) -> None:
    run = tmp_path / "s.run"
    out = tmp_path / "s.json"
    proc = xlqe("eval", "--bench", str(bench), "--level", "sentence", "--langs", "en,es", "--pairs", "cross",
                "--max-queries", "30", "--run", str(run), "--json", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert sorted(result["pairs"]) == ["en->es", "es->en"] and result["macro"]["MONO"]["pairs"] == 0
    docs = {line.split()[2] for line in run.read_text().splitlines()}
    assert docs and all("-s" in d for d in docs)  # sentence ids
    bad = xlqe("eval", "--bench", str(bench), "--langs", "en,xx", "--run", str(run))
    assert bad.returncode != 0 and "unknown language code" in bad.stderr


def test_expansion_jobs_cover_each_query_once_with_every_language_it_is_searched_in(bench) -> None:
    """`xlqe eval --expand` expands each query once into all its languages before the per-pair runs."""
    from xlqe_lite.evaluation import XquadBench, expansion_jobs, xquad_tasks

    b = XquadBench.load(str(bench), "paragraph", ["en", "de", "zh"], max_queries=5)
    jobs = expansion_jobs(xquad_tasks(b, b.pairs("cross")))
    assert len(jobs) == 15 == len({(lang, text) for lang, text, _ in jobs})
    targets = {lang: langs for lang, _, langs in jobs}
    # Searched against the two other languages; English is also the pivot of the dense side.
    assert targets == {"en": ["de", "zh"], "de": ["en", "zh"], "zh": ["de", "en"]}
    only_de = expansion_jobs(xquad_tasks(b, [("zh", "de")]))
    assert {tuple(langs) for _, _, langs in only_de} == {("de", "en")}


def test_pooled_eval_scores_each_query_over_every_language(xlqe, bench, tmp_path) -> None:
    """--pooled: one index of all languages; each query scored per document language and once over the
    whole pool, and the share of its top 10 in its own language is reported."""
    out = tmp_path / "p.json"
    proc = xlqe("eval", "--bench", str(bench), "--mode", "bm25", "--pooled", "--langs", "en,de,zh", "--max-queries", "20",
                "--run", str(tmp_path / "p.run"), "--json", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["pooled"]["queries"] == 60 and len(result["pairs"]) == 9
    # BM25 stays in the query's script: most of a query's pooled top 10 is in its own language, and its
    # own-language unit scores far above a cross-script one.
    assert result["own_language_top10"]["majority"] > 0.8
    assert result["pairs"]["zh->zh"]["nDCG@10"] > 0.5 > result["pairs"]["zh->en"]["nDCG@10"]
    assert 0 < result["pooled"]["nDCG@10"] <= 1
    bad = xlqe("eval", "--bench", str(bench), "--dataset", "tatoeba", "--pooled", "--run", str(tmp_path / "t.run"))
    assert bad.returncode != 0 and "--pooled" in bad.stderr


def test_pooled_eval_prints_the_mixed_rows_as_the_reference_evaluator_computes_them(xlqe, bench, tmp_path) -> None:
    """`xlqe eval --pooled` scores its run as `evaluate.py --mixed --pooled` does: every mixed pair, the mixed
    CROSS / MONO rows and the pooled row agree to the last digit, and the printed report shows the mixed rows."""
    run, mine = tmp_path / "m.run", tmp_path / "m.json"
    proc = xlqe("eval", "--bench", str(bench), "--mode", "bm25", "--pooled", "--langs", "en,de,zh", "--max-queries", "15",
                "--run", str(run), "--json", str(mine), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "mixed CROSS (pairs)" in proc.stdout and "mixed MONO (pairs)" in proc.stdout
    ref = tmp_path / "ref.json"
    subprocess.run([sys.executable, str(bench / "evaluate.py"), "--qrels", f"{run}.qrels.tsv", "--run", str(run),
                    "--pooled", "--mixed", "--langs", "en,de,zh", "--json", str(ref), "--quiet"], check=True, capture_output=True)
    ours, theirs = json.loads(mine.read_text()), json.loads(ref.read_text())
    assert ours["mixed_pairs"].keys() == theirs["mixed_pairs"].keys() and len(ours["mixed_pairs"]) == 9
    for pair, scores in theirs["mixed_pairs"].items():
        assert ours["mixed_pairs"][pair] == scores, pair
    assert ours["mixed"] == theirs["mixed"] and ours["pooled"] == theirs["pooled"]
    # Among every language's documents the answer can only rank lower than among its own language's; BM25
    # on one pooled index puts the query's own language first, so the cross pairs drop.
    for pair, scores in ours["mixed_pairs"].items():
        assert scores["nDCG@10"] <= ours["pairs"][pair]["nDCG@10"] + 1e-12, pair
    assert ours["mixed"]["CROSS"]["nDCG@10"] < ours["macro"]["CROSS"]["nDCG@10"]
