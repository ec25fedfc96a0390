"""The README's examples, run for real: every ```python block is executed, and every command of every ```sh
block is run against real indexes built in a temporary folder from data/sample. A command the README shows
that fails (or prints something else than it says: JSON for `--json`, `"ok": true` for `check`, ...) fails
here, so a wrong example is found by `make test` and fixed in the README.

Paths are substituted, nothing else: `.venv/bin/xlqe` and `.venv/bin/python` are this venv's, `~` is a
folder of the workspace (with `notes/` of Markdown and text files and `papers/abstracts.jsonl`, the sample
corpus), `../shared/bench` is the bench this suite reads (also as `$XLQE_BENCH`: the commands run in the
workspace, where the default `../shared/bench` of `xlqe eval` would not resolve as it does in the checkout),
`http://127.0.0.1:8765` is the address the `xlqe serve` of the block listens on (a free port: the machine may
run other servers), and a block that uses `my-index` without making it first gets it from
`xlqe index my-index data/sample/xquad-sample.jsonl`. The one change to a command: `xlqe eval` is given
`--max-queries` (and `--langs` on XQuAD), so that a block takes seconds, not the bench's hour. Commands that
cannot run here are in `SKIPPED`, each with its reason; the test fails on a command that is neither run nor
listed there, and on a listed one the README no longer has.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import httpx
import pytest

from support.common import REPO, SAMPLE, bench_dir
from support.server_process import ServerProcess

README = REPO / "README.md"
BIN = Path(sys.executable).parent
README_PORT = "127.0.0.1:8765"
EVAL_LIMITS = {"--max-queries": "12"}
EVAL_XQUAD_LANGS = "de,en,zh"

# Commands of the README that this test does not run (as written, without their comment), and why.
SKIPPED: dict[str, str] = {
    "make demo": "runs the set-up in the checkout itself (venv, Rust build, model preparation) before its "
                 "demo; the demo's own commands are the `xlqe index`/`xlqe search`/`xlqe check` run here",
    "make test": "is the suite this test is part of (.ci/run runs it)",
    ".venv/bin/xlqe serve my-index --host 0.0.0.0 --token-file ~/.xlqe-token":
        "listens on every interface of the machine; the same rule (no public address without a token, the "
        "token enforced) is tested on loopback by integration/test_server.py",
    "ray start --head --port=6379": "starts a Ray head on the machine's fixed port 6379 (a cluster for other "
                                    "machines, outliving the test)",
    "ray start --address=HEAD_IP:6379": "needs a Ray cluster's address",
    ".venv/bin/xlqe index /shared/ix /shared/archive --shards 64 --ray HEAD_IP:6379 --workers 16":
        "needs a Ray cluster's address and a file system every machine mounts",
    '.venv/bin/xlqe search /shared/ix "query" --ray HEAD_IP:6379': "needs a Ray cluster's address",
    "make bench": "a benchmark (minutes; its figures are in BENCHMARKS.md) with its own dependencies "
                  "(requirements/bench-lock.txt), not a check",
    ".venv/bin/python benchmarks/bench_vectors.py": "a benchmark against faiss and usearch (minutes; "
                                                     "requirements/bench-lock.txt), not a check",
    ".venv/bin/python benchmarks/bench_server.py": "a load benchmark (16 clients x 500 queries), not a check",
    ".venv/bin/python benchmarks/bench_expansion.py": "a latency benchmark of the LLM, not a check",
    ".venv/bin/python benchmarks/compare_expansion.py none.run auto.run --qrels "
    "../shared/bench/xquad/qrels.paragraph.tsv": "compares two full-bench runs (none.run, auto.run) that "
                                                  "only a benchmark session writes",
    ".venv/bin/python benchmarks/expansion_coverage.py": "runs the LLM over the bench's questions (an hour), "
                                                         "a benchmark, not a check",
}


@dataclass(frozen=True)
class Block:
    lang: str
    heading: str
    line: int  # where the block starts in README.md
    code: str

    @property
    def id(self) -> str:
        return f"{self.lang}-line{self.line}-{re.sub(r'[^a-z0-9]+', '-', self.heading.lower()).strip('-')}"

    def commands(self) -> list[str]:
        """The block's commands, one per line, without their comments."""
        lines = (re.sub(r"\s+#(\s.*)?$", "", raw).strip() for raw in self.code.splitlines())
        return [line for line in lines if line and not line.startswith("#")]


