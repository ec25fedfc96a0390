"""The paper's table on this project's stack: strategy x prompt form x query length -> nDCG@10 gain.

    python benchmarks/expansion_strategies.py --sample 16 --sample-offset 7 [--llm gemma-3-270m]

On XQuAD paragraph dev, for cross-language pairs in both directions between English and other languages
(default en<->de, zh, ar, hi: one Latin, three other scripts), each strategy expands every sampled query
zero-shot and few-shot; hybrid search with the default fusion uses the expansion; the gain is the change in
nDCG@10 against the same search without expansion, per query, averaged over queries that are short (at most
--short words) or long. Also the share of expansions that produced usable text and the mean generation time
(uncached runs only; cached expansions count as 0 s and are marked).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from xlqe_lite.models.embedding_cache import encode_cached
from xlqe_lite.models.encoder import Encoder
from xlqe_lite.evaluation import XquadBench, index_with_vectors, lang_of, score_ranking
from xlqe_lite.expansion import Expander, query_length
from xlqe_lite.expansion.prompts import STRATEGIES
from xlqe_lite.search import FusionConfig, SearchEngine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=os.environ.get("XLQE_BENCH", "../shared/bench"))
    ap.add_argument("--sample", type=int, default=16)
    ap.add_argument("--sample-offset", type=int, default=7)
    ap.add_argument("--others", default="de,zh,ar,hi")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--shots", default="zero,few")
    ap.add_argument("--short", type=int, default=9, help="queries with at most this many words are short")
    ap.add_argument("--llm", default=None)
    args = ap.parse_args()

    others = args.others.split(",")
    bench = XquadBench.load(args.bench, "paragraph", ["en", *others], sample=args.sample, sample_offset=args.sample_offset)
    pairs = [("en", o) for o in others] + [(o, "en") for o in others]
    encoder = Encoder.load("multilingual-e5-small", threads=os.cpu_count() or 1)
    expander = Expander(args.llm)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        engines = {}
        for d in {d for _, d in pairs}:
            docs = bench.corpora[d]
            index = index_with_vectors(os.path.join(tmp, d), docs, encoder)
            engines[d] = SearchEngine(index, encoder, FusionConfig())

        def ndcg(q_lang: str, d_lang: str, qid: str, text: str, vector, expansions) -> float:
            hits = engines[d_lang].search(text, k=10, lang=q_lang, query_vector=vector, expansions=expansions)
            relevant = {d: r for d, r in bench.qrels[qid].items() if lang_of(d) == d_lang}
            return score_ranking([h.id for h in hits], relevant)["nDCG@10"]

        units = []
        for q_lang, d_lang in pairs:
            queries = bench.queries[q_lang]
            vectors = encode_cached(encoder, [t for _, t in queries], "query")
            for (qid, text), v in zip(queries, vectors):
                units.append((q_lang, d_lang, qid, text, v, ndcg(q_lang, d_lang, qid, text, v, None)))
        for strategy in args.strategies.split(","):
            for shots in args.shots.split(","):
                gains: dict[str, list[float]] = {"short": [], "long": []}
                usable, seconds, fresh = 0, [], 0
                t0 = time.time()
                for q_lang, d_lang, qid, text, v, base in units:
                    exps = expander.expand(text, strategy=strategy, shots=shots, query_lang=q_lang, target_langs=engines[d_lang].expansion_targets(q_lang))
                    usable += any(e.texts for e in exps)
                    for e in exps:
                        if not e.cached:
                            seconds.append(e.seconds)
                            fresh += 1
                    bucket = "short" if query_length(text) <= args.short else "long"
                    gains[bucket].append(ndcg(q_lang, d_lang, qid, text, v, exps) - base)
                rows.append((strategy, shots, gains, usable / len(units), statistics.mean(seconds) if seconds else 0.0, fresh))
                print(f"  {strategy}/{shots} done in {time.time() - t0:.0f}s", file=sys.stderr)
    n_short = sum(1 for u in units if query_length(u[3]) <= args.short)
    print(f"XQuAD paragraph dev, pairs {', '.join(f'{q}->{d}' for q, d in pairs)}, sample {args.sample}+{args.sample_offset}: "
          f"{len(units)} (query, pair) units, {n_short} short (<= {args.short} words), {len(units) - n_short} long")
    print(f"{'strategy':<17} {'shots':<5} {'gain short':>10} {'gain long':>10} {'gain all':>9} {'usable':>7} {'s/expansion':>12}")
    for strategy, shots, gains, share, secs, fresh in rows:
        everything = gains["short"] + gains["long"]
        mean = lambda xs: statistics.mean(xs) if xs else float("nan")  # noqa: E731
        print(f"{strategy:<17} {shots:<5} {mean(gains['short']):+10.4f} {mean(gains['long']):+10.4f} {mean(everything):+9.4f} "
              f"{share:7.2f} {secs:8.2f}{'' if fresh else ' (cached)'}")


if __name__ == "__main__":
    main()
