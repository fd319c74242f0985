"""Reading a warehouse table's rows where they are: its Parquet files, without a copy.

`attach` makes a table a view of a DuckDB connection (the engine's, the report's); `dataset` is a
pyarrow dataset over the same files (what `stedi sql` registers, so that its DuckDB needs no file
access of its own). Both read the files at the warehouse's current place (see `fileio`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.dataset as ds

from stedi.errors import WarehouseError
from stedi.storage import explain, filesystem, local_path
from stedi.warehouse.erased_copy import damage_remedy

if TYPE_CHECKING:
    import duckdb

    from stedi.warehouse.catalog import Warehouse


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _local_paths(files: list[str]) -> list[str] | None:
    paths = [local_path(f) for f in files]
    return None if any(p is None for p in paths) else [p for p in paths if p is not None]


def small_types(schema: pa.Schema) -> pa.Schema:
    """pyiceberg's Arrow schemas use large strings; the tables' own (and DuckDB's) are plain ones."""
    plain = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    return pa.schema([f.with_type(plain.get(f.type, f.type)) for f in schema], metadata=schema.metadata)


def dataset(warehouse: Warehouse, name: str, snapshot_id: int | None = None) -> ds.Dataset | pa.Table:
    """The table's rows (at a snapshot; default the current one): a dataset over its files, or an
    Arrow table where the files alone are not the rows (delete files)."""
    plan = warehouse.data_files(name, snapshot_id)
    if plan is None:
        return warehouse.load(name).scan(snapshot_id=snapshot_id).to_arrow()
    files, schema = plan[0], small_types(plan[1])
    if not files:
        return schema.empty_table()
    local = _local_paths(files)
    try:  # a missing file fails here, an unreadable one when the rows are read
        if local is not None:
            return ds.dataset(local, schema=schema, format="parquet")
        fs, _ = filesystem(files[0])
        return ds.dataset([filesystem(f)[1] for f in files], schema=schema, format="parquet", filesystem=fs)
    except (OSError, pa.ArrowInvalid) as exc:
        raise damaged(name, exc, warehouse.location) from exc


def read_table(warehouse: Warehouse, name: str, snapshot_id: int | None = None) -> pa.Table:
    rows = dataset(warehouse, name, snapshot_id)
    try:
        return rows if isinstance(rows, pa.Table) else rows.to_table()
    except (OSError, pa.ArrowInvalid) as exc:
        raise damaged(name, exc, warehouse.location) from exc


def damaged(name: str, exc: BaseException, location: str) -> WarehouseError:
    remedy = damage_remedy(name, location)
    if isinstance(exc, FileNotFoundError):
        return WarehouseError(f"table {name} is damaged: a data file is missing ({exc.filename or exc}); {remedy}")
    return WarehouseError(f"table {name} is damaged: a data file cannot be read ({explain(exc, location)}); {remedy}")


def attach(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, table: str, view: str) -> pa.Schema:
    """A view `view` over the current rows of a warehouse table: its Parquet files read in place by
    DuckDB when they are local, else a pyarrow dataset. Returns the table's schema."""
    plan = warehouse.data_files(table)
    local = _local_paths(plan[0]) if plan is not None and plan[0] else None
    if plan is not None and local:
        files = ", ".join(sql_literal(path) for path in local)
        con.execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM read_parquet([{files}])').fetchall()
        return plan[1]
    rows = dataset(warehouse, table)
    con.register(f"{view}__rows", rows)
    con.execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM "{view}__rows"').fetchall()
    return rows.schema
