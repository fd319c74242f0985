"""`stedi verify`: every file the current snapshots need is there, whole, and holds what was committed.

Per table: the metadata and manifests can be read; each data file exists, has the size and row count
its manifest records, and its Parquet footer reads; and the rows, read in full, have the fingerprint
stored when they were committed (a flipped bit that still decodes changes it). `stedi run
--full-refresh` rebuilds a damaged table from the landing files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow.parquet as pq

from stedi.errors import WarehouseError
from stedi.storage import access_problem, explain, filesystem
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.writes import FINGERPRINT, current_fingerprint


@dataclass
class TableHealth:
    name: str
    files: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> bool:
        return bool(self.problems)


def verify(location: str, catalog: str | None = None) -> list[TableHealth]:
    warehouse = Warehouse(location, catalog=catalog)
    return [check_table(warehouse, name) for name in warehouse.table_names()]


def check_table(warehouse: Warehouse, name: str) -> TableHealth:
    health = TableHealth(name)
    try:
        table = warehouse.load(name)
        snapshot = table.current_snapshot()
        if snapshot is None:
            return health
        entries = [
            e for m in snapshot.manifests(table.io) for e in m.fetch_manifest_entry(table.io, discard_deleted=True)
        ]
    except (WarehouseError, OSError, ValueError) as exc:
        if access_problem(exc) or access_problem(exc.__cause__ or exc):
            raise WarehouseError(f"cannot verify warehouse {explain(exc, warehouse.location)}") from exc
        health.problems.append(f"metadata cannot be read: {exc}")
        return health
    health.files = len(entries)
    for entry in entries:
        data = entry.data_file
        health.rows += data.record_count
        if problem := _file_problem(warehouse, data.file_path, data.file_size_in_bytes, data.record_count):
            health.problems.append(problem)
    stored = (snapshot.summary.additional_properties if snapshot.summary else {}).get(FINGERPRINT)
    if not health.problems and stored is not None:
        actual = current_fingerprint(warehouse, name)
        if actual is None:
            health.problems.append("its rows cannot be read")
        elif actual != stored:
            health.problems.append("its rows are not the rows that were committed (fingerprint differs)")
    return health


def _file_problem(warehouse: Warehouse, location: str, size: int, rows: int) -> str | None:
    where = warehouse.physical(location)
    fs, path = filesystem(where)
    try:
        info = fs.get_file_info(path)
        if info.size is None:
            return f"data file {path} is missing"
        if info.size != size:
            return f"data file {path} has {info.size:,} bytes, {size:,} were committed"
        with fs.open_input_file(path) as handle:
            found = pq.ParquetFile(handle).metadata.num_rows
        if found != rows:
            return f"data file {path} holds {found:,} rows, {rows:,} were committed"
    except (OSError, ValueError) as exc:
        if access_problem(exc):
            raise WarehouseError(f"cannot verify warehouse {explain(exc, warehouse.location)}") from exc
        return f"data file {path} cannot be read ({explain(exc, warehouse.location)})"
    return None
