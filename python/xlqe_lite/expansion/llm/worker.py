"""The expansion LLM in a process of its own, so that nothing it does can take the host down.

llama.cpp is native code: a kernel bug (the AMX segfault of issue 13), an out-of-memory kill or a hang
in it would otherwise end or freeze the program that searches. Here the `LanguageModel` (with its KV
prefix states and its `BatchDecoder`, llm.py and llm_batch.py) lives in a child process that loads the
model once and answers requests over a pipe; `WorkerModel` is its stand-in in the host, with the same
`complete` / `complete_many` calls. When the child dies or does not answer by the deadline plus a
grace period, the call raises `WorkerFailed` (the expander turns it into un-expanded results and a
warning), the child is killed and reaped, and the next call starts a new one.

Why a plain subprocess with a pipe, not `multiprocessing`: the 'spawn' and 'forkserver' start
methods re-import the host's `__main__` module in the child, which runs an unguarded user script
again (and fails in embedded interpreters), and 'fork' would copy a host holding onnxruntime's
threads. The child (`python -c`, importing this module) loads only this package; the protocol is small:
length-prefixed pickle frames on the child's stdin/stdout (both ends are this module, and the pipe is
private to the two processes), read with `select` against the deadline.

The child ignores SIGINT (Ctrl-C is the host's to handle) and exits when its stdin closes, so it never
outlives its host.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Optional, Sequence

from ...errors import InvalidInputError, ModelCorruptError, ModelError, ModelMissingError, WorkerFailed, XlqeError

if TYPE_CHECKING:
    from ..prompts import Prompt
    from .model import Completion

__all__ = ["WorkerFailed", "WorkerModel", "GRACE_SECONDS", "LOAD_SECONDS"]

# Seconds past a request's deadline before the worker counts as hung: a decoding step or a prompt
# read in progress at the deadline finishes first (the same overshoot exists in-process).
GRACE_SECONDS = 3.0
# The longest a worker may take to start and load its model.
LOAD_SECONDS = 120.0
_HEADER = struct.Struct("<I")
# What the child runs (not `-m`, which would import this module twice).
_CHILD = "from xlqe_lite.expansion.llm.worker import main; main()"
_LIVE: "weakref.WeakSet[WorkerModel]" = weakref.WeakSet()
_SHARED: "weakref.WeakValueDictionary[tuple[str, int, int, Optional[bool]], WorkerModel]" = weakref.WeakValueDictionary()


@atexit.register
def _close_all() -> None:
    for worker in list(_LIVE):
        worker.close()


def _signal_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


# ---------------------------------------------------------------- framing (both sides)


def _write(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(fd: int, n: int, deadline: Optional[float]) -> bytes:
    """`n` bytes from `fd`; TimeoutError past `deadline` (monotonic), EOFError when the writer is gone."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, n - got)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read(fd: int, deadline: Optional[float] = None) -> Any:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exactly(fd, size, deadline))


# ---------------------------------------------------------------- the host's side


