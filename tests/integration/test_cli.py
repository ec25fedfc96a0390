"""The `xlqe` command as a user meets it, including every bad input the foundation issue names."""

from __future__ import annotations

import json

import pytest

from support.common import SAMPLE


def _check(xlqe, index_dir) -> dict:
    proc = xlqe("check", str(index_dir), "--json")
    return json.loads(proc.stdout) | {"exit": proc.returncode}


def test_every_command_has_help(xlqe) -> None:
    for cmd in ([], ["index"], ["ls"], ["rm"], ["watch"], ["search"], ["check"], ["eval"], ["analyze"]):
        proc = xlqe(*cmd, "--help")
        assert proc.returncode == 0 and "usage: xlqe" in proc.stdout


@pytest.mark.model
def test_index_folder_skips_bad_files_and_keeps_the_rest(xlqe, tmp_path) -> None:
    src = tmp_path / "docs"
    (src / "sub").mkdir(parents=True)
    (src / "a.md").write_text("# Notes\nThe Panthers defense led the league in interceptions.", encoding="utf-8")
    (src / "sub" / "b.txt").write_text("Die Verteidigung der Panthers war in dieser Saison die beste der ganzen Liga, "
                                       "und sie hat nur sehr wenige Punkte zugelassen.", encoding="utf-8")
    (src / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (src / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (src / "ignored.png").write_bytes(b"\x00\x01")
    (src / ".hidden.md").write_text("secret", encoding="utf-8")
    index_dir = tmp_path / "ix"
    proc = xlqe("index", str(index_dir), str(src))
    assert proc.returncode == 0, proc.stderr
    # Latin-1 text is read in its encoding; the binary file and the PNG are named with their reasons.
    assert ": 3 new, 0 updated, 0 unchanged, 0 moved, 0 removed; 2 skipped (binary: 1, unsupported-type: 1)" in proc.stdout
    assert "binary.txt: binary data" in proc.stderr and "ignored.png: not a supported document type" in proc.stderr
    report = _check(xlqe, index_dir)
    assert report["ok"] and report["documents"] == 3 and report["exit"] == 0
    assert report["languages"] == {"de": 1, "en": 1}  # detected; "café crème" is too short to tell

    hits = json.loads(xlqe("search", str(index_dir), "panthers interceptions", "--json").stdout)
    assert hits[0]["id"].endswith("a.md") and hits[0]["lang"] == "en" and hits[0]["rank"] == 1
    assert "interceptions" in hits[0]["snippet"] and hits[0]["metadata"]["path"].endswith("a.md")
    de_only = json.loads(xlqe("search", str(index_dir), "panthers", "--lang", "de", "--json").stdout)
    assert [h["lang"] for h in de_only] == ["de"]


@pytest.mark.model
def test_jsonl_sample_and_human_output(xlqe, tmp_path) -> None:
    index_dir = tmp_path / "ix"
    xlqe("index", str(index_dir), str(SAMPLE), check=True)
    proc = xlqe("search", str(index_dir), "Wie viele Interceptions hatte die Verteidigung der Panthers?", "-k", "3")
    assert proc.returncode == 0
    first = proc.stdout.splitlines()[0]
    assert "xq-p000.de" in first and "[de]" in first
    assert _check(xlqe, index_dir)["documents"] == 90
    # Re-indexing the same file replaces documents instead of duplicating them.
    xlqe("index", str(index_dir), str(SAMPLE), check=True)
    assert _check(xlqe, index_dir)["documents"] == 90


@pytest.mark.model
def test_bad_queries_fail_clearly_without_damage(xlqe, tmp_path) -> None:
    index_dir = tmp_path / "ix"
    xlqe("index", str(index_dir), str(SAMPLE), check=True)
    empty = xlqe("search", str(index_dir), "   ")
    assert empty.returncode != 0 and "query is empty" in empty.stderr
    huge = xlqe("search", str(index_dir), "Panthers " * 12_500, "-k", "1")  # 100k characters
    assert huge.returncode == 0 and "xq-p000" in huge.stdout
    bad_lang = xlqe("search", str(index_dir), "panthers", "--lang", "xx")
    assert bad_lang.returncode != 0 and "unknown language code" in bad_lang.stderr
    bad_index_lang = xlqe("index", str(index_dir), str(SAMPLE), "--lang", "klingon")
    assert bad_index_lang.returncode != 0 and "unknown language code" in bad_index_lang.stderr
    missing_input = xlqe("index", str(index_dir), str(tmp_path / "nope.txt"))
    assert missing_input.returncode != 0 and "no such file" in missing_input.stderr
    report = _check(xlqe, index_dir)
    assert report["ok"] and report["documents"] == 90


@pytest.mark.model
def test_missing_corrupt_and_foreign_indexes(xlqe, tmp_path) -> None:
    missing = xlqe("search", str(tmp_path / "nothing"), "query")
    assert missing.returncode != 0 and "index not found" in missing.stderr
    report = _check(xlqe, tmp_path / "nothing")
    assert report == {"ok": False, "documents": 0, "path": str(tmp_path / "nothing"), "error": report["error"], "exit": 1}

    index_dir = tmp_path / "ix"
    xlqe("index", str(index_dir), str(SAMPLE), check=True)
    segment = next(index_dir.glob("seg-*.xlqe"))
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    report = _check(xlqe, index_dir)
    assert not report["ok"] and "checksum" in report["error"] and report["exit"] == 1
    search = xlqe("search", str(index_dir), "panthers")
    assert search.returncode != 0 and "damaged" in search.stderr

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "photo.jpg").write_bytes(b"\xff\xd8")
    foreign = xlqe("index", str(tmp_path / "home"), str(SAMPLE))
    assert foreign.returncode != 0 and "not an empty directory" in foreign.stderr
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["photo.jpg"]  # untouched


def test_analyze_shows_index_terms(xlqe) -> None:
    proc = xlqe("analyze", "Die Häuser", "--lang", "de")
    assert proc.returncode == 0 and proc.stdout.split() == ["haus"]


# ---------------------------------------------------------------- argument hygiene (issue 13, item 6)

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> object:
    path = tmp_path_factory.mktemp("hygiene") / "ix"
    from support.common import run_xlqe

    run_xlqe("index", str(path), str(SAMPLE), "--no-vectors", check=True)
    return path


def _run(*args: str, cache) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xlqe_lite.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1", "XLQE_CACHE_DIR": str(cache)})


def _tree(path) -> dict:
    return {str(p.relative_to(path)): p.stat().st_size for p in sorted(path.rglob("*"))}


@pytest.mark.parametrize("args, message", [
    (["-k", "-1"], "argument -k: must be at least 1, not -1"),
    (["-k", "0"], "argument -k: must be at least 1, not 0"),
    (["-k", "ten"], "argument -k: 'ten' is not a whole number"),
    (["--snippet-chars", "-5"], "argument --snippet-chars: must be at least 1, not -5"),
    (["--budget", "-1"], "argument --budget: must be a finite number of seconds >= 0, not -1"),
    (["--budget", "nan"], "argument --budget: must be a finite number of seconds >= 0, not nan"),
    (["--threads", "0"], "argument --threads: must be at least 1, not 0"),
    (["--expand-langs", "0"], "argument --expand-langs: must be at least 1, not 0"),
    (["--query-lang", "xx"], "argument --query-lang: unknown language code"),
    (["--lang", "de,xx"], "argument --lang: unknown language code"),
    (["--expand", "magic"], "argument --expand: unknown expansion strategy 'magic'"),
    (["--expand", "auto", "--llm", "gpt-5"], "argument --llm: unknown LLM 'gpt-5': not a file, and not one of the "
                                             "known models: gemma-3-270m, qwen2.5-coder-1.5b-instruct"),
    (["--encoder", "bert"], "argument --encoder: unknown encoder 'bert': not a file, and not one of the known models: "
                            "multilingual-e5-small, multilingual-e5-small-q4, use-multilingual-v3, e5-small+use-v3"),
    (["--model", "gemma-3-270m"], "argument --model: --model is ambiguous here: use --llm for the expansion model "
                                  "or --encoder for the embedding model"),
])
def test_bad_search_arguments_exit_2_with_one_line_and_touch_nothing(small_index, tmp_path, args, message) -> None:
    before = _tree(small_index)
    proc = _run("search", str(small_index), "panthers", *args, cache=tmp_path / "cache")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("xlqe search: error: ") and message in proc.stderr, proc.stderr
    assert _tree(small_index) == before and not (tmp_path / "cache").exists()  # no cache, no index change


def test_search_of_a_missing_index_creates_nothing(tmp_path) -> None:
    proc = _run("search", str(tmp_path / "nothing"), "query", cache=tmp_path / "cache")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "index not found: no directory" in proc.stderr and "xlqe index" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--run", "{tmp}/no/such/dir/x.run"], "argument --run: cannot write"),
    (["--run", "{tmp}"], "argument --run: '{tmp}' is a directory, not a file"),
    (["--run", "{tmp}/x.run", "--json", "{tmp}/no/x.json"], "argument --json: cannot write"),
    (["--run", "{tmp}/x.run", "--bench", "{tmp}/no-bench"], "argument --bench: no directory"),
    (["--run", "{tmp}/x.run", "--sample", "0"], "argument --sample: must be at least 1, not 0"),
    (["--run", "{tmp}/x.run", "--b", "1.5"], "argument --b: must be between 0 and 1, not 1.5"),
    (["--run", "{tmp}/x.run", "--langs", "en,klingon"], "argument --langs: unknown language code"),
    (["--run", "{tmp}/x.run", "--mode", "dense", "--encoder", "nope"], "argument --encoder: unknown encoder 'nope'"),
    (["--run", "{tmp}/x.run", "--expand", "auto", "--llm", "nope"], "argument --llm: unknown LLM 'nope'"),
    (["--run", "{tmp}/x.run", "--model", "x"], "--model is ambiguous here"),
])
def test_bad_eval_arguments_exit_2_and_write_nothing(tmp_path, args, message) -> None:
    work = tmp_path / "work"
    work.mkdir()
    args = [a.replace("{tmp}", str(work)) for a in args]
    proc = _run("eval", "--bench", str(tmp_path), *args, cache=tmp_path / "cache")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("xlqe eval: error: ")
    assert message.replace("{tmp}", str(work)) in proc.stderr, proc.stderr
    assert list(work.iterdir()) == [] and not (tmp_path / "cache").exists()


