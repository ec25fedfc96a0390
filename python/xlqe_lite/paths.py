"""Where xlqe-lite keeps its files outside an index: the one place that decides it.

    $XLQE_CACHE_DIR        if set: the models and every other cache, side by side in that folder
    <user cache>/xlqe-lite otherwise, with the models in its `models/` folder

<user cache> is the platform's per-user cache folder, from platformdirs: on Linux `$XDG_CACHE_HOME`, or
`~/.cache` when that is unset (so `~/.cache/xlqe-lite`, where the Makefile and CI keep the prepared models
and the llama-cpp-python wheel); on macOS `~/Library/Caches`; on Windows the local app-data folder.

>>> str(model_dir("e5", cache_dir="/tmp/models"))
'/tmp/models/e5'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

import platformdirs

__all__ = ["APP_NAME", "CACHE_ENV", "StrPath", "user_cache_home", "cache_root", "model_dir", "embeddings_dir",
           "expansions_db"]

APP_NAME = "xlqe-lite"
#: The environment variable that moves every cache (models included) to one folder.
CACHE_ENV = "XLQE_CACHE_DIR"

StrPath = Union[str, "os.PathLike[str]"]


def _explicit() -> Optional[Path]:
    value = os.environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else None


def user_cache_home() -> Path:
    """The platform's cache folder for xlqe-lite (`~/.cache/xlqe-lite` on Linux), ignoring $XLQE_CACHE_DIR."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)).expanduser()


def cache_root() -> Path:
    """Where the caches other than models live (embeddings, expansions): $XLQE_CACHE_DIR itself when set,
    else the xlqe-lite folder that holds the models folder."""
    return _explicit() or user_cache_home()


def model_dir(name: Optional[str] = None, cache_dir: Optional[StrPath] = None) -> Path:
    """The models folder (`cache_dir` when given, else $XLQE_CACHE_DIR, else `<user cache>/xlqe-lite/models`),
    or one model's folder inside it."""
    if cache_dir is not None:
        base = Path(cache_dir).expanduser()
    else:
        base = _explicit() or user_cache_home() / "models"
    return base / name if name else base


def embeddings_dir() -> Path:
    """The cache of embeddings of fixed texts and of documents' vectors (see `encoding.cache`)."""
    return cache_root() / "embeddings"


def expansions_db() -> Path:
    """The SQLite cache of LLM expansions (see `expansion.cache`)."""
    return cache_root() / "expansions.sqlite3"
