"""The SQLite catalog on the standard library: the same file pyiceberg's SQLAlchemy catalog (and
Spark's JdbcCatalog) reads and writes, with the same guarded commit, and no SQLAlchemy import."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.table.update import SetPropertiesUpdate

from stedi.warehouse.sqlite_catalog import SqliteCatalog

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})


def ours(tmp_path: Path) -> SqliteCatalog:
    return SqliteCatalog("stedi", tmp_path / "catalog.db", warehouse=(tmp_path / "wh").as_uri())


def theirs(tmp_path: Path) -> SqlCatalog:
    return SqlCatalog("stedi", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=(tmp_path / "wh").as_uri())


def test_pyiceberg_reads_what_it_writes_and_it_reads_what_pyiceberg_writes(tmp_path: Path) -> None:
    mine = ours(tmp_path)
    mine.create_namespace("stedi", {"stedi.root": "file:///somewhere"})
    mine.create_table(("stedi", "t"), ROWS.schema).append(ROWS)

    other = theirs(tmp_path)
    assert other.list_tables("stedi") == [("stedi", "t")]
    assert other.load_namespace_properties("stedi") == {"stedi.root": "file:///somewhere"}
    table = other.load_table(("stedi", "t"))
    assert table.scan().to_arrow().sort_by("id").equals(ROWS)
    table.append(pa.table({"id": pa.array([4], pa.int64()), "name": ["d"]}))
    other.create_table(("stedi", "u"), ROWS.schema)
    other.update_namespace_properties("stedi", updates={"k": "v"})

    again = ours(tmp_path)
    assert sorted(again.list_tables("stedi")) == [("stedi", "t"), ("stedi", "u")]
    assert again.load_table(("stedi", "t")).scan().to_arrow().num_rows == 4
    assert again.load_namespace_properties("stedi") == {"stedi.root": "file:///somewhere", "k": "v"}
    assert again.list_namespaces() == [("stedi",)]


def test_a_commit_over_a_table_someone_else_moved_on_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = ours(tmp_path)
    catalog.create_namespace("stedi")
    catalog.create_table(("stedi", "t"), ROWS.schema)
    stale = catalog.load_table(("stedi", "t"))
    catalog.load_table(("stedi", "t")).append(ROWS)
    # The moment of a race: this commit read the table before the other one landed.
    monkeypatch.setattr(catalog, "load_table", lambda identifier: stale)
    with pytest.raises(CommitFailedException, match="updated by another process"):
        catalog.commit_table(stale, (), (SetPropertiesUpdate(updates={"k": "v"}),))
    monkeypatch.undo()
    table = catalog.load_table(("stedi", "t"))
    assert table.scan().to_arrow().num_rows == 3 and "k" not in table.properties


def test_two_writers_of_one_table_both_land(tmp_path: Path) -> None:
    catalog = ours(tmp_path)
    catalog.create_namespace("stedi")
    catalog.create_table(("stedi", "t"), ROWS.schema)
    first, second = catalog.load_table(("stedi", "t")), catalog.load_table(("stedi", "t"))
    first.append(ROWS)
    second.append(ROWS.slice(0, 1))  # refused once, then pyiceberg applies it again on the new state
    assert catalog.load_table(("stedi", "t")).scan().to_arrow().num_rows == 4


def test_names_are_kept_apart_and_missing_things_are_named(tmp_path: Path) -> None:
    catalog = ours(tmp_path)
    catalog.create_namespace("stedi")
    catalog.create_table(("stedi", "t"), ROWS.schema)
    with pytest.raises(TableAlreadyExistsError):
        catalog.create_table(("stedi", "t"), ROWS.schema)
    with pytest.raises(NoSuchTableError):
        catalog.load_table(("stedi", "nothing"))
    with pytest.raises(NoSuchNamespaceError):
        catalog.create_table(("other", "t"), ROWS.schema)
    with pytest.raises(NamespaceNotEmptyError):
        catalog.drop_namespace("stedi")
    assert catalog.namespace_exists("stedi") and not catalog.namespace_exists("sted_")  # LIKE's _ is escaped
    catalog.rename_table(("stedi", "t"), ("stedi", "renamed"))
    assert catalog.list_tables("stedi") == [("stedi", "renamed")]
    catalog.create_table_transaction(("stedi", "staged"), ROWS.schema).commit_transaction()
    assert sorted(catalog.list_tables("stedi")) == [("stedi", "renamed"), ("stedi", "staged")]
    catalog.drop_table(("stedi", "staged"))
    catalog.drop_table(("stedi", "renamed"))
    with pytest.raises(NoSuchTableError):
        catalog.drop_table(("stedi", "renamed"))
    catalog.drop_namespace("stedi")
    assert catalog.list_namespaces() == []


def test_views_kept_by_other_writers_are_not_tables(tmp_path: Path) -> None:
    catalog = ours(tmp_path)
    catalog.create_namespace("stedi")
    with sqlite3.connect(tmp_path / "catalog.db") as con:
        con.execute("INSERT INTO iceberg_tables VALUES ('stedi', 'stedi', 'v', 'file:///v.json', NULL, 'VIEW')")
    assert catalog.list_tables("stedi") == []
    with pytest.raises(NoSuchTableError):
        catalog.load_table(("stedi", "v"))


def test_a_catalog_of_an_older_schema_is_used_as_it_is(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "catalog.db") as con:
        con.execute(
            "CREATE TABLE iceberg_tables (catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL, "
            "table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000), previous_metadata_location "
            "VARCHAR(1000), PRIMARY KEY (catalog_name, table_namespace, table_name))"
        )
    catalog = ours(tmp_path)
    catalog.create_namespace("stedi")
    catalog.create_table(("stedi", "t"), ROWS.schema).append(ROWS)
    assert catalog.load_table(("stedi", "t")).scan().to_arrow().num_rows == 3
    with sqlite3.connect(tmp_path / "catalog.db") as con:
        columns = {row[1] for row in con.execute("PRAGMA table_info(iceberg_tables)")}
    assert "iceberg_type" not in columns


def test_a_catalog_opened_on_one_thread_is_used_on_another(tmp_path: Path) -> None:
    catalog = ours(tmp_path)
    catalog.create_namespace("stedi")
    failures: list[BaseException] = []

    def work() -> None:
        try:
            catalog.create_table(("stedi", "t"), ROWS.schema).append(ROWS)
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert not failures
    assert catalog.load_table(("stedi", "t")).scan().to_arrow().num_rows == 3


def test_opening_and_writing_a_warehouse_imports_no_sqlalchemy(tmp_path: Path) -> None:
    program = (
        "import sys, pyarrow as pa\n"
        "from stedi.warehouse.catalog import Warehouse\n"
        "from stedi.warehouse.writes import write\n"
        f"write(Warehouse({str(tmp_path / 'wh')!r}, create=True), 't', pa.table({{'a': [1]}}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_namespace_another_process_made_meanwhile_is_taken_as_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = ours(tmp_path), ours(tmp_path)
    first.create_namespace("stedi")
    first.update_namespace_properties("stedi", updates={"stedi.root": "file:///here"})
    monkeypatch.setattr(second, "namespace_exists", lambda namespace: False)  # it looked before the other made it
    second.create_namespace_if_not_exists("stedi")
    monkeypatch.undo()
    assert second.load_namespace_properties("stedi") == {"exists": "true", "stedi.root": "file:///here"}
