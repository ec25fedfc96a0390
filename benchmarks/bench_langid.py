"""Language identification accuracy per language on real text from the CLIR bench: Tatoeba (both sides
of every pair), the XQuAD dev questions (816 in each of 9 languages) and NTREX-128 (13 languages, 1,997
news sentences each).

    python benchmarks/bench_langid.py [--max-per-lang 500]

Reports, per language and source: accuracy of the detector's guess, how often it abstains (no guess,
or below the confidence xlqe requires before trusting it), and the accuracy of the guesses it keeps.
Peers in the same run, when installed (requirements/bench-lock.txt): lingua (its Python wheel, 75 languages,
~96 MB) in low- and high-accuracy mode, with accuracy, speed and the process's peak memory after each.
xlqe is run twice: over all of whatlang's 69 languages (how documents are labelled) and among the
languages it analyses with rules of its own (how `SearchEngine` guesses a query's language).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from pathlib import Path

from xlqe_lite import normalize_lang
from xlqe_lite._core import detect_language
from xlqe_lite.ingest.sources import MIN_DETECTION_CONFIDENCE
from xlqe_lite.language import QUERY_LANGUAGES

BENCH = Path(os.environ.get("XLQE_BENCH", Path(__file__).resolve().parent.parent.parent / "shared" / "bench"))


def load(max_per_lang: int) -> dict[str, list[tuple[str, str]]]:
    """source -> [(iso639-1 language, text)]"""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for path in sorted((BENCH / "tatoeba").glob("*-eng.jsonl")):
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            for lang, text in ((r["src_lang"], r["src_text"]), ("eng", r["tgt_text"])):
                code = normalize_lang(lang)
                if seen[("tatoeba", code)] < max_per_lang:
                    seen[("tatoeba", code)] += 1
                    out["tatoeba"].append((code, text))
    # The questions people type: XQuAD dev (816 per language, 9 languages).
    for path in sorted((BENCH / "xquad").glob("queries.*.jsonl")):
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            code = normalize_lang(path.name.split(".")[1])
            if seen[("xquad questions", code)] < max_per_lang:
                seen[("xquad questions", code)] += 1
                out["xquad questions"].append((code, r["text"]))
    for path in sorted((BENCH / "ntrex").glob("sentences.*.jsonl")):
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            code = normalize_lang(r["lang"])
            if seen[("ntrex", code)] < max_per_lang:
                seen[("ntrex", code)] += 1
                out["ntrex"].append((code, r["text"]))
    return out


def lingua_detector(high_accuracy: bool):
    try:
        from lingua import LanguageDetectorBuilder
    except ImportError:
        return None
    builder = LanguageDetectorBuilder.from_all_languages()
    det = (builder if high_accuracy else builder.with_low_accuracy_mode()).build()

    def detect(text: str):
        found = det.detect_language_of(text)
        return (found.iso_code_639_1.name.lower(), 1.0, True) if found else None

    return detect


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-per-lang", type=int, default=1000)
    a = ap.parse_args()
    data = load(a.max_per_lang)
    report(data, "xlqe (whatlang)", detect_language)
    # How SearchEngine guesses a query's language: among the languages xlqe has rules for (and the index's).
    among = sorted(QUERY_LANGUAGES)
    report(data, "xlqe (whatlang) among its query languages", lambda text: detect_language(text, among))
    # What search uses now: script shares with Han weighed as words, whatlang within the script, stop words.
    from xlqe_lite.language import guess_query_language

    def query_guess(text: str):
        g = guess_query_language(text, among)
        return None if g.lang is None else (g.lang, g.confidence, g.sure)

    report(data, "xlqe query-language guess (xlqe_lite.language, used by search)", query_guess)
    for high in (False, True):
        peer = lingua_detector(high)
        if peer:
            report(data, f"lingua {'high' if high else 'low'}-accuracy", peer)


def report(data, name, detect_language) -> None:
    import resource

    for source, rows in data.items():
        stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # n, correct, abstained, kept-correct
        t0 = time.perf_counter()
        for lang, text in rows:
            found = detect_language(text)
            s = stats[lang]
            s[0] += 1
            if found and found[0] == lang:
                s[1] += 1
            kept = found is not None and (found[2] or found[1] >= MIN_DETECTION_CONFIDENCE)
            if not kept:
                s[2] += 1
            elif found[0] == lang:
                s[3] += 1
        dt = time.perf_counter() - t0
        print(f"\n## {name} on {source}: {len(rows)} sentences, {len(rows) / dt:,.0f} detections/s, "
              f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        # "kept right": the share xlqe ends up with the right language (right, unknown, wrong add to 1).
        print(f"{'lang':6s}{'n':>6s}{'accuracy':>10s}{'abstains':>10s}{'kept acc.':>11s}{'kept right':>12s}")
        tot = [0, 0, 0, 0]
        for lang in sorted(stats):
            tot = [x + y for x, y in zip(tot, stats[lang])]
            row(lang, *stats[lang])
        row("all", *tot)


def row(lang: str, n: int, ok: int, abst: int, kept_ok: int) -> None:
    kept = n - abst
    print(f"{lang:6s}{n:6d}{ok / n:10.3f}{abst / n:10.3f}{(kept_ok / kept if kept else float('nan')):11.3f}"
          f"{kept_ok / n:12.3f}")


if __name__ == "__main__":
    main()
