"""The Iceberg warehouse: a pyiceberg catalog (SQLite in the warehouse folder by default).

A warehouse keeps, as properties of its catalog namespace `stedi`, the root it was created at (see
`fileio`: moved or copied, it still works, on its own files) and the fingerprint of its subject key.
Writes are in `writes`; removing snapshots and files is in `maintenance`.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stedi.errors import WarehouseError
from stedi.storage import explain, iceberg_io_properties, is_remote, local_path, require_location, within
from stedi.warehouse.erased_copy import damage_remedy
from stedi.warehouse.folder import NAMESPACE, catalog_tables, open_sqlite, refuse_lost_catalog

CATALOG_FILE = "catalog.db"
ROOT_PROPERTY = "stedi.root"  # the logical root: where the warehouse was created
KEY_PROPERTY = "stedi.subject-key-fingerprint"
# The pyiceberg catalog name whose settings (credential, token, ...) apply to a `--catalog URL`.
URL_CATALOG_NAME = "stedi"
# How long a run waits for another writer's half-made namespace before it reports the server's error.
NAMESPACE_RACE_SECONDS = 30.0


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int
    snapshot_id: int | None
    columns: list[tuple[str, str]]


def local_catalog_file(location: str, spec: str | None) -> Path | None:
    """The SQLite file of a warehouse's catalog, when it has one."""
    if spec is None:
        return None if is_remote(location) else Path(location) / CATALOG_FILE
    if spec.startswith(("http://", "https://", "pyiceberg:")) or spec == "glue":
        return None
    return Path(spec.removeprefix("sqlite:///").removeprefix("sqlite://"))


def check_sqlite(path: Path) -> None:
    """A catalog file that is not a readable SQLite database is named as such (before pyiceberg
    meets it in some worse way)."""
    try:
        with closing(open_sqlite(path)) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
    except (sqlite3.Error, UnicodeError, ValueError) as exc:
        raise WarehouseError(
            f"the catalog {path} is damaged or not a SQLite database ({exc}); restore it from a backup, or move it "
            "aside and rebuild it from the tables' own metadata with `stedi recover`"
        ) from None


def configured_properties(name: str) -> dict[str, str]:
    """What pyiceberg's settings (`.pyiceberg.yaml`, PYICEBERG_CATALOG__<NAME>__*) give catalog `name`."""
    from pyiceberg.utils.config import Config

    return {k: str(v) for k, v in (Config().get_catalog_config(name) or {}).items() if not isinstance(v, dict)}


def _configured_catalog(name: str, defaults: dict[str, str], given: dict[str, str]):  # -> pyiceberg Catalog
    """A pyiceberg catalog from its standard settings: what `.pyiceberg.yaml` (in PYICEBERG_HOME or
    the home folder) or the PYICEBERG_CATALOG__<NAME>__* variables configure for `name` (credential,
    token, warehouse, endpoints) overrides `defaults` (the warehouse location, S3 settings from the
    AWS variables); `given` overrides both. The settings are read when the catalog is opened (not
    when pyiceberg was imported), as `load_catalog` would with them."""
    from pyiceberg.catalog import AVAILABLE_CATALOGS, CatalogType, infer_catalog_type

    configured = configured_properties(name)
    if not configured and not given:
        raise WarehouseError(
            f"no pyiceberg catalog named {name}: configure it in ~/.pyiceberg.yaml or with "
            f"PYICEBERG_CATALOG__{name.upper()}__URI (and its other settings)"
        )
    conf = {**defaults, **configured, **given}
    kind = conf.get("type")
    catalog_type = CatalogType(kind.lower()) if kind else infer_catalog_type(name, conf)  # type: ignore[arg-type]
    if catalog_type is None:
        raise WarehouseError(f"the pyiceberg catalog {name} has no type or uri")
    return AVAILABLE_CATALOGS[catalog_type](name, conf)


