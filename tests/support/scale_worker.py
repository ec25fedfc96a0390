"""The child process of the scale tests (test_scale.py): builds one extreme index and prints what it saw as
JSON, so the parent can measure the child's peak memory alone (os.wait4) and check the index after it.

    python scale_worker.py baseline INDEX_DIR
    python scale_worker.py huge INDEX_DIR MEGABYTES       a file of that many MB (INDEX_DIR.txt) loaded and
                                                          indexed as one document, then searched
    python scale_worker.py tiny INDEX_DIR COUNT           COUNT documents of one or two words each
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from pathlib import Path

from xlqe_lite import Index
from xlqe_lite.ingest.sources import Skipped, iter_documents

# A mixed vocabulary: short and long words, accents (still one byte per character in Python's str),
# digits; the document's distinct terms stay in the tens of thousands, like a real large file.
_RNG = random.Random(100)
VOCAB = [
    "".join(_RNG.choice("abcdefghijklmnopqrstuvwxyzéü0123456789") for _ in range(_RNG.randint(2, 12)))
    for _ in range(50_000)
]


def huge_text(megabytes: int) -> str:
    """About `megabytes` MB of text: a 1 MB block of random words repeated, with a marker word at the end."""
    words, size = [], 0
    while size < 1_000_000:
        w = _RNG.choice(VOCAB)
        words.append(w)
        size += len(w) + 1
    block = " ".join(words) + "\n"
    return block * megabytes + " zanzibarfinale"


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    report: dict = {}
    start = time.perf_counter()
    if mode == "baseline":
        with Index.create(path) as index:
            index.add("one", "one small document", lang="en")
    elif mode == "huge":
        # Through the loader the CLI uses: a file on disk, read, decoded, language-detected, then indexed.
        source = Path(path).with_suffix(".txt")
        text = huge_text(int(sys.argv[3]))
        source.write_text(text, encoding="utf-8")
        report["bytes"] = source.stat().st_size
        del text
        with Index.create(path) as index:
            index.add("small", "a small neighbour document", lang="en")
            items = list(iter_documents([str(source)]))
            report["skipped"] = [i.reason for i in items if isinstance(i, Skipped)]
            index.add_many(i for i in items if not isinstance(i, Skipped))
            del items
        report["index_seconds"] = round(time.perf_counter() - start, 1)
        report["rss_after_commit_mb"] = _peak_mb()
        source.unlink()
        reader = Index.open(path)
        t = time.perf_counter()
        hits = reader.search("zanzibarfinale", k=3, snippets=True)
        report["search_seconds"] = round(time.perf_counter() - t, 1)
        report["hits"] = [h.id for h in hits]
        report["small_hit"] = [h.id for h in reader.search("neighbour", k=3)]
        report["verify"] = reader.verify()
        report["documents"] = len(reader)
        report["huge_id"] = source.as_posix()
        report["stored_bytes"] = len(reader.get(source.as_posix()).text.encode("utf-8"))  # type: ignore[union-attr]
    elif mode == "tiny":
        count = int(sys.argv[3])
        with Index.create(path) as index:
            index.add_many(
                ({"id": f"t{i}", "text": VOCAB[i % len(VOCAB)] + (f" w{i % 997}" if i % 2 else "")} for i in range(count)),
                batch_size=10_000,
            )
            report["add_seconds"] = round(time.perf_counter() - start, 1)
            report["rss_after_add_mb"] = _peak_mb()
        report["index_seconds"] = round(time.perf_counter() - start, 1)
        report["rss_after_commit_mb"] = _peak_mb()
        reader = Index.open(path)
        report["documents"] = len(reader)
        report["hits"] = len(reader.search("w500", k=5000))
        last = reader.get(f"t{count - 1}")
        report["last_text"] = last.text if last else None
        report["verify"] = reader.verify()
    report["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
