"""The manifest of a sharded index: a small JSON file beside the shard directories.

    INDEX_DIR/
      xlqe.shards.json     {"format": 1, "shards": 4, "hash": "blake2b64-mod", "encoder": ...,
                            "generation": 3, "shard_generations": [5, 4, 5, 6], "config": {...}}
      shard-0000/          an ordinary xlqe index directory (its own manifest, segments, atomic commits)
      shard-0001/ ...

A shard is an ordinary index, committed atomically by the Rust core. The manifest is committed
atomically too: written to a temporary file, fsynced, renamed over the old one, and the directory
fsynced. It records each shard's generation at the sharded commit; `check` reports a shard whose
generation differs (a sharded commit interrupted between shard commits and the manifest), and readers
still open each shard's latest commit, so nothing is ever lost, only possibly not yet recorded.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Optional

from ..errors import IndexCorruptError, IndexNotFoundError, InvalidInputError
from .router import HASH_NAME

MANIFEST_NAME = "xlqe.shards.json"
FORMAT = 1


def shard_dir_name(i: int) -> str:
    return f"shard-{i:04d}"


def is_sharded(path: "str | os.PathLike[str]") -> bool:
    """Whether `path` holds a sharded index (a manifest of shards rather than one index's)."""
    return os.path.isfile(os.path.join(os.fspath(path), MANIFEST_NAME))


@dataclass(frozen=True)
class ShardManifest:
    """What a sharded index is: how many shards, how ids are routed, which encoder made its vectors (None:
    lexical only), each shard's generation at the last sharded commit, and the shards' shared settings."""

    shards: int
    hash: str = HASH_NAME
    encoder: Optional[str] = None
    generation: int = 0
    shard_generations: tuple[int, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT

    def shard_paths(self, root: str) -> list[str]:
        return [os.path.join(root, shard_dir_name(i)) for i in range(self.shards)]

    def committed(self, generations: list[int]) -> "ShardManifest":
        """The manifest of the next sharded commit, with the shards' new generations."""
        return replace(self, generation=self.generation + 1, shard_generations=tuple(generations))

    def to_json(self) -> str:
        d = asdict(self)
        d["shard_generations"] = list(self.shard_generations)
        return json.dumps(d, ensure_ascii=False, indent=1, sort_keys=True)


def read_manifest(root: str) -> ShardManifest:
    """The manifest at `root`; IndexNotFoundError when there is none, IndexCorruptError when it is damaged."""
    path = os.path.join(root, MANIFEST_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except FileNotFoundError:
        raise IndexNotFoundError(f"no sharded index at {root} ({MANIFEST_NAME} missing)") from None
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"{path}: unreadable shard manifest ({e})") from None
    try:
        if d.get("format") != FORMAT:
            raise IndexCorruptError(f"{path}: shard manifest format {d.get('format')!r}; this version reads {FORMAT}")
        m = ShardManifest(shards=int(d["shards"]), hash=str(d["hash"]), encoder=d.get("encoder"),
                          generation=int(d["generation"]), shard_generations=tuple(int(g) for g in d["shard_generations"]),
                          config=dict(d.get("config") or {}), format=FORMAT)
    except (KeyError, TypeError, ValueError) as e:
        raise IndexCorruptError(f"{path}: damaged shard manifest ({e!r})") from None
    if m.shards < 1 or len(m.shard_generations) != m.shards:
        raise IndexCorruptError(f"{path}: {m.shards} shards but {len(m.shard_generations)} generations")
    if m.hash != HASH_NAME:
        raise IndexCorruptError(f"{path}: shards routed by {m.hash!r}, which this version does not know")
    return m


def write_manifest(root: str, manifest: ShardManifest) -> None:
    """Replaces the manifest atomically: a crash leaves the old one or the new one, whole."""
    if manifest.shards < 1:
        raise InvalidInputError("a sharded index needs at least one shard")
    path = os.path.join(root, MANIFEST_NAME)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(manifest.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
