"""A writer for the crash-safety test: commits deterministic rounds of changes until it is killed.

Round r (the index's generation r-1 -> r) adds DOCS_PER_ROUND documents "r-j", deletes round r-1's documents with
j % 5 == 0 and rewrites round r-2's document j == 1. It prints "ready" once it holds the writer's lock,
"committing GEN" before each commit and "committed GEN SECONDS" after it (how long the commit took, so that a
test can aim a kill inside the next one).

With `--vectors` the index holds vectors (see `VECTOR_SETTINGS`): every document gets a vector made from
its id and text, and every other one PASSAGES passage vectors, so that each commit also writes a vector
file and a passage file of a few megabytes, which a kill can interrupt.
"""

from __future__ import annotations

import sys
import time
import zlib

import numpy as np

from xlqe_lite import Index

DOCS_PER_ROUND = 40
VECTOR_DOCS_PER_ROUND = 100
PASSAGES = 4
VECTOR_SETTINGS = {"dims": 384, "storage": "f32", "passage_tokens": 32, "passage_stride": 16}


def per_round(vectors: bool) -> int:
    return VECTOR_DOCS_PER_ROUND if vectors else DOCS_PER_ROUND


def expected_ids(generation: int, vectors: bool = False) -> set[str]:
    """The live ids after `generation` rounds."""
    n = per_round(vectors)
    ids: set[str] = set()
    for r in range(1, generation + 1):
        ids |= {f"{r}-{j}" for j in range(n)}
        ids -= {f"{r - 1}-{j}" for j in range(0, n, 5)}
    return ids


def expected_text(doc_id: str, generation: int) -> str:
    r, j = map(int, doc_id.split("-"))
    base = f"round {r} document {j} Panthers defense interceptions 北京大学 ข้อความ"
    return base + " rewritten" if j == 1 and r + 2 <= generation else base


def has_passages(doc_id: str) -> bool:
    return int(doc_id.split("-")[1]) % 2 == 0


def vector_of(doc_id: str, text: str) -> np.ndarray:
    """The document's vector: a unit vector drawn from its id and text (a rewrite changes it)."""
    v = np.random.default_rng(zlib.crc32(f"{doc_id}\0{text}".encode())).standard_normal(VECTOR_SETTINGS["dims"])
    return (v / np.linalg.norm(v)).astype(np.float32)


def passages_of(doc_id: str, text: str) -> np.ndarray | None:
    if not has_passages(doc_id):
        return None
    rng = np.random.default_rng(zlib.crc32(f"{doc_id}\0{text}\0passages".encode()))
    p = rng.standard_normal((PASSAGES, VECTOR_SETTINGS["dims"]))
    return (p / np.linalg.norm(p, axis=1, keepdims=True)).astype(np.float32)


def main(path: str, vectors: bool) -> None:
    index = Index.open(path, writer=True)
    print("ready", flush=True)
    n = per_round(vectors)
    while True:
        r = index.generation + 1
        docs = [{"id": f"{r}-{j}", "text": expected_text(f"{r}-{j}", r), "lang": "en"} for j in range(n)]
        if vectors:
            index.add_many(docs, vectors=np.stack([vector_of(d["id"], d["text"]) for d in docs]),
                           passages=[passages_of(d["id"], d["text"]) for d in docs])
        else:
            index.add_many(docs)
        for j in range(0, n, 5):
            index.delete(f"{r - 1}-{j}")
        if r >= 3:
            old = f"{r - 2}-1"
            text = expected_text(old, r)
            if vectors:
                index.add(old, text, lang="en", vector=vector_of(old, text), passages=passages_of(old, text))
            else:
                index.add(old, text, lang="en")
        print(f"committing {r}", flush=True)
        started = time.perf_counter()
        index.commit()
        print(f"committed {index.generation} {time.perf_counter() - started:.4f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], "--vectors" in sys.argv[2:])
