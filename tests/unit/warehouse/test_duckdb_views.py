"""Whether a warehouse's DuckDB views file reads that warehouse's files (`reads_here`)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from stedi.warehouse.duckdb_views import DUCKDB_FILE, MAX_VIEWS_BYTES, reads_here


def _views_file(warehouse: Path, *statements: str) -> None:
    warehouse.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse / DUCKDB_FILE)) as con:
        for statement in statements:
            con.execute(statement)


def _parquet(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql("SELECT 1 AS a").write_parquet(str(path))
    return str(path).replace("'", "''")


def test_views_of_the_warehouse_s_own_files_read_here(tmp_path: Path) -> None:
    warehouse = tmp_path / "it's here"
    own = _parquet(warehouse / "stedi" / "t" / "data" / "a.parquet")
    _views_file(
        warehouse,
        f"CREATE VIEW t AS SELECT * FROM read_parquet(['{own}'], union_by_name = true)",
        "CREATE VIEW empty AS SELECT CAST(NULL AS VARCHAR) AS c WHERE false",
    )
    assert reads_here(str(warehouse))


@pytest.mark.parametrize("where", ["elsewhere", "here-too"])  # a sibling whose name starts alike is elsewhere
def test_a_view_naming_a_file_outside_the_warehouse_does_not(tmp_path: Path, where: str) -> None:
    warehouse = tmp_path / "here"
    own = _parquet(warehouse / "a.parquet")
    other = _parquet(tmp_path / where / "b.parquet")
    _views_file(warehouse, f"CREATE VIEW t AS SELECT * FROM read_parquet(['{own}', '{other}'])")
    assert not reads_here(str(warehouse))


def test_a_missing_unreadable_or_linked_file_does_not(tmp_path: Path) -> None:
    warehouse = tmp_path / "here"
    assert not reads_here(str(warehouse))
    _views_file(tmp_path / "elsewhere", "CREATE VIEW t AS SELECT 1 AS a")
    warehouse.mkdir()
    (warehouse / DUCKDB_FILE).symlink_to(tmp_path / "elsewhere" / DUCKDB_FILE)  # a file of no path, but not its own
    assert not reads_here(str(warehouse))
    (warehouse / DUCKDB_FILE).unlink()
    (warehouse / DUCKDB_FILE).write_bytes(b"not a database")
    assert not reads_here(str(warehouse))
    with (warehouse / DUCKDB_FILE).open("r+b") as huge:  # sparse: larger than any views file, never copied
        huge.truncate(MAX_VIEWS_BYTES + 1)
    assert not reads_here(str(warehouse))


def test_a_warehouse_in_object_storage_has_no_views_file_to_write() -> None:
    assert reads_here("s3://bucket/warehouse")
