"""The `Expander`: runs the strategies of `prompts` on the LLM (in a worker process), cleans the outputs
(`clean`), caches them (`cache`) and keeps to a time budget per query."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

from .._core import analyze, dominant_script, normalize_lang
from ..errors import InvalidInputError, WorkerFailed
from ..fileio import sha256_file
from .cache import ExpansionCache, cache_key
from .clean import clean_output, in_language
from .llm.worker import WorkerModel
from .prompts import CROSS_LINGUAL, PROMPT_VERSION, STRATEGIES, Prompt, Shots, Strategy, build_prompt

if TYPE_CHECKING:
    from .llm.model import LanguageModel

# Tokens each strategy may write: one line for translations and keywords, a short paragraph otherwise.
MAX_TOKENS = {"keywords": 40, "translate": 48, "rephrase": 48, "query2doc": 96, "hyde": 96,
              "expand-translate": 96, "cot": 96}
# "auto": translation; queries of fewer words than this get the zero-shot prompt, longer ones few-shot
# (the paper's finding, and what the strategy table on dev shows: BENCHMARKS.md).
AUTO_FEW_SHOT_FROM_WORDS = 10
AUTO_STRATEGY = "translate"
# The longest query that is expanded (characters); the prompt must fit the context with room to answer.
MAX_QUERY_CHARS = 1000


@dataclass(frozen=True)
class Expansion:
    """What one strategy wrote for one language. `texts` is empty when the output was unusable (wrong
    language, only meta-text) or the time budget ran out before it (`complete` is then False)."""

    strategy: str
    shots: Shots
    lang: Optional[str]
    texts: tuple[str, ...]
    cached: bool
    seconds: float
    complete: bool = True


# Scripts written without spaces between words, as `dominant_script` names them.
UNSEGMENTED_HAN = ("Hani", "Jpan")
UNSEGMENTED_SOUTHEAST_ASIAN = ("Thai", "Laoo", "Khmr", "Mymr")


class Expansions(list[Expansion]):
    """The expansions of one query (a list), with `warnings`: why some could not be made, e.g. the LLM
    worker died or hung (an empty list when all went well)."""

    def __init__(self, items: Sequence[Expansion] = (), warnings: Sequence[str] = ()) -> None:
        super().__init__(items)
        self.warnings: list[str] = list(warnings)


def query_length(query: str) -> int:
    """Words in a query; for scripts written without spaces, characters over the typical word length."""
    script = dominant_script(query)
    chars = sum(not c.isspace() for c in query)
    # dominant_script names Japanese (kana, or kanji with kana) "Jpan", Chinese "Hani".
    if script in UNSEGMENTED_HAN:
        return max(1, round(chars / 1.7))
    if script in UNSEGMENTED_SOUTHEAST_ASIAN:
        return max(1, round(chars / 4))
    return len(query.split())


def parse_strategy(strategy: Union[Strategy, str]) -> list[Strategy]:
    """The strategies of "a+b" (or one `Strategy`), checked."""
    if isinstance(strategy, Strategy):
        return [strategy]
    parts = [p.strip() for p in strategy.split("+") if p.strip()]
    unknown = [p for p in parts if p not in STRATEGIES]
    if not parts or unknown:
        raise InvalidInputError(f"unknown expansion strategy {strategy!r}; use auto, none, one of "
                                f"{', '.join(STRATEGIES)}, or several joined by '+'")
    return [Strategy(p) for p in parts]


class Expander:
    """Expands queries with one GGUF model. The model loads on the first cache miss, once.

    `model`: a name from `xlqe models list` (default gemma-3-270m) or a path to any .gguf file;
    instruction-tuned models with a chat template get their template. `budget`: seconds of generation
    per query (None: no limit). `cache`: True (the default file), False, a path, or an ExpansionCache.
    `isolate`: run the model in a worker process (the default; see llm/worker.py) or, False, in this one.
    """

    def __init__(self, model: Optional[str] = None, *, threads: Optional[int] = None, n_ctx: int = 1024,
                 max_tokens: Optional[int] = None, budget: Optional[float] = None, hyde_samples: int = 3,
                 cache: "bool | str | ExpansionCache" = True, instruct: Optional[bool] = None,
                 isolate: bool = True) -> None:
        from ..models.llm_registry import DEFAULT_LLM, LLM_MANIFEST, resolve_llm

        self.path, manifest_instruct = resolve_llm(model)
        self.model_name = model or DEFAULT_LLM
        self.threads, self.n_ctx, self.max_tokens = threads, n_ctx, max_tokens
        self.budget, self.hyde_samples = budget, hyde_samples
        # A manifest model's kind is known; a user's file is read from its chat template on load.
        self._instruct = instruct if instruct is not None else (True if manifest_instruct else None)
        if cache is True:
            self.cache: Optional[ExpansionCache] = ExpansionCache()
        elif cache is False or cache is None:
            self.cache = None
        else:
            self.cache = cache if isinstance(cache, ExpansionCache) else ExpansionCache(cache)
        spec = LLM_MANIFEST.get(self.model_name)
        if spec is not None:
            self.model_sha256 = spec.sha256  # checked when the file was assembled
        elif self.cache is not None:
            self.model_sha256 = self.cache.model_sha256(self.path)
        else:
            self.model_sha256 = sha256_file(self.path)
        self.isolate = isolate
        self._model: "Optional[LanguageModel | WorkerModel]" = None

    @property
    def model(self) -> "LanguageModel | WorkerModel":
        """The model: a `WorkerModel` (its process starts on the first generation) or, with
        isolate=False, the `LanguageModel` loaded in this process."""
        if self._model is None:
            if self.isolate:
                self._model = WorkerModel.shared(self.path, threads=self.threads, n_ctx=self.n_ctx,
                                                 instruct=self._instruct)
            else:
                from .llm.model import LanguageModel

                self._model = LanguageModel.load(self.path, threads=self.threads, n_ctx=self.n_ctx,
                                                 instruct=self._instruct)
        return self._model

    def load(self) -> None:
        """Loads the model now (in the worker: starts it), so that a first query's budget is spent on
        generation alone."""
        model = self.model
        if isinstance(model, WorkerModel):
            model.start()

    def close(self) -> None:
        """Stops the worker process, if there is one (the next expansion starts it again)."""
        if isinstance(self._model, WorkerModel):
            self._model.close()

    def choose(self, query: str, strategy: Union[Strategy, str] = "auto",
               shots: Union[Shots, str] = Shots.AUTO) -> tuple[list[Strategy], Shots]:
        """The strategies and the prompt form for a query: "auto" decides by the query's length."""
        strategies = parse_strategy(AUTO_STRATEGY if strategy == "auto" else strategy)
        shots = Shots.parse(shots, "shots")
        if shots == Shots.AUTO:
            shots = Shots.FEW if query_length(query) >= AUTO_FEW_SHOT_FROM_WORDS else Shots.ZERO
        return strategies, shots

    def expand(self, query: str, *, strategy: str = "auto", query_lang: Optional[str] = None,
               target_langs: Optional[Sequence[str]] = None, shots: str = "auto", budget: Optional[float] = None,
               on_step: Optional[Callable[[str], None]] = None) -> Expansions:
        """Expansions of `query`: for translating strategies one per target language other than the
        query's, for the others one in the query's language. `budget` overrides the expander's.
        When the LLM worker dies or hangs, the expansions not made are empty and incomplete, and the
        result's `warnings` says what happened."""
        query = " ".join(query.split())
        if not query:
            raise InvalidInputError("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidInputError(f"the query has {len(query)} characters; expansion takes at most {MAX_QUERY_CHARS}")
        query_lang = normalize_lang(query_lang) if query_lang else None
        targets = list(dict.fromkeys(normalize_lang(t) for t in target_langs or [] if t))
        strategies, shots_used = self.choose(query, strategy, shots)
        budget = self.budget if budget is None else budget
        deadline = None if budget is None else time.monotonic() + budget
        out = Expansions()
        for name in strategies:
            if name in CROSS_LINGUAL:
                langs = [t for t in targets if t != query_lang]
                if on_step and langs:
                    on_step(f"{name} → {', '.join(langs)}")
                out += self._in_languages(query, name, shots_used, query_lang, langs, deadline, out.warnings)
            else:
                if on_step:
                    on_step(f"{name} → {query_lang or 'query language'}")
                out.append(self._one(query, name, shots_used, query_lang, deadline, out.warnings))
        return out

    def _key(self, query: str, strategy: str, shots: Shots, query_lang: Optional[str], lang: Optional[str]) -> str:
        return cache_key(model=self.model_sha256, strategy=strategy, shots=shots, prompt=PROMPT_VERSION,
                         max_tokens=self.max_tokens or MAX_TOKENS[strategy],
                         samples=self.hyde_samples if strategy == "hyde" else 1, n_ctx=self.n_ctx, query=query,
                         query_lang=query_lang, lang=lang)

    def _in_languages(self, query: str, strategy: str, shots: Shots, query_lang: Optional[str],
                      langs: Sequence[str], deadline: Optional[float], warnings: list[str]) -> list[Expansion]:
        """One expansion per target language; those not cached are generated together in one batch. After
        a worker failure (noted in `warnings`) only the cache is read, until the next query."""
        t0 = time.monotonic()
        keys = {lang: self._key(query, strategy, shots, query_lang, lang) for lang in langs}
        cached = {lang: self.cache.get(keys[lang]) if self.cache is not None else None for lang in langs}
        found = {lang: Expansion(strategy, shots, lang, tuple(texts), True, time.monotonic() - t0)
                 for lang, texts in cached.items() if texts is not None}
        missing = [lang for lang in langs if lang not in found]
        if missing and not warnings and (deadline is None or time.monotonic() < deadline):
            prompts = [build_prompt(strategy, query, query_lang, lang, shots) for lang in missing]
            try:
                done = self.model.complete_many(prompts, max_tokens=self.max_tokens or MAX_TOKENS[strategy],
                                                deadline=deadline)
            except WorkerFailed as e:
                warnings.append(_warning(e))
                done = []
            for lang, prompt, completion in zip(missing, prompts, done):
                complete = completion.finish != "deadline"
                text = self._cleaned(completion.text, query, prompt, strategy, query_lang, lang)
                texts = (text,) if text else ()
                if complete and self.cache is not None:
                    self.cache.put(keys[lang], list(texts))
                found[lang] = Expansion(strategy, shots, lang, texts, False, completion.seconds, complete)
        return [found.get(lang) or Expansion(strategy, shots, lang, (), False, 0.0, complete=False) for lang in langs]

    def _one(self, query: str, strategy: str, shots: Shots, query_lang: Optional[str],
             deadline: Optional[float], warnings: list[str]) -> Expansion:
        """An expansion in the query's own language (several samples for HyDE)."""
        t0 = time.monotonic()
        samples = self.hyde_samples if strategy == "hyde" else 1
        max_tokens = self.max_tokens or MAX_TOKENS[strategy]
        key = self._key(query, strategy, shots, query_lang, query_lang)
        if self.cache is not None:
            texts = self.cache.get(key)
            if texts is not None:
                return Expansion(strategy, shots, query_lang, tuple(texts), True, time.monotonic() - t0)
        if warnings or (deadline is not None and time.monotonic() >= deadline):
            return Expansion(strategy, shots, query_lang, (), False, 0.0, complete=False)
        prompt = build_prompt(strategy, query, query_lang, query_lang or "en", shots)
        texts, complete = [], True
        for sample in range(samples):
            try:
                done = self.model.complete(prompt, max_tokens=max_tokens, deadline=deadline,
                                           temperature=0.0 if sample == 0 else 0.7, seed=sample)
            except WorkerFailed as e:
                warnings.append(_warning(e))
                return Expansion(strategy, shots, query_lang, (), False, time.monotonic() - t0, complete=False)
            complete = complete and done.finish != "deadline"
            text = self._cleaned(done.text, query, prompt, strategy, query_lang, query_lang)
            if text:
                texts.append(text)
            if not complete:
                break
        if complete and self.cache is not None:
            self.cache.put(key, texts)
        return Expansion(strategy, shots, query_lang, tuple(dict.fromkeys(texts)), False, time.monotonic() - t0, complete)

    def _cleaned(self, raw: str, query: str, prompt: Prompt, strategy: str, query_lang: Optional[str],
                 lang: Optional[str]) -> Optional[str]:
        """The model's answer cleaned (clean.py), or None when nothing usable is left."""
        text = clean_output(raw, query=query, single_line=prompt.single_line)
        return text if text and self._usable(text, query, strategy, query_lang, lang) else None

    @staticmethod
    def _usable(text: str, query: str, strategy: str, query_lang: Optional[str], lang: Optional[str]) -> bool:
        if strategy in CROSS_LINGUAL and lang:
            if text.casefold() == query.casefold():
                return False  # the query copied, not translated
            return in_language(text, lang, source_lang=query_lang)
        # Text in the query's language: at least one content term beyond punctuation.
        return bool(analyze(text, lang))


def _warning(e: Exception) -> str:
    return f"query expansion failed: {e}; the results are not expanded (the worker restarts on the next query)"
