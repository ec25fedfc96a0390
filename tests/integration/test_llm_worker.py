"""The expansion LLM in its own process (expansion/worker.py): the real Gemma 3 270M in a real worker,
killed with SIGKILL and SIGSEGV in the middle of a generation and stopped with SIGSTOP past the budget,
from the Python API and from the `xlqe` command. The host always answers with the un-expanded results
and a warning, and the next query gets a new worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from support.common import SAMPLE, run_xlqe
from xlqe_lite.expansion import Expander
from xlqe_lite.expansion.llm.worker import WorkerModel
from xlqe_lite.search import SearchEngine

pytestmark = pytest.mark.model

QUERY = "How many points did the Panthers defense give up during the regular season of that year?"
LANGS = ["de", "zh", "th", "ru"]
# Long enough to be cut in the middle: a passage, then four translations.
STRATEGY = "query2doc+translate"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("worker") / "index"
    run_xlqe("index", str(path), str(SAMPLE), "--no-vectors", check=True)
    return path


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - the test reports it
            out["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _while_generating(worker: WorkerModel, thread: threading.Thread) -> int:
    """The worker's pid once a request has been with it for a while (it is generating)."""
    give_up = time.monotonic() + 300
    while time.monotonic() < give_up and thread.is_alive():
        if worker.busy and worker.pid is not None:
            pid = worker.pid
            time.sleep(0.2)
            if worker.busy and worker.pid == pid:
                return pid
        time.sleep(0.01)
    pytest.fail("the worker never got a request")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _plain(hits: list) -> list[tuple[str, float]]:
    return [(h.id, round(h.score, 5)) for h in hits]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_search_survives_a_worker_killed_mid_generation(gemma: Path, index_dir: Path, tmp_path: Path,
                                                         sig: signal.Signals) -> None:
    engine = SearchEngine.open(index_dir, expander=Expander(cache=tmp_path / "cache.sqlite3"))
    plain = engine.search(QUERY, k=10, mode="bm25", lang="en", langs=LANGS)
    assert plain.warnings == []
    worker = engine.expander.model
    assert isinstance(worker, WorkerModel)
    worker.close()  # a worker other tests' expanders shared, if any: this one starts lazily
    assert worker.pid is None
    restarts = worker.restarts

    thread, out = _in_thread(lambda: engine.search(QUERY, k=10, mode="bm25", lang="en", langs=LANGS,
                                                   expand=STRATEGY, explain=True))
    pid = _while_generating(worker, thread)
    os.kill(pid, sig)
    thread.join(120)
    assert not thread.is_alive() and "error" not in out, out
    hits = out["value"]
    assert _plain(hits) == _plain(plain)  # the un-expanded ranking
    assert len(hits.warnings) == 1 and sig.name in hits.warnings[0] and "not expanded" in hits.warnings[0]
    assert _gone(pid) and worker.pid is None and worker.restarts == restarts + 1
    assert len(engine.expander.cache) == 0  # nothing from the failed query is cached

    again = engine.search(QUERY, k=10, mode="bm25", lang="en", langs=["de"], expand="translate", explain=True)
    assert again.warnings == [] and worker.pid not in (None, pid)
    assert again[0].explanation is not None and again[0].explanation.expansion_lists()
    assert any(texts for texts in again[0].explanation.expansions.values())


def test_a_hung_worker_is_stopped_at_the_budget(gemma: Path, index_dir: Path) -> None:
    expander = Expander(cache=False, budget=2.0)
    engine = SearchEngine.open(index_dir, expander=expander)
    plain = engine.search(QUERY, k=10, mode="bm25", lang="en", langs=LANGS)
    expander.load()  # the budget is for generation, not for starting the worker
    worker = expander.model
    assert isinstance(worker, WorkerModel)
    restarts = worker.restarts
    thread, out = _in_thread(lambda: engine.search(QUERY, k=10, mode="bm25", lang="en", langs=LANGS, expand=STRATEGY))
    pid = _while_generating(worker, thread)
    os.kill(pid, signal.SIGSTOP)
    try:
        thread.join(120)  # budget and grace: about 3 s; a hang would block here
        assert not thread.is_alive() and "error" not in out, out
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
    hits = out["value"]
    assert _plain(hits) == _plain(plain)
    assert len(hits.warnings) == 1 and "did not answer within the time budget" in hits.warnings[0]
    assert _gone(pid) and worker.restarts == restarts + 1
    expansions = expander.expand("Where is the station?", strategy="translate", query_lang="en", target_langs=["de"],
                                 budget=60)
    assert expansions.warnings == [] and expansions[0].texts and worker.pid != pid


