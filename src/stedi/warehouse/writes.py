"""Writing tables: every write is one atomic Iceberg commit that makes a table hold exactly some rows.

Runs stage their tables on the branch `stedi-audit` and publish them after their checks
(write-audit-publish); `stedi forget` and the warehouse's own records write to the main branch.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from stedi import faults
from stedi.errors import WarehouseError
from stedi.storage import explain, local_path
from stedi.warehouse.catalog import NAMESPACE, Warehouse
from stedi.warehouse.erased_copy import damage_remedy
from stedi.warehouse.fingerprints import ROW_HASH, appended, fingerprint, row_hash
from stedi.warehouse.publishing import replaced
from stedi.warehouse.rows import Rows

if TYPE_CHECKING:
    from pyiceberg.table import Table

FINGERPRINT = "stedi.fingerprint"
AUDIT_BRANCH = "stedi-audit"  # where a run's tables wait for their checks before they are published
MAIN_BRANCH = "main"
ANY_SNAPSHOT = object()  # write: commit whatever the table's current snapshot is
# The size of a table's data files (pyiceberg buffers a file's rows as Arrow before writing it:
# this bounds a write's memory).
TARGET_FILE_BYTES = 128 << 20
# Appends merge the table's manifests once it has this many: each append adds one, and everything
# that plans the table (a run, the report, maintenance) reads all of them; with 60 appends, 0.4 s a run.
MANIFESTS_TO_MERGE = 8
MERGING = {"commit.manifest-merge.enabled": "true", "commit.manifest.min-count-to-merge": str(MANIFESTS_TO_MERGE)}
TABLE_PROPERTIES = {"write.target-file-size-bytes": str(TARGET_FILE_BYTES), **MERGING}
NAME_MAPPING = "schema.name-mapping.default"


@dataclass(frozen=True)
class Commit:
    table: str
    rows: int
    snapshot_id: int | None
    changed: bool = True  # False: the table already held these rows, no snapshot was added
    seconds: float = 0.0
    staged: bool = False  # committed to the audit branch, not yet published (see publish)


def _declared_schema(rows: Rows, declared: pa.Schema) -> pa.Schema:
    """The rows' schema with columns non-nullable where the table declares them required (an engine's
    output is all nullable); a column that holds nulls stays nullable, and the write then fails on
    it, as it should."""
    fields = []
    for f in rows.schema:
        target = declared.field(f.name) if f.name in declared.names else None
        required = target is not None and not target.nullable and f.name not in rows.measure.with_nulls
        fields.append(f.with_nullable(False) if required else f)
    return pa.schema(fields, metadata=rows.schema.metadata)


def _restart_branch(transaction, branch: str, snapshot_id: int) -> None:
    from pyiceberg.table.update.snapshot import ManageSnapshots

    manage = ManageSnapshots(transaction)
    if branch in transaction.table_metadata.refs:
        manage.remove_branch(branch)
    manage.create_branch(snapshot_id, branch)
    manage.commit()


def overtaken(name: str) -> WarehouseError:
    """The error of a write planned against a snapshot another writer has replaced since."""
    return WarehouseError(
        f"table {name} was changed by another writer while this run was working; nothing was written "
        "to it. Run again: the next run completes the work"
    )


def nulls_refused(name: str, columns: list[str]) -> WarehouseError:
    """The error of rows holding nulls in columns the table requires."""
    return WarehouseError(f"cannot write table {name}: its required column {', '.join(columns)} holds nulls")


def _load_or_create(warehouse: Warehouse, name: str, schema: pa.Schema, repair: bool = False):  # -> pyiceberg Table
    return _load_or_stage(warehouse, name, schema, repair, staged=False)[0]


def _load_or_stage(warehouse: Warehouse, name: str, schema: pa.Schema, repair: bool, staged: bool = True):
    """The table, and None; or, when there is none, a table to be created by the first commit of
    the transaction returned with it (`staged`, in the warehouse's own SQLite catalog: one metadata
    file and one catalog row, where creating first writes two of each), else the table created."""
    from pyiceberg.exceptions import NoSuchTableError

    from stedi.warehouse.sqlite_catalog import SqliteCatalog

    # Load first: pyiceberg's create_table_if_not_exists writes a metadata file before it finds
    # the table exists, leaving an orphan file behind on every run.
    try:
        return warehouse.catalog.load_table((NAMESPACE, name)), None
    except NoSuchTableError:
        pass
    except (OSError, ValueError) as exc:
        if not repair:
            raise WarehouseError(
                f"table {name} is damaged: its metadata cannot be read ({explain(exc, warehouse.location)}); "
                f"{damage_remedy(name, warehouse.location)}"
            ) from exc
        warehouse.catalog.drop_table((NAMESPACE, name))  # its history is lost with its metadata
    if staged and isinstance(warehouse.catalog, SqliteCatalog):
        creation = warehouse.catalog.create_table_transaction(
            (NAMESPACE, name), schema=schema, properties=TABLE_PROPERTIES
        )
        return creation._table, creation
    table = warehouse.catalog.create_table_if_not_exists((NAMESPACE, name), schema=schema, properties=TABLE_PROPERTIES)
    return table, None


def _evolved(table, schema: pa.Schema):  # -> pyiceberg Table
    """The table, its schema widened by columns the rows have and it lacks (a newer version's columns)."""
    known = {f.name for f in table.schema().fields}
    if all(name in known for name in schema.names):
        return table
    with table.update_schema() as update:
        update.union_by_name(schema)
    return table


def current_fingerprint(warehouse: Warehouse, name: str) -> str | None:
    """The fingerprint of the rows a table holds now, computed from its files (None: they cannot be
    read): what `--full-refresh` and `stedi verify` trust instead of the stored property."""
    import duckdb

    from stedi.warehouse.scan import attach

    con = duckdb.connect()
    try:
        declared = attach(con, warehouse, name, "current_rows")
        rows = Rows(con, "current_rows")  # typed as the engine types the rows it writes
        return fingerprint(rows, _declared_schema(rows, declared))
    except (duckdb.Error, OSError, WarehouseError, pa.ArrowException):
        return None
    finally:
        con.close()


def write(
    warehouse: Warehouse,
    name: str,
    data: Rows | pa.Table,
    *,
    append: Rows | pa.Table | None = None,
    properties: dict[str, str] | None = None,
    expected: object = ANY_SNAPSHOT,
    stage: bool = False,
    verify_current: bool = False,
    force: bool = False,
) -> Commit:
    """Make table `name` hold exactly the rows of `data`, in one commit (creating the table if needed).

    The rows are streamed in batches (see `Rows`): a table of any size is written in bounded memory.

    `append`: the rows of `data` the table does not hold yet; they are appended instead of
    rewriting the table (the caller knows the table holds the rest). `properties` are stored on
    the new snapshot; without them, the current snapshot's `stedi.*` properties are carried on.
    `expected`: the snapshot id the caller planned against (None: no table or no snapshot); if
    another writer moved the table since, nothing is written and WarehouseError says so.

    `stage`: commit to the branch `stedi-audit` (started at the current snapshot) instead of the
    main branch; readers see nothing until `publish` makes that snapshot current (write-audit-publish).

    When the current snapshot already holds exactly these rows with these properties, nothing is
    committed: a rerun over the same landing data adds no snapshot. `verify_current` checks that the
    files really hold them (a damaged table is rewritten) instead of trusting the stored fingerprint;
    `force` rewrites them anyway (compaction: the same rows in fewer files).
    """
    started = time.perf_counter()
    rows = data if isinstance(data, Rows) else Rows.of(data)
    table, creation = _load_or_stage(warehouse, name, rows.schema, repair=verify_current)
    table = _evolved(table, rows.schema) if creation is None else table
    current = table.current_snapshot()
    if verify_current and expected is not ANY_SNAPSHOT and expected is None:
        expected = current.snapshot_id if current else None  # planned against a damaged table
    if expected is not ANY_SNAPSHOT and (current.snapshot_id if current else None) != expected:
        raise overtaken(name)
    declared = table.schema().as_arrow()
    summary = dict(current.summary.additional_properties) if current and current.summary else {}
    appending = append is not None and current is not None  # the caller knows the table holds the rest
    added = (append if isinstance(append, Rows) else Rows.of(append)) if appending else rows
    extend = appending and not verify_current and summary.get(ROW_HASH) == row_hash()
    found, count = _measured(rows, added if extend else None, declared, summary)
    props = {k: v for k, v in summary.items() if k.startswith("stedi.")} if properties is None else properties
    props = {**props, FINGERPRINT: found}
    unchanged = current is not None and all(summary.get(k) == v for k, v in props.items() if k != ROW_HASH)
    if unchanged and verify_current:
        unchanged = current_fingerprint(warehouse, name) == props[FINGERPRINT]
    if unchanged and not force:
        return Commit(name, count, current.snapshot_id, False, time.perf_counter() - started)
    props[ROW_HASH] = row_hash()
    snapshot_id = _commit(
        warehouse, table, name, added, declared, props, stage=stage, replace=current is not None and not appending,
        transaction=creation,
    )  # fmt: skip
    return Commit(name, count, snapshot_id, True, time.perf_counter() - started, staged=stage)


def _measured(rows: Rows, added: Rows | None, declared: pa.Schema, summary: dict[str, str]) -> tuple[str, int]:
    """The rows' fingerprint (with their schema as written) and their count. With `added` (the rows
    appended to a table that holds the rest), from the current snapshot's fingerprint and the added
    rows alone where it fingerprints rows of this schema: the table's required columns hold no
    nulls in the rows it holds, so the added rows decide the schema."""
    if added is not None and (added.schema.names, added.schema.types) == (rows.schema.names, rows.schema.types):
        extended = appended(summary.get(FINGERPRINT), added, _declared_schema(added, declared))
        if extended is not None:
            return extended
    return fingerprint(rows, _declared_schema(rows, declared)), rows.measure.count


def _commit(
    warehouse: Warehouse,
    table: Table,
    name: str,
    added: Rows,
    declared: pa.Schema,
    props: dict[str, str],
    *,
    stage: bool,
    replace: bool,
    transaction=None,  # pyiceberg Transaction | None: one that creates the table, else a new one
) -> int | None:
    """Add the rows `added` (replacing every row the table holds when `replace`) in one commit, written with the
    table's `declared` schema; the id of the snapshot made (staged: the audit branch's, None for a
    table's first staged snapshot)."""
    from pyiceberg.exceptions import CommitFailedException

    current = table.current_snapshot()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Delete operation did not match any records")
        try:
            transaction = transaction or table.transaction()
            # Staged: on the audit branch, started at the current snapshot; a table without one
            # (a branch needs a start) gets a staged snapshot that no branch references yet.
            branch = (AUDIT_BRANCH if current is not None else None) if stage else MAIN_BRANCH
            if stage and current is not None:
                _restart_branch(transaction, AUDIT_BRANCH, current.snapshot_id)
            _add_rows(warehouse, transaction, added, declared, props, branch, replace=replace)
            faults.point(f"commit:{name}")  # data and manifest files written, the catalog not yet
            transaction.commit_transaction()
        except OSError as exc:
            raise WarehouseError(f"cannot write table {name}: {explain(exc, warehouse.location)}") from exc
        except CommitFailedException as exc:
            raise WarehouseError(
                f"table {name} was changed by another writer while this run was committing; nothing was "
                f"written to it ({exc}). Run again: the next run completes the work"
            ) from exc
        except ValueError as exc:
            raise replaced(exc, name) or exc from exc
    faults.point(f"committed:{name}")
    if branch is None:
        return table.metadata.snapshots[-1].snapshot_id
    ref = table.metadata.refs.get(branch)
    return ref.snapshot_id if ref else None


def _add_rows(
    warehouse: Warehouse,
    transaction,
    rows: Rows,
    declared: pa.Schema,
    props: dict[str, str],
    branch: str | None,
    replace: bool,
) -> None:
    """Add the rows to the transaction's table (replacing its rows with `replace`): in a local
    warehouse as Parquet files DuckDB writes in parallel, else streamed through pyiceberg."""
    table = transaction._table
    name = table.name()[-1]
    if nulls := sorted(c for c in rows.measure.with_nulls if c in declared.names and not declared.field(c).nullable):
        raise nulls_refused(name, nulls)
    _merging(transaction)
    paths = _engine_files(warehouse, table, rows, declared)
    if paths is None:
        batches = rows.reader(_declared_schema(rows, declared))
        if replace:
            transaction.overwrite(batches, snapshot_properties=props, branch=branch)
        else:
            transaction.append(batches, snapshot_properties=props, branch=branch)
        return
    # Files written without Iceberg field ids are read by name: the mapping follows the schema.
    mapping = transaction.table_metadata.schema().name_mapping.model_dump_json()
    if transaction.table_metadata.properties.get(NAME_MAPPING) != mapping:
        transaction.set_properties(**{NAME_MAPPING: mapping})
    if replace:
        from pyiceberg.expressions import AlwaysTrue

        transaction.delete(AlwaysTrue(), snapshot_properties=props, branch=branch)
    transaction.add_files(paths, snapshot_properties=props, check_duplicate_files=False, branch=branch)


def _merging(transaction) -> None:  # transaction: a pyiceberg Transaction
    """The table's appends merge its manifests (a table made before they did is set to, in the commit)."""
    properties = transaction.table_metadata.properties
    if any(properties.get(k) != v for k, v in MERGING.items()):
        transaction.set_properties(**MERGING)


def _engine_files(warehouse: Warehouse, table, rows: Rows, declared: pa.Schema) -> list[str] | None:
    """The rows of a relation written as the table's data files by DuckDB (in parallel, straight
    from the relation), for a local warehouse: their paths as the metadata records them. None: the
    rows are for pyiceberg to write (object storage, small Arrow rows, or files DuckDB wrote with a
    required column it could not prove free of nulls, which Iceberg would refuse)."""
    import duckdb
    import pyarrow.parquet as pq

    folder = _local_data_folder(warehouse, table)
    if folder is None or rows.in_memory:
        return None
    physical, logical = folder
    os.makedirs(physical, exist_ok=True)
    try:
        written = rows.copy_to(physical, declared, TARGET_FILE_BYTES)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot write table {table.name()[-1]}: {str(exc).splitlines()[0]}") from exc
    required = [f.name for f in declared if not f.nullable]
    for path in written:
        schema = pq.read_schema(path)
        if any(schema.field(n).nullable for n in required if n in schema.names):
            for done in written:
                os.remove(done)
            return None
    return [f"{logical}/{os.path.basename(path)}" for path in written]


def _local_data_folder(warehouse: Warehouse, table) -> tuple[str, str] | None:
    """Where a table of a local warehouse keeps its data files: on disk now, and in its metadata."""
    logical = f"{table.location().rstrip('/')}/data"
    physical = local_path(warehouse.physical(logical))
    root = local_path(warehouse.location)
    if physical is None or root is None:
        return None
    inside = os.path.realpath(root).rstrip("/") + "/"
    if not os.path.realpath(physical).startswith(inside):
        raise WarehouseError(f"refused to write {physical}: it is outside the warehouse {root}")
    return physical, logical


def append_rows(
    warehouse: Warehouse, name: str, rows: pa.Table, properties: dict[str, str] | None = None, repair: bool = False
) -> None:
    """Append rows to a log-like table (created on first use), in one commit (`properties`: stored
    on its snapshot). `repair`: a table whose rows cannot all be read (lost metadata or data files)
    is made anew with these rows: what it held is lost with its files."""
    if repair and name in warehouse.table_names():
        try:
            warehouse.read(name)
        except WarehouseError:
            warehouse.catalog.drop_table((NAMESPACE, name))
    table = _evolved(_load_or_create(warehouse, name, rows.schema), rows.schema)
    added = Rows.of(rows)
    try:
        with table.transaction() as transaction:
            _merging(transaction)
            transaction.append(
                added.reader(_declared_schema(added, table.schema().as_arrow())), snapshot_properties=properties or {}
            )
    except OSError as exc:
        raise WarehouseError(f"cannot write table {name}: {explain(exc, warehouse.location)}") from exc
    except ValueError as exc:
        raise replaced(exc, name) or exc from exc


def set_table_properties(warehouse: Warehouse, name: str, updates: dict[str, str], snapshot_id: int | None) -> bool:
    """Set properties of table `name` (no snapshot is added) if its current snapshot is still
    `snapshot_id`; False when it is not, or the catalog refused the change."""
    from pyiceberg.exceptions import CommitFailedException, RESTError

    try:
        table = warehouse.load(name)
        current = table.current_snapshot()
        if (current.snapshot_id if current else None) != snapshot_id:
            return False
        with table.transaction() as transaction:
            transaction.set_properties(**updates)
    except (WarehouseError, OSError, ValueError, CommitFailedException, RESTError):
        return False
    return True
