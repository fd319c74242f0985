"""The embedded engine: an in-process DuckDB database."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from .base import Engine


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = connection or duckdb.connect()

    def load(self, name: str, data: pa.Table) -> None:
        # A view over the Arrow data: DuckDB scans it in place, no copy.
        self.con.register(name, data)

    def build(self, name: str, sql: str) -> None:
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {self.translate(sql)}').fetchall()

    def scalars(self, queries: list[str]) -> list[int]:
        if not queries:
            return []
        select = ", ".join(f"({self.translate(q)})" for q in queries)
        (row,) = self.con.execute(f"SELECT {select}").fetchall()
        return [int(v) if v is not None else 0 for v in row]

    def fetch(self, name: str) -> pa.Table:
        return self.con.sql(f'SELECT * FROM "{name}"').to_arrow_table()

    def close(self) -> None:
        self.con.close()
