"""The embedded engine: an in-process DuckDB database; tables are committed with pyiceberg.

Every relation of a run is a DuckDB table under a memory limit, spilled to a temporary folder beyond
it; commits stream the tables to Iceberg in record batches. So the engine's memory stays bounded
whatever the size of the landing data (small settings and pseudonym tables stay Arrow views).
"""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from duckdb.func import PythonUDFType
from duckdb.sqltypes import VARCHAR

from stedi.contract.identity import EMAIL_MACRO, EMAIL_SQL_DUCKDB, UNICODE_LOWER
from stedi.contract.sources import QUARANTINE_SCHEMA, SOURCES
from stedi.contract.tables import PATH
from stedi.engines.base import Engine, TableWriter
from stedi.engines.duckdb_writer import IcebergWriter
from stedi.engines.spill import new_spill_folder
from stedi.errors import SettingsError, WarehouseError
from stedi.reading.files import DEFAULT_MAX_RECORD
from stedi.reading.reader import FileRead, read_chunks
from stedi.storage import local_path
from stedi.warehouse import fingerprints
from stedi.warehouse.rows import Rows

if TYPE_CHECKING:
    from stedi.contract.sources import Source
    from stedi.reading.landing import LandingFile
    from stedi.warehouse.session import Session


# The share of the machine's memory (as DuckDB sees it: cgroup limits included) a run may use unless
# told otherwise; beyond it, intermediate results and tables spill to disk. DuckDB's own default is
# 80 %: half leaves the rest of the machine to its user and still keeps scale-1000 builds in memory.
DEFAULT_MEMORY_SHARE = 0.5
DUCKDB_MEMORY_SHARE = 0.8
COMPRESSED_BYTES = 64 << 20  # landing data beyond which a run keeps its tables compressed (see reserve)
QUERIES_AT_ONCE = 2  # small answers (checks, reason counts) computed side by side (see rows_of_each)
# Tables whose contract declares required fields (DuckDB's own tables report every column nullable).
DECLARED = {
    name: schema
    for source in SOURCES
    for name, schema in ((source.landing_table, source.landing_schema()), (source.quarantine_table, QUARANTINE_SCHEMA))
}
# How DuckDB words a Parquet file it cannot read (the run reads Parquet files of the warehouse only).
_DAMAGED_FILE = ("TProtocolException", "Failed to read file", "Invalid Parquet file", "No magic bytes")
_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60}


def _unicode_lower(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Python's lower-casing (Unicode's full mapping, see `contract.identity`) of each value, once per
    distinct value of the batch: readings repeat their user's address many times."""
    import pyarrow.compute as pc

    encoded = (values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values).dictionary_encode()
    lowered = pa.array([text.lower() for text in encoded.dictionary.to_pylist()], pa.string())
    return pc.take(lowered, encoded.indices)


def _limit_bytes(con: duckdb.DuckDBPyConnection) -> float:
    """The connection's memory limit in bytes (DuckDB shows it as, e.g., '1.8 GiB')."""
    ((shown,),) = con.execute("SELECT current_setting('memory_limit')").fetchall()
    number, _, unit = str(shown).partition(" ")
    return float(number) * _UNITS.get(unit, 1)


