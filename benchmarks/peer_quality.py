"""Retrieval quality of the peers on the CLIR bench, scored by the bench's own evaluate.py: the peer columns of
BENCHMARKS.md's quality tables, from a script instead of from memory.

    python benchmarks/peer_quality.py [--max-queries 50] [--out .bench-out/quality.json]

Data: XQuAD paragraphs, one corpus per language (9 languages, 240 paragraphs each); every query language is
searched against every language's corpus separately (81 pairs), and evaluate.py scores the run per pair
(MONO = same language, CROSS = the 72 others; macro means over pairs). `--max-queries` takes that many
questions per language (the first ones, same for every peer); without it all 816 per language.

Peers:
  bm25s            bm25s (Lucene BM25, its default regex tokenizer with English stop words), one index per
                   language corpus
  e5-exact         multilingual-e5-small through a plain onnxruntime loop (bench_encoder.plain_loop on the
                   shipped ONNX file: "query: " / "passage: " prefixes, mean pooling in the graph), exact
                   cosine over the whole corpus
  e5-exact+windows the same, a paragraph scored by the best of its own vector and the vectors of its token
                   windows (32 tokens, stride 16 — the engine's defaults), each window embedded as a passage
  rrf(...)         naive reciprocal-rank fusion (k = 60) of the bm25s list and the e5 list (top 100 each)

Records (the harness's schema, suite "quality"): nDCG@10 and Recall@100, MONO and CROSS macro, per peer; no
xlqe rows (`xlqe eval` gives those), so the ratios are null.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("XLQE_BENCH", REPO.parent / "shared" / "bench"))
sys.path.insert(0, str(REPO / "benchmarks"))
LANGS = ["ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh"]
DEPTH = 100


def load_evaluate() -> Any:
    spec = importlib.util.spec_from_file_location("bench_evaluate", BENCH / "evaluate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def windows(tok: Any, text: str, size: int = 32, stride: int = 16) -> list[str]:
    """The text's token windows (character spans of `size` tokens every `stride`); none if it fits in one."""
    offsets = [o for o in tok.encode(text, add_special_tokens=False).offsets if o[1] > o[0]]
    if len(offsets) <= size:
        return []
    out = []
    for s in range(0, len(offsets), stride):
        span = offsets[s: s + size]
        out.append(text[span[0][0]: span[-1][1]])
        if s + size >= len(offsets):
            break
    return out


def bm25s_lists(corpora: dict[str, list[dict]], queries: list[dict]) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """qid -> corpus language -> [(docid, score)] best first."""
    import bm25s

    out: dict[str, dict[str, list[tuple[str, float]]]] = {q["id"]: {} for q in queries}
    q_tokens = bm25s.tokenize([q["text"] for q in queries], stopwords="en", show_progress=False, return_ids=False)
    for lang, docs in corpora.items():
        retriever = bm25s.BM25(method="lucene")
        retriever.index(bm25s.tokenize([d["text"] for d in docs], stopwords="en", show_progress=False), show_progress=False)
        vocab = retriever.vocab_dict
        # queries tokenised as strings, mapped onto this corpus's vocabulary (unknown words dropped)
        ids = [[vocab[t] for t in toks if t in vocab] for toks in q_tokens]
        k = min(DEPTH, len(docs))
        for q, qi in zip(queries, ids):
            if not qi:
                out[q["id"]][lang] = []
                continue
            found, scores = retriever.retrieve([qi], k=k, show_progress=False, n_threads=1)
            out[q["id"]][lang] = [(docs[int(i)]["id"], float(s)) for i, s in zip(found[0], scores[0]) if s > 0]
    return out


def dense_lists(corpora: dict[str, list[dict]], queries: list[dict], embed: Any,
                tok: Any) -> tuple[dict[str, dict[str, list[tuple[str, float]]]], dict[str, dict[str, list[tuple[str, float]]]]]:
    """(without windows, with windows): qid -> corpus language -> [(docid, cosine)] best first. Each text is
    embedded once."""
    qv = embed([q["text"] for q in queries], "query: ")
    plain: dict[str, dict[str, list[tuple[str, float]]]] = {q["id"]: {} for q in queries}
    windowed: dict[str, dict[str, list[tuple[str, float]]]] = {q["id"]: {} for q in queries}
    for lang, docs in corpora.items():
        dv = embed([d["text"] for d in docs], "passage: ")
        base = qv @ dv.T
        top_k(plain, queries, docs, base)
        scores = base.copy()
        parts = [windows(tok, d["text"]) for d in docs]
        flat = [w for p in parts for w in p]
        if flat:
            wv = embed(flat, "passage: ")
            owner = np.repeat(np.arange(len(docs)), [len(p) for p in parts])
            ws = qv @ wv.T
            for j in range(len(docs)):
                mask = owner == j
                if mask.any():
                    scores[:, j] = np.maximum(scores[:, j], ws[:, mask].max(axis=1))
        top_k(windowed, queries, docs, scores)
    return plain, windowed


