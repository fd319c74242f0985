"""Read-only SQL over a warehouse's tables by bare name, on DuckDB."""

from __future__ import annotations

from urllib.parse import urlparse
from urllib.request import url2pathname

import duckdb
import pyarrow as pa

from stedi.errors import QueryError
from stedi.warehouse.catalog import Warehouse

READ_ONLY = {"SELECT", "EXPLAIN"}


def _referenced(sql: str) -> set[str] | None:
    """Table names the query mentions, or None when it cannot be parsed here (then all are offered)."""
    import sqlglot  # only `stedi sql` needs it; runs attach tables through this module too
    from sqlglot import exp

    try:
        return {t.name.lower() for tree in sqlglot.parse(sql, read="duckdb") if tree for t in tree.find_all(exp.Table)}
    except sqlglot.errors.ParseError:
        return None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(warehouse: Warehouse, tables: set[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view per warehouse table (all of them, or those named)."""
    con = duckdb.connect()
    for name in warehouse.table_names():
        if tables is not None and name.lower() not in tables:
            continue
        attach(con, warehouse, name, name)
    return con


def attach(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, table: str, view: str) -> pa.Schema:
    """A view `view` over the current rows of a warehouse table: its Parquet files read in place when
    that is exact and local, else the rows through pyiceberg's scan. Returns the table's schema."""
    plan = warehouse.data_files(table)
    if plan is not None and plan[0] and all(path.startswith("file://") for path in plan[0]):
        files = ", ".join(_literal(url2pathname(urlparse(path).path)) for path in plan[0])
        con.execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM read_parquet([{files}])').fetchall()
        return plan[1]
    # No files yet, delete files, or a store DuckDB cannot reach without extensions: via Arrow.
    data = warehouse.read(table)
    con.register(f"{view}__arrow", data)
    con.execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM "{view}__arrow"').fetchall()
    return data.schema


def query(warehouse: Warehouse, sql: str) -> pa.Table:
    """The result of one read-only statement; anything that would write is refused."""
    con = duckdb.connect()
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"cannot parse the query: {exc}") from None
    finally:
        con.close()
    if len(statements) != 1:
        raise QueryError(f"give exactly one statement (got {len(statements)})")
    kind = statements[0].type.name
    if kind not in READ_ONLY:
        raise QueryError(f"stedi sql is read-only: a {kind} statement is refused (only SELECT and EXPLAIN run)")
    con = connect(warehouse, _referenced(sql))
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from None
    finally:
        con.close()
