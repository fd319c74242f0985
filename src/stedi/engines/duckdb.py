"""The embedded engine: an in-process DuckDB database; tables are committed with pyiceberg.

Every relation of a run is a DuckDB table under a memory limit, spilled to a temporary folder beyond
it; commits stream the tables to Iceberg in record batches. So the engine's memory stays bounded
whatever the size of the landing data (small settings and pseudonym tables stay Arrow views).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import pyarrow as pa

from stedi.contract.sources import QUARANTINE_SCHEMA, SOURCES
from stedi.engines.base import Engine
from stedi.errors import SettingsError
from stedi.reading.reader import read_chunks
from stedi.results import SourceResult
from stedi.warehouse.catalog import ANY_SNAPSHOT
from stedi.warehouse.committer import Committer
from stedi.warehouse.rows import Rows

if TYPE_CHECKING:
    from stedi.contract.sources import Source
    from stedi.reading.landing import LandingFile
    from stedi.warehouse.catalog import Commit, Warehouse


T = TypeVar("T")

# DuckDB's memory limit for a run; beyond it, intermediate results and tables spill to disk.
DEFAULT_MEMORY_LIMIT = "2GB"
# Tables whose contract declares required fields (DuckDB's own tables report every column nullable).
DECLARED = {
    name: schema
    for source in SOURCES
    for name, schema in ((source.landing_table, source.landing_schema()), (source.quarantine_table, QUARANTINE_SCHEMA))
}
# A run's spill folder in the temporary directory: the prefix, then the process id.
SPILL_PREFIX = "stedi-spill-"
_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}


def _remove_abandoned_spills() -> None:
    """Remove spill folders left by runs that were killed (a clean run removes its own at close):
    at scale they hold gigabytes. A folder whose process is still alive is never touched."""
    folder = tempfile.gettempdir()
    for entry in os.scandir(folder):
        if not entry.name.startswith(SPILL_PREFIX) or not entry.is_dir():
            continue
        pid = entry.name.removeprefix(SPILL_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    return True


def _limit_bytes(con: duckdb.DuckDBPyConnection) -> float:
    """The connection's memory limit in bytes (DuckDB shows it as, e.g., '1.8 GiB')."""
    ((shown,),) = con.execute("SELECT current_setting('memory_limit')").fetchall()
    number, _, unit = str(shown).partition(" ")
    return float(number) * _UNITS.get(unit, 1)


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        warehouse: str,
        committer: Committer | None = None,
        catalog: str | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self.warehouse, self.catalog = warehouse, catalog
        _remove_abandoned_spills()
        self._spill = tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-")
        self._config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit or DEFAULT_MEMORY_LIMIT,
            "temp_directory": self._spill,
        }
        self.con = self._connect(":memory:")
        self.committer = committer or Committer(warehouse, catalog)
        self._arrow: dict[str, pa.Table] = {}
        self._views: set[str] = set()

    def _connect(self, path: str) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(path, config=self._config)
        except duckdb.Error as exc:
            shutil.rmtree(self._spill, ignore_errors=True)
            raise SettingsError(f"memory limit {self._config['memory_limit']!r}: {exc}") from None

    def reserve(self, landing_bytes: int) -> None:
        # Landing data near the memory limit: keep the database in a file of the temporary folder,
        # where DuckDB stores tables compressed. (An in-memory table that spills is written out
        # uncompressed: at scale 1000 that was ~100 GB of writes.)
        database = os.path.join(self._spill, "run.duckdb")
        if landing_bytes * 4 > _limit_bytes(self.con) and not self._arrow and not os.path.exists(database):
            self.con.close()
            self.con = self._connect(database)
            # The file lives only as long as the run: nothing to gain from checkpoints.
            self.con.execute("SET checkpoint_threshold = '1TB'").fetchall()
            self.con.execute("PRAGMA disable_checkpoint_on_shutdown").fetchall()

    def ingest(self, root: str, source: Source, files: list[LandingFile], skipped: list[str]) -> SourceResult:
        started = time.perf_counter()
        tables = (source.landing_table, source.quarantine_table)
        for name in tables:
            self._drop(name)
        stats, accepted, quarantined = [], 0, 0
        for number, chunk in enumerate(read_chunks(root, source, files, self.con)):
            for name, rows in zip(tables, (chunk.records, chunk.quarantine), strict=True):
                self.con.register("chunk", rows)
                verb = f'CREATE TABLE "{name}" AS' if number == 0 else f'INSERT INTO "{name}"'
                self.con.execute(f"{verb} SELECT * FROM chunk").fetchall()
                self.con.unregister("chunk")
            stats += chunk.files
            accepted += chunk.records.num_rows
            quarantined += chunk.quarantine.num_rows
        if not files:
            for name, schema in zip(tables, (source.landing_schema(), QUARANTINE_SCHEMA), strict=True):
                self.load(name, schema.empty_table())
        return SourceResult(source.name, len(stats), accepted, quarantined, skipped, time.perf_counter() - started)

    def attach(self, table: str) -> str:
        from stedi.pipeline.query import attach

        view = f"current_{table}"
        self.committer.call(lambda warehouse: attach(self.con, warehouse, table, view)).result()
        return view

    def load(self, name: str, data: pa.Table) -> None:
        # A view over the Arrow data: DuckDB scans it in place, no copy.
        self._drop(name)
        self._arrow[name] = data
        self.con.register(name, data)

    def build(self, name: str, sql: str, *, view: bool = False) -> None:
        self._drop(name)
        kind = "VIEW" if view else "TABLE"
        self.con.execute(f'CREATE {kind} "{name}" AS {self.translate(sql)}').fetchall()
        if view:
            self._views.add(name)

    def rename(self, source: str, target: str) -> None:
        self._drop(target)
        if (data := self._arrow.pop(source, None)) is not None:
            self.con.unregister(source)
            self.load(target, data)
        else:
            self.con.execute(f'ALTER TABLE "{source}" RENAME TO "{target}"').fetchall()

    def _drop(self, name: str) -> None:
        if self._arrow.pop(name, None) is not None:
            self.con.unregister(name)
        elif name in self._views:
            self._views.discard(name)
            self.con.execute(f'DROP VIEW "{name}"').fetchall()
        else:
            self.con.execute(f'DROP TABLE IF EXISTS "{name}"').fetchall()

    def _rows(self, name: str) -> Rows:
        """The relation's rows for a commit on the committer's thread (its own connection)."""
        if name in self._arrow:
            return Rows.of(self._arrow[name])
        return Rows(self.con.cursor(), name, DECLARED.get(name))

    def values(self, name: str, column: str) -> list[object]:
        return [row[0] for row in self.con.execute(f'SELECT "{column}" FROM "{name}"').fetchall()]

    def columns(self, name: str) -> list[str]:
        return list(self.con.table(name).columns)

    def with_warehouse(self, work: Callable[[Warehouse], T]) -> T:
        return self.committer.call(work).result()

    def erased_subjects(self) -> set[str]:
        from stedi.pipeline.erasure import ledger_absent, ledger_subjects

        # Waiting for the catalog here would stop the run until pyiceberg is imported; most
        # warehouses have no ledger, and a local SQLite catalog says so in a millisecond.
        if ledger_absent(self.warehouse, self.catalog):
            return set()
        return self.committer.call(ledger_subjects).result()

    def scalars(self, queries: list[str]) -> list[int]:
        # One query at a time: together, their hash tables would share the memory limit at once.
        return [int(v) if (v := self.row(q)[0]) is not None else 0 for q in queries]

    def row(self, sql: str) -> tuple[Any, ...]:
        (row,) = self.con.execute(sql).fetchall()
        return tuple(row)

    def fetch_rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.con.execute(sql).fetchall()]

    def publish(
        self,
        name: str,
        *,
        append_from: str | None = None,
        properties: dict[str, str] | None = None,
        expected: object = ANY_SNAPSHOT,
    ) -> None:
        append = self._rows(append_from) if append_from is not None else None
        options = {"append": append, "properties": properties, "expected": expected, "stage": True}
        self.committer.submit(name, self._rows(name), **options)

    def release(self) -> None:
        for name, commit in self.committer.wait().items():
            if commit.staged and commit.snapshot_id is not None:
                snapshot_id = commit.snapshot_id
                self.committer.call(lambda w, n=name, s=snapshot_id: w.release(n, s)).result()  # type: ignore[misc]

    def published(self) -> dict[str, Commit]:
        return self.committer.wait()

    def close(self) -> None:
        self.committer.close()
        self.con.close()
        shutil.rmtree(self._spill, ignore_errors=True)
