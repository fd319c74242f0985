"""The warehouse and its catalog: what a new warehouse records, what reading commands never do, and
clear errors for what cannot be a warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from stedi.errors import WarehouseError
from stedi.warehouse.catalog import ROOT_PROPERTY, Warehouse, local_table_names
from stedi.warehouse.fileio import local_uri
from stedi.warehouse.writes import write


def test_a_new_warehouse_records_where_it_was_made(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh", create=True)
    assert wh.namespace_properties()[ROOT_PROPERTY] == local_uri(str(tmp_path / "wh"))
    assert not wh.moved
    write(wh, "t", pa.table({"a": [1]}))
    assert local_table_names(str(tmp_path / "wh"), None) == {"t"}


def test_a_moved_warehouse_knows_it_and_maps_its_paths(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh", create=True)
    write(wh, "t", pa.table({"a": [1, 2]}))
    (tmp_path / "wh").rename(tmp_path / "moved")
    moved = Warehouse(tmp_path / "moved")
    assert moved.moved and moved.root == local_uri(str(tmp_path / "wh"))
    files, _ = moved.data_files("t") or ([], None)
    assert files and all(f.startswith(local_uri(str(tmp_path / "moved"))) for f in files)
    assert moved.read("t").num_rows == 2


def test_reading_a_warehouse_that_is_not_there_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="no STEDI warehouse"):
        Warehouse(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_what_cannot_be_a_warehouse_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(WarehouseError, match="is a file, not a folder"):
        Warehouse(tmp_path / "file", create=True)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "catalog.db").write_bytes(b"garbage" * 100)
    with pytest.raises(WarehouseError, match="damaged or not a SQLite database"):
        Warehouse(tmp_path / "bad")


def test_an_unchanged_write_adds_no_snapshot_and_a_planned_snapshot_is_checked(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh", create=True)
    first = write(wh, "t", pa.table({"a": [1, 2]}))
    assert write(wh, "t", pa.table({"a": [2, 1]})).changed is False  # the same rows in another order
    with pytest.raises(WarehouseError, match="changed by another writer"):
        write(wh, "t", pa.table({"a": [3]}), expected=first.snapshot_id + 1)
    assert wh.read("t").column("a").to_pylist() == [1, 2]


def test_a_snapshot_without_totals_is_counted_from_its_files(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh", create=True)
    write(wh, "t", pa.table({"a": [1, 2, 3]}))
    # As another writer may leave it: the current snapshot's summary without its totals.
    metadata = Path(wh.physical(wh.load("t").metadata_location).removeprefix("file://"))
    document = json.loads(metadata.read_text())
    for snapshot in document["snapshots"]:
        snapshot["summary"] = {k: v for k, v in snapshot["summary"].items() if not k.startswith("total-")}
    metadata.write_text(json.dumps(document))
    fresh = Warehouse(tmp_path / "wh")
    assert fresh.describe("t").rows == 3
    assert fresh.state("t")[1] == 3
