"""Sharded indexes, built and searched in-process or on a Ray cluster (issue 19).

The one public door:

- `ShardedIndex`: a directory of N ordinary indexes plus a manifest; the read and write calls of `Index`,
  with BM25 statistics of all shards, so its ranked lists equal those of one index of every document.
- `open_index(path, ray=...)`: an `Index` or a `ShardedIndex`, whichever `path` holds.
- `build_sharded(...)`: `xlqe index --shards N --ray ...`: Ray Data reads the inputs, encoder actors
  embed them, one writer actor per shard writes it (build.py; needs `ray`).
- `shard_of(id, n)`: the shard a document id routes to.

    >>> import tempfile, os
    >>> root = os.path.join(tempfile.mkdtemp(), "sharded")
    >>> with ShardedIndex.create(root, 3) as index:
    ...     _ = index.add_many([{"id": f"d{i}", "text": f"document number {i}", "lang": "en"} for i in range(6)])
    >>> reader = open_index(root)
    >>> len(reader), reader.shards, [h.id for h in reader.search("number 4", k=1)]
    (6, 3, ['d4'])
    >>> reader.close()
"""

from .manifest import MANIFEST_NAME, ShardManifest, is_sharded
from .router import shard_of
from .sharded import ShardedIndex, merge_hits, open_index

__all__ = ["MANIFEST_NAME", "ShardManifest", "ShardedIndex", "is_sharded", "merge_hits", "open_index", "shard_of",
           "build_sharded"]


def __getattr__(name: str) -> object:
    # build.py imports ray; only `xlqe index --ray` needs it.
    if name == "build_sharded":
        from .build import build_sharded

        return build_sharded
    raise AttributeError(name)
