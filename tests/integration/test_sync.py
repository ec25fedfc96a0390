"""`xlqe index` as a sync of real folders, `xlqe ls`, `xlqe rm`, `xlqe watch`, and bad files that must
never stop a run (issue 13 item 4, issue 15 items 2-5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.common import run_xlqe

STORIES = {
    "en/panthers.txt": "The Panthers defense led the league with twenty-four interceptions during the season.",
    "de/wetter.txt": "Morgen wird es in Berlin regnen, und die Temperaturen fallen deutlich unter zehn Grad.",
    "fr/cuisine.md": "# Recette\nLa soupe à l'oignon se prépare lentement avec du beurre, du vin blanc et du fromage.",
    "es/viaje.txt": "El tren nocturno de Madrid a Lisboa dejó de circular hace varios años por falta de pasajeros.",
}


def _folder(root: Path, files: dict[str, str] = STORIES) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _summary(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _ls(index_dir: Path) -> dict[str, dict]:
    proc = run_xlqe("ls", str(index_dir), "--json", check=True)
    return {row["id"]: row for row in json.loads(proc.stdout)}


def test_bad_inputs_are_skipped_by_name_and_the_rest_indexed(tmp_path) -> None:
    src = _folder(tmp_path / "docs")
    bad_name = os.path.join(os.fsencode(src), b"caf\xe9-menu.txt")
    with open(bad_name, "wb") as f:
        f.write(b"Croissants and coffee every morning.")
    os.symlink(src / "nowhere.txt", src / "dangling.txt")  # unreadable: a directory entry with no file
    os.mkfifo(src / "pipe.txt")  # reading it would block forever
    (src / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    index_dir = tmp_path / "ix"
    proc = run_xlqe("index", str(index_dir), str(src), "--no-vectors", "--json")
    summary = _summary(proc)
    assert summary["indexed"] == len(STORIES)
    skipped = summary["skipped_by_reason"]
    assert sum(len(v) for v in skipped.values()) == 4 == summary["skipped"]
    flat = {p: reason for reason, paths in skipped.items() for p in paths}
    assert flat[f"{src.resolve()}/caf\\xe9-menu.txt"] == "non-utf8-name"
    assert flat[f"{src.resolve()}/dangling.txt"] == "vanished"
    assert flat[f"{src.resolve()}/pipe.txt"] == "not-regular-file"
    assert flat[str(src.resolve() / "binary.txt")] == "binary"
    # one warning per skipped file, each naming it
    warnings = [line for line in proc.stderr.splitlines() if "warning: skipped" in line]
    assert len(warnings) == 4 and any("caf\\xe9-menu.txt" in w for w in warnings)
    assert set(_ls(index_dir)) == {str(src.resolve() / rel) for rel in STORIES}
    check = json.loads(run_xlqe("check", str(index_dir), "--json").stdout)
    assert check["ok"] and check["documents"] == len(STORIES)


def test_missing_input_creates_nothing(tmp_path) -> None:
    proc = run_xlqe("index", str(tmp_path / "new"), str(tmp_path / "missing"), "--no-vectors")
    assert proc.returncode == 1 and "no such file or directory" in proc.stderr and "missing" in proc.stderr
    assert not (tmp_path / "new").exists()
    assert "Traceback" not in proc.stderr


def test_sync_reflects_the_folder_exactly(tmp_path) -> None:
    src = _folder(tmp_path / "docs")
    index_dir = tmp_path / "ix"
    first = _summary(run_xlqe("index", str(index_dir), str(src), "--no-vectors", "--json"))
    assert first["indexed"] == 4 and first["files_read"] == 4
    # The same folder given relatively is the same documents; nothing unchanged is read again.
    again = subprocess.run([sys.executable, "-m", "xlqe_lite.cli", "index", str(index_dir), "docs", "--no-vectors",
                            "--json"], cwd=tmp_path, capture_output=True, text=True)
    again_s = _summary(again)
    assert (again_s["unchanged"], again_s["files_read"], again_s["indexed"], again_s["removed"]) == (4, 0, 0, 0)
    assert len(_ls(index_dir)) == 4

    (src / "de/wetter.txt").unlink()  # deleted
    (src / "es/viaje.txt").write_text("El tren nocturno volverá a circular entre Madrid y Oporto en primavera.",
                                      encoding="utf-8")  # edited
    (src / "fr/archive").mkdir()
    (src / "fr/cuisine.md").rename(src / "fr/archive/soupe.md")  # moved
    (src / "it").mkdir()
    (src / "it/gelato.txt").write_text("Il gelato al pistacchio di Bronte è il più buono di tutta la Sicilia.",
                                       encoding="utf-8")  # added
    after = _summary(run_xlqe("index", str(index_dir), str(src), "--no-vectors", "--json"))
    assert (after["indexed"], after["updated"], after["moved"], after["removed"], after["unchanged"]) == (1, 1, 1, 1, 1)
    root = src.resolve()
    docs = _ls(index_dir)
    assert set(docs) == {str(root / p) for p in ("en/panthers.txt", "es/viaje.txt", "fr/archive/soupe.md", "it/gelato.txt")}
    moved = docs[str(root / "fr/archive/soupe.md")]
    assert moved["path"] == "fr/archive/soupe.md" and moved["root"] == str(root) and moved["format"] == "markdown"
    # search sees exactly the folder: the deleted and the old texts are gone, the new ones are there
    def ids(query: str) -> list[str]:
        out = run_xlqe("search", str(index_dir), query, "--json", check=True).stdout
        return [h["id"] for h in json.loads(out)]

    assert ids("Berlin regnen Temperaturen") == []
    assert ids("Lisboa pasajeros") == [] and ids("Oporto primavera") == [str(root / "es/viaje.txt")]
    assert ids("soupe oignon") == [str(root / "fr/archive/soupe.md")]
    assert ids("gelato pistacchio") == [str(root / "it/gelato.txt")]


def test_ls_and_rm(tmp_path) -> None:
    src = _folder(tmp_path / "docs")
    index_dir = tmp_path / "ix"
    run_xlqe("index", str(index_dir), str(src), "--no-vectors", "--quiet", check=True)
    human = run_xlqe("ls", str(index_dir), check=True).stdout.splitlines()
    assert len(human) == 4 and any("panthers.txt\ttext\ten\t" in line for line in human)
    unknown = run_xlqe("rm", str(index_dir), str(src / "en/panthers.txt"), "no-such-id")
    assert unknown.returncode == 1 and "no-such-id" in unknown.stderr and len(_ls(index_dir)) == 4
    run_xlqe("rm", str(index_dir), str(src / "en/panthers.txt"), check=True)
    run_xlqe("rm", str(index_dir), str(src / "fr"), check=True)  # a folder: everything under it
    assert {Path(i).name for i in _ls(index_dir)} == {"wetter.txt", "viaje.txt"}


@pytest.mark.model
def test_resync_with_vectors_embeds_only_what_changed(tmp_path, prepared, monkeypatch) -> None:
    monkeypatch.setenv("XLQE_CACHE_DIR", str(tmp_path / "cache"))
    sentences = [f"Sentence {i} of a long chronicle about the harbour of Hamburg and its ships." for i in range(60)]
    sentences[40] = "Der Leuchtturm auf der kleinen Insel wurde im Jahr 1887 aus rotem Backstein gebaut."
    long_story = " ".join(sentences)
    src = _folder(tmp_path / "docs", {**STORIES, "en/chronicle.txt": long_story})
    index_dir = tmp_path / "ix"
    env = {**os.environ, "XLQE_CACHE_DIR": str(tmp_path / "cache")}

    def index() -> dict:
        proc = subprocess.run([sys.executable, "-m", "xlqe_lite.cli", "index", str(index_dir), str(src), "--json",
                               "--threads", "2"], capture_output=True, text=True, env=env)
        return _summary(proc)

    assert index()["embedded"] == 5
    unchanged = index()
    assert (unchanged["embedded"], unchanged["files_read"], unchanged["unchanged"]) == (0, 0, 5)
    (src / "en/chronicle.txt").rename(src / "chronicle-moved.txt")
    os.utime(src / "de/wetter.txt")  # touched, same bytes
    moved = index()
    assert (moved["moved"], moved["embedded"], moved["removed"], moved["files_read"]) == (1, 0, 0, 2)
    docs = _ls(index_dir)
    chronicle = docs[str(src.resolve() / "chronicle-moved.txt")]
    assert chronicle["passages"] > 5  # its passage places came along
    # A hit on a long document says where it matched, and its snippet is that passage, not the top.
    out = run_xlqe("search", str(index_dir), "When was the lighthouse on the island built?", "--mode", "dense",
                   "--json", "-k", "1").stdout
    hit = json.loads(out)[0]
    assert hit["id"] == str(src.resolve() / "chronicle-moved.txt")
    where = long_story.index("Der Leuchtturm")
    assert hit["place"]["start"] <= where < hit["place"]["end"] and "Leuchtturm" in hit["snippet"]
    assert "passages" not in hit["metadata"]


def test_filters_by_path_format_and_time(tmp_path) -> None:
    from xlqe_lite import Filter, Index

    src = _folder(tmp_path / "docs", {"notes/a.txt": "Roses need sun and water in the garden.",
                                      "notes/b.md": "# Roses\nPrune the roses of the garden in March.",
                                      "old/c.txt": "The roses of the old garden were planted in 1990."})
    os.utime(src / "old/c.txt", (946684800, 946684800))  # 2000-01-01
    index_dir = tmp_path / "ix"
    run_xlqe("index", str(index_dir), str(src), "--no-vectors", "--quiet", check=True)

    def names(*flags: str) -> set[str]:
        out = run_xlqe("search", str(index_dir), "roses garden", "--json", *flags, check=True).stdout
        return {Path(h["id"]).name for h in json.loads(out)}

    assert names() == {"a.txt", "b.md", "c.txt"}
    assert names("--path", "notes/") == {"a.txt", "b.md"}
    assert names("--path", "*.md") == {"b.md"}
    assert names("--path", str(src / "old")) == {"c.txt"}
    assert names("--format", "markdown,pdf") == {"b.md"}
    assert names("--before", "2001-01-01") == {"c.txt"}
    assert names("--after", "2001-01-01", "--format", "text") == {"a.txt"}
    bad = run_xlqe("search", str(index_dir), "roses", "--after", "last tuesday")
    assert bad.returncode != 0 and "modified_after must be a date" in bad.stderr and "Traceback" not in bad.stderr
    # the API takes the same filter; one allowed document far down the ranking is still found
    with Index.open(index_dir) as index:
        hits = index.search("roses garden", k=1, where=Filter(paths=["old/*"]))
        assert [Path(h.id).name for h in hits] == ["c.txt"]


def _wait_for(index_dir: Path, names: set[str], proc: subprocess.Popen) -> set[str]:
    """The file names `xlqe ls` shows once they equal `names` (or what it shows when the watcher died or
    a minute passed, for the assertion to report)."""
    deadline = time.monotonic() + 60
    while True:
        shown = {Path(i).name for i in _ls(index_dir)}
        if shown == names or proc.poll() is not None or time.monotonic() > deadline:
            return shown
        time.sleep(0.3)


def test_watch_follows_edits_renames_and_deletes(tmp_path) -> None:
    src = _folder(tmp_path / "docs", {"a.txt": "First note about the roses.", "b.txt": "Second note about tulips."})
    index_dir = tmp_path / "ix"
    run_xlqe("index", str(index_dir), str(src), "--no-vectors", "--quiet", check=True)
    proc = subprocess.Popen([sys.executable, "-m", "xlqe_lite.cli", "watch", str(index_dir), str(src), "--debounce", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        (src / "c.txt").write_text("A third note about lilies.", encoding="utf-8")
        assert _wait_for(index_dir, {"a.txt", "b.txt", "c.txt"}, proc) == {"a.txt", "b.txt", "c.txt"}
        # an editor's save: write a hidden temporary file, rename it over the original
        (src / ".a.txt.swp").write_text("First note, now about orchids.", encoding="utf-8")
        os.replace(src / ".a.txt.swp", src / "a.txt")
        (src / "b.txt").unlink()
        assert _wait_for(index_dir, {"a.txt", "c.txt"}, proc) == {"a.txt", "c.txt"}
        deadline = time.monotonic() + 60
        while "orchids" not in run_xlqe("search", str(index_dir), "orchids", check=True).stdout:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "1 new" in out and "1 removed" in out


def test_an_interrupted_run_keeps_its_commit_steps(tmp_path) -> None:
    from xlqe_lite import Index
    from xlqe_lite.ingest.report import Events
    from xlqe_lite.ingest.sync import Syncer

    src = _folder(tmp_path / "docs", {f"n{i:03d}.txt": f"Note number {i} about the garden and its roses." for i in range(60)})

    class CtrlC(Events):
        def done(self, path: str, size: int) -> None:
            if path.endswith("n034.txt"):
                raise KeyboardInterrupt

    index = Index.create(tmp_path / "ix")
    with pytest.raises(KeyboardInterrupt):
        Syncer(index, commit_every=10, events=CtrlC()).sync([str(src)])
    index.close()
    kept = Index.open(tmp_path / "ix")
    assert len(kept) == 30 and kept.verify() == []  # three steps of 10; n030-n034 rolled back
    kept.close()
    # the next run picks up where it stopped, reading only what was not committed
    index = Index.open(tmp_path / "ix", writer=True)
    report = Syncer(index, commit_every=10).sync([str(src)])
    index.close()
    assert (report.unchanged, report.indexed, report.files_read) == (30, 30, 30)


def test_a_file_vanishing_while_read_is_skipped_by_name(tmp_path) -> None:
    from xlqe_lite import Index
    from xlqe_lite.ingest.report import Events
    from xlqe_lite.ingest.sync import Syncer

    src = _folder(tmp_path / "docs")
    doomed = src / "de/wetter.txt"

    class Vanish(Events):
        def file(self, path: str, size: int) -> None:
            if path == str(doomed.resolve()):
                doomed.unlink()  # between the walk's stat and the read

    index = Index.create(tmp_path / "ix")
    report = Syncer(index, events=Vanish()).sync([str(src)])
    assert report.skipped == {"vanished": [str(doomed.resolve())]} and report.indexed == 3
    assert len(index) == 3 and index.verify() == []
    index.close()
