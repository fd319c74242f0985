"""CREATE statements for every table, per dialect: landing tables as external JSON tables over the
landing folders (typed, not all strings), and the Iceberg tables of a warehouse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stedi.contract.sources import SOURCES, FieldType, Source
from stedi.reading.fastpath import DUCKDB_TYPES

if TYPE_CHECKING:
    from stedi.warehouse.catalog import Warehouse

DIALECTS = ("athena", "spark", "duckdb")

_LANDING_TYPES = {
    "athena": {FieldType.STRING: "string", FieldType.INT: "bigint", FieldType.NUMBER: "double"},
    "spark": {FieldType.STRING: "STRING", FieldType.INT: "BIGINT", FieldType.NUMBER: "DOUBLE"},
    "duckdb": DUCKDB_TYPES,
}
_ICEBERG_TYPES = {
    "athena": {"long": "bigint", "int": "int", "double": "double", "string": "string", "boolean": "boolean"},
    "spark": {"long": "BIGINT", "int": "INT", "double": "DOUBLE", "string": "STRING", "boolean": "BOOLEAN"},
}


def _landing(source: Source, root: str, dialect: str) -> str:
    types = _LANDING_TYPES[dialect]
    folder = f"{root.rstrip('/')}/{source.name}/landing/"
    table = source.landing_table
    note = (
        f"-- {table}: the raw files as an external table. The STEDI reader is stricter (SEMANTICS.md): it\n"
        "-- also reads run-together objects and `{...},` lines, and quarantines what this table would drop.\n"
    )
    if dialect == "athena":
        cols = ",\n".join(f"  `{f.name.lower()}` {types[f.type]}" for f in source.fields)
        return (
            f"{note}CREATE EXTERNAL TABLE IF NOT EXISTS stedi.{table} (\n{cols}\n)\n"
            "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
            "WITH SERDEPROPERTIES ('case.insensitive' = 'TRUE', 'ignore.malformed.json' = 'TRUE')\n"
            f"LOCATION '{folder}';"
        )
    if dialect == "spark":
        cols = ",\n".join(f"  `{f.name}` {types[f.type]}" for f in source.fields)
        return (
            f"{note}CREATE TABLE IF NOT EXISTS {table} (\n{cols}\n)\nUSING json\n"
            f"OPTIONS (path '{folder}', recursiveFileLookup 'true', mode 'DROPMALFORMED');"
        )
    columns = ", ".join(f"'{f.name}': '{types[f.type]}'" for f in source.fields)
    return (
        f"{note}CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_json(\n"
        f"  '{folder}**/*.json*',  -- .json, .jsonl and their .gz (a glob that matches nothing is an error)\n"
        f"  format = 'newline_delimited', ignore_errors = true, columns = {{{columns}}});"
    )


def _iceberg(warehouse: Warehouse, name: str, dialect: str) -> str:
    table = warehouse.load(name)
    if dialect == "duckdb":
        return (
            f"-- needs DuckDB's iceberg extension\n"
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM iceberg_scan('{table.metadata_location}');"
        )
    types = _ICEBERG_TYPES[dialect]
    quote = "`"
    cols = ",\n".join(
        f"  {quote}{f.name.lower() if dialect == 'athena' else f.name}{quote} {types.get(str(f.field_type), 'string')}"
        for f in table.schema().fields
    )
    if dialect == "athena":
        return (
            f"CREATE TABLE IF NOT EXISTS stedi.{name} (\n{cols}\n)\nLOCATION '{table.location()}'\n"
            "TBLPROPERTIES ('table_type' = 'ICEBERG');"
        )
    return f"CREATE TABLE IF NOT EXISTS stedi.stedi.{name} (\n{cols}\n)\nUSING iceberg;"


def ddl(dialect: str, landing: str | None = None, warehouse: Warehouse | None = None) -> str:
    """Statements for the landing tables (when `landing` is given) and the warehouse's tables."""
    parts = []
    if dialect == "athena":
        parts.append("CREATE DATABASE IF NOT EXISTS stedi;")
    if landing:
        parts += [_landing(source, landing, dialect) for source in SOURCES]
    if warehouse is not None:
        if dialect == "athena":
            parts.append(
                "-- The Iceberg tables: with --catalog glue they are in the Glue Data Catalog already and Athena\n"
                "-- queries them as they are; these statements create them empty elsewhere."
            )
        parts += [_iceberg(warehouse, name, dialect) for name in warehouse.table_names()]
    return "\n\n".join(parts) + "\n"
