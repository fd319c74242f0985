"""The Iceberg warehouse: a pyiceberg catalog (SQLite in the warehouse folder by default).

Every table write is one atomic Iceberg commit that replaces the table's rows, so a rerun over the
same landing data leaves each table with exactly the rows of the new run.
"""

from __future__ import annotations

import sqlite3
import time
import warnings
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from stedi import faults
from stedi.errors import WarehouseError
from stedi.warehouse.rows import Rows
from stedi.warehouse.storage import explain, iceberg_io_properties, is_remote

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
    staged: bool = False  # committed to the audit branch, not yet published (see Warehouse.release)


FINGERPRINT = "stedi.fingerprint"
AUDIT_BRANCH = "stedi-audit"  # where a run's tables wait for their checks before they are published
MAIN_BRANCH = "main"
ANY_SNAPSHOT = object()  # Warehouse.write: commit whatever the table's current snapshot is


def fingerprint(rows: Rows, schema: pa.Schema) -> str:
    """A fingerprint of the rows' schema and multiset of rows (row order does not matter)."""
    return f"{rows.measure.count}:{rows.measure.digest}:{hash_text(str(schema))}"


def open_catalog(location: str, spec: str | None, *, create: bool):  # -> pyiceberg Catalog
    """The Iceberg catalog of a warehouse.

    spec: None (SQLite `catalog.db` in a local warehouse folder); a SQLite file path or `sqlite:///...`
    URI; an Iceberg REST catalog URL (`http(s)://...`); `glue` (AWS Glue Data Catalog); or
    `pyiceberg:NAME` for a catalog configured in pyiceberg's own `.pyiceberg.yaml` / PYICEBERG_* env.
    """
    remote = is_remote(location)
    warehouse_uri = location if remote else Path(location).resolve().as_uri()
    props = iceberg_io_properties()
    try:
        if spec is None or not (spec.startswith(("http://", "https://", "pyiceberg:")) or spec == "glue"):
            catalog = _sqlite_catalog(location, spec, warehouse_uri, props, create=create)
        elif spec.startswith(("http://", "https://")):
            from pyiceberg.catalog.rest import RestCatalog

            catalog = RestCatalog(NAMESPACE, uri=spec, warehouse=warehouse_uri, **props)
        elif spec == "glue":
            try:
                from pyiceberg.catalog.glue import GlueCatalog
            except ImportError:
                raise WarehouseError("the Glue catalog needs boto3: pip install 'pyiceberg[glue]'") from None
            catalog = GlueCatalog(NAMESPACE, warehouse=warehouse_uri, **props)
        else:
            from pyiceberg.catalog import load_catalog

            catalog = load_catalog(spec.removeprefix("pyiceberg:"), **{"warehouse": warehouse_uri, **props})
        if create:
            catalog.create_namespace_if_not_exists(NAMESPACE)
        elif (NAMESPACE,) not in catalog.list_namespaces():
            raise WarehouseError(f"no STEDI tables in catalog {spec} (no namespace {NAMESPACE}); run `stedi run` first")
    except WarehouseError:
        raise
    except Exception as exc:  # SQLAlchemy, pyiceberg and HTTP clients raise many types
        raise WarehouseError(f"cannot open the catalog of warehouse {explain(exc, location)}") from exc
    return catalog


def _sqlite_catalog(
    location: str, spec: str | None, warehouse_uri: str, props: dict[str, str], *, create: bool
):  # -> SqlCatalog, a lazy import
    if spec is None:
        if is_remote(location):
            raise WarehouseError(
                f"a warehouse in object storage ({location}) needs --catalog: a local SQLite file "
                "(./catalog.db), an Iceberg REST URL, glue, or pyiceberg:NAME"
            )
        path = Path(location) / CATALOG_FILE
    else:
        path = Path(spec.removeprefix("sqlite:///").removeprefix("sqlite://"))
    if not create and not path.is_file():
        raise WarehouseError(f"no STEDI warehouse at {location} (no catalog {path}); build one with `stedi run`")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not is_remote(location):
            Path(location).mkdir(parents=True, exist_ok=True)
    from pyiceberg.catalog.sql import SqlCatalog  # heavy import, only when a warehouse is opened

    # timeout: wait for another process's catalog commit (Spark, a second run) instead of failing.
    uri = f"sqlite:///{path.resolve()}?timeout=30"
    return SqlCatalog(NAMESPACE, uri=uri, warehouse=warehouse_uri, **props)


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