def open_catalog(location: str, spec: str | None, *, create: bool, adopt: bool = False):  # -> pyiceberg Catalog
    """The Iceberg catalog of a warehouse (`adopt`: even an empty one over a folder that holds tables,
    for `stedi recover` to register them in).

    spec: None (SQLite `catalog.db` in a local warehouse folder); a SQLite file path or `sqlite:///...`
    URI; an Iceberg REST URL (`http(s)://...`); `glue` (AWS Glue Data Catalog); or
    `pyiceberg:NAME` for a catalog configured in pyiceberg's own `.pyiceberg.yaml` / PYICEBERG_* env.
    """
    remote = is_remote(location)  # a location, checked by its callers (Warehouse, writer_lock) to name a place
    if spec is not None:
        require_location(spec, "catalog")
    sqlite_file = local_catalog_file(location, spec)
    if spec is None and remote:
        raise WarehouseError(
            f"a warehouse in object storage ({location}) needs --catalog: a local SQLite file "
            "(./catalog.db), an Iceberg REST URL, glue, or pyiceberg:NAME"
        )
    if not remote and Path(location).exists() and not Path(location).is_dir():
        raise WarehouseError(f"the warehouse {location} is a file, not a folder")
    if sqlite_file is not None:
        _prepare_sqlite(location, sqlite_file, create=create, adopt=adopt)
    try:
        catalog = _catalog(location, spec, sqlite_file, create=create)
        if create:
            _ensure_namespace(catalog)
        elif (NAMESPACE,) not in catalog.list_namespaces():
            raise WarehouseError(f"no STEDI tables in catalog {spec} (no namespace {NAMESPACE}); run `stedi run` first")
    except WarehouseError:
        raise
    except Exception as exc:  # SQLAlchemy, pyiceberg and HTTP clients raise many types
        if hint := _catalog_problem(exc, spec):
            raise WarehouseError(f"cannot open the catalog {spec} of warehouse {location}: {hint}") from exc
        raise WarehouseError(f"cannot open the catalog of warehouse {explain(exc, location)}") from exc
    return catalog


def _ensure_namespace(catalog) -> None:  # catalog: a pyiceberg Catalog
    """The namespace, made unless it is there. A REST server may fail a create that races another
    writer's create of the same namespace (SeaweedFS answers 500 while the other's is half made):
    asked again once the other's is whole, it is there."""
    from pyiceberg.exceptions import ServerError

    deadline = time.monotonic() + NAMESPACE_RACE_SECONDS
    delay = 0.05
    while True:
        try:
            catalog.create_namespace_if_not_exists(NAMESPACE)
            return
        except ServerError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _prepare_sqlite(location: str, sqlite_file: Path, *, create: bool, adopt: bool) -> None:
    """A SQLite catalog file checked before pyiceberg opens it: not lost over committed tables, its
    folders made (`create`) or the file there, and a SQLite database."""
    remote = is_remote(location)
    if not remote and not adopt:
        refuse_lost_catalog(location, sqlite_file)
    if create:
        for folder in {sqlite_file.parent, *(() if remote else (Path(location),))}:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WarehouseError(f"cannot create the warehouse folder {folder}: {exc.strerror or exc}") from None
    elif not sqlite_file.is_file():
        raise WarehouseError(f"no STEDI warehouse at {location} (no catalog {sqlite_file}); build one with `stedi run`")
    if sqlite_file.is_file():
        check_sqlite(sqlite_file)


def _catalog(location: str, spec: str | None, sqlite_file: Path | None, *, create: bool) -> Any:
    """The pyiceberg catalog object the settings name (nothing is read from it yet)."""
    from stedi.warehouse.fileio import local_uri

    warehouse_uri = location if is_remote(location) else local_uri(location)
    props = iceberg_io_properties()
    if sqlite_file is not None:
        from stedi.warehouse.sqlite_catalog import SqliteCatalog  # imports pyiceberg: only when a warehouse is opened

        return SqliteCatalog(NAMESPACE, sqlite_file.resolve(), create=create, warehouse=warehouse_uri, **props)
    if spec is not None and spec.startswith(("http://", "https://")):
        defaults = {"warehouse": warehouse_uri, **props}
        return _configured_catalog(URL_CATALOG_NAME, defaults, {"type": "rest", "uri": spec})
    if spec == "glue":
        try:
            from pyiceberg.catalog.glue import GlueCatalog
        except ImportError:
            raise WarehouseError("the Glue catalog needs boto3: pip install 'pyiceberg[glue]'") from None
        return GlueCatalog(NAMESPACE, warehouse=warehouse_uri, **props)
    assert spec is not None
    return _configured_catalog(spec.removeprefix("pyiceberg:"), {"warehouse": warehouse_uri, **props}, {})


def _catalog_problem(exc: Exception, spec: str | None) -> str | None:
    """What is wrong with the settings of a remote catalog, in words a user can act on."""
    if spec is None or not spec.startswith(("http://", "https://", "pyiceberg:")):
        return None
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    lowered = f"{type(exc).__name__} {text}".lower()
    variables = f"PYICEBERG_CATALOG__{URL_CATALOG_NAME.upper()}__"
    entry = f"the {spec.removeprefix('pyiceberg:')} entry of ~/.pyiceberg.yaml"
    url = spec.startswith("http")
    if any(k in lowered for k in ("connection refused", "max retries exceeded", "name or service not known",
                                  "timed out", "connecttimeout", "failed to establish")):  # fmt: skip
        return "cannot reach the catalog server: is it running, and is the URL right?"
    if any(k in lowered for k in ("unauthorized", "notauthorized", "invalid_client", "forbidden", "401", "403")):
        return (
            f"the catalog refused the credentials ({text}); check {variables + 'CREDENTIAL or TOKEN' if url else entry}"
        )
    if "warehouse" in lowered or "bucket" in lowered:
        return f"the catalog has no such warehouse ({text}); check {variables + 'WAREHOUSE' if url else entry}"
    return None


