"""`stedi export`: a table's rows as Parquet, CSV or JSON lines files, for tools outside the warehouse.

The rows are selected in the same sealed DuckDB as `stedi sql` (a `--where` condition can read the
warehouse's tables and nothing else) and streamed into the files by a second connection that only
ever writes the one output path. OUT's suffix names the format (`.csv` is CSV) unless `--format` does,
and the two must agree. A table with a `split` column (machine_learning_curated) exported to a name
without such a suffix is written partitioned by split, `OUT/split=train/...`, so training code reads
one folder per split; to `ml.parquet` it is one file. The output appears whole or not at all: it is
written beside OUT and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from stedi import subject_key
from stedi.config import SPLITS
from stedi.errors import QueryError, UsageError
from stedi.pipeline.query import connect, statement_kind
from stedi.storage import local_path, require_location, within
from stedi.warehouse.catalog import Warehouse

FORMATS = ("parquet", "csv", "jsonl")
# A name ending so is a file of that format: written as one file, in that format unless told otherwise.
SUFFIX_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                  ".json": "jsonl"}  # fmt: skip
_COPY_FORMAT = {"parquet": "FORMAT parquet, COMPRESSION zstd", "csv": "FORMAT csv, HEADER true", "jsonl": "FORMAT json"}
PARTITION_COLUMN = "split"


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int
    location: str
    files: list[str]
    partitioned: bool
    format: str


def export(
    warehouse: Warehouse,
    table: str,
    out: str,
    fmt: str | None = None,
    where: str | None = None,
    split: str | None = None,
    snapshots: dict[str, int] | None = None,
    overwrite: bool = False,
) -> Exported:
    """Write the rows of `table` (those meeting `where`, of one `split`) to `out`, as `fmt` (by default
    the format `out`'s suffix names, else Parquet)."""
    fmt = format_for(out, fmt)
    if table not in warehouse.table_names() or (snapshots is not None and table not in snapshots):
        raise UsageError(f"no table {table} in warehouse {warehouse.location}; `stedi tables` lists them")
    target = Path(require_location(out, "output")).absolute()
    if target.exists() and not overwrite:
        raise UsageError(f"{target} exists; --overwrite replaces it")
    _refuse_unsafe_target(warehouse, target, overwrite)
    if not target.parent.is_dir():
        raise UsageError(f"the folder of {target} does not exist")
    con = connect(warehouse, None, snapshots)
    try:
        columns = [c for (c,) in con.execute(f'SELECT column_name FROM (DESCRIBE "{table}")').fetchall()]
        partitioned = PARTITION_COLUMN in columns and named_format(out) is None
        if split is not None and PARTITION_COLUMN not in columns:
            raise UsageError(f"--split applies to a table with a split column (machine_learning_curated), not {table}")
        if split is not None and split not in SPLITS:
            raise UsageError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
        sql = _select(table, where, split)
        try:
            reader = con.sql(sql).to_arrow_reader(64 * 1024)
        except duckdb.Error as exc:
            raise QueryError(f"cannot select the rows: {str(exc).splitlines()[0]}") from None
        rows, files = _write(reader, target, fmt, partitioned, overwrite)
    finally:
        con.close()
    return Exported(table, rows, str(target), files, partitioned, fmt)


def format_for(out: str, fmt: str | None) -> str:
    """The format to write: `fmt` when given (refused when `out`'s suffix names another), else the one
    the suffix names, else Parquet."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    named = named_format(out)
    if fmt is not None and named is not None and named != fmt:
        raise UsageError(
            f"{out} names a {named} file ({Path(out).suffix.lower()}) but --format is {fmt}: rename OUT or drop --format"
        )
    return fmt or named or "parquet"


def named_format(out: str) -> str | None:
    """The format `out`'s suffix names (then it is one file), if any."""
    return SUFFIX_FORMATS.get(Path(out).suffix.lower())


def _refuse_unsafe_target(warehouse: Warehouse, target: Path, overwrite: bool) -> None:
    """An export never writes into the warehouse (or over a folder holding it), the catalog or the
    subject key; and `--overwrite` replaces a file or an earlier export's folder, nothing else."""
    real = os.path.realpath(target)
    if (folder := local_path(warehouse.location)) is not None:
        home = os.path.realpath(folder)
        if within(real, home) or within(home, real):
            relation = "is" if real == home else "is inside" if within(real, home) else "holds"
            raise UsageError(f"{target} {relation} the warehouse {folder}: an export never writes there")
    for kind, protected in (("catalog", warehouse.catalog_file), ("subject key", subject_key.key_file())):
        if protected is not None and real == os.path.realpath(protected):
            raise UsageError(f"{target} is the warehouse's {kind}: an export never replaces it")
    if overwrite and target.is_dir() and not target.is_symlink():
        others = sorted(
            e.name for e in target.iterdir() if not (e.is_dir() and e.name.startswith(PARTITION_COLUMN + "="))
        )
        if others:
            raise UsageError(
                f"{target} is a folder that is not an export (it holds {others[0]}): --overwrite replaces a file or "
                "an earlier export's folder only"
            )


def _select(table: str, where: str | None, split: str | None) -> str:
    conditions = []
    if where:
        statement_kind(f"SELECT 1 WHERE {where}")  # one condition, nothing that writes
        conditions.append(f"({where})")
    if split is not None:
        conditions.append(f"{PARTITION_COLUMN} = '{split}'")
    return f'SELECT * FROM "{table}"' + (f" WHERE {' AND '.join(conditions)}" if conditions else "")


def _write(
    reader: pa.RecordBatchReader, target: Path, fmt: str, partitioned: bool, overwrite: bool
) -> tuple[int, list[str]]:
    """Stream the batches into a folder (partitioned) or a file beside `target`, then move it there."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        written = staging / ("out" if partitioned else f"out.{fmt}")
        writer = duckdb.connect()
        writer.execute("SET autoinstall_known_extensions = false")
        writer.execute("SET autoload_known_extensions = false")
        writer.register("export_rows", reader)
        options = _COPY_FORMAT[fmt] + (f", PARTITION_BY ({PARTITION_COLUMN})" if partitioned else "")
        path = str(written).replace("'", "''")
        ((rows,),) = writer.execute(f"COPY export_rows TO '{path}' ({options})").fetchall()
        writer.close()
        if target.exists() and overwrite:
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
        os.replace(written, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = sorted(str(p) for p in target.rglob("*") if p.is_file()) if target.is_dir() else [str(target)]
    return int(rows), files