def top_k(out: dict, queries: list[dict], docs: list[dict], scores: np.ndarray) -> None:
    lang = docs[0]["id"].rsplit(".", 1)[-1]
    k = min(DEPTH, len(docs))
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    for qi, q in enumerate(queries):
        order = top[qi][np.argsort(-scores[qi, top[qi]])]
        out[q["id"]][lang] = [(docs[int(j)]["id"], float(scores[qi, j])) for j in order]


def rrf(a: dict, b: dict, k: int = 60) -> dict[str, dict[str, list[tuple[str, float]]]]:
    out: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for qid in a:
        out[qid] = {}
        for lang in a[qid]:
            fused: dict[str, float] = {}
            for lst in (a[qid][lang], b[qid][lang]):
                for rank, (d, _) in enumerate(lst):
                    fused[d] = fused.get(d, 0.0) + 1.0 / (k + rank + 1)
            out[qid][lang] = sorted(fused.items(), key=lambda x: -x[1])[:DEPTH]
    return out


def score(evaluate: Any, qrels: dict, lists: dict, tmp: str, langs: list[str]) -> dict:
    """Write the lists as a TREC run and score it with evaluate.py's own reader and scorer."""
    path = os.path.join(tmp, "peer.run")
    with open(path, "w", encoding="utf-8") as f:
        for qid, by_lang in lists.items():
            for lst in by_lang.values():
                for rank, (d, s) in enumerate(lst):
                    f.write(f"{qid} Q0 {d} {rank + 1} {s:.6f} peer\n")
    run = evaluate.read_run(path)
    # pairs of the languages run only (a --langs subset must not count the other corpora as zeros)
    return evaluate.evaluate({q: r for q, r in qrels.items() if q in lists}, run, all_pairs=True, langs=set(langs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-queries", type=int, default=0, help="questions per language (0: all)")
    ap.add_argument("--langs", default=",".join(LANGS), help="languages (queries and corpora) to run")
    ap.add_argument("--out", default=str(REPO / ".bench-out" / "quality.json"))
    a = ap.parse_args()
    from bench_encoder import plain_loop, plain_session
    from harness import complete, git_commit, machine, measurement
    from tokenizers import Tokenizer
    from xlqe_lite import models

    load_start = os.getloadavg()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    evaluate = load_evaluate()
    qrels = evaluate.read_qrels([str(BENCH / "xquad" / "qrels.paragraph.tsv")])
    langs = a.langs.split(",")
    corpora = {lang: _jsonl(BENCH / "xquad" / f"corpus.{lang}.jsonl") for lang in langs}
    queries = []
    for lang in langs:
        qs = _jsonl(BENCH / "xquad" / f"queries.{lang}.jsonl")
        queries += qs[: a.max_queries] if a.max_queries else qs
    e5_dir = models.prepare("multilingual-e5-small")
    tok = Tokenizer.from_file(str(e5_dir / "tokenizer.json"))
    tok.enable_truncation(512)
    sess = plain_session(e5_dir / "model.onnx", os.cpu_count() or 1)

    def embed(texts: list[str], prefix: str) -> np.ndarray:
        v = plain_loop(sess, tok, texts, prefix, 32, True)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    lists = {"bm25s": bm25s_lists(corpora, queries)}
    lists["e5-exact"], lists["e5-exact+windows"] = dense_lists(corpora, queries, embed, tok)
    lists["rrf(bm25s, e5-exact)"] = rrf(lists["bm25s"], lists["e5-exact"])
    lists["rrf(bm25s, e5-exact+windows)"] = rrf(lists["bm25s"], lists["e5-exact+windows"])
    per_lang = a.max_queries or 816
    dataset = f"XQuAD paragraphs, per-language corpora ({len(langs)} languages), {per_lang} queries per language"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for peer, lst in lists.items():
            res = score(evaluate, qrels, lst, tmp, langs)
            for group in ("MONO", "CROSS"):
                for metric in ("nDCG@10", "Recall@100"):
                    rows.append(measurement(dataset, f"{metric}, {group} macro ({res['macro'][group]['pairs']} pairs)",
                                            peer, res["macro"][group][metric], "recall" if metric == "Recall@100" else "nDCG@10"))
                    print(f"{peer:30s} {group:5s} {metric:10s} {res['macro'][group][metric]:.4f}")
    command = "python benchmarks/peer_quality.py" + (f" --max-queries {a.max_queries}" if a.max_queries else "") + (
        f" --langs {a.langs}" if langs != LANGS else "")
    records = complete("quality", rows, command, git_commit(), machine(load_start, os.getloadavg()), date)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"{len(records)} records -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
