"""The interface every engine implements: ingest sources, build tables from SQL, publish to Iceberg."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from stedi.warehouse.catalog import ANY_SNAPSHOT

if TYPE_CHECKING:
    import pyarrow as pa

    from stedi.contract.sources import Source
    from stedi.reading.landing import LandingFile
    from stedi.results import SourceResult
    from stedi.warehouse.catalog import Commit, Warehouse

T = TypeVar("T")

# The dialect the transform SQL files are written in.
SOURCE_DIALECT = "duckdb"


class Engine(ABC):
    name: str
    dialect: str  # SQLGlot dialect the engine speaks

    def translate(self, sql: str) -> str:
        """SQL of the transform files (DuckDB dialect) in this engine's dialect."""
        if self.dialect == SOURCE_DIALECT:
            return sql
        import sqlglot  # only engines of another dialect need it

        return ";\n".join(sqlglot.transpile(sql, read=SOURCE_DIALECT, write=self.dialect))

    def reserve(self, landing_bytes: int) -> None:  # noqa: B027 - optional hook
        """Told before reading: the landing data of the run is `landing_bytes` (the tables are built from it)."""

    @abstractmethod
    def ingest(self, root: str, source: Source, files: list[LandingFile], skipped: list[str]) -> SourceResult:
        """Read the given landing files of a source into relations `<source>_landing` and
        `<source>_quarantine` (`skipped`: the files of its folder that are not data, for the result)."""

    @abstractmethod
    def attach(self, table: str) -> str:
        """A relation name through which SQL (source dialect) reads the warehouse table's current rows."""

    @abstractmethod
    def load(self, name: str, data: pa.Table) -> None:
        """Make a small Arrow table (settings, pseudonyms) available to SQL under `name`."""

    @abstractmethod
    def build(self, name: str, sql: str, *, view: bool = False) -> None:
        """Materialise the result of `sql` (source dialect) as relation `name`; with `view`, define
        `name` as the query instead, computed wherever it is read."""

    @abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Make relation `source` known as `target`, replacing what `target` was."""

    @abstractmethod
    def values(self, name: str, column: str) -> list[object]:
        """The values of one column of a (small) relation."""

    @abstractmethod
    def columns(self, name: str) -> list[str]:
        """The column names of a relation."""

    @abstractmethod
    def with_warehouse(self, work: Callable[[Warehouse], T]) -> T:
        """`work(warehouse)` on the run's pyiceberg view of the warehouse (after pending commits)."""

    @abstractmethod
    def erased_subjects(self) -> set[str]:
        """The `subject_id`s in the warehouse's erasure ledger (people who must not come back)."""

    def scalars(self, queries: list[str]) -> list[int]:
        """The integers that count queries (source dialect) return, computed together in one query."""
        if not queries:
            return []
        select = ", ".join(f"({self.translate(q)})" for q in queries)
        return [int(v) if v is not None else 0 for v in self.row(f"SELECT {select}")]

    @abstractmethod
    def row(self, sql: str) -> tuple[Any, ...]:
        """The single row a query in this engine's own dialect returns."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of a (small) query in the source dialect."""
        return self.fetch_rows(self.translate(sql))

    @abstractmethod
    def fetch_rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of a query in this engine's own dialect."""

    @abstractmethod
    def publish(
        self,
        name: str,
        *,
        append_from: str | None = None,
        properties: dict[str, str] | None = None,
        expected: object = ANY_SNAPSHOT,
    ) -> None:
        """Stage relation `name` as the warehouse table of that name (possibly in the background):
        committed for audit, published by `release` (write-audit-publish).

        `append_from`: a relation holding the rows of `name` the table lacks (append instead of
        rewrite); `properties`: stored on the snapshot; `expected`: see `Warehouse.write`.
        """

    @abstractmethod
    def release(self) -> None:
        """Publish every staged table (make its staged snapshot the current one), in staging order."""

    @abstractmethod
    def published(self) -> dict[str, Commit]:
        """Wait for every publish; the commits in the order they were asked for."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""
