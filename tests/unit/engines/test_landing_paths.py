"""The embedded engine's landing tables name each row's file by its path: read, compared, grouped,
sorted and written as the path's text, whatever the engine stores per row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from stedi.contract.sources import SOURCES
from stedi.engines.duckdb import DuckDBEngine
from stedi.reading.landing import discover
from stedi.warehouse.rows import Rows
from tests.support.landing import step

STEP_TRAINER = next(s for s in SOURCES if s.name == "step_trainer")
# Paths whose order as text is not the order they were written in, with a quote and a letter beyond
# ASCII: "a.json" < "a/z.json" < "b.json" < "it's.json" < "z.json" < "ä.json" by code point.
FILES = {
    "z.json": step("S1", 1),
    "ä.json": step("S1", 2) + "\n" + step("S1", 3),
    "b.json": step("S2", 4),
    "a/z.json": step("S3", 5),
    "a.json": step("S4", 6),
    "it's.json": step("S5", 7),
}
IN_TEXT_ORDER = ["a.json", "a/z.json", "b.json", "it's.json", "z.json", "ä.json"]


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    made = DuckDBEngine(None)
    try:
        yield made
    finally:
        made.close()


def _ingest(engine: DuckDBEngine, make_landing: Any, files: dict[str, str]) -> list[str]:
    root = make_landing(step_trainer=files)
    listing = discover(str(root), STEP_TRAINER.name)
    engine.ingest(str(root), STEP_TRAINER, listing.files)
    return [f.relative for f in listing.files]


def test_rows_name_their_file_by_path_in_the_paths_order(engine: DuckDBEngine, make_landing: Any) -> None:
    paths = _ingest(engine, make_landing, FILES)
    expected = [(f"step_trainer/landing/{name}", FILES[name].count("\n") + 1) for name in IN_TEXT_ORDER]
    assert sorted(paths) == [path for path, _ in expected]
    grouped = engine.fetch_rows("SELECT source_file, COUNT(*) FROM step_trainer_landing GROUP BY 1 ORDER BY 1")
    assert grouped == expected
    # Descending too, as customer_standing orders by file to break ties; and compared with text,
    # including a path that no row has.
    latest = engine.fetch_rows("SELECT source_file FROM step_trainer_landing ORDER BY source_file DESC LIMIT 1")
    assert latest == [("step_trainer/landing/ä.json",)]
    found = engine.fetch_rows(
        "SELECT COUNT(*) FROM step_trainer_landing WHERE source_file IN ('step_trainer/landing/b.json', 'nowhere')"
    )
    assert found == [(1,)]
    # A union with rows whose file column is text (the rows kept from a published table) is text.
    engine.build("kept", "SELECT 'step_trainer/landing/0.json' AS source_file")
    merged = engine.fetch_rows(
        "SELECT source_file FROM (SELECT source_file FROM kept UNION ALL SELECT source_file FROM step_trainer_landing) "
        "ORDER BY source_file LIMIT 2"
    )
    assert merged == [("step_trainer/landing/0.json",), ("step_trainer/landing/a.json",)]


def test_a_source_read_again_and_a_source_with_no_files(engine: DuckDBEngine, make_landing: Any) -> None:
    _ingest(engine, make_landing, {"one.json": step("S1", 1)})
    _ingest(engine, make_landing, {"one.json": step("S1", 1), "two.json": step("S1", 2)})
    assert engine.fetch_rows("SELECT source_file FROM step_trainer_landing ORDER BY 1") == [
        ("step_trainer/landing/one.json",),
        ("step_trainer/landing/two.json",),
    ]
    engine.ingest("unused", STEP_TRAINER, [])
    assert engine.fetch_rows("SELECT COUNT(*) FROM step_trainer_landing") == [(0,)]


def test_the_written_rows_are_those_of_a_text_column(engine: DuckDBEngine, make_landing: Any, tmp_path: Path) -> None:
    _ingest(engine, make_landing, FILES)
    engine.build("as_text", "SELECT * REPLACE (source_file::VARCHAR AS source_file) FROM step_trainer_landing")
    landing, text = engine.rows_of("step_trainer_landing"), engine.rows_of("as_text")
    undeclared = Rows(engine.con.cursor(), "step_trainer_landing")
    try:
        # The same fingerprint: a table written before keeps matching its rows.
        assert landing.measure == text.measure
        assert undeclared.schema.field("source_file").type == "string"
        read = undeclared.reader(undeclared.schema).read_all()
        assert sorted(read.column("source_file").to_pylist()) == sorted(
            text.reader(text.schema).read_all().column("source_file").to_pylist()
        )
        written = landing.copy_to(str(tmp_path / "out"), landing.schema, 1 << 20)
        table = pq.read_table(written)
        assert table.schema.field("source_file").type == "string"
        assert sorted(set(table.column("source_file").to_pylist())) == [
            f"step_trainer/landing/{name}" for name in IN_TEXT_ORDER
        ]
    finally:
        for rows in (landing, text, undeclared):
            rows.con.close()
