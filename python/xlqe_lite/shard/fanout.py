"""Sending one call to every shard and gathering the answers: in-process, shard by shard
(`LocalFanout`), or to one Ray actor per shard in parallel (`RayFanout`).

A Ray shard that dies, fails or does not answer within the timeout is left out of that call's answers
with a warning, so a search returns the other shards' results and never hangs; a dead shard's actor is
started anew on the next call. A shard that refuses the call's input (`InvalidInputError`: an empty
query, an unknown language code) refuses it for every shard, so that error is raised as it is.
`import ray` happens only here, only when a Ray fan-out is made.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

from ..errors import InvalidInputError, XlqeError
from .ops import ShardOps

# Seconds a Ray shard may take to answer one call before the call goes on without it.
DEFAULT_TIMEOUT = 30.0
# Seconds a new shard actor may take to start (a process, imports, the shard's files mapped).
STARTUP_TIMEOUT = 120.0


class LocalFanout:
    """Every shard opened in this process; calls run shard after shard."""

    def __init__(self, paths: Sequence[str], writer: bool = False) -> None:
        self.ops: list[ShardOps] = []
        try:
            for p in paths:
                self.ops.append(ShardOps(p, writer=writer))
        except BaseException:
            self.close()
            raise

    @property
    def shards(self) -> int:
        return len(self.ops)

    def all(self, method: str, *args: Any, only: Optional[Sequence[int]] = None) -> tuple[list[Optional[Any]], list[str]]:
        """(one answer per shard, warnings): in-process every shard answers, or the error is raised. With
        `only`, the other shards are not asked (None)."""
        return [getattr(op, method)(*args) if only is None or i in only else None for i, op in enumerate(self.ops)], []

    def each(self, method: str, args: Sequence[tuple[Any, ...]]) -> tuple[list[Optional[Any]], list[str]]:
        """Like `all`, with shard i's own arguments `args[i]`."""
        return [getattr(op, method)(*a) for op, a in zip(self.ops, args)], []

    def one(self, shard: int, method: str, *args: Any) -> Any:
        return getattr(self.ops[shard], method)(*args)

    def revive(self, shards: Optional[Sequence[int]] = None) -> None:
        """In-process shards do not die on their own: nothing to do."""

    def close(self) -> None:
        for op in self.ops:
            op.close()


def connect(address: str = "auto", num_cpus: Optional[int] = None) -> None:
    """Joins a Ray cluster: "local" starts one on this machine (`num_cpus`, default all), "auto" joins a
    running one (RAY_ADDRESS, or one `ray start` made here) or else starts a local one, and anything else
    is a cluster address ("10.0.0.5:6379", "ray://head:10001"). A no-op when Ray is initialised already."""
    try:
        import ray
    except ImportError as e:  # pragma: no cover - ray is in the lock
        raise XlqeError("--ray needs the `ray` package (pip install 'ray[data]')") from e
    if ray.is_initialized():
        return
    quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address == "local":
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **quiet)
    elif address == "auto":
        try:
            ray.init(address="auto", **quiet)
        except (ConnectionError, RuntimeError):
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, **quiet)
    else:
        ray.init(address=address, **quiet)


