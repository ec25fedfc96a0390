"""Hostile conditions an embedding application meets: a full disk during commit, readers racing a
writer, huge and odd documents."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from xlqe_lite import Index, XlqeError


def test_full_disk_during_commit_keeps_the_previous_state(tmp_path) -> None:
    path = tmp_path / "ix"
    with Index.create(path) as index:
        index.add_many({"id": f"old{i}", "text": f"committed document {i} about rivers", "lang": "en"} for i in range(50))
    # A child process whose files may not grow past 64 KiB: the next commit's segment (30,000 distinct
    # terms, which no compression brings under that) cannot be written.
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from xlqe_lite import Index, XlqeError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG instead
        index = Index.open({str(path)!r}, writer=True)
        index.add_many({{"id": f"new{{i}}", "text": " ".join(f"u{{i}}w{{j}}" for j in range(300)), "lang": "en"}} for i in range(100))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        try:
            index.commit()
        except XlqeError as e:
            print("refused:", e)
            sys.exit(3)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "refused" in proc.stdout
    index = Index.open(path)
    assert len(index) == 50 and index.verify() == []
    assert not [p for p in path.iterdir() if p.name.startswith("seg-") and p.name != _segment_of(path)]
    with Index.open(path, writer=True) as writer:  # and the writer can go on
        writer.add("after", "written after the failure", lang="en")
    assert len(Index.open(path)) == 51


def _segment_of(path) -> str:
    import json

    return json.loads((path / "xlqe.manifest").read_text())["segment"]["file"]


def test_readers_see_only_committed_states_while_a_writer_works(tmp_path) -> None:
    path = tmp_path / "ix"
    writer = Index.create(path)
    writer.add_many({"id": f"g0-{i}", "text": "shared words batch", "lang": "en"} for i in range(20))
    writer.commit()
    errors: list[BaseException] = []
    stop = threading.Event()
    seen_sizes: set[int] = set()

    def read() -> None:
        reader = Index.open(path)
        try:
            while not stop.is_set():
                reader.reload()
                hits = reader.search("shared words", k=1000)
                ids = {h.id for h in hits}
                # A committed state holds whole batches of 20: never a partial batch.
                assert len(ids) % 20 == 0, len(ids)
                seen_sizes.add(len(ids))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for g in range(1, 15):
        for i in range(20):
            writer.add(f"g{g}-{i}", "shared words batch", lang="en")
        writer.commit()
    stop.set()
    for t in readers:
        t.join()
    writer.close()
    assert not errors, errors[0]
    assert len(seen_sizes) > 1, "readers saw the index grow"


def test_huge_and_odd_documents(tmp_path) -> None:
    index = Index.create(tmp_path / "ix")
    huge = ("lorem ipsum dolor sit amet consectetur " * 600_000)[:20_000_000]  # 20 MB
    index.add("huge", huge, lang="en")
    odd = "\u202e\u200fRTL\u0301\u0301\u0301 \x00NUL\x00 " + "e\u0301" * 1000 + " 😀" * 100 + " \ufeffBOM"
    index.add("odd", odd)
    index.add("empty", "")
    index.commit()
    reader = Index.open(tmp_path / "ix")
    assert reader.get("huge").text == huge
    assert reader.get("odd").text == odd
    assert [h.id for h in reader.search("lorem", snippets=True)] == ["huge"]
    assert reader.search("nul")[0].id == "odd"
    assert reader.verify() == []


@pytest.mark.parametrize("bad", ["\udcff lone surrogate", "a\udc80b"])
def test_strings_python_cannot_encode_are_refused_cleanly(tmp_path, bad: str) -> None:
    index = Index.create(tmp_path / "ix")
    with pytest.raises((XlqeError, UnicodeEncodeError)):
        index.add("x", bad)
    with pytest.raises((XlqeError, UnicodeEncodeError)):
        index.search(bad)
    assert len(index) == 0
