"""A writer for the crash-safety test: commits deterministic rounds of changes until it is killed.

Round r (the index's generation r-1 -> r) adds 40 documents "r-j", deletes round r-1's documents with
j % 5 == 0 and rewrites round r-2's document j == 1. It prints "ready" once it holds the writer's lock and "committed GEN" after each commit.
"""

from __future__ import annotations

import sys

from xlqe_lite import Index

DOCS_PER_ROUND = 40


def expected_ids(generation: int) -> set[str]:
    """The live ids after `generation` rounds."""
    ids: set[str] = set()
    for r in range(1, generation + 1):
        ids |= {f"{r}-{j}" for j in range(DOCS_PER_ROUND)}
        ids -= {f"{r - 1}-{j}" for j in range(0, DOCS_PER_ROUND, 5)}
    return ids


def expected_text(doc_id: str, generation: int) -> str:
    r, j = map(int, doc_id.split("-"))
    base = f"round {r} document {j} Panthers defense interceptions 北京大学 ข้อความ"
    return base + " rewritten" if j == 1 and r + 2 <= generation else base


def main(path: str) -> None:
    index = Index.open(path, writer=True)
    print("ready", flush=True)
    while True:
        r = index.generation + 1
        index.add_many({"id": f"{r}-{j}", "text": f"round {r} document {j} Panthers defense interceptions 北京大学 ข้อความ",
                        "lang": "en"} for j in range(DOCS_PER_ROUND))
        for j in range(0, DOCS_PER_ROUND, 5):
            index.delete(f"{r - 1}-{j}")
        if r >= 3:
            old = f"{r - 2}-1"
            index.add(old, f"round {r - 2} document 1 Panthers defense interceptions 北京大学 ข้อความ rewritten", lang="en")
        index.commit()
        print(f"committed {index.generation}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
