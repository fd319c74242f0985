"""The interface every engine implements: load relations, build tables from SQL, hand back Arrow."""

from __future__ import annotations

from abc import ABC, abstractmethod

import pyarrow as pa

# The dialect the transform SQL files are written in.
SOURCE_DIALECT = "duckdb"


class Engine(ABC):
    name: str
    dialect: str  # SQLGlot dialect the engine speaks

    def translate(self, sql: str) -> str:
        if self.dialect == SOURCE_DIALECT:
            return sql
        import sqlglot  # only engines of another dialect need it

        return ";\n".join(sqlglot.transpile(sql, read=SOURCE_DIALECT, write=self.dialect))

    @abstractmethod
    def load(self, name: str, data: pa.Table) -> None:
        """Make an Arrow table available to SQL under `name`."""

    @abstractmethod
    def build(self, name: str, sql: str) -> None:
        """Materialise the result of `sql` (source dialect) as table `name`."""

    @abstractmethod
    def scalars(self, queries: list[str]) -> list[int]:
        """The integers that count queries (source dialect) return, computed together."""

    @abstractmethod
    def fetch(self, name: str) -> pa.Table:
        """The rows of a table built or loaded here."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources."""
