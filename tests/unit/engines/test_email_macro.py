"""The embedded engine's `normalised_email` lower-cases by Unicode's full rules, as Python and Spark do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stedi.engines.duckdb import DuckDBEngine


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    made = DuckDBEngine(None)
    yield made
    made.close()


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Bob@X.com\t\r\n", "bob@x.com"),
        ("ΟΔΟΣ@X.COM", "\u03bf\u03b4\u03bf\u03c2@x.com"),  # a capital sigma ending a word is ς
        ("ΣΑΣ@x.gr", "\u03c3\u03b1\u03c2@x.gr"),  # σ, then ς at the word's end
        ("Σ@x.gr", "\u03c3@x.gr"),  # a sigma alone ends no word: σ
        ("İvan@x.com", "i\u0307van@x.com"),  # İ is i and a combining dot above
        ("STRASSE@x.de", "strasse@x.de"),
        ("Ünal@X.COM", "\u00fcnal@x.com"),
    ],
)
def test_addresses_are_lower_cased_by_unicode_rules(engine: DuckDBEngine, raw: str, normalised: str) -> None:
    ((found,),) = engine.rows(f"SELECT normalised_email('{raw}')")
    assert found == normalised


def test_a_column_of_mixed_addresses_and_nulls(engine: DuckDBEngine) -> None:
    rows = engine.rows(
        "SELECT normalised_email(v) FROM (SELECT unnest(['A@x.com', NULL, 'ΟΔΟΣ@x.com', 'A@x.com', 'ΟΔΟΣ@x.com']) AS v"
        " FROM range(3000)) ORDER BY ALL"
    )
    values = [r[0] for r in rows]
    assert values.count("a@x.com") == 6000 and values.count("\u03bf\u03b4\u03bf\u03c2@x.com") == 6000
    assert values.count(None) == 3000
