"""Expiring snapshots: every manifest the table's snapshots share is read once."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.manifest import ManifestFile

from stedi.warehouse import maintenance
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.writes import append_rows


def test_expiring_reads_each_manifest_once_however_many_snapshots_share_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = Warehouse(tmp_path / "wh", create=True)
    for i in range(12):
        append_rows(warehouse, "t", pa.table({"id": [i]}))
    table = warehouse.load("t")
    snapshots = table.snapshots()
    distinct = {m.manifest_path for s in snapshots for m in s.manifests(table.io)}
    read: list[str] = []
    real = ManifestFile.fetch_manifest_entry

    def counted(self, io, discard_deleted=True):  # type: ignore[no-untyped-def]
        read.append(self.manifest_path)
        return real(self, io, discard_deleted=discard_deleted)

    monkeypatch.setattr(ManifestFile, "fetch_manifest_entry", counted)
    reclaimed = maintenance.expire(warehouse, "t", {s.snapshot_id for s in snapshots[-3:]}, sweep=True)
    assert reclaimed.snapshots == len(snapshots) - 3
    assert sorted(read) == sorted(set(read)) and set(read) <= distinct  # once each, none but the table's
    assert sorted(warehouse.read("t").column("id").to_pylist()) == list(range(12))
