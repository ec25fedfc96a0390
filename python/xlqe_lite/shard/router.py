"""Which shard a document lives in: a stable hash of its id, the same in every process and on every
machine (Python's own `hash()` is salted per process, so it cannot be used).

The hash is BLAKE2b with an 8-byte digest of the id's UTF-8 bytes, read as a big-endian integer, modulo
the shard count. It is recorded in the manifest by name (`HASH_NAME`), so a future change of function is
a new name that old indexes refuse rather than a silent re-routing of their documents.

    >>> shard_of("doc-1", 4) == shard_of("doc-1", 4)
    True
    >>> sorted({shard_of(f"d{i}", 4) for i in range(100)})
    [0, 1, 2, 3]
"""

from __future__ import annotations

import hashlib

from ..errors import InvalidInputError

HASH_NAME = "blake2b64-mod"


def id_hash(doc_id: str) -> int:
    """The 64-bit hash of a document id."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def shard_of(doc_id: str, shards: int, hash_name: str = HASH_NAME) -> int:
    """The shard (0 .. shards-1) of the document `doc_id`."""
    if hash_name != HASH_NAME:
        raise InvalidInputError(f"unknown shard hash {hash_name!r}: this version routes with {HASH_NAME!r}")
    if shards < 1:
        raise InvalidInputError("a sharded index needs at least one shard")
    return id_hash(doc_id) % shards
