"""The Iceberg warehouse: a pyiceberg catalog (SQLite in the warehouse folder by default).

Every table write is one atomic Iceberg commit that replaces the table's rows, so a rerun over the
same landing data leaves each table with exactly the rows of the new run.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb

from .errors import WarehouseError

NAMESPACE = "stedi"
CATALOG_FILE = "catalog.db"


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int
    snapshot_id: int | None
    columns: list[tuple[str, str]]


@dataclass(frozen=True)
class Commit:
    table: str
    rows: int
    snapshot_id: int | None
    changed: bool = True  # False: the table already held these rows, no snapshot was added
    seconds: float = 0.0


FINGERPRINT = "stedi.fingerprint"


def fingerprint(data: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> str:
    """A fingerprint of the table's schema and multiset of rows (row order does not matter)."""
    import duckdb

    con = con or duckdb.connect()
    con.register("fingerprinted", data)
    try:
        columns = ", ".join(f'"{name}"' for name in data.column_names) or "1"
        ((rows, total),) = con.execute(
            f"SELECT COUNT(*), COALESCE(SUM(hash({columns})::HUGEINT), 0) FROM fingerprinted"
        ).fetchall()
    finally:
        con.unregister("fingerprinted")
    return f"{rows}:{total}:{hash_text(str(data.schema))}"


def hash_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Warehouse:
    """A warehouse location with its catalog; tables are addressed by bare name (namespace `stedi`)."""

    def __init__(self, location: str | Path, *, create: bool = False) -> None:
        self.location = str(location)
        self._hasher: duckdb.DuckDBPyConnection | None = None  # for fingerprints, made on first write
        local = Path(self.location)
        if not create and not (local / CATALOG_FILE).is_file():
            raise WarehouseError(
                f"no STEDI warehouse at {self.location} (no {CATALOG_FILE}); build one with `stedi run --warehouse {self.location}`"
            )
        if create:
            local.mkdir(parents=True, exist_ok=True)
        from pyiceberg.catalog.sql import SqlCatalog  # heavy import, only when a warehouse is opened

        root = local.resolve()
        try:
            # timeout: wait for another process's catalog commit (Spark, a second run) instead of failing.
            uri = f"sqlite:///{root / CATALOG_FILE}?timeout=30"
            self.catalog = SqlCatalog(NAMESPACE, uri=uri, warehouse=root.as_uri())
            if create:
                self.catalog.create_namespace_if_not_exists(NAMESPACE)
        except Exception as exc:  # SQLAlchemy and pyiceberg raise many types for a bad catalog file
            raise WarehouseError(f"cannot open the catalog of warehouse {self.location}: {exc}") from exc

    def prepare_writes(self) -> None:
        """Load the modules the first write needs, so that it can be done ahead of the data."""
        import pyarrow.parquet  # noqa: F401
        import pyiceberg.io.pyarrow  # noqa: F401

    def table_names(self) -> list[str]:
        try:
            return sorted(ident[-1] for ident in self.catalog.list_tables(NAMESPACE))
        except Exception as exc:
            raise WarehouseError(f"cannot list tables of warehouse {self.location}: {exc}") from exc

    def write(self, name: str, data: pa.Table) -> Commit:
        """Replace the rows of table `name` with `data` in one commit (creating the table if needed).

        When the table's current snapshot already holds exactly these rows (same fingerprint), nothing
        is committed: a rerun over the same landing data adds no snapshot.
        """
        started = time.perf_counter()
        ident = (NAMESPACE, name)
        table = self.catalog.create_table_if_not_exists(ident, schema=data.schema)
        if self._hasher is None:
            import duckdb

            self._hasher = duckdb.connect()
        print_ = fingerprint(data, self._hasher)
        current = table.current_snapshot()
        if current is not None and current.summary is not None and current.summary.get(FINGERPRINT) == print_:
            return Commit(name, data.num_rows, current.snapshot_id, False, time.perf_counter() - started)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            table.overwrite(data, snapshot_properties={FINGERPRINT: print_})
        snapshot = table.current_snapshot()
        snapshot_id = snapshot.snapshot_id if snapshot else None
        return Commit(name, data.num_rows, snapshot_id, True, time.perf_counter() - started)

    def load(self, name: str):  # -> pyiceberg Table; untyped to keep pyiceberg a lazy import
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog.load_table((NAMESPACE, name))
        except NoSuchTableError:
            raise WarehouseError(f"no table {name} in warehouse {self.location}") from None

    def read(self, name: str) -> pa.Table:
        return self.load(name).scan().to_arrow()

    def data_files(self, name: str) -> tuple[list[str], pa.Schema] | None:
        """Parquet files holding the table's rows, when reading them plainly is exact (no delete files)."""
        table = self.load(name)
        tasks = list(table.scan().plan_files())
        if any(task.delete_files for task in tasks):
            return None
        return [task.file.file_path for task in tasks], table.schema().as_arrow()

    def describe(self, name: str) -> TableInfo:
        table = self.load(name)
        snapshot = table.current_snapshot()
        rows = int(snapshot.summary["total-records"]) if snapshot and snapshot.summary else 0
        columns = [(f.name, str(f.field_type)) for f in table.schema().fields]
        return TableInfo(name, rows, snapshot.snapshot_id if snapshot else None, columns)