def readme_blocks() -> list[Block]:
    blocks, heading, lines = [], "", README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        m = re.match(r"^```(\w*)\s*$", line)
        if m:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append(Block(m.group(1), heading, i + 1, "\n".join(lines[i + 1:end]) + "\n"))
            i = end
        i += 1
    return blocks


BLOCKS = readme_blocks()


def _marks(block: Block) -> list[pytest.MarkDecorator]:
    run = [c for c in block.commands() if c not in SKIPPED] if block.lang == "sh" else [block.code]
    text = "\n".join(run)
    marks = []
    if run:
        marks.append(pytest.mark.model)  # indexes are made with the default encoder
    if "eval" in text or "../shared/bench" in text:
        marks.append(pytest.mark.bench)
    if "eval" in text or "--ray" in text:
        marks.append(pytest.mark.slow)
    return marks


def test_the_readme_has_the_blocks_this_test_runs() -> None:
    """Every block is python or sh (nothing the test would silently pass over), and every skipped command is
    still in the README: an entry of SKIPPED without a command is a stale reason."""
    assert BLOCKS and all(b.lang in ("python", "sh") for b in BLOCKS), [(b.line, b.lang) for b in BLOCKS]
    commands = {c for b in BLOCKS if b.lang == "sh" for c in b.commands()}
    assert not set(SKIPPED) - commands, f"SKIPPED names commands the README does not have: {set(SKIPPED) - commands}"
    assert sum(b.lang == "python" for b in BLOCKS) >= 2 and len(commands - set(SKIPPED)) >= 20


# -- the workspace: what the README's paths name ---------------------------------------------------------

