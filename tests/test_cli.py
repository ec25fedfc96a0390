"""The `xlqe` command as a user meets it, including every bad input the foundation issue names."""

from __future__ import annotations

import json

from conftest import SAMPLE


def _check(xlqe, index_dir) -> dict:
    proc = xlqe("check", str(index_dir), "--json")
    return json.loads(proc.stdout) | {"exit": proc.returncode}


def test_every_command_has_help(xlqe) -> None:
    for cmd in ([], ["index"], ["ls"], ["rm"], ["watch"], ["search"], ["check"], ["eval"], ["analyze"]):
        proc = xlqe(*cmd, "--help")
        assert proc.returncode == 0 and "usage: xlqe" in proc.stdout


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
