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
        self.con.register(f"{name}__arrow", data)
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{name}__arrow"').fetchall()
        self.con.unregister(f"{name}__arrow")

    def build(self, name: str, sql: str) -> int:
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {self.translate(sql)}').fetchall()
        return self.scalar(f'SELECT COUNT(*) FROM "{name}"')

    def scalar(self, sql: str) -> int:
        rows = self.con.execute(self.translate(sql)).fetchall()
        row = rows[0] if rows else None
        return int(row[0]) if row and row[0] is not None else 0

    def fetch(self, name: str) -> pa.Table:
        return self.con.sql(f'SELECT * FROM "{name}"').to_arrow_table()

    def close(self) -> None:
        self.con.close()
