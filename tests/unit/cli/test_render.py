"""What the CLI prints for programs is always valid JSON."""

from __future__ import annotations

import json

import pyarrow as pa

from stedi.cli.render import as_json, rows_as_text


def test_non_finite_numbers_become_strings_in_json() -> None:
    table = pa.table({"x": [1.5, float("nan"), float("inf"), float("-inf"), None]})
    parsed = json.loads(rows_as_text(table, "json"))
    assert [r["x"] for r in parsed] == [1.5, "NaN", "Infinity", "-Infinity", None]
    assert json.loads(as_json({"a": [float("nan")]})) == {"a": ["NaN"]}
