"""Merging per-language lists fairly across languages (issue 16)."""

from __future__ import annotations

import pytest

from xlqe_lite.search import calibrated_merge


def test_calibrated_merge_compares_each_language_on_its_own_scale() -> None:
    """English scores sit higher overall (the query's language); the Chinese list's top stands out more."""
    en = [("a.en", 0.90), ("b.en", 0.89), ("c.en", 0.88), ("d.en", 0.87)]
    zh = [("a.zh", 0.86), ("b.zh", 0.70), ("c.zh", 0.69), ("d.zh", 0.68)]
    merged = calibrated_merge({"en": [("dense", en, 1.0)], "zh": [("dense", zh, 1.0)]}, k=3, min_calibration=2)
    assert [d for d, _, _ in merged][0] == "a.zh"
    assert merged[0][2]["dense"]["rank"] == 1 and merged[0][2]["dense"]["score"] == pytest.approx(0.86)
    # Short lists borrow the statistics of every list of their kind.
    short = calibrated_merge({"en": [("dense", en[:1], 1.0)], "zh": [("dense", zh, 1.0)]}, k=5, min_calibration=2)
    assert {d for d, _, _ in short} == {"a.en", "a.zh", "b.zh", "c.zh", "d.zh"}
