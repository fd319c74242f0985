"""Which tables a warehouse folder holds, read from their metadata files alone."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from stedi.warehouse.folder import catalog_lists_tables, committed_metadata, committed_tables


def _metadata(
    folder: Path, table: str, name: str, *, snapshots: int, updated: int = 0, text: str | None = None
) -> None:
    target = folder / "stedi" / table / "metadata"
    target.mkdir(parents=True, exist_ok=True)
    document = {"location": f"file:///made/stedi/{table}", "last-updated-ms": updated,
                "snapshots": [{"snapshot-id": i} for i in range(snapshots)]}  # fmt: skip
    (target / name).write_text(text if text is not None else json.dumps(document))


def test_only_tables_with_a_committed_snapshot_count(tmp_path: Path) -> None:
    _metadata(tmp_path, "created_only", "00000-a.metadata.json", snapshots=0)
    _metadata(tmp_path, "committed", "00000-a.metadata.json", snapshots=0)
    _metadata(tmp_path, "committed", "00001-b.metadata.json", snapshots=1, updated=5)
    (tmp_path / "stedi" / "no_metadata").mkdir()
    (tmp_path / "stedi" / "a_file").write_text("x")
    assert committed_tables(str(tmp_path)) == ["committed"]
    assert committed_tables(str(tmp_path / "nowhere")) == []


def test_a_half_written_newest_file_is_passed_over(tmp_path: Path) -> None:
    _metadata(tmp_path, "t", "00003-a.metadata.json", snapshots=2, updated=10)
    _metadata(tmp_path, "t", "00004-b.metadata.json", snapshots=0, text='{"location": "file:///made/stedi/t", "snap')
    assert committed_metadata(str(tmp_path)) == {"t": ("00003-a.metadata.json", "file:///made/stedi/t")}


def test_the_newest_file_is_the_latest_written_not_the_highest_number(tmp_path: Path) -> None:
    # A table dropped and created again starts its versions over at 00000.
    _metadata(tmp_path, "t", "00007-old.metadata.json", snapshots=3, updated=1_000)
    _metadata(tmp_path, "t", "00001-new.metadata.json", snapshots=1, updated=2_000)
    assert committed_metadata(str(tmp_path))["t"][0] == "00001-new.metadata.json"


def test_a_catalog_lists_tables_only_when_its_table_of_tables_has_rows(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.db"
    assert not catalog_lists_tables(catalog)  # missing
    catalog.write_bytes(b"")
    assert not catalog_lists_tables(catalog)  # emptied
    catalog.unlink()
    with closing(sqlite3.connect(catalog)) as db, db:
        db.execute("CREATE TABLE iceberg_tables (catalog_name, table_namespace, table_name, metadata_location)")
    assert not catalog_lists_tables(catalog)  # the schema, no table
    with closing(sqlite3.connect(catalog)) as db, db:
        db.execute("INSERT INTO iceberg_tables VALUES ('stedi', 'stedi', 't', 'file:///x')")
    assert catalog_lists_tables(catalog)
    catalog.write_bytes(b"garbage" * 100)
    assert catalog_lists_tables(catalog)  # not "empty": opening it reports it damaged


def test_links_and_folders_that_are_not_tables_are_passed_over(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _metadata(outside, "t", "00001-a.metadata.json", snapshots=1)
    warehouse = tmp_path / "wh"
    (warehouse / "stedi" / "linked_file" / "metadata").mkdir(parents=True)
    (warehouse / "stedi" / "linked_file" / "metadata" / "00001-a.metadata.json").symlink_to(
        outside / "stedi" / "t" / "metadata" / "00001-a.metadata.json"
    )
    (warehouse / "stedi" / "linked_folder").mkdir()
    (warehouse / "stedi" / "linked_folder" / "metadata").symlink_to(outside / "stedi" / "t" / "metadata")
    _metadata(warehouse, "Not A Table", "00001-a.metadata.json", snapshots=1)
    assert committed_tables(str(warehouse)) == []
