"""How tests/support/golden/index-v1 was made: an index in format version 1 (every language's vectors in
one file), written by the core of commit 589cf76 (the last to write that format), and the vector searches
that core answered on it (index-v1.searches.json). Run with that commit's package:

    python tests/support/golden/make_index_v1.py tests/support/golden/index-v1

It cannot be re-run with a later core (which writes format version 2); the files are kept as made.
"""
import json
import shutil
import sys
from pathlib import Path
import numpy as np
from xlqe_lite import Index


def unit(v):
    return v / np.linalg.norm(v)


def main() -> None:
    out = Path(sys.argv[1])
    shutil.rmtree(out, ignore_errors=True)
    rng = np.random.default_rng(16)
    langs = ["en", "de", "zh"]
    texts = {"en": ["the river floods the old town", "a quiet harbour at dawn", "trains leave the station late", "the market opens early"],
             "de": ["der Fluss überschwemmt die Altstadt", "ein stiller Hafen im Morgengrauen", "Züge verlassen den Bahnhof spät", "der Markt öffnet früh"],
             "zh": ["河水淹没了老城", "黎明时分安静的港口", "火车晚点离开车站", "市场很早开门"]}
    docs, vecs, psgs = [], [], []
    for l in langs:
        for i, t in enumerate(texts[l]):
            docs.append({"id": f"{l}-{i}", "text": t, "lang": l})
            vecs.append(unit(rng.normal(size=8)))
            psgs.append(np.stack([unit(rng.normal(size=8)) for _ in range(i % 3)]) if i % 3 else None)
    ix = Index.create(out, vectors={"dims": 8, "metric": "ip"})
    ix.add_many(docs, vectors=np.stack(vecs).astype(np.float32), passages=[None if p is None else p.astype(np.float32) for p in psgs])
    ix.commit()
    ix.close()
    ix = Index.open(out)
    queries = [unit(rng.normal(size=8)).astype(np.float32) for _ in range(3)]
    expected = []
    for q in queries:
        for only in [None, ["en"], ["de", "zh"]]:
            hits = ix.search_vector(q, k=5, langs=only)
            expected.append({"query": [float(x) for x in q], "langs": only,
                             "hits": [[h.id, float(h.score)] for h in hits]})
    ix.close()
    (out.parent / "index-v1.searches.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(sorted(p.name for p in out.iterdir()))
    print(json.loads((out / "xlqe.manifest").read_text())["format_version"])


# Only as a script: pytest --doctest-modules imports every module under tests/, and at import this would
# write an index named after pytest's first argument into the working directory.
if __name__ == "__main__":
    main()
