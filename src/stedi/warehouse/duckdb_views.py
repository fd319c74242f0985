"""`WAREHOUSE/stedi.duckdb`: a small DuckDB database of views over every table's current data files,
rewritten after every run that reads landing data (and by `stedi report`), so that any DuckDB
session can read the tables as they are published now, without pyiceberg or DuckDB's iceberg
extension:

    ATTACH 'lakehouse/stedi.duckdb' AS stedi (READ_ONLY);
    SELECT count(*) FROM stedi.machine_learning_curated;

The views name the files by absolute path. A moved or copied warehouse's file names the files of the
place it was written at until it is written again: every run that has news rewrites it, and a run with
nothing new rewrites it when it is missing or names a file outside the warehouse (`reads_here`), so
a copy never reads its original's files. A warehouse in object storage has no such file (DuckDB would
need credentials and the httpfs extension to read it).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from stedi.errors import WarehouseError
from stedi.storage import is_remote, local_path, within
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.scan import small_types, sql_literal

DUCKDB_FILE = "stedi.duckdb"
MAX_VIEWS_BYTES = 64 << 20  # the file of a warehouse's views is a few hundred kilobytes
# A string literal of a view's SQL as DuckDB keeps it: in a view this module writes, a file's path.
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _view(name: str, files: list[str], columns: list[tuple[str, str]]) -> str:
    if files:
        listed = ", ".join(sql_literal(f) for f in files)
        return f"CREATE VIEW {_ident(name)} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    empty = ", ".join(f"CAST(NULL AS {kind}) AS {_ident(column)}" for column, kind in columns) or "NULL AS empty"
    return f"CREATE VIEW {_ident(name)} AS SELECT {empty} WHERE false"


def write_duckdb_views(warehouse: Warehouse) -> str | None:
    """Write the views file atomically (a reader never opens half a file); its path, or None for a
    warehouse in object storage."""
    if is_remote(warehouse.location):
        return None
    statements, scratch = [], None
    try:
        for name in warehouse.table_names():
            plan = warehouse.data_files(name)
            if plan is None:  # rows deleted by delete files: the files alone are not the rows
                continue
            paths = [p for f in plan[0] if (p := local_path(f)) is not None]
            if len(paths) != len(plan[0]):
                continue
            columns = []
            if not paths:  # a table without files: its view names its columns, with DuckDB's types
                scratch = scratch or duckdb.connect()
                empty = scratch.from_arrow(small_types(plan[1]).empty_table())
                columns = [(c, str(t)) for c, t in zip(empty.columns, empty.types, strict=True)]
            statements.append(_view(name, paths, columns))
    finally:
        if scratch is not None:
            scratch.close()
    target = Path(warehouse.location) / DUCKDB_FILE
    # Built in a folder of a plain name (DuckDB reads `?` in a database path as options), then copied
    # beside the target and renamed over it.
    with tempfile.TemporaryDirectory(prefix="stedi-duckdb-") as scratch_dir:
        built = os.path.join(scratch_dir, DUCKDB_FILE)
        fd, temporary = tempfile.mkstemp(prefix=".stedi-duckdb-", suffix=".tmp", dir=warehouse.location)
        os.close(fd)
        try:
            with duckdb.connect(built) as con:
                con.execute("BEGIN")  # one commit for every view: a few milliseconds each otherwise
                for statement in statements:
                    con.execute(statement)
                con.execute("COMMIT")
            shutil.copyfile(built, temporary)
            os.replace(temporary, target)
        except (OSError, duckdb.Error) as exc:
            raise WarehouseError(f"cannot write {target}: {exc}") from exc
        finally:
            Path(temporary).unlink(missing_ok=True)
    return str(target)


def reads_here(location: str) -> bool:
    """Whether the views file of the warehouse at `location` is there and every file its views read
    is inside that warehouse (a remote warehouse has none: True). Any doubt (a file DuckDB cannot
    open, a view of another shape) is False: the file is derived, and writing it again is always right."""
    if is_remote(location):
        return True
    target = Path(location) / DUCKDB_FILE
    if target.is_symlink() or not target.is_file():  # a link is replaced, never followed
        return False
    if target.stat().st_size > MAX_VIEWS_BYTES:  # not a file this module wrote: never copied to look
        return False
    # Opened from a copy in a folder of a plain name (DuckDB reads `?` in a database path as options).
    with tempfile.TemporaryDirectory(prefix="stedi-duckdb-") as scratch_dir:
        copy = os.path.join(scratch_dir, DUCKDB_FILE)
        try:
            shutil.copyfile(target, copy)
            with duckdb.connect(copy, read_only=True) as con:
                views = con.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()
        except (OSError, duckdb.Error):
            return False
    paths = [m.replace("''", "'") for (sql,) in views for m in _LITERAL.findall(sql or "")]
    return all(os.path.isabs(p) and within(p, location) for p in paths)


def refresh_duckdb_views(warehouse: Warehouse) -> str | None:
    """Write the views file again when it does not read this warehouse's files (see `reads_here`);
    its path when written."""
    return None if reads_here(warehouse.location) else write_duckdb_views(warehouse)