# pyiceberg buffers a data file's rows as Arrow before writing it: this bounds a write's memory.
TABLE_PROPERTIES = {"write.target-file-size-bytes": str(128 << 20)}


def hash_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _restart_branch(transaction, branch: str, snapshot_id: int) -> None:
    from pyiceberg.table.update.snapshot import ManageSnapshots

    manage = ManageSnapshots(transaction)
    if branch in transaction.table_metadata.refs:
        manage.remove_branch(branch)
    manage.create_branch(snapshot_id, branch)
    manage.commit()


def local_table_names(location: str, catalog: str | None) -> set[str] | None:
    """The tables of a warehouse's default SQLite catalog, read directly (milliseconds, no pyiceberg);
    None when the warehouse has another catalog or the file cannot be read that way."""
    if catalog is not None or is_remote(location):
        return None
    path = Path(location) / CATALOG_FILE
    if not path.is_file():
        return set()
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as db:
            rows = db.execute(
                "SELECT table_name FROM iceberg_tables WHERE table_namespace = ?", (NAMESPACE,)
            ).fetchall()
    except sqlite3.OperationalError as exc:
        # A catalog still being created by this run's committer has no tables yet.
        return set() if "no such table" in str(exc) else None
    except sqlite3.Error:
        return None  # let pyiceberg open it and say what is wrong
    return {row[0] for row in rows}


