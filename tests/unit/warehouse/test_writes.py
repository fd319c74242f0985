"""Writes of a local warehouse: data files written by DuckDB and added to the Iceberg commit."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from stedi.errors import WarehouseError
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.rows import Rows
from stedi.warehouse.writes import write


def _rows(sql: str) -> Rows:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS {sql}")
    return Rows(con, "t")


def _data_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*.parquet")}


def test_rows_of_a_relation_are_written_by_duckdb_and_read_back_by_pyiceberg(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh", create=True)
    commit = write(warehouse, "t", _rows("SELECT range AS id, 'n' || range AS name FROM range(1000)"))
    assert commit.rows == 1000
    assert any(name.startswith("stedi-") for name in _data_files(tmp_path / "wh"))
    back = warehouse.load("t").scan().to_arrow().sort_by("id")  # through Iceberg's own reader
    assert back.column("id").to_pylist() == list(range(1000))


def test_a_required_column_holding_nulls_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh", create=True)
    declared = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    first = _rows("SELECT range AS id FROM range(3)")
    write(warehouse, "t", Rows(first.con, "t", declared))
    before = _data_files(tmp_path / "wh")
    with pytest.raises(WarehouseError, match="required column id holds nulls"):
        write(warehouse, "t", _rows("SELECT NULL::BIGINT AS id UNION ALL SELECT 1"))
    assert _data_files(tmp_path / "wh") == before
    assert warehouse.describe("t").rows == 3


def test_a_new_column_is_read_by_name_after_the_schema_grows(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh", create=True)
    write(warehouse, "t", _rows("SELECT range AS id FROM range(3)"))
    write(warehouse, "t", _rows("SELECT range AS id, range * 10 AS extra FROM range(3)"))
    back = warehouse.load("t").scan().to_arrow().sort_by("id")
    assert back.column("extra").to_pylist() == [0, 10, 20]


def test_a_moved_warehouse_writes_its_files_at_its_new_place(tmp_path: Path) -> None:
    write(Warehouse(tmp_path / "old", create=True), "t", _rows("SELECT range AS id FROM range(1)"))
    shutil.move(tmp_path / "old", tmp_path / "new")
    moved = Warehouse(tmp_path / "new")
    write(moved, "t", _rows("SELECT range AS id FROM range(5)"))
    assert not (tmp_path / "old").exists()
    assert moved.load("t").scan().to_arrow().num_rows == 5
