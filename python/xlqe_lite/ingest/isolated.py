"""Extraction in a separate worker process, for hard bounds: a file that runs past its time budget is
stopped by killing the worker, the worker's memory is capped (RLIMIT_AS), and a library that crashes
(PDFium is C++) takes only the worker down. The worker (`python -m xlqe_lite.ingest._worker`, pickles over
its stdin and stdout) is started once and reused, and restarted after a kill or a crash, so a folder costs
one process start, not one per file. POSIX only (select on a pipe).

    with IsolatedExtractor() as ex:
        result = ex.extract(path)          # Extracted, or ExtractionError as `extract` raises it
"""

from __future__ import annotations

import os
import pickle
import select
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional, Union

from ._base import Extracted
from ..errors import ExtractionError
from .extract import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT

DEFAULT_MEMORY_LIMIT = 2 << 30  # address space of the worker, bytes
GRACE = 5.0  # seconds past the budget before the worker is killed (its own checks usually fire first)
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


class IsolatedExtractor:
    """`extract` in a reused worker process with a hard time limit, a memory cap and crash containment."""

    def __init__(self, memory_limit: Optional[int] = DEFAULT_MEMORY_LIMIT, grace: float = GRACE) -> None:
        self.memory_limit = memory_limit
        self.grace = grace
        self._proc: Optional[subprocess.Popen[bytes]] = None

    @property
    def pid(self) -> Optional[int]:
        """The worker's process id (None while none runs)."""
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "xlqe_lite.ingest._worker", str(self.memory_limit or 0)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        return self._proc

    def _stop(self, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if not kill and proc.poll() is None:
            try:
                assert proc.stdin is not None
                pickle.dump(None, proc.stdin)
                proc.stdin.close()
                proc.wait(5)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def extract(self, path: Union[str, Path], *, max_bytes: int = DEFAULT_MAX_BYTES,
                timeout: Optional[float] = DEFAULT_TIMEOUT) -> Extracted:
        """As `extract.extract`, in the worker. Past `timeout` (plus `grace` seconds) the worker is killed and
        the file fails with reason "timeout"; a worker that dies on a file fails it with reason "damaged"."""
        path = Path(path)
        proc = self._proc if self._proc is not None and self._proc.poll() is None else None
        if proc is None:
            self._stop(kill=True)
            proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            pickle.dump((os.fspath(path), max_bytes, timeout), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], None if timeout is None else timeout + self.grace)
            reply: Optional[tuple[Any, ...]] = pickle.load(proc.stdout) if ready else None
        except (EOFError, BrokenPipeError, OSError, pickle.UnpicklingError):
            code = proc.wait()
            self._stop(kill=True)
            raise ExtractionError("damaged", f"the extractor process died on this file (exit status {code})",
                                  path) from None
        if reply is None:
            self._stop(kill=True)
            raise ExtractionError("timeout", f"reading the file took longer than the {timeout:g} s budget; "
                                             "the extractor was stopped", path)
        if reply[0] == "ok":
            extracted: Extracted = reply[1]
            return extracted
        raise ExtractionError(reply[1], reply[2], path)

    def close(self) -> None:
        self._stop(kill=False)

    def __enter__(self) -> "IsolatedExtractor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
