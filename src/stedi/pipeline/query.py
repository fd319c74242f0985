"""Read-only SQL over a warehouse's tables by bare name, on DuckDB.

The tables are pyarrow datasets registered with a DuckDB connection whose own file access is then
turned off and whose configuration is locked: no statement, whatever its form (EXPLAIN ANALYZE
included), can read or write a file, attach a database or load an extension. Only queries run:
SELECT (with DESCRIBE, SHOW and SUMMARIZE) and EXPLAIN of a SELECT.
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from stedi.errors import QueryError
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.scan import dataset

_EXPLAIN = re.compile(r"\A\s*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^)]*\)\s*)?(.*)\Z", re.IGNORECASE | re.DOTALL)
SEALED: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
}


def _referenced(sql: str) -> set[str] | None:
    """Table names the query mentions, or None when it cannot be parsed here (then all are offered)."""
    import logging

    import sqlglot  # only `stedi sql` needs it
    from sqlglot import exp

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to a Command" is no news to a user
    try:
        trees = [tree for tree in sqlglot.parse(sql, read="duckdb") if tree is not None]
    except sqlglot.errors.ParseError:
        return None
    if any(isinstance(tree, exp.Command) for tree in trees):
        return None
    named = {t.name.lower() for tree in trees for t in tree.find_all(exp.Table)}
    return named or None  # SHOW TABLES names none, and needs them all


def statement_kind(sql: str) -> str:
    """The one statement's kind; refused unless it only reads (QueryError)."""
    con = duckdb.connect(config=SEALED)
    try:
        statements = con.extract_statements(sql)
        if len(statements) != 1:
            raise QueryError(f"give exactly one statement (got {len(statements)})")
        kind = statements[0].type.name
        if kind == "EXPLAIN":
            inner = _EXPLAIN.match(sql)
            inner_statements = con.extract_statements(inner.group(1)) if inner else []
            if len(inner_statements) != 1 or inner_statements[0].type.name != "SELECT":
                raise QueryError("stedi sql is read-only: only EXPLAIN of a SELECT runs")
        elif kind != "SELECT":
            raise QueryError(f"stedi sql is read-only: {kind} statements are refused (only SELECT and EXPLAIN run)")
        return kind
    except duckdb.Error as exc:
        raise QueryError(f"cannot parse the query: {_first_line(exc)}") from None
    finally:
        con.close()


def connect(warehouse: Warehouse, tables: set[str] | None = None, snapshots: dict[str, int] | None = None):  # -> duckdb
    """A sealed DuckDB connection with a relation per warehouse table (all, or those named), at the
    given snapshots (default: the current ones)."""
    con = duckdb.connect(config=SEALED)
    for name in warehouse.table_names():
        if tables is not None and name.lower() not in tables:
            continue
        if snapshots is not None and name not in snapshots:
            continue
        con.register(f"{name}__rows", dataset(warehouse, name, snapshots.get(name) if snapshots else None))
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM "{name}__rows"')  # a view: SHOW TABLES lists it
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def query(warehouse: Warehouse, sql: str, snapshots: dict[str, int] | None = None) -> pa.Table:
    """The result of one read-only statement; anything that would write is refused."""
    statement_kind(sql)
    con = connect(warehouse, _referenced(sql), snapshots)
    try:
        return con.sql(sql).to_arrow_table()
    except (duckdb.Error, OSError, pa.ArrowException) as exc:
        raise QueryError(_first_line(exc)) from None
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else repr(exc)
