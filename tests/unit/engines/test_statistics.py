"""The embedded engine's estimate of a column's distinct values, from the statistics DuckDB keeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stedi.engines.duckdb import DuckDBEngine


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    engine = DuckDBEngine(None)
    engine.con.execute(
        "CREATE TABLE readings AS SELECT CAST(i % 11 AS DOUBLE) AS few, i AS many, CAST(i % 7 AS INTEGER) AS small, "
        "CAST(i % 3 AS VARCHAR) AS text FROM range(200000) AS r(i)"
    )
    engine.con.execute("CREATE TABLE nothing (x DOUBLE)")
    try:
        yield engine
    finally:
        engine.close()


def test_a_table_column_has_an_estimate_near_its_distinct_values(engine: DuckDBEngine) -> None:
    few, many, small = (engine.distinct_estimate("readings", c) for c in ("few", "many", "small"))
    assert few is not None and 8 <= few <= 15
    assert small is not None and 5 <= small <= 10
    assert many is not None and 150_000 <= many <= 260_000


def test_no_estimate_where_the_engine_keeps_none_or_the_median_would_not_be_a_double(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    engine.con.execute(f"COPY readings TO '{tmp_path / 'r.parquet'}' (FORMAT parquet)")
    engine.con.execute(f"CREATE VIEW from_files AS SELECT * FROM read_parquet('{tmp_path / 'r.parquet'}')")
    assert engine.distinct_estimate("from_files", "few") is None  # Parquet files carry no such statistic
    assert engine.distinct_estimate("readings", "text") is None  # not a number
    assert engine.distinct_estimate("nothing", "x") is None  # no rows
    assert engine.distinct_estimate("readings", "absent") is None
    assert engine.distinct_estimate("absent", "few") is None