class Warehouse:
    """A warehouse location with its catalog; tables are addressed by bare name (namespace `stedi`).

    `catalog` says which Iceberg catalog holds the tables (see `open_catalog`); by default a SQLite
    file `catalog.db` inside a local warehouse folder.
    """

    def __init__(self, location: str | Path, *, create: bool = False, catalog: str | None = None) -> None:
        self.location = str(location).rstrip("/") if is_remote(str(location)) else str(location)
        self.catalog_spec = catalog
        self.catalog = open_catalog(self.location, catalog, create=create)

    def prepare_writes(self) -> None:
        """Load the modules the first write needs, so that it can be done ahead of the data."""
        import pyarrow.parquet  # noqa: F401
        import pyiceberg.io.pyarrow  # noqa: F401

    def table_names(self) -> list[str]:
        try:
            return sorted(ident[-1] for ident in self.catalog.list_tables(NAMESPACE))
        except Exception as exc:
            raise WarehouseError(f"cannot list tables of warehouse {self.location}: {exc}") from exc

    def write(
        self,
        name: str,
        data: Rows | pa.Table,
        *,
        append: Rows | pa.Table | None = None,
        properties: dict[str, str] | None = None,
        expected: object = ANY_SNAPSHOT,
        stage: bool = False,
    ) -> Commit:
        """Make table `name` hold exactly the rows of `data`, in one commit (creating the table if needed).

        The rows are streamed in batches (see `Rows`): a table of any size is written in bounded memory.

        `append`: the rows of `data` the table does not hold yet; they are appended instead of
        rewriting the table (the caller knows the table holds the rest). `properties` are stored on
        the new snapshot; without them, the current snapshot's `stedi.*` properties are carried on.
        `expected`: the snapshot id the caller planned against (None: no table or no snapshot); if
        another writer moved the table since, nothing is written and WarehouseError says so.

        `stage`: commit to the branch `stedi-audit` (started at the current snapshot) instead of the
        main branch; readers see nothing until `release` makes that snapshot current (write-audit-publish).

        When the current snapshot already holds exactly these rows with these properties, nothing is
        committed: a rerun over the same landing data adds no snapshot.
        """
        started = time.perf_counter()
        ident = (NAMESPACE, name)
        # Load first: pyiceberg's create_table_if_not_exists writes a metadata file before it finds
        # the table exists, leaving an orphan file behind on every run.
        from pyiceberg.exceptions import CommitFailedException, NoSuchTableError

        rows = data if isinstance(data, Rows) else Rows.of(data)
        try:
            table = self.catalog.load_table(ident)
        except NoSuchTableError:
            table = self.catalog.create_table_if_not_exists(ident, schema=rows.schema, properties=TABLE_PROPERTIES)
        current = table.current_snapshot()
        if expected is not ANY_SNAPSHOT and (current.snapshot_id if current else None) != expected:
            raise WarehouseError(
                f"table {name} was changed by another writer while this run was working; nothing was written "
                "to it. Run again: the next run completes the work"
            )
        declared = table.schema().as_arrow()
        schema = _declared_schema(rows, declared)
        summary = dict(current.summary.additional_properties) if current and current.summary else {}
        props = {k: v for k, v in summary.items() if k.startswith("stedi.")} if properties is None else properties
        props = {**props, FINGERPRINT: fingerprint(rows, schema)}
        if current is not None and all(summary.get(k) == v for k, v in props.items()):
            return Commit(name, rows.measure.count, current.snapshot_id, False, time.perf_counter() - started)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            try:
                transaction = table.transaction()
                # Staged: on the audit branch, started at the current snapshot; a table without one
                # (a branch needs a start) gets a staged snapshot that no branch references yet.
                branch = (AUDIT_BRANCH if current is not None else None) if stage else MAIN_BRANCH
                if stage and current is not None:
                    _restart_branch(transaction, AUDIT_BRANCH, current.snapshot_id)
                if append is not None and current is not None:
                    added = append if isinstance(append, Rows) else Rows.of(append)
                    batches = added.reader(_declared_schema(added, declared))
                    transaction.append(batches, snapshot_properties=props, branch=branch)
                else:
                    transaction.overwrite(rows.reader(schema), snapshot_properties=props, branch=branch)
                faults.point(f"commit:{name}")  # data and manifest files written, the catalog not yet
                transaction.commit_transaction()
            except OSError as exc:
                raise WarehouseError(f"cannot write table {name}: {explain(exc, self.location)}") from exc
            except CommitFailedException as exc:
                raise WarehouseError(
                    f"table {name} was changed by another writer while this run was committing; nothing was "
                    f"written to it ({exc}). Run again: the next run completes the work"
                ) from exc
        faults.point(f"committed:{name}")
        if branch is None:
            snapshot_id: int | None = table.metadata.snapshots[-1].snapshot_id
        else:
            ref = table.metadata.refs.get(branch)
            snapshot_id = ref.snapshot_id if ref else None
        return Commit(name, rows.measure.count, snapshot_id, True, time.perf_counter() - started, staged=stage)

    def release(self, name: str, snapshot_id: int) -> None:
        """Publish a staged snapshot: make it the table's current one (one catalog commit)."""
        from pyiceberg.exceptions import CommitFailedException

        table = self.load(name)
        try:
            table.manage_snapshots().set_current_snapshot(snapshot_id).commit()
        except CommitFailedException as exc:
            raise WarehouseError(f"table {name} was changed by another writer; it was not published ({exc})") from exc
        faults.point(f"published:{name}")

    def append_rows(self, name: str, rows: pa.Table) -> None:
        """Append rows to a log-like table (created on first use), in one commit."""
        from pyiceberg.exceptions import NoSuchTableError

        try:
            table = self.catalog.load_table((NAMESPACE, name))
        except NoSuchTableError:
            table = self.catalog.create_table_if_not_exists((NAMESPACE, name), schema=rows.schema)
        added = Rows.of(rows)
        table.append(added.reader(_declared_schema(added, table.schema().as_arrow())))

    def state(self, name: str) -> tuple[int | None, dict[str, str]]:
        """The current snapshot id of a table (None: no table or no snapshot) and its `stedi.*` properties."""
        from pyiceberg.exceptions import NoSuchTableError

        try:
            table = self.catalog.load_table((NAMESPACE, name))
        except NoSuchTableError:
            return None, {}
        current = table.current_snapshot()
        if current is None:
            return None, {}
        summary = current.summary.additional_properties if current.summary else {}
        return current.snapshot_id, {k: v for k, v in summary.items() if k.startswith("stedi.")}

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
