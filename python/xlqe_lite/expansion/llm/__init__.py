"""The LLM that writes expansions: `LanguageModel` runs a GGUF model with llama-cpp-python in this process
(`model`, with the batched decoder of `batch`), `WorkerModel` runs it in a worker process of its own
(`worker`) so that a crash or a hang costs one answer, not the caller."""

from .model import Completion, LanguageModel
from .worker import WorkerModel

__all__ = ["Completion", "LanguageModel", "WorkerModel"]
