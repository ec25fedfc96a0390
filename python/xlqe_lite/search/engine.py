"""Hybrid search: BM25 and dense retrieval over one index, fused so that neither drags the other down.

Naive fusion hurts across languages: BM25 barely works between languages (it only meets names and
numbers), and rank fusion gives its noise the same say as the dense list. Here each lexical hit is
weighed by how its document relates to the query: same language, same script, or another script. An
index of several languages is searched one language at a time and the languages merged on each one's own
scale, so that the answer in another language is not buried under the query's own (`calibrated_merge`).
The defaults come from the bench's dev data (benchmarks/tune_fusion.py, benchmarks/tune_mixed.py;
figures in BENCHMARKS.md).

    engine = SearchEngine.open("my-index")
    for hit in engine.search("wer gewann den Super Bowl?", k=5, explain=True):
        print(hit.id, hit.lang, hit.score, hit.explanation)
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from .._core import dominant_script, fuse, language_script, normalize_lang
from ..errors import InvalidInputError
from ..index import Hit, Index, PathLike, _as_vector
from ..language import QUERY_LANGUAGES, QueryLanguage, guess_query_language
from .config import DEFAULT_K, Calibration, CalibrateOn, FusionConfig, Mode
from .explanation import Calibration as CalibrationOf
from .explanation import DENSE, LEXICAL, ExpansionText, Explanation, ListEntry, expansion_list
from .fusion import calibrated_merge
from .plan import fusion_settings, retrieve

if TYPE_CHECKING:
    from .._core import FusionSettings
    from ..expansion import Expander, Expansion, Expansions
    from ..filters import Filter
    from ..models.encoder import Encoder
    from ..shard import ShardedIndex


class SearchResults(list[Hit]):
    """The hits of one search (a list), with `warnings`: what went wrong without failing the search,
    e.g. the query expansion's LLM worker died, so the hits are the un-expanded ones."""

    def __init__(self, hits: Sequence[Hit] = (), warnings: Sequence[str] = ()) -> None:
        super().__init__(hits)
        self.warnings: list[str] = list(warnings)