class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.servers: list[ServerProcess] = []
        notes = self.home / "notes"
        (notes / "old").mkdir(parents=True)
        (notes / "reports").mkdir()
        (notes / "a.md").write_text("# Budget\nThe lighthouse budget for 2024 was approved in March.\n", encoding="utf-8")
        (notes / "old" / "b.txt").write_text("Notes on the Super Bowl: the Broncos beat the Panthers.\n", encoding="utf-8")
        (notes / "reports" / "c.txt").write_text("Der Haushalt (budget) des Vereins für 2025.\n", encoding="utf-8")
        (self.home / "papers").mkdir()
        shutil.copy(SAMPLE, self.home / "papers" / "abstracts.jsonl")
        # the Ray block's inputs: a folder of files, JSONL records, and folders to add afterwards
        records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
        for folder, rows in (("archive", records[:6]), ("more", records[6:9]), ("notes", records[9:12])):
            (root / folder).mkdir()
            for r in rows:
                (root / folder / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
        shutil.copy(SAMPLE, root / "records.jsonl")
        (root / "out").mkdir()

    def word(self, word: str) -> str:
        """One word of a command with the README's paths turned into the workspace's."""
        if word == ".venv/bin/xlqe":
            return str(BIN / "xlqe")
        if word == ".venv/bin/python":
            return sys.executable
        if word.startswith("~/"):
            return str(self.home / word[2:])
        if word.startswith("../shared/bench"):
            return str(bench_dir()) + word[len("../shared/bench"):]
        if README_PORT in word and self.servers:
            return word.replace(f"http://{README_PORT}", self.servers[-1].url or "")
        return word

    def argv(self, command: str) -> list[str]:
        words = [self.word(w) for w in shlex.split(command)]
        if words[0] == str(BIN / "xlqe") and words[1:2] == ["eval"]:
            for flag, value in EVAL_LIMITS.items():
                words += [flag, value]
            dataset = words[words.index("--dataset") + 1] if "--dataset" in words else "xquad"
            if dataset == "xquad":
                words += ["--langs", EVAL_XQUAD_LANGS]
        return words

    def run(self, argv: list[str], what: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(argv, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "NO_COLOR": "1", "XLQE_BENCH": str(bench_dir())})
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (
            f"README {what} failed ({proc.returncode}): {shlex.join(argv)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def ensure_index(self) -> None:
        if not (self.root / "my-index").exists():
            self.run([str(BIN / "xlqe"), "index", "my-index", str(SAMPLE), "--quiet"], "set-up (xlqe index)")

    def close(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def workspace(tmp_path: Path):
    ws = Workspace(tmp_path)
    yield ws
    ws.close()


def _makes_my_index_first(block: Block) -> bool:
    """Whether the block's first line naming `my-index` is the one that creates it."""
    first = next(line for line in block.code.splitlines() if "my-index" in line)
    return 'Index.create("my-index")' in first or " index my-index " in f" {first} "


def _check_output(argv: list[str], proc: subprocess.CompletedProcess[str]) -> None:
    """What the README says a command prints, beyond succeeding."""
    args = argv[1:]
    if "--json" in args and args[0] != "eval":
        out = json.loads(proc.stdout)
        if args[0] == "check":
            assert out["ok"] is True and out["documents"] > 0, out
        if args[0] == "ls":
            files = [d for d in out if d["id"].startswith("/")]  # the synced files (JSONL records have no path)
            assert files and all({"path", "format", "size", "mtime", "lang"} <= set(d) for d in files), files[:2]
        if args[0] == "search" and "--lang" in args:
            langs = set(args[args.index("--lang") + 1].split(","))
            assert out and {h["lang"] for h in out} <= langs, out  # a list of hits
    if args[0] == "analyze":
        assert proc.stdout.split(), proc
    if args[0] == "search" and "--json" not in args and "--path" not in args:
        assert proc.stdout.strip(), f"{shlex.join(argv)} printed no hits"


def _run_long_lived(ws: Workspace, argv: list[str], command: str) -> None:
    """`xlqe watch` runs until Ctrl-C: it must sync, stay up, and end cleanly on SIGINT."""
    proc = subprocess.Popen(argv, cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the first round's summary
        assert first and proc.poll() is None, f"{command}: {first}{proc.stderr.read() if proc.stderr else ''}"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "Traceback" not in err, f"{command} ({proc.returncode}):\n{first}{out}\n{err}"


def _serve(ws: Workspace, argv: list[str]) -> None:
    index, extra = argv[2], argv[3:]
    ws.servers.append(ServerProcess(ws.root / index, *extra))


def _curl(ws: Workspace, argv: list[str], command: str) -> None:
    assert ws.servers, f"{command}: no server of this block is running"
    proc = ws.run(argv, "curl")
    out = json.loads(proc.stdout)
    url = urllib.parse.urlparse(next(w for w in argv if w.startswith("http")))
    params = urllib.parse.parse_qs(url.query)
    assert out["hits"], out
    if "lang" in params:
        assert {h["lang"] for h in out["hits"]} <= set(params["lang"][0].split(",")), out["hits"]
    if params.get("explain") == ["1"]:
        assert all(h["explanation"] for h in out["hits"]), out["hits"][0]


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id, marks=_marks(b)) for b in BLOCKS])
def test_readme_block(block: Block, workspace: Workspace) -> None:
    ws = workspace
    uses_index = "my-index" in block.code
    if uses_index and not _makes_my_index_first(block):
        ws.ensure_index()
    if block.lang == "python":
        ws.run([sys.executable, "-c", block.code], f"python block at line {block.line}")
        return
    ran = 0
    for command in block.commands():
        if command in SKIPPED:
            continue
        argv = ws.argv(command)
        program, sub = Path(argv[0]).name, argv[1] if len(argv) > 1 else ""
        if program == "xlqe" and sub == "watch":
            _run_long_lived(ws, argv, command)
        elif program == "xlqe" and sub == "serve":
            _serve(ws, argv)
        elif program == "curl":
            _curl(ws, argv, command)
        elif program in ("xlqe", "python", Path(sys.executable).name):
            _check_output(argv, ws.run(argv, f"command {command!r} (line {block.line})"))
        else:
            pytest.fail(f"README line {block.line}: {command!r} is neither run by this test nor in SKIPPED")
        ran += 1
    if not ran:
        assert all(c in SKIPPED for c in block.commands())
