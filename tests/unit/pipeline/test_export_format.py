"""Which format `stedi export` writes: the one asked for, else the one OUT's name ends with, else Parquet."""

from __future__ import annotations

import pytest

from stedi.errors import UsageError
from stedi.pipeline.export import format_for


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("customers.csv", "csv"),
        ("customers.CSV", "csv"),
        ("rows.jsonl", "jsonl"),
        ("rows.ndjson", "jsonl"),
        ("rows.json", "jsonl"),
        ("ml.parquet", "parquet"),
        ("ml.pq", "parquet"),
        ("ml", "parquet"),
        ("ml.v2", "parquet"),
    ],
)
def test_the_suffix_of_out_names_the_format_when_none_is_asked_for(out: str, expected: str) -> None:
    assert format_for(out, None) == expected


def test_an_asked_format_stands_for_a_name_without_a_known_suffix() -> None:
    assert format_for("customers", "csv") == "csv"
    assert format_for("customers.txt", "jsonl") == "jsonl"


def test_an_asked_format_that_the_suffix_contradicts_is_refused() -> None:
    with pytest.raises(UsageError, match=r"customers\.csv names a csv file .* --format is parquet"):
        format_for("customers.csv", "parquet")
