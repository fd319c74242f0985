"""pyiceberg's SQL catalog for a SQLite file, on the standard library's `sqlite3`.

The same tables and rows as pyiceberg's `SqlCatalog` (and Iceberg's JdbcCatalog, which Spark uses on
the same file), so every one of them reads and writes a catalog the others made. pyiceberg's own class
needs SQLAlchemy and its ORM, whose import costs a third of a second or more, paid by every command
that opens a warehouse; a commit here is one guarded UPDATE, as there.

A connection is made for each operation: the catalog may be used from any thread, and no lock on the
file outlives the statement that needs it (Spark and other processes write the same file).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyiceberg.catalog import Catalog, MetastoreCatalog, PropertiesUpdateSummary
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.io import load_file_io
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import CommitTableResponse, Table, TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata, new_table_metadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties

from stedi.warehouse.folder import BUSY_TIMEOUT_S

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.schema import Schema
    from pyiceberg.table.update import TableRequirement, TableUpdate

TABLE_TYPE = "TABLE"
# pyiceberg's schema, version 1 (with the column that tells tables from the views other writers keep).
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS iceberg_tables (catalog_name VARCHAR(255) NOT NULL, "
    "table_namespace VARCHAR(255) NOT NULL, table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000), "
    "previous_metadata_location VARCHAR(1000), iceberg_type VARCHAR(5), "
    "PRIMARY KEY (catalog_name, table_namespace, table_name))",
    "CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (catalog_name VARCHAR(255) NOT NULL, "
    "namespace VARCHAR(255) NOT NULL, property_key VARCHAR(255) NOT NULL, property_value VARCHAR(1000) NOT NULL, "
    "PRIMARY KEY (catalog_name, namespace, property_key))",
)
METADATA_CACHE_SIZE = 256  # a run reads about 50 metadata files
MINIMAL_NAMESPACE_PROPERTIES = {"exists": "true"}
INSERT_PROPERTY = "INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value) VALUES (?, ?, ?, ?)"


class SqliteCatalog(MetastoreCatalog):
    """An Iceberg catalog in the SQLite file `path` (created with its tables when `create`)."""

    def __init__(self, name: str, path: Path, *, create: bool = True, **properties: str) -> None:
        super().__init__(name, **{"uri": f"sqlite:///{path}", **properties})
        self.path = path
        self._metadata: dict[str, TableMetadata] = {}  # by location: a metadata file is never rewritten
        with self._connection() as con:
            present = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if create and not {"iceberg_tables", "iceberg_namespace_properties"} <= present:  # no write otherwise
                for statement in SCHEMA:
                    con.execute(statement)
            columns = {row[1] for row in con.execute("PRAGMA table_info(iceberg_tables)")}
        # A catalog made by an older pyiceberg has no iceberg_type column and is used as it is.
        self._typed = "iceberg_type" in columns or not columns

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection whose work is one transaction: committed at the end, rolled back on an error."""
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            with con:
                yield con
        finally:
            con.close()

    def _tables_only(self) -> str:
        """The condition that leaves out the views other writers (iceberg-java) keep in the same table."""
        return f" AND (iceberg_type = '{TABLE_TYPE}' OR iceberg_type IS NULL)" if self._typed else ""

    def _insert_table(self, con: sqlite3.Connection, namespace: str, table_name: str, metadata_location: str) -> None:
        columns = "catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location"
        values: tuple[Any, ...] = (self.name, namespace, table_name, metadata_location, None)
        if self._typed:
            columns, values = f"{columns}, iceberg_type", (*values, TABLE_TYPE)
        marks = ", ".join("?" for _ in values)
        try:
            con.execute(f"INSERT INTO iceberg_tables ({columns}) VALUES ({marks})", values)
        except sqlite3.IntegrityError as exc:
            raise TableAlreadyExistsError(f"Table {namespace}.{table_name} already exists") from exc

    def _remember(self, metadata_location: str, metadata: TableMetadata) -> TableMetadata:
        if len(self._metadata) >= METADATA_CACHE_SIZE:
            self._metadata.clear()
        self._metadata[metadata_location] = metadata
        return metadata

    @staticmethod
    def _split(identifier: str | Identifier) -> tuple[str, str]:
        namespace = Catalog.namespace_to_string(Catalog.namespace_from(identifier))
        return namespace, Catalog.table_name_from(identifier)

    def _metadata_location(self, namespace: str, table_name: str) -> str | None:
        with self._connection() as con:
            row = con.execute(
                "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? "
                "AND table_name = ?" + self._tables_only(),
                (self.name, namespace, table_name),
            ).fetchone()
        if row is None:
            raise NoSuchTableError(f"Table does not exist: {namespace}.{table_name}")
        return row[0]

    def metadata_location(self, identifier: str | Identifier) -> str | None:
        """Where the catalog says a table's current metadata is (None: recorded without one)."""
        return self._metadata_location(*self._split(identifier))

    def load_table(self, identifier: str | Identifier) -> Table:
        namespace, table_name = self._split(identifier)
        metadata_location = self._metadata_location(namespace, table_name)
        if not metadata_location:
            raise NoSuchTableError(f"Table property metadata_location is missing: {namespace}.{table_name}")
        metadata = self._metadata.get(metadata_location)
        if metadata is None:
            io = load_file_io(properties=self.properties, location=metadata_location)
            metadata = self._remember(metadata_location, FromInputFile.table_metadata(io.new_input(metadata_location)))
        return Table(
            identifier=(*Catalog.identifier_to_tuple(namespace), table_name),
            metadata=metadata,
            metadata_location=metadata_location,
            io=self._load_file_io(metadata.properties, metadata_location),
            catalog=self,
        )

    def create_table(
        self,
        identifier: str | Identifier,
        schema: Schema | pa.Schema,
        location: str | None = None,
        partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
        sort_order: SortOrder = UNSORTED_SORT_ORDER,
        properties: Properties = EMPTY_DICT,
    ) -> Table:
        version = int(properties.get(TableProperties.FORMAT_VERSION, TableProperties.DEFAULT_FORMAT_VERSION))
        iceberg_schema = self._convert_schema_if_needed(schema, version)  # type: ignore[arg-type]
        namespace, table_name = self._split(identifier)
        if not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        location = self._resolve_table_location(location, namespace, table_name)
        provider = load_location_provider(table_location=location, table_properties=properties)
        metadata_location = provider.new_table_metadata_file_location()
        metadata = new_table_metadata(
            location=location,
            schema=iceberg_schema,
            partition_spec=partition_spec,
            sort_order=sort_order,
            properties=properties,
        )
        self._write_metadata(
            metadata, load_file_io(properties=self.properties, location=metadata_location), metadata_location
        )
        with self._connection() as con:
            self._insert_table(con, namespace, table_name, metadata_location)
        return self.load_table(identifier)

    def register_table(self, identifier: str | Identifier, metadata_location: str, overwrite: bool = False) -> Table:
        if overwrite:
            raise NotImplementedError("`overwrite` isn't supported")
        namespace, table_name = self._split(identifier)
        if not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        with self._connection() as con:
            self._insert_table(con, namespace, table_name, metadata_location)
        return self.load_table(identifier)

    def commit_table(
        self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
    ) -> CommitTableResponse:
        """Write the new metadata, then point the catalog at it only if no one else moved it meanwhile."""
        namespace, table_name = self._split(table.name())
        try:
            current: Table | None = self.load_table(table.name())
        except NoSuchTableError:
            current = None
        staged = self._update_and_stage_table(current, table.name(), requirements, updates)
        if current is not None and staged.metadata == current.metadata:
            return _response(current.metadata, current.metadata_location)
        self._write_metadata(metadata=staged.metadata, io=staged.io, metadata_path=staged.metadata_location)
        self._remember(staged.metadata_location, staged.metadata)
        with self._connection() as con:
            if current is None:
                self._insert_table(con, namespace, table_name, staged.metadata_location)
            else:
                moved = con.execute(
                    "UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? "
                    "WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ?",
                    (staged.metadata_location, current.metadata_location, self.name, namespace, table_name,
                     current.metadata_location),
                ).rowcount  # fmt: skip
                if moved < 1:
                    raise CommitFailedException(f"Table has been updated by another process: {namespace}.{table_name}")
        return _response(staged.metadata, staged.metadata_location)

    def drop_table(self, identifier: str | Identifier) -> None:
        namespace, table_name = self._split(identifier)
        with self._connection() as con:
            dropped = con.execute(
                "DELETE FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?"
                + self._tables_only(),
                (self.name, namespace, table_name),
            ).rowcount
        if dropped < 1:
            raise NoSuchTableError(f"Table does not exist: {namespace}.{table_name}")

    def rename_table(self, from_identifier: str | Identifier, to_identifier: str | Identifier) -> Table:
        from_namespace, from_name = self._split(from_identifier)
        to_namespace, to_name = self._split(to_identifier)
        if not self.namespace_exists(to_namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {to_namespace}")
        with self._connection() as con:
            try:
                renamed = con.execute(
                    "UPDATE iceberg_tables SET table_namespace = ?, table_name = ? WHERE catalog_name = ? "
                    "AND table_namespace = ? AND table_name = ?" + self._tables_only(),
                    (to_namespace, to_name, self.name, from_namespace, from_name),
                ).rowcount
            except sqlite3.IntegrityError as exc:
                raise TableAlreadyExistsError(f"Table {to_namespace}.{to_name} already exists") from exc
        if renamed < 1:
            raise NoSuchTableError(f"Table does not exist: {from_name}")
        return self.load_table(to_identifier)

    def namespace_exists(self, identifier: str | Identifier) -> bool:
        namespace = Catalog.namespace_to_string(Catalog.identifier_to_tuple(identifier), NoSuchNamespaceError)
        below = namespace.replace("!", "!!").replace("_", "!_").replace("%", "!%") + ".%"
        with self._connection() as con:
            for table, column in (("iceberg_tables", "table_namespace"), ("iceberg_namespace_properties", "namespace")):
                found = con.execute(
                    f"SELECT 1 FROM {table} WHERE catalog_name = ? AND ({column} = ? OR {column} LIKE ? ESCAPE '!') "
                    "LIMIT 1",
                    (self.name, namespace, below),
                ).fetchone()
                if found:
                    return True
        return False

    def create_namespace(self, namespace: str | Identifier, properties: Properties = EMPTY_DICT) -> None:
        if self.namespace_exists(namespace):
            raise NamespaceAlreadyExistsError(f"Namespace {namespace} already exists")
        name = Catalog.namespace_to_string(namespace, NoSuchNamespaceError)
        try:
            with self._connection() as con:
                con.executemany(
                    INSERT_PROPERTY,
                    [(self.name, name, k, v) for k, v in (properties or MINIMAL_NAMESPACE_PROPERTIES).items()],
                )
        except sqlite3.IntegrityError as exc:  # another process made it since the test above
            raise NamespaceAlreadyExistsError(f"Namespace {namespace} already exists") from exc

    def drop_namespace(self, namespace: str | Identifier) -> None:
        if not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        name = Catalog.namespace_to_string(namespace)
        if tables := self.list_tables(namespace):
            raise NamespaceNotEmptyError(f"Namespace {name} is not empty. {len(tables)} tables exist.")
        with self._connection() as con:
            con.execute(
                "DELETE FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ?", (self.name, name)
            )

    def list_tables(self, namespace: str | Identifier) -> list[Identifier]:
        if namespace and not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        name = Catalog.namespace_to_string(namespace)
        with self._connection() as con:
            rows = con.execute(
                "SELECT table_namespace, table_name FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ?"
                + self._tables_only(),
                (self.name, name),
            ).fetchall()
        return [(*Catalog.identifier_to_tuple(ns), table_name) for ns, table_name in rows]

    def list_namespaces(self, namespace: str | Identifier = ()) -> list[Identifier]:
        if namespace and not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace does not exist: {namespace}")
        like = Catalog.namespace_to_string(namespace, NoSuchNamespaceError) + "%" if namespace else "%"
        with self._connection() as con:
            names = con.execute(
                "SELECT table_namespace FROM iceberg_tables WHERE catalog_name = ? AND table_namespace LIKE ? UNION "
                "SELECT namespace FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace LIKE ?",
                (self.name, like, self.name, like),
            ).fetchall()
        parent = Catalog.identifier_to_tuple(namespace)
        level = len(parent) + 1
        found = {Catalog.identifier_to_tuple(row[0]) for row in names}
        return list({ns[:level] for ns in found if len(ns) >= level and ns[: level - 1] == parent})

    def load_namespace_properties(self, namespace: str | Identifier) -> Properties:
        name = Catalog.namespace_to_string(namespace)
        if not self.namespace_exists(namespace):
            raise NoSuchNamespaceError(f"Namespace {name} does not exists")
        with self._connection() as con:
            rows = con.execute(
                "SELECT property_key, property_value FROM iceberg_namespace_properties "
                "WHERE catalog_name = ? AND namespace = ?",
                (self.name, name),
            ).fetchall()
        return dict(rows)

    def update_namespace_properties(
        self, namespace: str | Identifier, removals: set[str] | None = None, updates: Properties = EMPTY_DICT
    ) -> PropertiesUpdateSummary:
        name = Catalog.namespace_to_string(namespace)
        current = self.load_namespace_properties(namespace)
        summary = self._get_updated_props_and_update_summary(
            current_properties=current, removals=removals, updates=updates
        )[0]
        delete = (
            "DELETE FROM iceberg_namespace_properties WHERE catalog_name = ? AND namespace = ? AND property_key = ?"
        )
        with self._connection() as con:
            con.executemany(delete, [(self.name, name, key) for key in {*(removals or ()), *updates}])
            con.executemany(INSERT_PROPERTY, [(self.name, name, key, value) for key, value in updates.items()])
        return summary

    def create_view(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def list_views(self, namespace: str | Identifier) -> list[Identifier]:
        raise NotImplementedError

    def view_exists(self, identifier: str | Identifier) -> bool:
        raise NotImplementedError

    def register_view(self, identifier: str | Identifier, metadata_location: str) -> Any:
        raise NotImplementedError

    def drop_view(self, identifier: str | Identifier) -> None:
        raise NotImplementedError

    def load_view(self, identifier: str | Identifier) -> Any:
        raise NotImplementedError


def _response(metadata: Any, metadata_location: str) -> CommitTableResponse:
    # By field name, as pyiceberg's catalogs do; its type stubs know only the alias (metadata-location).
    return CommitTableResponse(metadata=metadata, metadata_location=metadata_location)  # type: ignore[call-arg]
