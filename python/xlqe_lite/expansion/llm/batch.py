"""Greedy decoding of several prompts at once in one llama.cpp context.

A query expanded into eight languages is eight prompts that differ only in their target language. Read
one at a time, each pays the full cost of every decoding step; decoded together, one step advances all
of them, and on 2 cores a step for eight sequences costs about twice one for a single sequence
(measured with Gemma 3 270M: 0.85 s for eight translations against 1.8 s one after another).

Each sequence has a slot (a llama.cpp sequence id) whose KV cache outlives the call: the next prompt
with the same shared head (instruction and examples) lands in the slot that holds it, and only its query
part is read. There are twice as many slots as sequences decoded at once, so that the zero-shot and the
few-shot prompts of every target language stay resident; all slots share one KV buffer, and the least
recently used ones are emptied when it would overflow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

# Sequences decoded together, and the tokens one of them may hold (prompt and answer). The KV buffer
# holds GROUP * SLOT_TOKENS tokens (what that context adds resident with Gemma 3 270M: BENCHMARKS.md,
# "Latency", slots that keep their examples).
GROUP = 8
SLOTS = 2 * GROUP
SLOT_TOKENS = 512
# Tokens read per llama_decode call while filling prompts.
READ_BATCH = 512


@dataclass
class Decoded:
    tokens: list[int]
    finish: str  # "stop", "length", "deadline" or "loop"
    seconds: float


class BatchDecoder:
    """A second context on a loaded `llama_cpp.Llama`, for batched greedy completions."""

    def __init__(self, llm: Any, group: int = GROUP, slots: int = SLOTS, slot_tokens: int = SLOT_TOKENS) -> None:
        import llama_cpp

        self._api = llama_cpp
        model = llm._model.model
        # The single-sequence context's settings (threads, attention kernel, KV types), so that both
        # compute alike; llama.cpp's own default would switch on flash attention, which rounds differently.
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_ctx = group * slot_tokens
        params.n_batch = params.n_ubatch = READ_BATCH
        params.n_seq_max = slots
        # One KV buffer shared by all sequences, and sliding-window layers kept whole, so that a slot's
        # answer can be removed while its prefix stays.
        params.kv_unified = True
        params.swa_full = True
        self._ctx = llama_cpp.llama_init_from_model(model, params)
        if not self._ctx:
            raise RuntimeError("llama.cpp could not create a batched decoding context")
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(READ_BATCH, 0, 1)
        self._vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
        self.group, self.slots, self.slot_tokens, self.capacity = group, slots, slot_tokens, params.n_ctx
        # The tokens whose keys and values each slot holds, in order from position 0, and when each slot
        # was last used.
        self._held: list[list[int]] = [[] for _ in range(slots)]
        self._heads = [0] * slots  # the shared head's length of the prompt each slot last read
        self._used = [0] * slots
        self._clock = 0
        self.tokens_read = 0  # prompt tokens read so far (what the held heads save shows here)

    def close(self) -> None:
        if self._ctx:
            self._api.llama_batch_free(self._batch)
            self._api.llama_free(self._ctx)
            self._ctx = None

    def fits(self, prompt: Sequence[int], max_tokens: int) -> bool:
        return len(prompt) + max_tokens <= self.slot_tokens

    def decode(self, prompts: Sequence[Sequence[int]], heads: Sequence[int], max_tokens: int,
               deadline: Optional[float], finished: Callable[[int, list[int]], Optional[str]],
               eos: set[int]) -> list[Decoded]:
        """Greedy answers to at most `group` prompts, each fitting a slot with `max_tokens` to spare.
        `heads[i]`: how many of prompt i's tokens other queries share. `finished(i, tokens)` says whether
        answer i is done ("stop", "loop") after each new token; `deadline` is a monotonic time."""
        if len(prompts) > self.group:
            raise ValueError(f"at most {self.group} prompts at once")
        if any(not self.fits(p, max_tokens) for p in prompts):
            raise ValueError(f"a prompt and its answer must fit in {self.slot_tokens} tokens")
        t0 = time.monotonic()
        slot_of = self._assign(prompts, heads)
        keep = [self._keep(slot, prompt) for slot, prompt in zip(slot_of, prompts)]
        self._make_room(slot_of, sum(len(p) + max_tokens for p in prompts) - sum(keep))
        # Read each prompt's part that its slot does not hold; the last token's logits start the answer.
        pending: list[tuple[int, int, int, bool]] = []  # token, position, slot, wants logits
        for i, prompt in enumerate(prompts):
            slot = slot_of[i]
            self._held[slot] = list(prompt)
            pending += [(prompt[p], p, slot, p == len(prompt) - 1) for p in range(keep[i], len(prompt))]
        self.tokens_read += len(pending)
        next_token: dict[int, int] = {}
        for start in range(0, len(pending), READ_BATCH):
            next_token.update(self._run(pending[start:start + READ_BATCH]))
        answers: list[list[int]] = [[] for _ in prompts]
        results: list[Optional[Decoded]] = [None] * len(prompts)
        active = list(range(len(prompts)))
        while active:
            step: list[tuple[int, int, int, bool]] = []
            for i in list(active):
                slot = slot_of[i]
                token = next_token[slot]
                finish = "stop" if token in eos else None
                if finish is None:
                    answers[i].append(token)
                    finish = finished(i, answers[i])
                    if finish is None and len(answers[i]) >= max_tokens:
                        finish = "length"
                if finish is None and deadline is not None and time.monotonic() >= deadline:
                    finish = "deadline"
                if finish is not None:
                    results[i] = Decoded(answers[i], finish, time.monotonic() - t0)
                    active.remove(i)
                    continue
                step.append((token, len(self._held[slot]), slot, True))
                self._held[slot].append(token)
            if step:
                next_token = self._run(step)
        return [r for r in results if r is not None]

    def _assign(self, prompts: Sequence[Sequence[int]], heads: Sequence[int]) -> list[int]:
        """A slot per prompt: one holding the same head (instruction and examples) if there is one, else the
        least recently used. A zero-shot prompt shares its instruction with the few-shot prompt for the same
        languages, but must not take that slot and cut its examples off."""
        free = set(range(self.slots))
        out = []
        for prompt, head in zip(prompts, heads):
            same = [s for s in free if self._heads[s] == head and _common(self._held[s], prompt) >= head]
            slot = same[0] if same else min(free, key=lambda s: (self._used[s], s))
            free.discard(slot)
            self._heads[slot] = head
            self._clock += 1
            self._used[slot] = self._clock
            out.append(slot)
        return out

    def _make_room(self, taken: Sequence[int], needed: int) -> None:
        """Empties the least recently used slots other than `taken` until `needed` more tokens fit."""
        idle = sorted((s for s in range(self.slots) if s not in taken and self._held[s]), key=lambda s: self._used[s])
        held = sum(len(h) for h in self._held)
        for slot in idle:
            if held + needed <= self.capacity:
                break
            held -= len(self._held[slot])
            self._api.llama_memory_seq_rm(self._memory, slot, -1, -1)
            self._held[slot] = []

    def _keep(self, slot: int, prompt: Sequence[int]) -> int:
        """Drops what the slot holds beyond its common prefix with `prompt` (at least the prompt's last
        token is read again, for its logits); returns how many tokens stay."""
        keep = min(_common(self._held[slot], prompt), len(prompt) - 1)
        if not self._api.llama_memory_seq_rm(self._memory, slot, keep, -1):
            self._api.llama_memory_seq_rm(self._memory, slot, -1, -1)
            keep = 0
        self._held[slot] = self._held[slot][:keep]
        return keep

    def _run(self, items: Sequence[tuple[int, int, int, bool]]) -> dict[int, int]:
        """Decodes one batch; returns the greedy next token of every slot whose logits were asked for."""
        batch = self._batch
        batch.n_tokens = len(items)
        for j, (token, pos, slot, logits) in enumerate(items):
            batch.token[j], batch.pos[j], batch.n_seq_id[j] = token, pos, 1
            batch.seq_id[j][0], batch.logits[j] = slot, logits
        status = self._api.llama_decode(self._ctx, batch)
        if status != 0:
            # The context is in an unknown state: forget what the slots held.
            for slot in range(self.slots):
                self._api.llama_memory_seq_rm(self._memory, slot, -1, -1)
                self._held[slot] = []
            raise RuntimeError(f"llama_decode failed with status {status}")
        out = {}
        for j, (_, _, slot, logits) in enumerate(items):
            if logits:
                row = np.ctypeslib.as_array(self._api.llama_get_logits_ith(self._ctx, j), shape=(self._vocab,))
                out[slot] = int(row.argmax())
        return out


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
