"""The embedded engine: an in-process DuckDB database; tables are committed with pyiceberg."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import pyarrow as pa

from ..catalog import ANY_SNAPSHOT
from ..committer import Committer
from ..reader import read_files
from ..results import SourceResult
from .base import Engine

if TYPE_CHECKING:
    from ..catalog import Commit, Warehouse
    from ..contracts import Source
    from ..landing import LandingFile


T = TypeVar("T")


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, warehouse: str, committer: Committer | None = None, catalog: str | None = None) -> None:
        self.warehouse, self.catalog = warehouse, catalog
        self.con = duckdb.connect()
        self.committer = committer or Committer(warehouse, catalog)
        self._arrow: dict[str, pa.Table] = {}

    def ingest(self, root: str, source: Source, files: list[LandingFile], skipped: list[str]) -> SourceResult:
        started = time.perf_counter()
        result = read_files(root, source, files, skipped, self.con)
        self.load(source.landing_table, result.records)
        self.load(source.quarantine_table, result.quarantine)
        return SourceResult(
            source.name, len(result.files), result.accepted, result.quarantined, result.skipped,
            time.perf_counter() - started,
        )  # fmt: skip

    def attach(self, table: str) -> str:
        from ..query import attach

        view = f"current_{table}"
        self.committer.call(lambda warehouse: attach(self.con, warehouse, table, view)).result()
        return view

    def load(self, name: str, data: pa.Table) -> None:
        # A view over the Arrow data: DuckDB scans it in place, no copy.
        self._arrow[name] = data
        self.con.register(name, data)

    def build(self, name: str, sql: str) -> None:
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {self.translate(sql)}').fetchall()

    def rename(self, source: str, target: str) -> None:
        if self._arrow.pop(target, None) is not None:
            self.con.unregister(target)
        else:
            self.con.execute(f'DROP TABLE IF EXISTS "{target}"').fetchall()
        if (data := self._arrow.pop(source, None)) is not None:
            self.con.unregister(source)
            self.load(target, data)
        else:
            self.con.execute(f'ALTER TABLE "{source}" RENAME TO "{target}"').fetchall()

    def fetch(self, name: str) -> pa.Table:
        if name in self._arrow:
            return self._arrow[name]
        return self.con.sql(f'SELECT * FROM "{name}"').to_arrow_table()

    def values(self, name: str, column: str) -> list[object]:
        return self.fetch(name).column(column).to_pylist()

    def columns(self, name: str) -> list[str]:
        return list(self.fetch(name).column_names)

    def with_warehouse(self, work: Callable[[Warehouse], T]) -> T:
        return self.committer.call(work).result()

    def erased_subjects(self) -> set[str]:
        from ..erasure import ledger_absent, ledger_subjects

        # Waiting for the catalog here would stop the run until pyiceberg is imported; most
        # warehouses have no ledger, and a local SQLite catalog says so in a millisecond.
        if ledger_absent(self.warehouse, self.catalog):
            return set()
        return self.committer.call(ledger_subjects).result()

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
        append = self.fetch(append_from) if append_from is not None else None
        options = {"append": append, "properties": properties, "expected": expected, "stage": True}
        self.committer.submit(name, self.fetch(name), **options)

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
