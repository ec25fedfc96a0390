"""A local GGUF language model run by llama-cpp-python, for short, deterministic completions.

What a search engine needs from the model differs from a chat app: many short answers to prompts that
share a long few-shot prefix, a hard time limit, and the same answer every time. So this wrapper
  - keeps the KV state of recent prompt prefixes and restores it instead of re-reading the examples
    (a state is ~10-30 MB; re-reading a 150-token prefix costs ~0.25 s on 2 cores),
  - decodes greedily (or with a fixed seed per sample), stops at stop strings, at the deadline, or as
    soon as the output starts looping,
  - renders the prompt through the model's own chat template when it is instruction-tuned.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

from ...errors import InvalidInputError, ModelCorruptError, ModelMissingError
from ..clean import cut_loops

if TYPE_CHECKING:
    from ..prompts import Prompt

_LOADED: dict[tuple[str, int, int], "LanguageModel"] = {}
_QUIET: list[Any] = []


@atexit.register
def _close_loaded() -> None:
    """Free loaded models before the interpreter tears down modules: llama-cpp-python's finaliser would
    otherwise run after its own helpers are gone and print a TypeError on every exit."""
    for model in _LOADED.values():
        model.close()
    _LOADED.clear()


def _silence_llama_log() -> None:
    """llama.cpp prints loader notes to stderr even with verbose=False; a CLI's output should stay clean."""
    if _QUIET:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]  # llama-cpp-python's ctypes callback type
    def drop(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _QUIET.append(drop)  # the callback must outlive this call
    llama_cpp.llama_log_set(drop, ctypes.c_void_p())


@dataclass(frozen=True)
class Completion:
    text: str
    tokens: int
    seconds: float
    # Why generation ended: "stop" (a stop string or end of text), "length", "deadline" or "loop".
    finish: str


class LanguageModel:
    """One loaded GGUF model. Use `LanguageModel.load` to share one instance per file and settings."""

    def __init__(self, path: str | os.PathLike[str], *, threads: Optional[int] = None, n_ctx: int = 1024,
                 instruct: Optional[bool] = None, prefix_states: int = 12) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelMissingError("query expansion needs llama-cpp-python; install it with: "
                                    "pip install llama-cpp-python==0.3.36") from None
        _silence_llama_log()
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelMissingError(f"no model file at {self.path}")
        self.threads = threads or min(os.cpu_count() or 1, 8)
        try:
            self._llm = Llama(model_path=str(self.path), n_ctx=n_ctx, n_threads=self.threads,
                              n_threads_batch=self.threads, n_batch=min(512, n_ctx), seed=0, verbose=False)
        except (ValueError, RuntimeError) as e:
            raise ModelCorruptError(f"llama.cpp could not load {self.path}: {e} (is it a complete GGUF file?)") from None
        self.n_ctx = n_ctx
        template = self._llm.metadata.get("tokenizer.chat_template")
        self.instruct = bool(template) if instruct is None else instruct
        self._chat = self._chat_formatter(template) if self.instruct and template else None
        self._states: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._max_states = prefix_states
        self._token_cache: dict[str, list[int]] = {}
        self._eos = {self._llm.token_eos(), *self._end_tokens()}
        # One llama.cpp context serves one generation at a time; searches from several threads queue here.
        self._lock = threading.Lock()
        self._batcher: Any = None  # batch.BatchDecoder, made on the first batched call

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, threads: Optional[int] = None, n_ctx: int = 1024,
             instruct: Optional[bool] = None) -> "LanguageModel":
        """The model at `path`, loaded once per process and settings."""
        key = (str(Path(path).resolve()), threads or 0, n_ctx)
        if key not in _LOADED:
            _LOADED[key] = cls(path, threads=threads, n_ctx=n_ctx, instruct=instruct)
        return _LOADED[key]

    def close(self) -> None:
        """Frees the model's memory now; the object is unusable afterwards."""
        with self._lock:
            self._states.clear()
            if self._batcher is not None:
                self._batcher.close()
                self._batcher = None
            self._llm.close()

    def _chat_formatter(self, template: str) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def text_of(token: int) -> str:
            return self._llm._model.token_get_text(token) if token != -1 else ""

        return Jinja2ChatFormatter(template=template, eos_token=text_of(self._llm.token_eos()),
                                   bos_token=text_of(self._llm.token_bos()))

    def _tokens(self, text: str, bos: bool) -> list[int]:
        key = ("B" if bos else "-") + text
        tokens = self._token_cache.get(key)
        if tokens is None:
            tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True)
            if len(self._token_cache) > 256:
                self._token_cache.clear()
            self._token_cache[key] = tokens
        return tokens

    def _prompt_tokens(self, prompt: "Prompt") -> tuple[list[int], int]:
        """Tokens of the whole prompt, and how many of them are the part shared between queries."""
        if self._chat is not None:
            turns = prompt.messages()
            rendered = self._chat(messages=turns).prompt
            shared = self._chat(messages=turns[:-1] + [{"role": "user", "content": ""}]).prompt
            cut = len(os.path.commonprefix([rendered, shared]))
            head, tail = rendered[:cut], rendered[cut:]
        else:
            head, tail = prompt.prefix, prompt.suffix
        head_tokens = self._tokens(head, bos=True)
        tail_tokens = self._llm.tokenize(tail.encode("utf-8"), add_bos=False, special=True) if tail else []
        return head_tokens + tail_tokens, len(head_tokens)

    def _restore_prefix(self, prefix: tuple[int, ...]) -> None:
        """Make the model's context start with `prefix`: keep it if it does, restore a saved state, or read
        the prefix once and save the state for next time."""
        current = self._llm.input_ids[: self._llm.n_tokens]
        if len(current) >= len(prefix) and tuple(current[: len(prefix)]) == prefix:
            return
        state = self._states.get(prefix)
        if state is not None:
            self._states.move_to_end(prefix)
            self._llm.load_state(state)
            return
        self._llm.reset()  # type: ignore[no-untyped-call]  # llama-cpp-python leaves reset() unannotated
        self._llm.eval(list(prefix))
        self._states[prefix] = self._llm.save_state()
        while len(self._states) > self._max_states:
            self._states.popitem(last=False)

    def complete(self, prompt: "Prompt", *, max_tokens: int = 64, deadline: Optional[float] = None,
                 temperature: float = 0.0, seed: int = 0) -> Completion:
        """The model's answer to `prompt`: as a completion of its text, or through the chat template for an
        instruction-tuned model. The part shared between queries (instruction, examples) stays in memory;
        `deadline` is a time.monotonic() value."""
        with self._lock:
            return self._complete(prompt, max_tokens, deadline, temperature, seed)

    def _complete(self, prompt: "Prompt", max_tokens: int, deadline: Optional[float], temperature: float,
                  seed: int) -> Completion:
        t0 = time.monotonic()
        stop = prompt.stop
        tokens, n_prefix = self._prompt_tokens(prompt)
        max_tokens = min(max_tokens, self._room(tokens))
        self._restore_prefix(tuple(tokens[:n_prefix]))
        if temperature > 0:
            self._llm.set_seed(seed)
        out: list[int] = []
        answer, finish = _Answer(self._llm, stop), "length"
        generator = self._llm.generate(tokens, temp=temperature, top_k=40 if temperature > 0 else 1, top_p=0.95,
                                       min_p=0.05, repeat_penalty=1.0)
        for token in generator:
            if token in self._eos:
                finish = "stop"
                break
            out.append(token)
            ended = answer.add(out)
            if ended is not None:
                finish = ended
                break
            if len(out) >= max_tokens:
                break
            if deadline is not None and time.monotonic() >= deadline:
                finish = "deadline"
                break
        generator.close()
        return Completion(answer.text, len(out), time.monotonic() - t0, finish)

    def complete_many(self, prompts: Sequence["Prompt"], *, max_tokens: int = 64,
                      deadline: Optional[float] = None) -> list[Completion]:
        """Greedy answers to several prompts, decoded together (batch.py) when there are several and
        each fits a batch slot; the rest are answered one by one. Each answer's `seconds` is the time from
        the call until it was done."""
        from .batch import GROUP, SLOT_TOKENS, BatchDecoder

        with self._lock:
            t0 = time.monotonic()
            encoded, heads = zip(*(self._prompt_tokens(p) for p in prompts)) if prompts else ((), ())
            limits = [min(max_tokens, self._room(tokens)) for tokens in encoded]
            out: list[Optional[Completion]] = [None] * len(prompts)
            together = [i for i, tokens in enumerate(encoded) if len(tokens) + max_tokens <= SLOT_TOKENS]
            if len(together) < 2:
                together = []  # a lone prompt gains nothing from the batch context
            if together and self._batcher is None:
                try:
                    self._batcher = BatchDecoder(self._llm)
                except RuntimeError:
                    together = []  # no memory for a second context: one at a time still works
            for start in range(0, len(together), GROUP):
                group = together[start:start + GROUP]
                answers = [_Answer(self._llm, prompts[i].stop) for i in group]
                began = time.monotonic() - t0
                try:
                    decoded = self._batcher.decode([encoded[i] for i in group], [heads[i] for i in group],
                                                   max_tokens, deadline, lambda k, tokens: answers[k].add(tokens),
                                                   self._eos)
                except RuntimeError:
                    continue  # llama_decode failed (the slots were reset): these go one at a time below
                for i, answer, d in zip(group, answers, decoded):
                    out[i] = Completion(answer.text, len(d.tokens), began + d.seconds, d.finish)
            for i, prompt in enumerate(prompts):
                if out[i] is None:
                    done = self._complete(prompt, limits[i], deadline, 0.0, 0)
                    out[i] = Completion(done.text, done.tokens, time.monotonic() - t0, done.finish)
            return [c for c in out if c is not None]

    def _room(self, tokens: Sequence[int]) -> int:
        """Tokens left for the answer after `tokens` in the context; an error when there is none."""
        room = self.n_ctx - len(tokens) - 1
        if room <= 0:
            raise InvalidInputError(f"the prompt has {len(tokens)} tokens and the model's context holds {self.n_ctx}: "
                                    f"shorten the query or load the model with a larger n_ctx")
        return room

    def _end_tokens(self) -> set[int]:
        # Chat models end a turn with a token of their own (<end_of_turn>, <|im_end|>).
        ends = set()
        for name in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|endoftext|>"):
            ids = self._llm.tokenize(name.encode(), add_bos=False, special=True)
            if len(ids) == 1:
                ends.add(ids[0])
        return ends


class _Answer:
    """The text of an answer as tokens arrive, and whether it has ended: at a stop string (the text is cut
    there) or when it starts looping. Shared by single and batched decoding."""

    def __init__(self, llm: Any, stop: Sequence[str]) -> None:
        self._llm, self._stop = llm, stop
        self.text = ""

    def add(self, tokens: list[int]) -> Optional[str]:
        self.text = self._llm.detokenize(tokens).decode("utf-8", errors="ignore")
        hit = min((i for i in (self.text.find(s) for s in self._stop) if i >= 0), default=-1)
        if hit >= 0:
            self.text = self.text[:hit]
            return "stop"
        if len(tokens) % 8 == 0 and len(cut_loops(self.text)) < len(self.text.rstrip()) * 0.8:
            return "loop"
        return None
