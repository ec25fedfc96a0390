"""A persistent cache of expansions, so that a query asked again costs a lookup instead of a generation.

Keys are a sha256 over everything that decides the output: the model file's sha256, the strategy, the
prompt version, the generation parameters, the query, and the source and target languages. Values are
the cleaned texts. The texts' embeddings are kept too, keyed by the encoder's identity and the text:
a cached expansion would otherwise still cost an encoder run per query (BENCHMARKS.md, "Latency",
cached embeddings).
SQLite in WAL mode: safe across processes, and a lookup takes well under a millisecond.

The cache lives in $XLQE_CACHE_DIR/expansions.sqlite3 or ~/.cache/xlqe-lite/expansions.sqlite3. It is
only a cache, so a damaged file is moved aside and started afresh rather than failing a search.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

from ..fileio import sha256_file
from ..paths import expansions_db


def default_path() -> Path:
    return expansions_db()


def cache_key(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class ExpansionCache:
    def __init__(self, path: Optional[str | os.PathLike[str]] = None) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError:
            self.path.replace(self.path.with_suffix(".damaged"))
            self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS expansion (key TEXT PRIMARY KEY, texts TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS embedding (encoder TEXT NOT NULL, text TEXT NOT NULL, "
                   "vector BLOB NOT NULL, PRIMARY KEY (encoder, text))")
        db.execute("CREATE TABLE IF NOT EXISTS model_hash (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT)")
        return db

    def get(self, key: str) -> Optional[list[str]]:
        with self._lock:
            row = self._db.execute("SELECT texts FROM expansion WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, texts: Sequence[str]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO expansion (key, texts) VALUES (?, ?)",
                             (key, json.dumps(list(texts), ensure_ascii=False)))

    def get_vectors(self, encoder: str, texts: Sequence[str], dim: int) -> dict[str, Any]:
        """The stored float32 embeddings of those `texts` that have one for `encoder` (an identity string)."""
        import numpy as np

        if not texts:
            return {}
        marks = ",".join("?" * len(texts))
        with self._lock:
            rows = self._db.execute(f"SELECT text, vector FROM embedding WHERE encoder = ? AND text IN ({marks})",
                                    (encoder, *texts)).fetchall()
        return {text: np.frombuffer(blob, dtype=np.float32) for text, blob in rows if len(blob) == 4 * dim}

    def put_vectors(self, encoder: str, vectors: dict[str, Any]) -> None:
        import numpy as np

        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO embedding (encoder, text, vector) VALUES (?, ?, ?)",
                                 [(encoder, t, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()])

    def model_sha256(self, path: str | os.PathLike[str]) -> str:
        """The file's sha256, hashed once per (path, size, mtime) and remembered here."""
        p = Path(path).resolve()
        st = p.stat()
        with self._lock:
            row = self._db.execute("SELECT sha256 FROM model_hash WHERE path = ? AND size = ? AND mtime_ns = ?",
                                   (str(p), st.st_size, st.st_mtime_ns)).fetchone()
        if row:
            return str(row[0])
        digest = sha256_file(p)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO model_hash VALUES (?, ?, ?, ?)", (str(p), st.st_size, st.st_mtime_ns, digest))
        return digest

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM expansion").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
