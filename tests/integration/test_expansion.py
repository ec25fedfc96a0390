"""Query expansion: output cleaning, prompts, the real Gemma 3 270M model from its PyPI packages, the
persistent cache, the time budget, and expansions inside hybrid search and the CLI."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from support.common import SAMPLE, run_xlqe
from xlqe_lite import XlqeError
from xlqe_lite._core import InvalidInputError, dominant_script
from xlqe_lite.expansion import Expander, query_length
from xlqe_lite.expansion.cache import ExpansionCache
from xlqe_lite.expansion.clean import MAX_CHARS, clean_output, in_language
from xlqe_lite.models.llm_registry import DEFAULT_LLM, LLM_MANIFEST, prepare_llm
from xlqe_lite.errors import ModelCorruptError, ModelMissingError
from xlqe_lite.expansion.prompts import EXAMPLE_QUESTIONS, STRATEGIES, build_prompt

# ---------------------------------------------------------------- cleaning (no model needed)


@pytest.mark.parametrize("raw, clean", [
    ("To answer this query, the Panthers gave up 308 points.", "the Panthers gave up 308 points."),
    ("Here is the translation: Wo ist der Bahnhof?", "Wo ist der Bahnhof?"),
    ("Sure! German: Wo ist der Bahnhof?", "Wo ist der Bahnhof?"),
    ("Passage (Chinese): 河上的第一座桥", "河上的第一座桥"),
    ("2000 000 000 000 000 000 000 000 000", "2000 000"),
    ("Wie viele Punkte? Wie viele Punkte? Wie viele Punkte?", "Wie viele Punkte?"),
    ("  \x00\x07 Bonn\u200f ist  schön ", "Bonn ist schön"),
    ("Keywords: bridge, river", "bridge, river"),
])
def test_cleaning_removes_meta_text_labels_and_loops(raw: str, clean: str) -> None:
    assert clean_output(raw) == clean


def test_cleaning_keeps_plain_text_and_only_the_first_line_when_asked() -> None:
    assert clean_output("Super Bowl 50: the game was played in 2016.") == "Super Bowl 50: the game was played in 2016."
    assert clean_output("Wo ist der Bahnhof?\nEnglish: Where is", single_line=True) == "Wo ist der Bahnhof?"
    assert clean_output("How many points? How many points did they score", query="How many points?") == "How many points did they score"


def test_cleaning_survives_output_of_any_shape() -> None:
    rng = random.Random(7)
    alphabet = "ab 0\n\t:：\u200f\u0301\ud800\x00漢字ไทยعربي" + "".join(map(chr, range(32, 127)))
    for n in (0, 1, 10, 1000, 20000):
        for _ in range(20):
            text = "".join(rng.choice(alphabet) for _ in range(n))
            out = clean_output(text)
            assert len(out) <= MAX_CHARS
            assert "\x00" not in out
    assert len(clean_output("word " * 100000)) <= MAX_CHARS


def test_language_check_catches_wrong_scripts_and_copied_queries() -> None:
    assert in_language("河上的第一座桥是什么时候建成的？", "zh")
    assert not in_language("When was the first bridge built?", "zh")
    assert in_language("สะพานแห่งแรกข้ามแม่น้ำ", "th")
    assert not in_language("Когда был построен мост?", "hi")
    assert in_language("Wann wurde die erste Brücke über den Fluss gebaut?", "de", source_lang="en")
    assert not in_language("When was the first bridge over the river built, and by whom was it designed?", "de", source_lang="en")
    assert not in_language("", "de")


def test_query_length_counts_words_in_every_script() -> None:
    assert query_length("how many points did they score") == 6
    assert query_length("黑豹队的防守丢了多少分") == 6
    assert 2 <= query_length("ทีมฟุตบอลมีผู้เล่นกี่คน") <= 6


def test_japanese_is_read_as_text_without_spaces() -> None:
    """dominant_script names Japanese "Jpan" (kana, or kanji beside kana): it is counted by characters like
    Chinese, loops in it are cut, and kanji-only or kana text is accepted as Japanese."""
    assert query_length("スーパーボウルで優勝したのはどのチームですか") == 13  # 22 characters, not 1 word
    assert query_length("東京の大学はどこですか") == 6
    assert clean_output("チームは" + "優勝しました" * 12) == "チームは優勝しました"
    assert in_language("東京の大学はどこですか", "ja") and in_language("北京大学", "ja")
    assert not in_language("Where is the university?", "ja")


# ---------------------------------------------------------------- prompts


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("shots", ["zero", "few"])
def test_every_strategy_has_zero_and_few_shot_prompts(strategy: str, shots: str) -> None:
    p = build_prompt(strategy, "How many points did the defense give up?", "en", "de", shots)  # type: ignore[arg-type]
    assert "How many points did the defense give up?" in p.suffix
    assert p.prefix not in ("", None) and p.stop
    if shots == "few" and strategy in ("translate", "expand-translate"):
        assert EXAMPLE_QUESTIONS["de"][0] in p.prefix or "Die erste Brücke" in p.prefix
    # The shared part does not depend on the query, so the model keeps it between queries.
    assert build_prompt(strategy, "Another question?", "en", "de", shots).prefix == p.prefix  # type: ignore[arg-type]


def test_few_shot_falls_back_to_zero_shot_without_examples() -> None:
    assert build_prompt("translate", "Hujambo?", "sw", "de", "few").shots == "zero"
    assert build_prompt("translate", "Hello?", "en", "ko", "few").shots == "few"
    with pytest.raises(ValueError):
        build_prompt("poetry", "x", "en", "de", "few")


# ---------------------------------------------------------------- the real model


@pytest.fixture
def expander(gemma: Path, tmp_path: Path) -> Expander:
    return Expander(cache=tmp_path / "cache.sqlite3")


@pytest.mark.model
def test_prepared_model_is_the_published_file(gemma: Path) -> None:
    from xlqe_lite.fileio import sha256_file

    assert gemma.stat().st_size == LLM_MANIFEST[DEFAULT_LLM].size
    assert sha256_file(gemma) == LLM_MANIFEST[DEFAULT_LLM].sha256


@pytest.mark.model
def test_translation_lands_in_the_target_languages_and_scripts(expander: Expander) -> None:
    out = expander.expand("Where is the nearest hospital?", strategy="translate", shots="few", query_lang="en",
                          target_langs=["de", "zh", "en"])
    assert [e.lang for e in out] == ["de", "zh"]  # never into the query's own language
    by_lang = {e.lang: e for e in out}
    assert by_lang["de"].texts and dominant_script(by_lang["de"].texts[0]) == "Latn"
    assert by_lang["de"].texts[0] != "Where is the nearest hospital?"
    assert by_lang["zh"].texts and dominant_script(by_lang["zh"].texts[0]) == "Hani"
    assert all(not e.cached and e.complete for e in out)


@pytest.mark.model
def test_expansion_is_deterministic_and_cached(expander: Expander, tmp_path: Path) -> None:
    query = "Who built the first railway in Germany?"
    first = expander.expand(query, strategy="translate+keywords", shots="few", query_lang="en", target_langs=["ru"])
    fresh = Expander(cache=False).expand(query, strategy="translate+keywords", shots="few", query_lang="en", target_langs=["ru"])
    assert [e.texts for e in first] == [e.texts for e in fresh]
    t0 = time.perf_counter()
    again = expander.expand(query, strategy="translate+keywords", shots="few", query_lang="en", target_langs=["ru"])
    elapsed = time.perf_counter() - t0
    assert all(e.cached for e in again) and [e.texts for e in again] == [e.texts for e in first]
    assert elapsed < 0.05, elapsed  # a lookup, not a generation (the issue asks < 5 ms; see BENCHMARKS.md)
    # Another process sees the same cache file.
    other = Expander(cache=expander.cache.path)
    assert all(e.cached for e in other.expand(query, strategy="translate+keywords", shots="few", query_lang="en",
                                               target_langs=["ru"]))
    # A different strategy or target is a different key.
    assert not expander.expand(query, strategy="translate", shots="zero", query_lang="en", target_langs=["ru"])[0].cached


@pytest.mark.model
@pytest.mark.parametrize("strategy", ["query2doc", "hyde", "expand-translate", "cot", "rephrase"])
def test_generative_strategies_write_clean_text(expander: Expander, strategy: str) -> None:
    out = expander.expand("Why is the sky blue?", strategy=strategy, shots="few", query_lang="en", target_langs=["es"])
    assert len(out) == 1
    e = out[0]
    assert e.lang == ("es" if strategy == "expand-translate" else "en")
    for text in e.texts:
        assert text and len(text) <= MAX_CHARS
        assert not text.lower().startswith(("to answer", "here is", "passage:", "question:"))
    if strategy == "hyde":
        assert len(e.texts) >= 1  # up to three samples, duplicates dropped


@pytest.mark.model
def test_threads_share_one_model_safely(expander: Expander) -> None:
    from concurrent.futures import ThreadPoolExecutor

    queries = ["Where is the station?", "Who wrote the book?", "When does the shop open?", "Why is the sea salty?"]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: expander.expand(q, strategy="translate", shots="few", query_lang="en",
                                                            target_langs=["de"])[0].texts, queries))
    alone = [Expander(cache=False).expand(q, strategy="translate", shots="few", query_lang="en",
                                          target_langs=["de"])[0].texts for q in queries]
    assert together == alone and all(together)


@pytest.mark.slow
@pytest.mark.model
def test_target_languages_are_decoded_together_and_keep_their_examples(gemma: Path) -> None:
    """A query's target languages are one batch (llm_batch.py). Each slot keeps its prompt's examples, so
    the next few-shot query reads only its own lines, even after a zero-shot query in between."""
    langs = ["de", "es", "ru", "zh", "th", "ar"]
    scripts = {"de": "Latn", "es": "Latn", "ru": "Cyrl", "zh": "Hani", "th": "Thai", "ar": "Arab"}
    expander = Expander(cache=False, isolate=False)  # in-process, to see the decoder's state
    model = expander.model
    first = "How many points did the Panthers defense give up in the regular season of that year?"
    out = expander.expand(first, strategy="translate", shots="few", query_lang="en", target_langs=langs)
    batcher = model._batcher
    assert batcher is not None and [e.lang for e in out] == langs
    assert sum(bool(e.texts) and dominant_script(e.texts[0]) == scripts[e.lang] for e in out) >= 5, out
    expander.expand("Who won?", strategy="translate", shots="zero", query_lang="en", target_langs=langs)
    second = "Which team did the Broncos beat in the championship game to reach the final that season?"
    prompts = [model._prompt_tokens(build_prompt("translate", second, "en", lang, "few")) for lang in langs]
    read = batcher.tokens_read
    expander.expand(second, strategy="translate", shots="few", query_lang="en", target_langs=langs)
    own_lines = sum(len(tokens) - head for tokens, head in prompts)
    assert 0 < batcher.tokens_read - read <= own_lines < sum(len(tokens) for tokens, _ in prompts) // 3


@pytest.mark.slow
@pytest.mark.model
def test_batched_decoding_is_reproducible_and_answers_every_prompt(gemma: Path) -> None:
    """From the same decoder state the same requests give the same answers; a prompt too long for a batch
    slot is answered on its own, in its place."""
    from xlqe_lite.expansion.llm.batch import SLOT_TOKENS

    expander = Expander(cache=False, isolate=False)
    model = expander.model
    queries = ["Wo steht der älteste Leuchtturm der Welt und wann wurde er gebaut?", "Wer?"]
    langs = ["en", "fr", "ja", "hi"]

    def run() -> list[tuple[str, ...]]:
        if model._batcher is not None:
            model._batcher.close()
            model._batcher = None
        return [e.texts for q in queries for e in expander.expand(q, strategy="translate", query_lang="de",
                                                                  target_langs=langs)]

    assert run() == run()
    long_query = " ".join(["Der Leuchtturm von Alexandria stand auf der Insel Pharos vor der Stadt."] * 24)
    prompts = [build_prompt("translate", q, "de", "en", "few") for q in ("Wer baute ihn?", long_query, "Wann?")]
    assert len(model._prompt_tokens(prompts[1])[0]) + 48 > SLOT_TOKENS
    answers = model.complete_many(prompts, max_tokens=48)
    assert len(answers) == 3 and all(a.finish in ("stop", "length", "loop") for a in answers)
    assert "lighthouse" in answers[1].text.lower() or "alexandria" in answers[1].text.lower(), answers[1]
    alone = model.complete(prompts[1], max_tokens=48)
    assert alone.text == answers[1].text


@pytest.mark.model
def test_a_failed_batch_is_answered_one_by_one(gemma: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xlqe_lite.expansion.llm.batch import BatchDecoder

    model = Expander(cache=False, isolate=False).model
    prompts = [build_prompt("translate", "Where is the station?", "en", lang, "few") for lang in ("de", "es")]
    expected = [model.complete(p, max_tokens=48).text for p in prompts]

    def fail(*args, **kwargs):
        raise RuntimeError("llama_decode failed with status 1")

    monkeypatch.setattr(BatchDecoder, "decode", fail)
    assert [c.text for c in model.complete_many(prompts, max_tokens=48)] == expected


@pytest.mark.model
def test_time_budget_stops_generation_and_is_not_cached(expander: Expander) -> None:
    expander.load()  # start the worker first: the budget is for generation
    out = expander.expand("Describe the history of the Roman Empire in detail.", strategy="query2doc+translate",
                          shots="few", query_lang="en", target_langs=["de", "zh", "th"], budget=0.15)
    # A 96-token passage cannot be written in 0.15 s: it is cut, and the three translations never start.
    assert [e.strategy for e in out] == ["query2doc", "translate", "translate", "translate"]
    assert not out[0].complete
    assert all(not e.complete and not e.texts and e.seconds == 0.0 for e in out[1:])
    assert len(expander.cache) == 0  # nothing cut short is cached
    again = expander.expand("Describe the history of the Roman Empire in detail.", strategy="translate", shots="few",
                            query_lang="en", target_langs=["de"])
    assert again[0].complete and not again[0].cached and len(expander.cache) == 1


@pytest.mark.model
def test_auto_uses_zero_shot_for_short_queries_and_few_shot_for_long_ones(expander: Expander) -> None:
    assert expander.choose("Who won?") == (["translate"], "zero")
    assert expander.choose("How many points did the Panthers defense give up in the regular season?") == (["translate"], "few")
    assert expander.choose("x", "keywords+translate", "few") == (["keywords", "translate"], "few")


@pytest.mark.model
def test_bad_queries_and_models_give_clear_errors(gemma: Path, tmp_path: Path) -> None:
    ex = Expander(cache=False)
    with pytest.raises(InvalidInputError, match="empty"):
        ex.expand("   ", query_lang="en", target_langs=["de"])
    with pytest.raises(InvalidInputError, match="characters"):
        ex.expand("word " * 1000, query_lang="en", target_langs=["de"])
    with pytest.raises(InvalidInputError, match="context holds"):
        Expander(cache=False, n_ctx=256).expand("ทีมฟุตบอลมีผู้เล่นกี่คน " * 20, shots="few", query_lang="th",
                                                target_langs=["hi"])
    with pytest.raises(InvalidInputError, match="strategy"):
        ex.expand("hello", strategy="magic", query_lang="en", target_langs=["de"])
    with pytest.raises(ModelMissingError, match="no LLM"):
        Expander(str(tmp_path / "missing.gguf"))
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model at all" * 100)
    with pytest.raises(ModelCorruptError, match="GGUF"):
        Expander(str(fake))
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(gemma.read_bytes()[: 1 << 20])
    with pytest.raises(ModelCorruptError, match="could not load"):
        Expander(str(truncated), cache=False).expand("hello there", query_lang="en", target_langs=["de"])
    assert issubclass(ModelCorruptError, XlqeError)


def test_damaged_cache_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"\x00garbage" * 1000)
    cache = ExpansionCache(path)
    cache.put("k", ["v"])
    assert cache.get("k") == ["v"]
    assert path.with_suffix(".damaged").exists()


# ---------------------------------------------------------------- in retrieval


@pytest.fixture(scope="module")
def sample_engine(tmp_path_factory, gemma: Path):
    from xlqe_lite.search import SearchEngine

    index_dir = tmp_path_factory.mktemp("expanded") / "index"
    run_xlqe("index", str(index_dir), str(SAMPLE), check=True)
    cache = tmp_path_factory.mktemp("cache") / "cache.sqlite3"
    return SearchEngine.open(index_dir, expander=Expander(cache=cache))


@pytest.mark.model
def test_search_with_expansion_adds_a_lexical_list_per_target_language(sample_engine) -> None:
    query = "How many points did the Panthers defense give up?"
    hits = sample_engine.search(query, k=5, lang="en", langs=["zh", "de"], expand="translate", explain=True)
    assert hits
    e = hits[0].explanation
    assert e is not None
    assert set(e.expansions) <= {"zh", "de"} and e.expansions
    assert any(name.startswith("bm25[") for name in e.lists)
    # The right paragraph (xq-p000) stays on top in both languages with the expansion.
    top = {h.lang: h.id for h in reversed(hits)}
    assert top.get("zh") == "xq-p000.zh" or top.get("de") == "xq-p000.de"


@pytest.mark.model
def test_cached_expansions_keep_their_embeddings(sample_engine) -> None:
    """A query asked again reads its expansions and their embeddings from the cache: the encoder runs
    for the query alone, and the ranking is the one the first search gave."""
    import numpy as np

    from xlqe_lite.models.embedding_cache import encoder_identity

    query = "Who was the quarterback of the Broncos in the final?"
    first = sample_engine.search(query, k=10, lang="en", langs=["zh", "th"], expand="translate")
    expansions = sample_engine.expand(query, strategy="translate", lang="en", langs=["zh", "th"])
    texts = [t for e in expansions for t in e.texts]
    assert texts and all(e.cached for e in expansions)
    encoder = sample_engine.encoder
    stored = sample_engine.expander.cache.get_vectors(encoder_identity(encoder), texts, encoder.dim)
    assert set(stored) == set(texts)
    assert np.allclose(np.stack([stored[t] for t in texts]), encoder.encode_queries(texts), atol=1e-5)
    calls = []
    real = encoder.encode

    def counting(batch, *args, **kwargs):
        calls.append(list(batch) if not isinstance(batch, str) else [batch])
        return real(batch, *args, **kwargs)

    encoder.encode = counting
    try:
        again = sample_engine.search(query, k=10, lang="en", langs=["zh", "th"], expand="translate")
    finally:
        del encoder.encode
    assert calls == [[query]]
    assert [h.id for h in again] == [h.id for h in first]


@pytest.mark.model
def test_expansion_targets_are_the_index_languages(sample_engine) -> None:
    targets = sample_engine.expansion_targets("en")
    assert "en" not in targets and {"zh", "de", "th"} <= set(targets)
    assert sample_engine.expansion_targets("en", langs=["zh", "ko"]) == ["zh"]  # ko: none in the index
    assert sample_engine.expansion_targets("de", langs=["zh"]) == ["zh", "en"]  # English as the pivot
    assert sample_engine.expansion_targets("de", langs=["de"]) == []  # nothing to translate into
    assert len(sample_engine.expansion_targets("en", max_langs=3)) == 3


@pytest.mark.model
def test_cli_search_expand_json(tmp_path: Path, gemma: Path) -> None:
    index_dir = tmp_path / "index"
    run_xlqe("index", str(index_dir), str(SAMPLE), check=True)
    proc = run_xlqe("search", str(index_dir), "How many points did the Panthers defense give up?", "--query-lang", "en",
                    "--lang", "zh,th", "--expand", "translate", "--shots", "few", "--budget", "120", "--json", "--explain", "-k", "3",
                    check=True)
    out = json.loads(proc.stdout)
    assert {e["lang"] for e in out["expansions"]} == {"zh", "th"}
    assert all(e["texts"] for e in out["expansions"])  # few-shot: both languages get a translation
    shown = out["hits"][0]["explanation"]["expansions"]
    assert len(out["hits"]) == 3 and set(shown) == {"zh", "th"}
    assert all(set(item) == {"text", "used"} for items in shown.values() for item in items)
    proc = run_xlqe("search", str(index_dir), "hello", "--expand", "magic")
    assert proc.returncode == 2 and "unknown expansion strategy" in proc.stderr
    proc = run_xlqe("search", str(index_dir), "hello", "--expand", "translate", "--llm", str(tmp_path / "none.gguf"))
    assert proc.returncode == 2 and "unknown LLM" in proc.stderr and "gemma-3-270m" in proc.stderr


@pytest.mark.bench
@pytest.mark.model
def test_cli_eval_with_expansion(tmp_path: Path, bench: Path, gemma: Path) -> None:
    run = tmp_path / "x.run"
    proc = run_xlqe("eval", "--bench", str(bench), "--mode", "hybrid", "--langs", "en,zh", "--pairs", "cross",
                    "--sample", "3", "--expand", "translate", "--shots", "few", "--run", str(run),
                    "--json", str(tmp_path / "x.json"), check=True)
    result = json.loads((tmp_path / "x.json").read_text())
    assert result["config"]["expand"] == "translate" and result["macro"]["CROSS"]["pairs"] == 2
    assert result["micro"]["units"] == 6 and "macro CROSS" in proc.stdout
    assert (tmp_path / "x.run.qrels.tsv").exists()
    # BM25 alone cannot cross from English to Chinese; the translation's own BM25 list can.
    common = ["eval", "--bench", str(bench), "--mode", "bm25", "--langs", "en,zh", "--pairs", "cross", "--sample", "3"]
    run_xlqe(*common, "--run", str(tmp_path / "b.run"), "--json", str(tmp_path / "b.json"), check=True)
    run_xlqe(*common, "--expand", "translate", "--shots", "few", "--run", str(tmp_path / "bx.run"),
             "--json", str(tmp_path / "bx.json"), check=True)
    plain, expanded = (json.loads((tmp_path / f).read_text()) for f in ("b.json", "bx.json"))
    zh_docs = lambda run: sum(1 for line in run.read_text().splitlines() if line.split()[2].endswith(".zh"))  # noqa: E731
    assert zh_docs(tmp_path / "b.run") == 0 and zh_docs(tmp_path / "bx.run") > 0
    assert expanded["macro"]["CROSS"]["pairs"] == 2 > plain["macro"]["CROSS"]["pairs"]