# The types whose MEDIAN interpolates in DOUBLE, as a check computed by value does (`Check.by_value`).
_NUMERIC_TYPES = frozenset({"DOUBLE", "BIGINT", "INTEGER", "SMALLINT", "TINYINT"})


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    try:
        return [tuple(r) for r in con.execute(sql).fetchall()]
    except duckdb.IOException as exc:
        raise WarehouseError(f"cannot read a table of the warehouse: {exc}") from exc


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        session: Session | None,
        memory_limit: str | None = None,
        max_record: int = DEFAULT_MAX_RECORD,
        verify_current: bool = False,
    ) -> None:
        self._spill = new_spill_folder()
        self._config: dict[str, str | bool | int | float | list[str]] = {
            "temp_directory": self._spill,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if memory_limit:
            self._config["memory_limit"] = memory_limit
        self.con = self._connect(":memory:")
        if not memory_limit:
            # Never below 1 GiB: a machine whose memory DuckDB cannot tell must still run.
            share = max(int(_limit_bytes(self.con) / DUCKDB_MEMORY_SHARE * DEFAULT_MEMORY_SHARE), 1 << 30)
            self._config["memory_limit"] = f"{share}B"
            self.con.execute(f"SET memory_limit = '{share}B'").fetchall()
        self.max_record = max_record
        self._writer = IcebergWriter(self, session, verify_current) if session is not None else None
        self._arrow: dict[str, pa.Table] = {}
        self._views: set[str] = set()
        self._compress: bool | None = None  # whether `settle` compresses the tables (None: not reserved)
        self._path_types = 0  # ENUM types made for landing files' paths (see `_path_type`)

    def _connect(self, path: str) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(path, config=self._config)
        except duckdb.Error as exc:
            shutil.rmtree(self._spill, ignore_errors=True)
            limit = self._config.get("memory_limit")
            raise SettingsError(f"memory limit {limit!r}: {exc}" if limit else f"cannot start DuckDB: {exc}") from None
        con.create_function(
            UNICODE_LOWER, _unicode_lower, [VARCHAR], VARCHAR, type=PythonUDFType.ARROW, side_effects=False
        )
        con.execute(f"CREATE OR REPLACE MACRO {EMAIL_MACRO}(x) AS {EMAIL_SQL_DUCKDB}").fetchall()
        return con

    @property
    def writer(self) -> TableWriter:
        if self._writer is None:
            raise RuntimeError("this engine was made without a warehouse session: it writes nothing")
        return self._writer

    def reserve(self, landing_bytes: int) -> None:
        # Near the memory limit the database is kept in a file of the temporary folder, where DuckDB
        # writes large tables compressed: an in-memory table that spills is written out uncompressed
        # (~100 GB at scale 1000). Otherwise it stays in memory and is compressed once, after reading
        # (see `settle`), instead of whenever DuckDB's own threshold is reached.
        if self._arrow or self._compress is not None:
            return
        if landing_bytes * 4 > _limit_bytes(self.con):
            self.con.close()
            self.con = self._connect(os.path.join(self._spill, "run.duckdb"))
            self._compress = False
            self.con.execute("PRAGMA disable_checkpoint_on_shutdown").fetchall()
        else:
            self._compress = landing_bytes > COMPRESSED_BYTES
        # The database lives only as long as the run: nothing to gain from checkpoints.
        self.con.execute("SET checkpoint_threshold = '1TB'").fetchall()

    def settle(self) -> None:
        # A checkpoint compresses the tables in memory. DuckDB hands a dictionary-compressed column
        # on as dictionary vectors, so the normalising of emails, the joins on them and the checks
        # work once per distinct value instead of once per row.
        if self._compress:
            # The calling thread often only waits while DuckDB's workers compress, and there is one
            # worker fewer than cores: one more worker keeps every core compressing (scale 100:
            # 0.8 s, where one worker alone took 1.5 s in about one run of five).
            ((threads,),) = self.con.execute("SELECT current_setting('threads')").fetchall()
            self.con.execute(f"SET threads = {int(threads) + 1}").fetchall()
            try:
                self.con.execute("CHECKPOINT").fetchall()
            finally:
                self.con.execute(f"SET threads = {int(threads)}").fetchall()

    def ingest(self, root: str, source: Source, files: list[LandingFile]) -> list[FileRead]:
        tables = (source.landing_table, source.quarantine_table)
        for name in tables:
            self._drop(name)
        path_type = self._path_type(source, files)
        for name, schema in zip(tables, (source.landing_schema(), QUARANTINE_SCHEMA), strict=True):
            self.con.register("empty", schema.empty_table())
            try:
                types = {PATH: path_type} if name == source.landing_table and path_type else {}
                self.con.execute(f'CREATE TABLE "{name}" ({self._columns_of("empty", types)})').fetchall()
            finally:
                self.con.unregister("empty")
        # Row order is not part of a landing table's meaning: left free to insert in any order, DuckDB
        # does not keep the order of its parallel scan (phone readings at scale 100: 3.7 -> 3.0 s).
        self.con.execute("SET preserve_insertion_order = false").fetchall()
        try:
            return self._ingest_chunks(root, source, files, path_type)
        finally:
            self.con.execute("RESET preserve_insertion_order").fetchall()

    def _path_type(self, source: Source, files: list[LandingFile]) -> str | None:
        """A new ENUM type of the files' paths in path order, for the landing table's file column;
        None for no files.

        A row then holds a number, not its file's path (about 40 bytes, in every one of millions of
        rows), so inserting and compressing the rows cost less (scale 100: 11.5 -> 11.0 s a run,
        1 CPU s less), while every reader still sees the path: an ENUM compares, groups, casts and
        is written to Parquet as its text, and sorts in the order of its values, which is the paths'
        own (customer_standing orders by file). UNION with text columns gives text."""
        paths = {f.relative for f in files}  # in order by the type's own ORDER BY
        if not paths:
            return None
        self._path_types += 1
        name = f"{source.landing_table}_path_{self._path_types}"
        self.con.register("paths", pa.table({"path": pa.array(list(paths), pa.string())}))
        try:
            self.con.execute(f'CREATE TYPE "{name}" AS ENUM (SELECT path FROM paths ORDER BY path)').fetchall()
        finally:
            self.con.unregister("paths")
        return f'"{name}"'

    def _columns_of(self, relation: str, types: dict[str, str] | None = None) -> str:
        """Column definitions of a landing table like `relation`'s columns, with `types` instead of
        theirs. Tables that `settle` compresses keep every column but text uncompressed: what pays is
        the dictionary of a text column (see `settle`), while analysing and packing the numbers took a
        sixth of the checkpoint and made every later scan unpack them (scale 100: 0.5 s less a run,
        0.3 GB more memory), and the file's ENUM (a byte or two a row) another 0.3 s a run."""
        described = self.con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{relation}")').fetchall()
        given = types or {}
        columns = [(column, given.get(column, kind)) for column, kind in described]
        plain = " USING COMPRESSION uncompressed" if self._compress else ""
        return ", ".join(f'"{column}" {kind}{"" if kind == "VARCHAR" else plain}' for column, kind in columns)

    def _ingest_chunks(
        self, root: str, source: Source, files: list[LandingFile], path_type: str | None
    ) -> list[FileRead]:
        tables = (source.landing_table, source.quarantine_table)
        results: list[FileRead] = []
        sink = source.landing_table
        for chunk in read_chunks(root, source, files, self.con, self.max_record, sink, path_type):
            for name in tables:
                for path in chunk.discard:  # a file that changed while it was read: none of its rows
                    self.con.execute(f'DELETE FROM "{name}" WHERE source_file = ?', [path]).fetchall()
            for name, rows in zip(tables, (chunk.records, chunk.quarantine), strict=True):
                self.con.register("chunk", rows)
                self.con.execute(f'INSERT INTO "{name}" SELECT * FROM chunk').fetchall()
                self.con.unregister("chunk")
            results += chunk.files
        return results

    def attach(self, view: str, files: list[str], schema: pa.Schema) -> str:
        self._drop(view)
        local = [path for f in files if (path := local_path(f)) is not None]
        if files and len(local) == len(files):
            listed = ", ".join("'" + path.replace("'", "''") + "'" for path in local)
            # Any error here is the warehouse's files' (the view only reads them): a damaged footer
            # is DuckDB's TProtocolException, not an IO error.
            self._execute(f'CREATE VIEW "{view}" AS SELECT * FROM read_parquet([{listed}])', view, duckdb.Error)
            self._views.add(view)
        elif not files:
            self.load(view, schema.empty_table())
        else:
            import pyarrow.dataset as ds

            from stedi.storage import filesystem

            fs, _ = filesystem(files[0])
            rows = ds.dataset([filesystem(f)[1] for f in files], schema=schema, format="parquet", filesystem=fs)
            self._arrow[view] = rows
            self.con.register(view, rows)
        return view

    def load(self, name: str, data: pa.Table) -> None:
        # A view over the Arrow data: DuckDB scans it in place, no copy.
        self._drop(name)
        self._arrow[name] = data
        self.con.register(name, data)

    def build(self, name: str, sql: str, *, view: bool = False) -> None:
        self._drop(name)
        kind = "VIEW" if view else "TABLE"
        self._execute(f'CREATE {kind} "{name}" AS {self.translate(sql)}', name)
        if view:
            self._views.add(name)

    def _execute(
        self,
        sql: str,
        name: str,
        damage: type[Exception] | tuple[type[Exception], ...] = (duckdb.IOException, duckdb.InvalidInputException),
    ) -> None:
        try:
            self.con.execute(sql).fetchall()
        except damage as exc:  # a damaged warehouse file behind it
            raise WarehouseError(
                f"cannot read the warehouse's rows (making {name}): {str(exc).splitlines()[0]}; `stedi verify` lists "
                "damaged tables, `stedi run --full-refresh` rebuilds them"
            ) from exc

    def rename(self, source: str, target: str) -> None:
        self._drop(target)
        if (data := self._arrow.pop(source, None)) is not None:
            self.con.unregister(source)
            self.load(target, data)
        elif source in self._views:
            raise ValueError(f"{source} is a view; views are not renamed")
        else:
            self.con.execute(f'ALTER TABLE "{source}" RENAME TO "{target}"').fetchall()

    def has(self, name: str) -> bool:
        if name in self._arrow or name in self._views:
            return True
        found = self.con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()
        return bool(found)

    def _drop(self, name: str) -> None:
        if self._arrow.pop(name, None) is not None:
            self.con.unregister(name)
        elif name in self._views:
            self._views.discard(name)
            self.con.execute(f'DROP VIEW "{name}"').fetchall()
        else:
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"').fetchall()

    def rows_of(self, name: str) -> Rows:
        """The relation's rows for a commit on the session's thread (its own connection)."""
        if name in self._arrow and isinstance(self._arrow[name], pa.Table):
            return Rows.of(self._arrow[name])
        return Rows(self.con.cursor(), name, DECLARED.get(name))

    def columns(self, name: str) -> list[str]:
        return list(self.con.table(name).columns)

    def described(self, name: str) -> list[tuple[str, str]]:
        relation = self.con.table(name)
        return [(c, str(t)) for c, t in zip(relation.columns, relation.types, strict=True)]

    def fingerprint(self, name: str) -> str | None:
        rows = self.rows_of(name)
        try:
            return fingerprints.fingerprint(rows, rows.schema)
        finally:
            rows.con.close()

    def fetch_rows(self, sql: str) -> list[tuple[Any, ...]]:
        return _fetch(self.con, sql)

    def distinct_estimate(self, name: str, column: str) -> int | None:
        # A table's statistics hold a HyperLogLog estimate of each column's distinct values; a view
        # over Parquet files has none. `stats` reads them, and one row to evaluate on.
        try:
            found = self.con.execute(f'SELECT typeof("{column}"), stats("{column}") FROM "{name}" LIMIT 1').fetchall()
        except duckdb.Error:
            return None
        if not found or found[0][0] not in _NUMERIC_TYPES or not isinstance(found[0][1], dict):
            return None
        estimate = found[0][1].get("approx_unique")
        return estimate if isinstance(estimate, int) else None

    def rows_of_each(self, queries: list[str]) -> list[list[tuple[Any, ...]]]:
        # Checks and reason counts are many small answers over large tables, and the medians and
        # windows among them finish on one thread: two at a time keep both cores busy (scale 100:
        # 1.26-1.48 s one after another, 1.07-1.15 s two at a time). Each runs on a cursor of its
        # own, which sees the tables and views but not what was registered on `con`.
        if len(queries) < 2:
            return super().rows_of_each(queries)
        arrow, local, cursors = dict(self._arrow), threading.local(), []

        def answer(sql: str) -> list[tuple[Any, ...]]:
            if not hasattr(local, "cursor"):
                local.cursor = self.con.cursor()
                cursors.append(local.cursor)
                for name, data in arrow.items():
                    local.cursor.register(name, data)
            return _fetch(local.cursor, self.translate(sql))

        pool = ThreadPoolExecutor(max_workers=QUERIES_AT_ONCE, thread_name_prefix="stedi-query")
        try:
            futures = [pool.submit(answer, sql) for sql in queries]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            if failed := next((f for f in futures if f in done and f.exception() is not None), None):
                failed.result()  # raises it, before waiting for queries still under way
            return [future.result() for future in futures]
        except BaseException:  # a failed query, or Ctrl-C: no other starts, and those under way stop
            pool.shutdown(wait=False, cancel_futures=True)
            for cursor in list(cursors):
                cursor.interrupt()
            raise
        finally:
            pool.shutdown(wait=True)
            for cursor in cursors:
                cursor.close()

    def explain(self, exc: BaseException) -> str:
        text = super().explain(exc)
        # DuckDB raises its bare Error for what it cannot decode (a garbled page or footer of Parquet);
        # the SQL's own mistakes have classes of their own (parser, binder, catalog, ...).
        if type(exc) is duckdb.Error or any(sign in text for sign in _DAMAGED_FILE):
            return (
                f"{text} (a file of the warehouse may be damaged: `stedi verify` lists damaged tables, "
                "`stedi run --full-refresh` rebuilds them)"
            )
        return text

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._spill, ignore_errors=True)