@pytest.mark.slow
def test_worker_answers_as_the_in_process_model(gemma: Path) -> None:
    """The same prompts give the same text through the worker as in this process (greedy decoding)."""
    kwargs: dict[str, Any] = dict(strategy="translate+keywords", shots="few", query_lang="en", target_langs=["de", "zh"])
    isolated = Expander(cache=False).expand("Who built the first railway in Germany?", **kwargs)
    local = Expander(cache=False, isolate=False).expand("Who built the first railway in Germany?", **kwargs)
    assert [e.texts for e in isolated] == [e.texts for e in local] and all(e.texts for e in isolated)


def test_expanders_of_one_model_share_a_worker(gemma: Path) -> None:
    first, second = Expander(cache=False), Expander(cache=False)
    assert first.model is second.model
    assert Expander(cache=False, n_ctx=512).model is not first.model


def test_worker_stops_with_its_host(gemma: Path, tmp_path: Path) -> None:
    """A host killed outright leaves no worker behind: the worker exits when its pipe closes."""
    script = ("import sys; from xlqe_lite.expansion import Expander; e = Expander(cache=False); e.load(); "
              "print(e.model.pid, flush=True); sys.stdin.read()")
    host = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert host.stdout is not None
    pid = int(host.stdout.readline())
    assert not _gone(pid)
    host.kill()
    host.wait()
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up and Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


# ---------------------------------------------------------------- the CLI


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _generating_worker(cli: subprocess.Popen[str]) -> int:
    """The CLI's worker once it has mapped the model and spent CPU time past loading it."""
    give_up = time.monotonic() + 300
    while time.monotonic() < give_up and cli.poll() is None:
        for child in _children(cli.pid):
            try:
                if "model.gguf" in Path(f"/proc/{child}/maps").read_text():
                    time.sleep(0.5)  # loaded (the file is mapped early), and into the generation
                    return child
            except OSError:
                pass
        time.sleep(0.02)
    pytest.fail(f"no LLM worker appeared under the CLI (exit {cli.poll()})")


def _cli_search(index_dir: Path, cache: Path, langs: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "xlqe_lite.cli", "search", str(index_dir), QUERY, "--query-lang", "en",
         "--lang", ",".join(langs), "--expand-langs", str(len(langs)), "--expand", "auto", "--budget", "300",
         "--json", "-k", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1", "XLQE_CACHE_DIR": str(cache)})


def test_cli_search_survives_a_killed_worker(gemma: Path, index_dir: Path, tmp_path: Path) -> None:
    plain = json.loads(run_xlqe("search", str(index_dir), QUERY, "--query-lang", "en", "--lang", ",".join(LANGS),
                                "--json", "-k", "5", check=True).stdout)
    for sig in (signal.SIGKILL, signal.SIGSEGV):
        cli = _cli_search(index_dir, tmp_path / "cache", LANGS)
        os.kill(_generating_worker(cli), sig)
        stdout, stderr = cli.communicate(timeout=300)
        assert cli.returncode == 0, stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("xlqe: warning: query expansion failed") and sig.name in lines[0]
        out = json.loads(stdout)
        assert out["hits"] == plain and out["warnings"] == [lines[0].removeprefix("xlqe: warning: ")]
        assert all(not e["complete"] and not e["texts"] for e in out["expansions"])
    # The next query starts a new worker and is expanded (into one language: a short generation).
    cli = _cli_search(index_dir, tmp_path / "cache", ["de"])
    stdout, stderr = cli.communicate(timeout=300)
    assert cli.returncode == 0 and stderr.strip() == "", stderr
    out = json.loads(stdout)
    assert out["warnings"] == [] and any(e["texts"] for e in out["expansions"])
