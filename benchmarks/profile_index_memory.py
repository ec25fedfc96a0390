"""Where the memory of `xlqe index` goes: peak RSS per phase of a real sync of a folder.

    .venv/bin/python benchmarks/profile_index_memory.py --files 500
    .venv/bin/python benchmarks/profile_index_memory.py --files 20 --big-mb 100

The folder is benchmarks/bench_sync.py's (XQuAD paragraphs as .txt files, optionally one big file). The
real CLI (`xlqe_lite.cli.main(["index", ...])`) runs in this process, with a fresh embedding cache and
the prepared models linked into it (so nothing is converted while measuring); a thread reads the
process's resident set from /proc/self/statm every 2 ms and charges it to the phase running then. The
phases are marked by wrapping the functions that do them: loading the model, extracting a file,
tokenising passage windows, embedding document texts and windows (onnxruntime runs with the GIL
released, so the sampler sees its arena and activations), adding to the index (the Rust writer's
pending segment), committing, and the rest (walk, hashing, language guess). The overall peak is
`ru_maxrss`, as bench_sync.py reads it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import build, link_models  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class Phases:
    """The current phase (a stack: the innermost wrapped call wins) and the peak RSS seen in each."""

    def __init__(self) -> None:
        self.stack = ["other"]
        self.peak: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            value, phase = rss(), self.stack[-1]
            if value > self.peak.get(phase, 0):
                self.peak[phase] = value
            time.sleep(0.002)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.stack.append(name)
        t = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t
            self.calls[name] = self.calls.get(name, 0) + 1
            self.stack.pop()

    def wrap(self, owner: Any, attr: str, name: str | Callable[..., str]) -> None:
        original = getattr(owner, attr)
        phases = self

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with phases.phase(name(*args, **kwargs) if callable(name) else name):
                return original(*args, **kwargs)

        setattr(owner, attr, wrapped)

    def __enter__(self) -> "Phases":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def instrument(phases: Phases) -> None:
    from xlqe_lite.cli import index as cli_index
    from xlqe_lite.models.encoder import Encoder
    from xlqe_lite.index import Index
    from xlqe_lite.ingest import sync

    # Syncer._embed embeds the documents' own texts first, then their windows.
    embed_count = {"n": 0}

    def embed_name(*args: Any, **kwargs: Any) -> str:
        if phases.stack[-1] != "embed":
            return "embed (other)"
        embed_count["n"] += 1
        return "embed documents" if embed_count["n"] % 2 == 1 else "embed windows"

    phases.wrap(cli_index, "load_encoder", "load model")
    phases.wrap(sync, "extract", "extract")
    phases.wrap(sync.Syncer, "_embed", "embed")
    phases.wrap(Encoder, "encode_passages", embed_name)
    phases.wrap(Encoder, "passage_windows_many", "tokenise windows")
    phases.wrap(Index, "add_many", "add (pending segment)")
    phases.wrap(Index, "commit", "commit")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--big-mb", type=int, default=0, help="add one text file of this many MB")
    ap.add_argument("--no-vectors", action="store_true")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-size", type=int, default=None, help="xlqe index --batch-size")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, index, cache = Path(tmp) / "folder", Path(tmp) / "index", Path(tmp) / "cache"
        build(folder, a.files, a.big_mb)
        link_models(cache)
        os.environ["XLQE_CACHE_DIR"] = str(cache)
        args = ["index", str(index), str(folder), "--quiet", "--threads", str(a.threads)]
        if a.no_vectors:
            args.append("--no-vectors")
        if a.batch_size:
            args += ["--batch-size", str(a.batch_size)]
        from xlqe_lite.cli import main as xlqe

        start = rss()
        phases = Phases()
        instrument(phases)
        t = time.perf_counter()
        with phases:
            code = xlqe(args)
        seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"xlqe {' '.join(args[3:])} on {a.files} files + {a.big_mb} MB: exit {code}, {seconds:.1f} s, "
          f"peak RSS {peak / 1e6:.0f} MB (before the run: {start / 1e6:.0f} MB)")
    print(f"{'phase':<24}{'peak RSS':>10}{'calls':>8}{'seconds':>10}")
    for name, value in sorted(phases.peak.items(), key=lambda kv: -kv[1]):
        print(f"{name:<24}{value / 1e6:>7.0f} MB{phases.calls.get(name, 0):>8}{phases.seconds.get(name, 0.0):>10.1f}")
    return code


if __name__ == "__main__":
    sys.exit(main())
