"""Choosing how expansions enter retrieval, on the bench's dev data (and only there).

    python benchmarks/tune_expansion.py --sample 24 --sample-offset 3 --strategy translate --shots few

Builds one real index per document language (XQuAD paragraphs, embeddings cached on disk), expands each
sampled query into that language with the local LLM (expansions cached on disk, so a grid costs one
generation pass), and scores every fusion setting in the grid: the weight of the expansion's lexical list
and how much of the expansions' embedding is mixed into the query's. Prints macro nDCG@10 over cross- and
same-language pairs, cross-script pairs, how many pairs lose more than 0.005 against no expansion, and
the worst pair's change.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from dataclasses import replace

from xlqe_lite.models.embedding_cache import encode_cached
from xlqe_lite.models.encoder import Encoder
from xlqe_lite.evaluation import XquadBench, evaluate, index_with_vectors
from xlqe_lite.expansion import Expander
from xlqe_lite.search import FusionConfig, SearchEngine

SCRIPT = {"en": "Latin", "es": "Latin", "de": "Latin", "tr": "Latin", "ru": "Cyrillic", "ar": "Arabic", "th": "Thai",
          "zh": "Han", "hi": "Devanagari"}


class MemoEncoder:
    """The encoder with a memory of query embeddings: every setting in the grid embeds the same expansions."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder, self.memo = encoder, {}
        self.dim, self.name = encoder.dim, encoder.name

    def encode_queries(self, texts):
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.encoder.encode_queries(missing)))
        return np.stack([self.memo[t] for t in texts])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--level", default="paragraph")
    ap.add_argument("--langs", default=None)
    ap.add_argument("--sample", type=int, default=24)
    ap.add_argument("--sample-offset", type=int, default=3)
    ap.add_argument("--strategy", default="translate")
    ap.add_argument("--shots", default="few")
    ap.add_argument("--llm", default=None)
    ap.add_argument("--lexical", default="0,0.2,0.35,0.5,0.7,1.0")
    ap.add_argument("--dense", default="0,0.5,1.0,1.5")
    ap.add_argument("--mass", default="1.0")
    ap.add_argument("--min-sim", default="0")
    ap.add_argument("--full-sim", default="0", help="similarity of full trust (0: the minimum, i.e. no ramp)")
    ap.add_argument("--pivot", type=lambda v: v.split(","), default=[],
                    help="also expand into these languages (used by the dense side when the index lacks them)")
    ap.add_argument("--detail", action="store_true", help="per-language changes for the last setting")
    args = ap.parse_args()

    bench = XquadBench.load(args.bench, args.level, args.langs.split(",") if args.langs else None,
                            sample=args.sample, sample_offset=args.sample_offset)
    encoder = Encoder.load("multilingual-e5-small", threads=os.cpu_count() or 1)
    expander = Expander(args.llm)
    pairs = bench.pairs("all")
    asked = {qid for q in bench.langs for qid, _ in bench.queries[q]}
    qrels = {q: d for q, d in bench.qrels.items() if q in asked}
    memo = MemoEncoder(encoder)
    with tempfile.TemporaryDirectory() as tmp:
        engines = {}
        for d in bench.langs:
            docs = bench.corpora[d]
            index = index_with_vectors(os.path.join(tmp, d), docs, encoder)
            engines[d] = SearchEngine(index, memo, FusionConfig())  # type: ignore[arg-type]
        # Expansions first (the slow part), then every setting over the same expansions.
        t0, n = time.time(), 0
        work = []
        for q_lang, d_lang in pairs:
            queries = bench.queries[q_lang]
            vectors = encode_cached(encoder, [t for _, t in queries], "query")
            for (qid, text), v in zip(queries, vectors):
                exps = [] if q_lang == d_lang and args.strategy in ("translate", "expand-translate") else \
                    expander.expand(text, strategy=args.strategy, shots=args.shots, query_lang=q_lang, target_langs=[d_lang, *args.pivot])
                work.append((q_lang, d_lang, qid, text, v, exps))
                n += 1
                if n % 200 == 0:
                    print(f"  expanded {n} ({time.time() - t0:.0f}s)", file=sys.stderr)
        grid = list(itertools.product(*(map(float, g.split(",")) for g in (args.lexical, args.dense, args.mass, args.min_sim, args.full_sim))))
        baseline = None
        rows = []
        for lex_w, dense_w, mass, min_sim, full_sim in [(0.0, 0.0, 1.0, 0.0, 0.0)] + grid:
            cfg = replace(FusionConfig(), expansion_lexical=lex_w, expansion_dense=dense_w, expansion_term_mass=mass,
                          expansion_min_similarity=min_sim, expansion_full_similarity=max(full_sim, min_sim))
            run: dict[str, list[str]] = {}
            for q_lang, d_lang, qid, text, v, exps in work:
                engine = engines[d_lang]
                engine.fusion = cfg
                hits = engine.search(text, k=100, lang=q_lang, query_vector=v, expansions=exps if (lex_w or dense_w) else None)
                run.setdefault(qid, []).extend(h.id for h in hits)
            result = evaluate(qrels, run, langs=bench.langs)
            per_pair = {p: m["nDCG@10"] for p, m in result["pairs"].items()}
            if baseline is None:
                baseline = per_pair
            worst = min((per_pair[p] - baseline[p], p) for p in per_pair)
            cross_script = [v for p, v in per_pair.items() if SCRIPT[p.split("->")[0]] != SCRIPT[p.split("->")[1]]]
            last = per_pair
            losers = sum(per_pair[p] - baseline[p] < -0.005 for p in per_pair)
            rows.append((lex_w, dense_w, mass, min_sim, full_sim, losers, result["macro"]["CROSS"]["nDCG@10"], result["macro"]["MONO"]["nDCG@10"],
                         sum(cross_script) / max(len(cross_script), 1), worst))
        print(f"{args.strategy}/{args.shots}, {args.level}, sample {args.sample}+{args.sample_offset}: "
              f"{len(work)} (query, pair) units; expansions took {time.time() - t0:.0f}s in all")
        print(f"{'lexical':>8} {'dense':>6} {'mass':>5} {'minsim':>6} {'fullsim':>7} {'cross':>7} {'mono':>7} "
              f"{'x-script':>8} {'<-0.005':>7}  worst pair vs none")
        for lex_w, dense_w, mass, min_sim, full_sim, losers, cross, mono, xs, (delta, pair) in rows:
            print(f"{lex_w:8.2f} {dense_w:6.2f} {mass:5.2f} {min_sim:6.2f} {full_sim:7.2f} {cross:7.4f} {mono:7.4f} "
                  f"{xs:8.4f} {losers:7d}  {delta:+.4f} {pair}")
        if args.detail:
            # The last setting's change against no expansion, by query language and by document language.
            for side in (0, 1):
                label = "query" if side == 0 else "doc"
                parts = []
                for lang in bench.langs:
                    ds = [last[p] - baseline[p] for p in last if p.split("->")[side] == lang and p.split("->")[0] != p.split("->")[1]]
                    parts.append(f"{lang} {sum(ds) / len(ds):+.3f}")
                print(f"  by {label} language: " + "  ".join(parts))


if __name__ == "__main__":
    main()