def local_table_names(location: str, catalog: str | None) -> set[str] | None:
    """The tables of a warehouse's default SQLite catalog, read directly (milliseconds, no pyiceberg);
    None when the warehouse has another catalog or the file cannot be read that way."""
    if catalog is not None or is_remote(location):
        return None
    return catalog_tables(Path(location) / CATALOG_FILE)


class Warehouse:
    """A warehouse location with its catalog; tables are addressed by bare name (namespace `stedi`).

    `location` is where the warehouse is now (its physical root); `root` where it was created (its
    logical root, under which every path of its metadata is). With `create`, a new warehouse is set
    up (catalog, namespace, root) and the root of an older one is recorded.
    """

    def __init__(self, location: str | Path, *, create: bool = False, catalog: str | None = None) -> None:
        from stedi.warehouse.fileio import IMPL, LOGICAL_ROOT, PHYSICAL_ROOT, WarehouseFileIO, local_uri

        text = require_location(str(location))
        self.location = text.rstrip("/") if is_remote(text) else str(Path(text).absolute())
        self.catalog_spec = catalog
        self._plans: dict[tuple[str, int | None], tuple[list[str], Any]] = {}  # see data_files
        self.catalog = open_catalog(self.location, catalog, create=create)
        self.relocatable = local_catalog_file(self.location, catalog) is not None
        physical = self.location if is_remote(self.location) else local_uri(self.location)
        self.root = physical
        if self.relocatable:
            properties = self.namespace_properties()
            self.root = properties.get(ROOT_PROPERTY) or self._inferred_root() or physical
            if create and ROOT_PROPERTY not in properties and not self.table_names():  # a new warehouse
                self.set_namespace_properties({ROOT_PROPERTY: self.root})
            self.catalog.properties.update({"py-io-impl": IMPL, LOGICAL_ROOT: self.root, PHYSICAL_ROOT: physical})
        # The catalog's own FileIO, for the paths stedi hands to other readers (DuckDB, deletes).
        self._io = WarehouseFileIO({LOGICAL_ROOT: self.root, PHYSICAL_ROOT: physical} if self.relocatable else {})
        if self.relocatable and self.moved and catalog is not None:
            self._refuse_anothers_catalog()

    def _refuse_anothers_catalog(self) -> None:
        """A catalog file outside the folder (it does not move with it) whose tables' metadata files
        are all where it was created and none here belongs to that other warehouse: used here, a
        rebuild would take its tables from it."""
        catalog_file, origin = self.catalog_file, local_path(self.root)
        if catalog_file is None or origin is None or within(str(catalog_file.absolute()), self.location):
            return
        located = [self._catalog_metadata_location(name) for name in self.table_names()]
        if not located or not all(located):
            return

        def exists(location: str) -> bool:
            return Path(local_path(location) or "").exists()

        if all(exists(m) and not exists(self._io.physical_location(m)) for m in located if m):
            raise WarehouseError(
                f"the catalog {catalog_file} belongs to the warehouse at {origin}, whose tables it lists (none are in "
                f"{self.location}); nothing was done. Give --warehouse {origin}, or a catalog of this warehouse (a "
                "copy of a warehouse needs a copy of its catalog)"
            )

    @property
    def catalog_file(self) -> Path | None:
        """The SQLite file of the catalog, when it has one."""
        return local_catalog_file(self.location, self.catalog_spec)

    @property
    def moved(self) -> bool:
        """True when the warehouse is not where it was created (moved, copied or restored elsewhere)."""
        from stedi.warehouse.fileio import local_uri

        here = self.location if is_remote(self.location) else local_uri(self.location)
        return self.root.rstrip("/") != here.rstrip("/")

    def _inferred_root(self) -> str | None:
        """The root of a warehouse made before roots were recorded: where its tables' metadata is."""
        for name in self.table_names():
            location = self._catalog_metadata_location(name)
            marker = f"/{NAMESPACE}/{name}/metadata/"
            if location and marker in location:
                return location[: location.index(marker)]
        return None

    def _catalog_metadata_location(self, name: str) -> str | None:
        from stedi.warehouse.sqlite_catalog import SqliteCatalog

        if not isinstance(self.catalog, SqliteCatalog):  # another catalog kind: no inference
            return None
        try:
            return self.catalog.metadata_location((NAMESPACE, name))
        except Exception:  # no such table, an older schema
            return None

    def namespace_properties(self) -> dict[str, str]:
        try:
            return dict(self.catalog.load_namespace_properties(NAMESPACE))
        except Exception as exc:
            raise WarehouseError(f"cannot read the catalog of warehouse {explain(exc, self.location)}") from exc

    def set_namespace_properties(self, updates: dict[str, str]) -> None:
        try:
            self.catalog.update_namespace_properties(NAMESPACE, updates=updates)
        except Exception as exc:
            raise WarehouseError(f"cannot write the catalog of warehouse {explain(exc, self.location)}") from exc

    def physical(self, location: str) -> str:
        """Where a path of the metadata is on storage now; a path outside the warehouse is refused
        (the metadata naming it is damaged or hostile). See `fileio`."""
        return self._io.checked(location, "read")

    def table_names(self) -> list[str]:
        try:
            return sorted(ident[-1] for ident in self.catalog.list_tables(NAMESPACE))
        except Exception as exc:
            raise WarehouseError(f"cannot list tables of warehouse {explain(exc, self.location)}") from exc

    def exists(self, name: str) -> bool:
        return name in self.table_names()

    def load(self, name: str):  # -> pyiceberg Table; untyped to keep pyiceberg a lazy import
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self.catalog.load_table((NAMESPACE, name))
        except NoSuchTableError:
            raise WarehouseError(f"no table {name} in warehouse {self.location}") from None
        except (OSError, ValueError) as exc:
            raise WarehouseError(
                f"table {name} is damaged: its metadata cannot be read ({explain(exc, self.location)}); "
                f"{damage_remedy(name, self.location)}"
            ) from exc

    def state(self, name: str) -> tuple[int | None, int, dict[str, str]]:
        """A table's current snapshot id (None: no table or no snapshot), its rows and its `stedi.*`
        snapshot properties."""
        if name not in self.table_names():
            return None, 0, {}
        return table_state(self.load(name))

    def data_files(self, name: str, snapshot_id: int | None = None) -> tuple[list[str], Any] | None:
        """Where the Parquet files holding the table's rows (at a snapshot, default the current one)
        are now, with the table's Arrow schema; None when reading them plainly is not exact (delete
        files)."""
        table = self.load(name)
        known = (table.metadata_location, snapshot_id)  # a commit writes a new metadata file: never stale
        if known in self._plans:
            return self._plans[known]
        try:
            tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
        except (OSError, ValueError) as exc:
            raise WarehouseError(
                f"table {name} is damaged: its manifests cannot be read ({explain(exc, self.location)}); "
                f"{damage_remedy(name, self.location)}"
            ) from exc
        if any(task.delete_files for task in tasks):
            return None
        schema = table.scan(snapshot_id=snapshot_id).projection()
        plan = [self.physical(task.file.file_path) for task in tasks], schema.as_arrow()
        self._plans[known] = plan
        return plan

    def read(self, name: str):  # -> pa.Table
        from stedi.warehouse.scan import read_table

        return read_table(self, name)

    def describe(self, name: str) -> TableInfo:
        table = self.load(name)
        snapshot = table.current_snapshot()
        rows = snapshot_rows(table, snapshot) if snapshot else 0
        columns = [(f.name, str(f.field_type)) for f in table.schema().fields]
        return TableInfo(name, rows, snapshot.snapshot_id if snapshot else None, columns)


def table_state(table: Any) -> tuple[int | None, int, dict[str, str]]:
    """A loaded table's current snapshot id (None: no snapshot), its rows and its `stedi.*` snapshot
    properties."""
    current = table.current_snapshot()
    if current is None:
        return None, 0, {}
    summary = current.summary.additional_properties if current.summary else {}
    rows = snapshot_rows(table, current)
    return current.snapshot_id, rows, {k: v for k, v in summary.items() if k.startswith("stedi.")}


def snapshot_rows(table: Any, snapshot: Any) -> int:
    """The rows of a table at a snapshot: the total its summary records, or, for a snapshot written
    without one (some writers leave it out), counted from its data files."""
    total = snapshot.summary.additional_properties.get("total-records") if snapshot.summary else None
    if total is not None:
        return int(total)
    tasks = list(table.scan(snapshot_id=snapshot.snapshot_id).plan_files())
    if any(task.delete_files for task in tasks):
        return table.scan(snapshot_id=snapshot.snapshot_id).to_arrow().num_rows
    return sum(task.file.record_count for task in tasks)
