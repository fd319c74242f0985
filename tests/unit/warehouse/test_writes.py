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


def test_data_files_written_by_duckdb_are_zstd_compressed(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    warehouse = Warehouse(tmp_path / "wh", create=True)
    write(warehouse, "t", _rows("SELECT range AS id, 'n' || (range % 10) AS name FROM range(100000)"))
    files = list((tmp_path / "wh").rglob("stedi-*.parquet"))
    assert files
    for path in files:
        meta = pq.ParquetFile(path).metadata
        codecs = {meta.row_group(g).column(c).compression for g in range(meta.num_row_groups) for c in range(2)}
        assert codecs == {"ZSTD"}


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


def _old_and_new(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE old AS SELECT range AS id, 'n' || range AS name FROM range(1000)")
    con.execute("CREATE TABLE new AS SELECT range AS id, NULL::VARCHAR AS name FROM range(1000, 1010)")
    con.execute("CREATE TABLE whole AS SELECT * FROM old UNION ALL SELECT * FROM new")


def test_an_append_fingerprints_the_rows_it_adds_to_the_rows_held(tmp_path: Path) -> None:
    from stedi.warehouse.writes import FINGERPRINT, current_fingerprint

    warehouse = Warehouse(tmp_path / "wh", create=True)
    con = duckdb.connect()
    _old_and_new(con)
    write(warehouse, "t", Rows(con, "old"))
    whole = Rows(con, "whole")

    commit = write(warehouse, "t", whole, append=Rows(con, "new"))

    assert "measure" not in whole.__dict__  # the rows held were not counted and hashed again
    assert commit.changed and commit.rows == 1010
    stored = warehouse.load("t").current_snapshot().summary.additional_properties[FINGERPRINT]
    assert stored == current_fingerprint(warehouse, "t")  # what `stedi verify` computes from the files
    assert stored.split(":")[0] == "1010"
    nothing_new = write(warehouse, "t", Rows(con, "whole"), append=_rows("SELECT 1 AS id, 'x' AS name LIMIT 0"))
    assert not nothing_new.changed and nothing_new.rows == 1010


def test_an_append_to_a_snapshot_summed_with_an_unknown_row_hash_measures_every_row(tmp_path: Path) -> None:
    from stedi.warehouse.writes import FINGERPRINT, current_fingerprint, fingerprint

    warehouse = Warehouse(tmp_path / "wh", create=True)
    con = duckdb.connect()
    _old_and_new(con)
    old = Rows(con, "old")
    table = warehouse.catalog.create_table(("stedi", "t"), schema=old.schema)
    # Written without a record of its row hash (by an older version, or another DuckDB).
    table.append(con.table("old").to_arrow_table(), snapshot_properties={FINGERPRINT: fingerprint(old, old.schema)})
    whole = Rows(con, "whole")

    commit = write(warehouse, "t", whole, append=Rows(con, "new"))

    assert "measure" in whole.__dict__
    assert commit.rows == 1010
    assert warehouse.load("t").current_snapshot().summary.additional_properties[FINGERPRINT] == current_fingerprint(
        warehouse, "t"
    )


def test_a_fingerprint_of_another_engine_or_schema_is_not_extended() -> None:
    from stedi.warehouse.fingerprints import appended, hash_text, schema_text

    added = _rows("SELECT range AS id FROM range(3)")
    schema = added.schema
    ours = hash_text(schema_text(schema))
    assert appended(None, added, schema) is None
    assert appended("spark:3:12:struct<id:bigint>", added, schema) is None  # another engine's
    assert appended("3:12:0123456789abcdef", added, schema) is None  # another schema's
    assert appended(f"x:12:{ours}", added, schema) is None
    assert appended(f"2:12:{ours}", added, schema) == (f"5:{12 + added.measure.digest}:{ours}", 5)


def _metadata_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.metadata.json"))


def test_a_new_table_is_created_by_its_first_commit(tmp_path: Path) -> None:
    """One metadata file and one catalog row, with the rows; a first write that is refused (it was
    planned against a snapshot) creates nothing."""
    warehouse = Warehouse(tmp_path / "wh", create=True)
    with pytest.raises(WarehouseError, match="table gone was changed by another writer"):
        write(warehouse, "gone", _rows("SELECT 1 AS id"), expected=12345)
    assert "gone" not in warehouse.table_names() and _metadata_files(tmp_path / "wh") == []
    commit = write(warehouse, "t", _rows("SELECT range AS id FROM range(5)"))
    assert (commit.rows, warehouse.describe("t").rows) == (5, 5)
    assert len(_metadata_files(tmp_path / "wh")) == 1
    assert warehouse.load("t").current_snapshot().snapshot_id == commit.snapshot_id  # type: ignore[union-attr]
    again = write(warehouse, "t", _rows("SELECT range AS id FROM range(7)"))  # an existing table: a new version
    assert (again.rows, len(_metadata_files(tmp_path / "wh"))) == (7, 2)


def _manifests(warehouse: Warehouse, name: str) -> int:
    table = warehouse.load(name)
    return len(table.current_snapshot().manifests(table.io))


@pytest.mark.parametrize("how", ["write", "append_rows"])
def test_appends_merge_the_manifests_so_planning_a_table_does_not_grow_with_its_appends(
    tmp_path: Path, how: str
) -> None:
    from stedi.warehouse.writes import MANIFESTS_TO_MERGE, append_rows

    warehouse = Warehouse(tmp_path / "wh", create=True)
    for i in range(3 * MANIFESTS_TO_MERGE):
        if how == "write":
            write(warehouse, "t", _rows(f"SELECT {i} AS id"), append=_rows(f"SELECT {i} AS id"))
        else:
            append_rows(warehouse, "t", pa.table({"id": [i]}))
        assert _manifests(warehouse, "t") <= MANIFESTS_TO_MERGE
    assert sorted(warehouse.read("t").column("id").to_pylist()) == list(range(3 * MANIFESTS_TO_MERGE))


def test_a_table_made_before_appends_merged_its_manifests_merges_them_from_its_next_write(tmp_path: Path) -> None:
    from stedi.warehouse.writes import MERGING, append_rows

    warehouse = Warehouse(tmp_path / "wh", create=True)
    append_rows(warehouse, "t", pa.table({"id": [0]}))
    with warehouse.load("t").transaction() as transaction:  # as an older version made it
        transaction.remove_properties(*MERGING)
    assert not set(MERGING) & set(warehouse.load("t").properties)
    append_rows(warehouse, "t", pa.table({"id": [1]}))
    assert {k: warehouse.load("t").properties.get(k) for k in MERGING} == MERGING
