"""An index's settings as typed values: `VectorConfig` (the dense side) with its `Metric` and `Storage`.

`Index.create(path, vectors=VectorConfig(384, model="multilingual-e5-small"))` (a mapping with the same keys
still works). A setting left None takes the Rust core's default (rust_core/src/vector/: HNSW connectivity,
expansion, the exact-scan threshold), so the defaults are written in one place only.

>>> VectorConfig(384, metric="ip", model="e5").to_dict()
{'dims': 384, 'metric': 'ip', 'model': 'e5'}
>>> VectorConfig.from_mapping({"dims": 8, "storage": "i8"}).storage
<Storage.I8: 'i8'>
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Optional, Union

from .errors import InvalidInputError
from .options import Choice

__all__ = ["Metric", "Storage", "VectorConfig"]


class Metric(Choice):
    """How vectors are compared: cosine, inner product (for unit vectors, the same order, faster), or L2."""

    COSINE = "cosine"
    IP = "ip"
    L2 = "l2"


class Storage(Choice):
    """How vectors are kept: 32-bit floats, 16-bit floats, or 8-bit integers (a quarter of the memory)."""

    F32 = "f32"
    F16 = "f16"
    I8 = "i8"


@dataclass(frozen=True)
class VectorConfig:
    """The dense vectors an index holds: `dims` per vector, the `metric` and `storage`, the HNSW graph's
    `connectivity`, `expansion_add` and `expansion_search`, `exact_below` (below this many vectors a search
    is an exact scan), the encoder `model` that made them (so a search embeds queries the same way), and the
    passage windows' `passage_tokens` and `passage_stride` (0: no passages)."""

    dims: int
    metric: Optional[Union[Metric, str]] = None
    storage: Optional[Union[Storage, str]] = None
    connectivity: Optional[int] = None
    expansion_add: Optional[int] = None
    expansion_search: Optional[int] = None
    exact_below: Optional[int] = None
    model: Optional[str] = None
    passage_tokens: Optional[int] = None
    passage_stride: Optional[int] = None

    def __post_init__(self) -> None:
        if self.metric is not None:
            object.__setattr__(self, "metric", Metric.parse(self.metric, "metric"))
        if self.storage is not None:
            object.__setattr__(self, "storage", Storage.parse(self.storage, "storage"))

    @classmethod
    def from_mapping(cls, settings: Union["VectorConfig", Mapping[str, Any]]) -> "VectorConfig":
        """A VectorConfig from a mapping of its field names (the form `Index.create` took as a dict)."""
        if isinstance(settings, VectorConfig):
            return settings
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InvalidInputError(f"unknown vector setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        if "dims" not in settings:
            raise InvalidInputError('vectors needs "dims"')
        return cls(**dict(settings))

    def to_dict(self) -> dict[str, Any]:
        """The settings that are set, as plain values: what `_core` takes, and what a shard manifest stores."""
        return {k: (str(v) if isinstance(v, Choice) else v) for k, v in asdict(self).items() if v is not None}
