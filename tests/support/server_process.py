"""`xlqe serve` as a real subprocess on 127.0.0.1 with a free port (the tests and bench_server use it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

LISTENING = re.compile(r"listening on (http://\S+?)/? ")


class ServerProcess:
    """Starts `xlqe serve INDEX --port 0 ...`, waits (bounded) for its "listening on URL" line, and stops it."""

    def __init__(self, index_dir: Path, *extra: str, startup_timeout: float = 180.0,
                 env: Optional[dict[str, str]] = None) -> None:
        self.args = [sys.executable, "-m", "xlqe_lite.cli", "serve", str(index_dir), "--port", "0", *extra]
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "NO_COLOR": "1", **(env or {})})
        self.log: list[str] = []
        self.url: Optional[str] = None
        found = threading.Event()

        def read() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line)
                m = LISTENING.search(line)
                if m and self.url is None:
                    self.url = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + startup_timeout
        while not found.wait(0.2):
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"xlqe serve did not start in {startup_timeout}s:\n{''.join(self.log)}")
        if self.url is None:
            self.proc.wait(10)
            raise AssertionError(f"xlqe serve exited ({self.proc.returncode}):\n{''.join(self.log)}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