def test_runtime_errors_are_one_line_without_traceback(tmp_path) -> None:
    """An OSError while running (here: a bench folder without its files) is one line and exit 1."""
    (tmp_path / "xquad").mkdir()
    proc = _run("eval", "--bench", str(tmp_path), "--run", str(tmp_path / "x.run"), cache=tmp_path / "cache")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("xlqe: error: ") and "No such file" in lines[0], proc.stderr
    assert not (tmp_path / "x.run").exists()


def test_analyze_rejects_unknown_languages(tmp_path) -> None:
    proc = _run("analyze", "Die Häuser", "--lang", "klingon", cache=tmp_path / "cache")
    assert proc.returncode == 2 and "argument --lang: unknown language code" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_version(tmp_path) -> None:
    import xlqe_lite

    proc = _run("--version", cache=tmp_path / "cache")
    assert proc.returncode == 0 and proc.stdout.strip() == f"xlqe-lite {xlqe_lite.__version__}"
    assert xlqe_lite.__version__.count(".") == 2


def test_an_llm_without_expansion_is_named_as_ignored(small_index, tmp_path) -> None:
    proc = _run("search", str(small_index), "panthers", "--llm", "gemma-3-270m", "-k", "1", cache=tmp_path / "cache")
    assert proc.returncode == 0 and "xq-p000" in proc.stdout
    assert proc.stderr.strip() == "xlqe: warning: --llm is ignored without --expand"
