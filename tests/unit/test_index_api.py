"""The Python Index as an application uses it: lifecycle, updates, filters, errors, threads."""

from __future__ import annotations

import threading

import pytest

from xlqe_lite import (
    Document,
    Index,
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    InvalidInputError,
    XlqeError,
)


@pytest.fixture
def index(tmp_path):
    ix = Index.create(tmp_path / "ix")
    ix.add_many(
        [
            Document("en1", "The Panthers won the Super Bowl in Santa Clara.", "en", {"source": "wiki"}),
            {"id": "de1", "text": "Die Broncos gewannen den Super Bowl gegen die Panthers.", "lang": "de"},
            {"id": "zh1", "text": "北京大学是中国的一所大学。", "lang": "zh"},
        ]
    )
    ix.commit()
    yield ix
    ix.close()


def test_search_returns_ranked_hits_with_snippets(index: Index) -> None:
    hits = index.search("who won the super bowl", lang="en", snippets=True)
    assert [h.id for h in hits] == ["en1", "de1"]
    assert hits[0].score > hits[1].score > 0
    assert hits[0].lang == "en"
    assert "Super Bowl" in hits[0].snippet
    assert [hits[0].snippet[a:b] for a, b in hits[0].highlights] == ["won", "Super", "Bowl"]


def test_language_filter_and_cjk(index: Index) -> None:
    assert [h.id for h in index.search("super bowl", langs=["de"])] == ["de1"]
    assert [h.id for h in index.search("大学")] == ["zh1"]
    assert index.languages() == [("de", 1), ("en", 1), ("zh", 1)]


def test_update_delete_and_metadata_round_trip(index: Index, tmp_path) -> None:
    assert index.get("en1").metadata == {"source": "wiki"}
    index.add("en1", "Rivers and lakes.", lang="en", metadata={"v": 2})
    assert index.delete("zh1") and not index.delete("zh1")
    index.commit()
    reader = Index.open(tmp_path / "ix")
    assert len(reader) == 2 and "zh1" not in reader
    assert reader.get("en1").text == "Rivers and lakes." and reader.get("en1").metadata == {"v": 2}
    assert reader.verify() == []


def test_context_manager_commits_or_rolls_back(tmp_path) -> None:
    with Index.create(tmp_path / "a") as ix:
        ix.add("x", "kept", lang="en")
    assert len(Index.open(tmp_path / "a")) == 1
    with pytest.raises(RuntimeError):
        with Index.open(tmp_path / "a", writer=True) as ix:
            ix.add("y", "dropped", lang="en")
            raise RuntimeError("boom")
    reopened = Index.open(tmp_path / "a")
    assert "y" not in reopened and len(reopened) == 1


def test_one_writer_many_readers(index: Index, tmp_path) -> None:
    with pytest.raises(IndexLockedError):
        Index.open(tmp_path / "ix", writer=True)
    reader = Index.open(tmp_path / "ix")
    index.add("new", "fresh words", lang="en")
    assert reader.search("fresh") == []  # uncommitted work is invisible to readers
    index.commit()
    assert reader.reload() and [h.id for h in reader.search("fresh")] == ["new"]
    with pytest.raises(InvalidInputError, match="read-only"):
        reader.add("z", "no")
    index.close()
    Index.open(tmp_path / "ix", writer=True).close()  # the lock is released on close


def test_errors_are_clear_and_typed(tmp_path, index: Index) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        index.search("  ")
    with pytest.raises(InvalidInputError, match="unknown language code"):
        index.search("x", lang="zz")
    with pytest.raises(InvalidInputError):
        index.add("", "text")
    with pytest.raises(InvalidInputError, match="JSON"):
        index.add("m", "text", metadata={"bad": object()})
    with pytest.raises(IndexNotFoundError):
        Index.open(tmp_path / "missing")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "file.txt").write_text("hi")
    with pytest.raises(IndexCorruptError, match="not an xlqe index"):
        Index.open(tmp_path / "foreign")
    with pytest.raises(InvalidInputError, match="not an empty directory"):
        Index.create(tmp_path / "foreign")
    assert issubclass(IndexLockedError, XlqeError)
    # A 100k-character query is fine; so is one made only of punctuation.
    assert isinstance(index.search("bowl " * 20_000), list)
    assert index.search("?!…") == []


def test_searches_from_many_threads_agree(index: Index) -> None:
    expected = [h.id for h in index.search("super bowl panthers")]
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(200):
                results.append([h.id for h in index.search("super bowl panthers")])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 800 and all(r == expected for r in results)


def test_query_language_is_guessed_among_the_index_languages(tmp_path) -> None:
    from xlqe_lite import SearchEngine, detect_language

    ix = Index.create(tmp_path / "ix")
    ix.add_many([{"id": "ru1", "text": "Защита команды пропустила всего 308 очков.", "lang": "ru"},
                 {"id": "de1", "text": "Die Verteidigung gab nur 308 Punkte ab.", "lang": "de"}])
    ix.commit()
    engine = SearchEngine(ix)
    russian, ukrainian = "Сколько перехватов сделала защита?", "Скільки очок пропустив захист пантер у сезоні?"
    assert detect_language(russian) == "uk"  # unrestricted, whatlang's guess
    assert engine.guess_query_language(russian) == "ru"
    assert engine.guess_query_language("Wie viele Interceptions hatte die Verteidigung der Panthers?") == "de"
    assert engine.guess_query_language("12345 ???") is None
    # A language the index holds is a candidate even where xlqe has no rules of its own for it.
    assert engine.guess_query_language(ukrainian) == "ru"
    ix.add("uk1", "Захист команди пропустив лише 308 очок.", lang="uk")
    ix.commit()
    assert engine.guess_query_language(ukrainian) == "uk"
    ix.close()