class RayFanout:
    """One Ray actor per shard, each holding its shard open (`ShardOps`); calls go to all at once."""

    def __init__(self, paths: Sequence[str], timeout: float = DEFAULT_TIMEOUT, max_concurrency: int = 4) -> None:
        import ray

        if not ray.is_initialized():
            connect("auto")
        self.paths = list(paths)
        self.timeout = timeout
        # Threaded actors: the Rust core releases the GIL, so one actor serves several queries at once.
        self._cls = ray.remote(ShardOps).options(num_cpus=0, max_concurrency=max_concurrency)
        self.actors: list[Any] = [self._cls.remote(p) for p in self.paths]
        self._dead: set[int] = set()
        # Shard facts, asked once every actor is up (or STARTUP_TIMEOUT has passed): starting is slower than
        # answering, and must not count against a query's timeout.
        self.started_info, self.startup_warnings = self._gather([a.info.remote() for a in self.actors], "start",
                                                                timeout=STARTUP_TIMEOUT)

    @property
    def shards(self) -> int:
        return len(self.actors)

    def revive(self, shards: Optional[Sequence[int]] = None) -> None:
        """Starts a new actor for each shard (of `shards`, default all) whose actor died. Called at the start
        of a search, never between its calls, so one ranked list never mixes a shard's absence and presence."""
        import ray

        fresh = []
        for i in sorted(self._dead if shards is None else self._dead.intersection(shards)):
            self.actors[i] = self._cls.remote(self.paths[i])
            self._dead.discard(i)
            fresh.append(self.actors[i].info.remote())
        if fresh:
            ray.wait(fresh, num_returns=len(fresh), timeout=STARTUP_TIMEOUT)

    def _gather(self, refs: list[Any], method: str, shards: Optional[list[int]] = None,
                timeout: Optional[float] = None) -> tuple[list[Optional[Any]], list[str]]:
        """The answers of `refs` (calls to the actors of `shards`, default all), within the timeout."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        timeout = self.timeout if timeout is None else timeout
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        done = set(ready)
        out: list[Optional[Any]] = []
        warnings: list[str] = []
        for i, ref in zip(shards if shards is not None else range(len(refs)), refs):
            if ref not in done:
                warnings.append(f"shard {i} ({os.path.basename(self.paths[i])}) did not answer {method} within "
                                f"{timeout:g} s; its results are missing")
                out.append(None)
                continue
            try:
                out.append(ray.get(ref, timeout=0))
            except RayActorError as e:
                self._dead.add(i)
                warnings.append(f"shard {i} ({os.path.basename(self.paths[i])}) is unavailable (its actor died: "
                                f"{type(e).__name__}); its results are missing")
                out.append(None)
            except RayTaskError as e:
                cause = getattr(e, "cause", None)
                if isinstance(cause, InvalidInputError):
                    raise cause from None
                warnings.append(f"shard {i} ({os.path.basename(self.paths[i])}) failed {method}: "
                                f"{type(cause).__name__ if cause else 'error'}: {cause}; its results are missing")
                out.append(None)
            except GetTimeoutError:  # pragma: no cover - ready refs do not time out
                warnings.append(f"shard {i} did not answer {method}")
                out.append(None)
        return out, warnings

    def all(self, method: str, *args: Any, only: Optional[Sequence[int]] = None) -> tuple[list[Optional[Any]], list[str]]:
        """(one answer per shard or None for a shard that failed, warnings saying which and why). With
        `only`, the other shards are not asked (None, without a warning)."""
        import ray

        shared = [ray.put(a) if _large(a) else a for a in args]
        asked = [i for i in range(len(self.actors)) if only is None or i in only]
        answers, warnings = self._gather([getattr(self.actors[i], method).remote(*shared) for i in asked], method, asked)
        out: list[Optional[Any]] = [None] * len(self.actors)
        for i, a in zip(asked, answers):
            out[i] = a
        return out, warnings

    def each(self, method: str, args: Sequence[tuple[Any, ...]]) -> tuple[list[Optional[Any]], list[str]]:
        return self._gather([getattr(a, method).remote(*x) for a, x in zip(self.actors, args)], method)

    def one(self, shard: int, method: str, *args: Any) -> Any:
        """Shard `shard`'s answer; XlqeError when it is unavailable or too slow."""
        answers, warnings = self.each_one(shard, method, *args)
        if warnings:
            raise XlqeError(warnings[0])
        return answers

    def each_one(self, shard: int, method: str, *args: Any) -> tuple[Any, list[str]]:
        self.revive([shard])
        out, warnings = self._gather([getattr(self.actors[shard], method).remote(*args)], method, [shard])
        return out[0], warnings

    def close(self) -> None:
        import ray

        for a in self.actors:
            try:
                ray.kill(a)
            except Exception:  # an actor that died already
                pass
        self.actors = []


def _large(value: Any) -> bool:
    """Arguments worth putting in the object store once rather than copying per actor (vectors)."""
    return hasattr(value, "nbytes") and getattr(value, "nbytes", 0) > 64 * 1024