class SearchEngine:
    """An index with the encoder its vectors were made with, searched in one of three modes, optionally
    with the query expanded by a local LLM first (see xlqe_lite.expansion)."""

    def __init__(self, index: Union[Index, "ShardedIndex"], encoder: Optional["Encoder"] = None,
                 fusion: FusionConfig = FusionConfig(), expander: Optional["Expander"] = None,
                 pivot_lang: Optional[str] = "en") -> None:
        vectors = index.vector_config
        if vectors and encoder is not None and encoder.dim != vectors.dims:
            raise InvalidInputError(f"encoder {encoder.name} makes {encoder.dim}-dimensional vectors; "
                                    f"the index holds {vectors.dims}-dimensional ones")
        self.index, self.encoder, self.fusion, self.expander = index, encoder, fusion, expander
        # Expansions are also written in this language when the query is in another: a small model
        # translates into English best, and the English view helps the dense side whatever the
        # documents' languages (measured: BENCHMARKS.md).
        self.pivot_lang = pivot_lang
        self._settings_of: Optional[tuple[FusionConfig, "FusionSettings"]] = None

    @classmethod
    def open(cls, path: PathLike, *, model: Optional[str] = None, threads: Optional[int] = None,
             fusion: FusionConfig = FusionConfig(), expander: Optional["Expander"] = None,
             ray: Optional[str] = None) -> "SearchEngine":
        """Opens the index for reading, with the encoder named in its vector settings (or `model`). A sharded
        index (xlqe_lite.shard) opens the same way: searched in-process, or through one Ray actor per shard
        with `ray` ("local", "auto" or a cluster address)."""
        from ..shard import open_index

        index = open_index(path, ray=ray)
        encoder = None
        vectors = index.vector_config
        name = model or (vectors.model if vectors else None)
        if vectors and name:
            from ..models.encoder import Encoder

            encoder = Encoder.load(name, threads=threads or os.cpu_count() or 1)
        return cls(index, encoder, fusion, expander)

    def reload(self) -> bool:
        """Switches to the index's latest commit (its documents, vectors and passage windows); returns
        whether there was a newer one. Safe while other threads search: each of the index's calls sees
        one commit whole, though a hybrid search that runs across the switch may fuse lists of both."""
        return self.index.reload()

    @property
    def has_dense(self) -> bool:
        return self.encoder is not None and self.index.vector_count > 0

    def expansion_targets(self, query_lang: Optional[str], langs: Optional[Sequence[str]] = None,
                          max_langs: Optional[int] = None) -> list[str]:
        """The languages expansions are written in: those the index holds (most documents first), or
        those of `langs`, without the query's own; then the pivot language (for the dense side)."""
        held = [lang for lang, _ in sorted(self.index.languages(), key=lambda lc: -lc[1]) if lang]
        if langs:
            wanted = {normalize_lang(l) for l in langs}
            held = [l for l in held if l in wanted]
        targets = [l for l in held if l != query_lang]
        targets = targets[:max_langs] if max_langs else targets
        # The pivot only where translation is needed at all: an index of the query's language alone
        # gets no expansion (measured: the English view costs same-language pairs up to 0.02 nDCG@10).
        if targets and self.pivot_lang and self.pivot_lang != query_lang and self.pivot_lang not in targets:
            targets.append(self.pivot_lang)
        return targets

    def query_language(self, query: str) -> QueryLanguage:
        """The query's language with a confidence, guessed among the languages xlqe analyses and those the
        index holds (see xlqe_lite.language)."""
        return guess_query_language(query, QUERY_LANGUAGES | {lang for lang, _ in self.index.languages()})

    def guess_query_language(self, query: str) -> Optional[str]:
        """The query's language when the guess is sure (`QueryLanguage.sure`), else None: the search then
        does not depend on it (lexical weights follow the query's script)."""
        guess = self.query_language(query)
        return guess.lang if guess.sure else None

    def expand(self, query: str, *, strategy: str = "auto", lang: Optional[str] = None,
               langs: Optional[Sequence[str]] = None, max_langs: Optional[int] = None,
               budget: Optional[float] = None, shots: str = "auto", on_step: Any = None) -> "Expansions":
        """Runs the engine's expander for `query` into the index's languages (see `search(expand=...)`)."""
        if self.expander is None:
            raise InvalidInputError("query expansion needs a language model: create the engine with "
                                    "expander=Expander() (or `xlqe search --expand` with --llm)")
        query_lang = normalize_lang(lang) if lang else self.guess_query_language(query)
        return self.expander.expand(query, strategy=strategy, query_lang=query_lang,
                                    target_langs=self.expansion_targets(query_lang, langs, max_langs),
                                    budget=budget, shots=shots, on_step=on_step)

    def search(
        self,
        query: str,
        *,
        k: int = DEFAULT_K,
        mode: Union[Mode, str] = Mode.HYBRID,
        lang: Optional[str] = None,
        langs: Optional[Sequence[str]] = None,
        snippets: bool = False,
        snippet_chars: int = 200,
        explain: bool = False,
        query_vector: Any = None,
        expand: Optional[str] = None,
        expansions: Optional[Sequence["Expansion"]] = None,
        budget: Optional[float] = None,
        where: Optional["Filter"] = None,
    ) -> SearchResults:
        """The `k` best documents for `query`. `lang` is the query's language (detected when not given
        and the detector is confident); `langs` restricts the documents' languages. `query_vector`, when
        given, is used instead of embedding the query (callers that batch or cache embeddings).

        `expand` ("auto" or a strategy; None or "none": no expansion) has the engine's expander rewrite
        the query into the index's languages first, within `budget` seconds; `expansions` passes ones
        made earlier instead. `where` (a `Filter`: path prefix or glob, format, modified after/before)
        keeps only the documents it allows, in every list before fusion. The result's `warnings` says when
        the expansion failed (the hits are then those of the query alone)."""
        mode = Mode.parse(mode, "mode")
        if mode != "bm25" and not self.has_dense:
            raise InvalidInputError(f"mode {mode.value!r} needs vectors: this index has none, or no encoder is loaded")
        if not query.strip():
            raise InvalidInputError("the query is empty")
        # A sharded index says which shards failed or were too slow during this search.
        drain_warnings = getattr(self.index, "drain_warnings", None)
        if drain_warnings is not None:
            drain_warnings()
        query_lang = normalize_lang(lang) if lang else self.guess_query_language(query)
        if expand and expand != "none" and expansions is None:
            expansions = self.expand(query, strategy=expand, lang=query_lang, langs=langs, budget=budget)
        written = [e for e in expansions or () if e.texts]
        usable = written
        expansion_vectors: Any = ()
        trust: dict[str, float] = {}
        if usable and self.encoder is not None and (mode != "bm25" or self.fusion.expansion_min_similarity > 0):
            if query_vector is None:
                query_vector = self._embed(query)
            usable, expansion_vectors, trust = self._screen(query_vector, usable)
        vector_used = None
        if isinstance(self.index, Index):
            # One call into the core does the retrieval (search/plan.py); the lists route below stays for a
            # sharded index (its lists need the shards' global BM25 statistics).
            vector = None
            if mode != "bm25":
                vector = self._embed(query) if query_vector is None else query_vector
                vector = _as_vector(self._with_expansions(vector, expansion_vectors,
                                                          [trust[t] for e in usable for t in e.texts]))
            if k < 0:
                raise InvalidInputError("k must be >= 0")
            hits = retrieve(self.index._core, self._settings(), str(self.fusion.method), query, k=k, mode=mode,
                            query_lang=query_lang, langs=langs, vector=vector, expansions=usable, trust=trust,
                            explain=explain, snippet_chars=snippet_chars if snippets else None, where=where)
            snippets = False  # cut by the core
        elif mode == "bm25" and not usable:
            hits = self.index.search(query, k=k, lang=query_lang, langs=langs, where=where)
        elif mode == "dense" and not usable and (self.fusion.calibration == Calibration.POOLED or len(self._groups(langs)[1]) <= 1):
            vector = self._embed(query) if query_vector is None else query_vector
            hits = self.index.search_vector(self._toward_only(vector, query_lang, self._groups(langs)[1]), k=k, langs=langs, passage_weight=self.fusion.passage_weight,
                                            where=where)
            vector_used = vector
        else:
            vector = None
            if mode != "bm25":
                vector = self._embed(query) if query_vector is None else query_vector
                vector = self._with_expansions(vector, expansion_vectors, [trust[t] for e in usable for t in e.texts])
            hits = self._fused(query, vector, k, query_lang, langs, explain, mode, usable, trust, where)
            vector_used = vector
        if explain and expansions:
            # What the model wrote (nothing, when its output was unusable), and what passed the
            # similarity screen into the search.
            wrote: dict[str, list[str]] = {}
            for e in expansions:
                wrote.setdefault(e.lang or query_lang or "?", []).extend(e.texts)
            kept = {t for e in usable for t in e.texts}
            shown = {lang: tuple(ExpansionText(t, t in kept) for t in texts) for lang, texts in wrote.items()}
            hits = [h._replace(explanation=replace(h.explanation, expansions=shown)) if h.explanation is not None
                    else h for h in hits]
        if snippets:
            if vector_used is not None and self.index.passage_count:
                # A long document's snippet comes from the passage window that matched the query best.
                hits = [self.index._with_passage_snippet(h, query, vector_used, snippet_chars) for h in hits]
            else:
                hits = [self.index._with_snippet(h, query, snippet_chars) for h in hits]
        warnings = list(getattr(expansions, "warnings", ()))
        if drain_warnings is not None:
            warnings.extend(drain_warnings())
        return SearchResults(hits, warnings)

    def _settings(self) -> "FusionSettings":
        """The core's copy of `self.fusion`, made again only when `fusion` is replaced."""
        if self._settings_of is None or self._settings_of[0] is not self.fusion:
            self._settings_of = (self.fusion, fusion_settings(self.fusion))
        return self._settings_of[1]

    def _embed(self, query: str) -> Any:
        assert self.encoder is not None
        return self.encoder.encode_queries([query])[0]

    def _screen(self, vector: Any, expansions: Sequence["Expansion"]) -> tuple[list["Expansion"], Any, dict[str, float]]:
        """Keeps the expansion texts whose embedding is close enough to the query's: a small model's
        failed translation (another topic, a loop, a different question) lands far from the query in the
        multilingual embedding space, a faithful one close to it. Returns the kept expansions, the kept
        texts' embeddings, and each kept text's trust: 0..1 from the minimum similarity up to
        `expansion_full_similarity`."""
        import numpy as np

        assert self.encoder is not None
        texts = [t for e in expansions for t in e.texts]
        vectors = self._expansion_vectors(texts)
        sims = vectors @ np.asarray(vector, dtype=np.float32)
        low = self.fusion.expansion_min_similarity
        keep = sims >= low
        span = max(self.fusion.expansion_full_similarity - low, 1e-6)
        trust = {t: float(min(1.0, max(1e-3, (s - low) / span))) if self.fusion.expansion_full_similarity > low else 1.0
                 for t, s, k in zip(texts, sims, keep) if k}
        kept, i = [], 0
        for e in expansions:
            mine = [t for j, t in enumerate(e.texts) if keep[i + j]]
            i += len(e.texts)
            if mine:
                kept.append(replace(e, texts=tuple(mine)))
        return kept, vectors[keep], trust

    def _expansion_vectors(self, texts: Sequence[str]) -> Any:
        """Query embeddings of expansion texts, from the expander's cache when it has them."""
        assert self.encoder is not None
        cache = self.expander.cache if self.expander is not None else None
        if cache is None or not texts:
            return self.encoder.encode_queries(list(texts))
        import numpy as np

        from ..models.embedding_cache import encoder_identity

        identity = encoder_identity(self.encoder)
        found = cache.get_vectors(identity, texts, self.encoder.dim)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            made = dict(zip(missing, self.encoder.encode_queries(missing)))
            cache.put_vectors(identity, made)
            found.update(made)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)

    def _with_expansions(self, vector: Any, expansion_vectors: Any, trust: Sequence[float]) -> Any:
        """The query's embedding moved toward its expansions': q + w * mean(trust_i * e_i), renormalised."""
        if len(expansion_vectors) == 0 or self.fusion.expansion_dense <= 0:
            return vector
        import numpy as np

        weights = np.asarray(trust, dtype=np.float32)[:, None]
        shift = (weights * expansion_vectors).mean(axis=0)
        mixed = np.asarray(vector, dtype=np.float32) + self.fusion.expansion_dense * shift
        return mixed / max(float(np.linalg.norm(mixed)), 1e-12)

    def _expansion_terms(self, query: str, expansion_texts: Sequence[str], lang: str) -> list[tuple[str, float]]:
        """The original query's terms at full weight plus the expansions' terms, all analysed as `lang`;
        the expansions together weigh at most `expansion_term_mass` times the query."""
        def terms(text: str, query_lang: Optional[str]) -> list[tuple[str, float]]:
            try:
                return self.index.analyze_query(text, lang, query_lang)
            except InvalidInputError:  # nothing but stop words or punctuation
                return []

        original = terms(query, None)
        added = [t for text in expansion_texts for t in terms(text, lang)]
        mass_q, mass_e = sum(w for _, w in original), sum(w for _, w in added)
        scale = min(1.0, self.fusion.expansion_term_mass * max(mass_q, 1.0) / mass_e) if mass_e else 0.0
        return original + [(t, w * scale) for t, w in added]

    def _fused(self, query: str, vector: Any, k: int, query_lang: Optional[str], langs: Optional[Sequence[str]],
               explain: bool, mode: Mode, expansions: Sequence["Expansion"], trust: dict[str, float],
               where: Optional["Filter"] = None) -> list[Hit]:
        depth = max(k, self.fusion.depth)
        script = language_script(query_lang) if query_lang else dominant_script(query)
        held, groups = self._groups(langs)
        def shared_list() -> list[Hit]:
            lists = self._lists(query, self._toward_only(vector, query_lang, groups), depth, query_lang, script, langs, held, mode, expansions, trust, where)
            known = self._known(lists)
            return [self._hit(doc_id, score, sources, lists, known, explain, query_lang, script)
                    for doc_id, score, sources in self._fuse(lists, k)]

        if self.fusion.calibration == Calibration.POOLED or len(groups) <= 1:
            return shared_list()
        per_lang: dict[Optional[str], tuple[list[_List], list[tuple[str, float, Any]], dict[str, Hit]]] = {}
        for lang in groups:
            if lang is None:
                wide = min(depth * len(groups), 1000)
                lists = []
                for name, hits, w, iw in self._lists(query, vector, wide, query_lang, script, None, [], mode, (),
                                                     trust, where):
                    keep = [i for i, h in enumerate(hits) if h.lang is None][:depth]
                    lists.append((name, [hits[i] for i in keep], w, [iw[i] for i in keep] if iw else None))
            else:
                lists = self._lists(query, self._toward(vector, query_lang, lang), depth, query_lang, script, [lang],
                                    [lang], mode, expansions, trust, where)
            per_lang[lang] = (lists, self._fuse(lists, 2 * depth), self._known(lists))
        dense = [self._dense_of(lists) for lists, _, _ in per_lang.values()]
        on_dense = self.fusion.calibrate_on == CalibrateOn.DENSE and vector is not None
        if not on_dense and any(0 < len(fused) < self.fusion.min_calibration and d is None
                                for (_, fused, _), d in zip(per_lang.values(), dense)):
            # A language with a handful of candidates and no dense scores has no distribution of its own, and its
            # fused scores (min-max within the language) are on no common scale either: one shared list. With dense
            # scores, calibrated_merge measures such a language on them.
            return shared_list()
        merged = calibrated_merge([self._scale_of(fused, d) for (_, fused, _), d in zip(per_lang.values(), dense)],
                                  k, self.fusion.calibration_heads, self.fusion.min_calibration, dense)
        where_from = {d: lang for lang, (_, fused, _) in per_lang.items() for d, _, _ in fused}
        sources_of = {d: src for _, fused, _ in per_lang.values() for d, _, src in fused}
        out = []
        for doc_id, z, raw in merged:
            lists, _, known = per_lang[where_from[doc_id]]
            hit = self._hit(doc_id, z, sources_of[doc_id], lists, known, explain, query_lang, script)
            if hit.explanation is not None:
                hit = hit._replace(explanation=replace(hit.explanation,
                                                       calibration=CalibrationOf(where_from[doc_id], raw, z)))
            out.append(hit)
        return out

    def _toward(self, vector: Any, query_lang: Optional[str], lang: Optional[str]) -> Any:
        """The query vector for the dense search of language `lang`'s documents: moved toward them from the
        query language's (`FusionConfig.centroid_shift`, `Index.query_toward`), or `vector` unmoved."""
        if vector is None or not query_lang or lang is None or self.fusion.centroid_shift <= 0:
            return vector
        moved = self.index.query_toward(vector, query_lang, lang, self.fusion.centroid_shift,
                                        self.fusion.centroid_min_documents)
        return vector if moved is None else moved

    def _toward_only(self, vector: Any, query_lang: Optional[str], groups: Sequence[Optional[str]]) -> Any:
        """Searching one language (a filter to it, or an index holding only it): the query moved toward it
        (`_toward`); several groups in one shared list: unmoved. The core's `toward_the_one_group`."""
        return self._toward(vector, query_lang, groups[0]) if len(groups) == 1 else vector

    def _scale_of(self, fused: Sequence[tuple[str, float, Any]], dense: Optional[list[float]]) -> list[tuple[str, float]]:
        """The scores a language's fused list is calibrated on. `calibrate_on="fused"`: its fused scores.
        "dense": the language's dense scores (`dense`, best first; `_dense_of`) in rank order, given to its fused order (the r-th document of the
        fused list gets the r-th best dense score): within a language the lexical list still decides the
        order, but languages compete on the evidence every language has, so BM25 in the query's own language
        cannot lift that language above the others."""
        if self.fusion.calibrate_on != CalibrateOn.DENSE or not dense:
            return [(d, s) for d, s, _ in fused]
        return [(d, dense[min(r, len(dense) - 1)]) for r, (d, _, _) in enumerate(fused)]

    @staticmethod
    def _dense_of(lists: Sequence["_List"]) -> Optional[list[float]]:
        """A language's dense scores, best first (None when it has no dense list or an empty one)."""
        dense = next((hits for name, hits, _, _ in lists if name == DENSE), None)
        return [h.score for h in dense] if dense else None

    def _groups(self, langs: Optional[Sequence[str]]) -> tuple[list[str], list[Optional[str]]]:
        """The held languages a search reads (all, or those of `langs`), and the groups calibration merges:
        one per language, plus one (None) for the documents of no known language."""
        counts = self.index.languages()
        held = [lang for lang, _ in counts]
        if langs:
            wanted = {normalize_lang(l) for l in langs}
            held = [lang for lang in held if lang in wanted]
        unknown = not langs and len(self.index) > sum(n for _, n in counts)
        return held, [*held, None] if unknown else list(held)

    def _lists(self, query: str, vector: Any, depth: int, query_lang: Optional[str], script: Optional[str],
               langs: Optional[Sequence[str]], held: Sequence[str], mode: Mode, expansions: Sequence["Expansion"],
               trust: dict[str, float], where: Optional["Filter"]) -> list["_List"]:
        """The ranked lists a fusion reads, each (name, hits, list weight, per-hit weights or None): BM25 of the
        query (each hit weighed by how its language relates to the query's), BM25 of the expansions into each
        of `held`, and the dense list."""
        lists: list[_List] = []
        if mode != "dense":
            lexical = self.index.search(query, k=depth, lang=query_lang, langs=langs, where=where)
            lists.append((LEXICAL, lexical, 1.0, [self.fusion.lexical_weight(query_lang, script, h.lang) for h in lexical]))
            for target, texts in self._expansions_by_lang(expansions, query_lang, set(held)).items():
                terms = self._expansion_terms(query, texts, target)
                if terms:
                    hits = self.index.search_terms(terms, k=depth, langs=[target], where=where)
                    confidence = sum(trust.get(t, 1.0) for t in texts) / len(texts)
                    lists.append((expansion_list(target), hits, self.fusion.expansion_lexical * confidence, None))
        if vector is not None:
            lists.append((DENSE, self.index.search_vector(vector, k=depth, langs=langs, where=where,
                                                            passage_weight=self.fusion.passage_weight), self.fusion.dense, None))
        return lists

    def _fuse(self, lists: Sequence["_List"], k: int) -> list[tuple[str, float, Any]]:
        return fuse([[(h.id, h.score) for h in hits] for _, hits, _, _ in lists], [w for _, _, w, _ in lists],
                    self.fusion.method, self.fusion.rrf_k, k, [iw for _, _, _, iw in lists])

    @staticmethod
    def _known(lists: Sequence["_List"]) -> dict[str, Hit]:
        """Each document's hit, the first list naming it winning (the lexical list's key and language)."""
        known: dict[str, Hit] = {}
        for _, hits, _, _ in reversed(lists):
            known.update({h.id: h for h in hits})
        return known

    def _hit(self, doc_id: str, score: float, sources: Sequence[Any], lists: Sequence["_List"], known: dict[str, Hit],
             explain: bool, query_lang: Optional[str], script: Optional[str]) -> Hit:
        h = known[doc_id]
        explanation: Optional[Explanation] = None
        if explain:
            entries: dict[str, Optional[ListEntry]] = {}
            for (name, _, weight, item_weights), src in zip(lists, sources):
                entries[name] = None if src is None else ListEntry(
                    src[0], src[1], item_weights[src[0] - 1] if item_weights else weight)
            explanation = Explanation(query_lang, script, str(self.fusion.method), entries)
        return Hit(h.id, score, h.lang, h.key, explanation=explanation)

    @staticmethod
    def _expansions_by_lang(expansions: Sequence["Expansion"], query_lang: Optional[str],
                            searchable: set[str]) -> dict[str, list[str]]:
        by_lang: dict[str, list[str]] = {}
        for e in expansions:
            target = e.lang or query_lang
            if target and target in searchable:
                by_lang.setdefault(target, []).extend(e.texts)
        return by_lang


_List = tuple[str, list[Hit], float, Optional[list[float]]]