class WorkerModel:
    """A `LanguageModel` in a child process, started on the first call and restarted after a failure.
    Thread-safe: calls from several threads take turns, as they do on one in-process model."""

    def __init__(self, path: str | os.PathLike[str], *, threads: Optional[int] = None, n_ctx: int = 1024,
                 instruct: Optional[bool] = None, grace: float = GRACE_SECONDS,
                 load_timeout: float = LOAD_SECONDS) -> None:
        self.path = Path(path)
        self.threads, self.n_ctx, self.instruct = threads, n_ctx, instruct
        self.grace, self.load_timeout = grace, load_timeout
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._lock = threading.Lock()
        self.restarts = 0  # workers started after the first (one per failure)
        self.busy = False  # a request is with the worker
        _LIVE.add(self)

    @classmethod
    def shared(cls, path: str | os.PathLike[str], *, threads: Optional[int] = None, n_ctx: int = 1024,
               instruct: Optional[bool] = None) -> "WorkerModel":
        """One worker per model file and settings in this process, as long as someone holds it (as
        `LanguageModel.load` keeps one model per process)."""
        key = (str(Path(path).resolve()), threads or 0, n_ctx, instruct)
        worker = _SHARED.get(key)
        if worker is None:
            worker = cls(path, threads=threads, n_ctx=n_ctx, instruct=instruct)
            _SHARED[key] = worker
        return worker

    @property
    def pid(self) -> Optional[int]:
        """The running worker's process id (None before the first call or after a failure)."""
        return self._proc.pid if self._proc is not None else None

    def complete(self, prompt: "Prompt", *, max_tokens: int = 64, deadline: Optional[float] = None,
                 temperature: float = 0.0, seed: int = 0) -> "Completion":
        """As `LanguageModel.complete`, in the worker; `deadline` is a time.monotonic() value."""
        done: Completion = self._call("complete", deadline, prompt, max_tokens=max_tokens, temperature=temperature,
                                      seed=seed)
        return done

    def complete_many(self, prompts: Sequence["Prompt"], *, max_tokens: int = 64,
                      deadline: Optional[float] = None) -> list["Completion"]:
        """As `LanguageModel.complete_many` (batched decoding), in the worker."""
        done: list[Completion] = self._call("complete_many", deadline, list(prompts), max_tokens=max_tokens)
        return done

    def ping(self) -> float:
        """A round trip to the worker that does no work (started if needed): seconds it took."""
        self.start()
        t0 = time.perf_counter()
        self._call("ping", time.monotonic() + self.load_timeout)
        return time.perf_counter() - t0

    def start(self) -> None:
        """Starts the worker and loads its model now, if it is not running (else the next call does)."""
        with self._lock:
            self._started()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()  # the worker exits when its stdin closes
            except OSError:
                pass

    def close(self) -> None:
        """Stops the worker (it is started again by the next call)."""
        with self._lock:
            self._stop(kill=False)

    def _call(self, method: str, deadline: Optional[float], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            proc = self._started()
            assert proc.stdin is not None and proc.stdout is not None
            # The child's clock may not be the host's: it gets the time left, not the deadline.
            left = None if deadline is None else deadline - time.monotonic()
            self.busy = True
            try:
                try:
                    _write(proc.stdin, (method, args, kwargs, left))
                except (BrokenPipeError, OSError):
                    raise self._failed("died before it was asked") from None
                wait_until = None if deadline is None else max(deadline, time.monotonic()) + self.grace
                try:
                    status, value = _read(proc.stdout.fileno(), wait_until)
                except TimeoutError:
                    raise self._failed(f"did not answer within the time budget and {self.grace:g} s more, "
                                       "and was stopped") from None
                except (EOFError, OSError, pickle.UnpicklingError, struct.error):
                    raise self._failed("died during generation") from None
                except BaseException:
                    # Interrupted (Ctrl-C): its answer would come unasked for the next request.
                    self._stop(kill=True)
                    raise
            finally:
                self.busy = False
            if status == "ok":
                return value
            raise _rebuilt(value)

    def _started(self) -> "subprocess.Popen[bytes]":
        """The running worker, started and its model loaded if there is none."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            self._stop(kill=True)
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True)
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            _write(proc.stdin, (str(self.path), self.threads, self.n_ctx, self.instruct))
            status, value = _read(proc.stdout.fileno(), time.monotonic() + self.load_timeout)
        except TimeoutError:
            raise self._failed(f"did not load its model within {self.load_timeout:g} s") from None
        except (EOFError, OSError, pickle.UnpicklingError, struct.error):
            raise self._failed("died while loading the model") from None
        except BaseException:
            self._stop(kill=True)
            raise
        if status != "ok":
            self._stop(kill=True)
            raise _rebuilt(value)  # e.g. ModelCorruptError: not a worker failure, the model is bad
        return proc

    def _failed(self, what: str) -> WorkerFailed:
        """Kills and reaps the worker; the error to raise, naming how it ended."""
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if code is None and proc is not None:
            # It may be exiting right now (its pipe closed first): a moment to collect the status.
            try:
                code = proc.wait(0.2)
            except subprocess.TimeoutExpired:
                code = None
        self._stop(kill=True)
        self.restarts += 1
        how = f" ({_signal_name(code)})" if code is not None else ""
        return WorkerFailed(f"the LLM worker {what}{how}")

    def _stop(self, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if proc.poll() is None:
            if not kill:
                try:
                    proc.wait(2.0)  # stdin closed: it exits by itself
                except subprocess.TimeoutExpired:
                    pass
            if proc.poll() is None:
                proc.kill()  # SIGKILL also ends a stopped (SIGSTOP) process
                proc.wait()


def _rebuilt(value: tuple[str, str]) -> BaseException:
    """The worker's error as the host's exception class (the same message)."""
    kind, message = value
    classes: dict[str, type[BaseException]] = {
        "InvalidInputError": InvalidInputError, "ModelCorruptError": ModelCorruptError,
        "ModelMissingError": ModelMissingError, "ModelError": ModelError, "ValueError": ValueError,
        "MemoryError": MemoryError,
    }
    cls = classes.get(kind)
    return cls(message) if cls is not None else XlqeError(f"the LLM worker failed: {kind}: {message}")


# ---------------------------------------------------------------- the worker's side


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Loads the model named by the first message, then answers requests until stdin closes."""
    from .model import LanguageModel

    try:
        path, threads, n_ctx, instruct = _read(requests.fileno())
    except EOFError:
        return
    try:
        model = LanguageModel.load(path, threads=threads, n_ctx=n_ctx, instruct=instruct)
    except Exception as e:  # noqa: BLE001 - every load failure goes back to the host as its error
        _write(replies, ("error", (type(e).__name__, str(e))))
        return
    _write(replies, ("ok", None))
    while True:
        try:
            method, args, kwargs, left = _read(requests.fileno())
        except EOFError:
            return
        deadline = None if left is None else time.monotonic() + left
        if method == "ping":
            _write(replies, ("ok", None))
            continue
        try:
            value = getattr(model, method)(*args, deadline=deadline, **kwargs)
            reply: tuple[str, Any] = ("ok", value)
        except Exception as e:  # noqa: BLE001 - a bad request is answered with its error
            reply = ("error", (type(e).__name__, str(e)))
        _write(replies, reply)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The protocol owns the real stdout; anything else printed goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
