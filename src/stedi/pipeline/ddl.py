"""CREATE statements for every table, per dialect: the landing files as typed external tables (or
DuckDB views) in a schema of their own, `stedi_raw`, and the Iceberg tables of a warehouse in
`stedi` (Athena, Spark) or as views that stay current (DuckDB, through `WAREHOUSE/stedi.duckdb`).
The two never share a name: `stedi_raw.customer_landing` is the files as a SQL engine reads them,
`stedi.customer_landing` the table the STEDI reader built from them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stedi.contract.sources import SOURCES, FieldType, Source
from stedi.errors import SettingsError
from stedi.reading.fastpath import DUCKDB_TYPES

if TYPE_CHECKING:
    from stedi.warehouse.catalog import Warehouse

DIALECTS = ("athena", "spark", "duckdb")
RAW_SCHEMA = "stedi_raw"

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
    table = f"{RAW_SCHEMA}.{source.landing_table}"
    note = (
        f"-- {table}: the raw files as an external table. The STEDI reader is stricter: it also reads\n"
        "-- run-together objects and `{...},` lines, and quarantines what this table drops or nulls.\n"
    )
    if dialect == "athena":
        cols = ",\n".join(f"  `{f.name.lower()}` {types[f.type]}" for f in source.fields)
        return (
            f"{note}CREATE EXTERNAL TABLE IF NOT EXISTS {table} (\n{cols}\n)\n"
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
    # DuckDB: each line as JSON, every field under each spelling real exports use (keys are matched
    # without regard to case by the STEDI reader; `timeStamp` in the October 2022 export).
    cols = ",\n".join(
        f"  TRY_CAST(COALESCE({', '.join(_json_key(k) for k in _spellings(f.spellings))}) AS {types[f.type]})"
        f' AS "{f.name}"'
        for f in source.fields
    )
    required = " AND ".join(f'"{f.name}" IS NOT NULL' for f in source.fields if f.required)
    # Lines as text; objects run together on a line (`{...}{...}`) split apart, a `{...},` line's
    # comma dropped; then the pieces that are JSON objects.
    lines = (
        f"read_csv('{folder}**/*.json*', columns = {{'line': 'VARCHAR'}}, header = false, delim = chr(1), "
        "quote = '', escape = '', auto_detect = false, max_line_size = 67108864)"
    )
    pieces = f"SELECT unnest(string_split(replace(line, '}}{{', '}}' || chr(1) || '{{'), chr(1))) AS piece FROM {lines}"
    return (
        f"{note}CREATE OR REPLACE VIEW {table} AS SELECT * FROM (SELECT\n{cols}\n"
        f"FROM (SELECT CAST(text AS JSON) AS json FROM (SELECT rtrim(trim(piece), ',') AS text FROM ({pieces}))\n"
        "WHERE json_valid(text) AND json_type(CAST(text AS JSON)) = 'OBJECT')) AS records\n"
        f"WHERE {required};"
    )


def _spellings(names: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for name in (*names, *(n.lower() for n in names)):
        if name not in found:
            found.append(name)
    return found


def _json_key(key: str) -> str:
    return f"json ->> '$.\"{key}\"'"


def _iceberg(warehouse: Warehouse, name: str, dialect: str) -> str:
    table = warehouse.load(name)
    if dialect == "duckdb":
        return f'CREATE OR REPLACE VIEW stedi."{name}" AS SELECT * FROM stedi_files."{name}";'
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
    if landing:
        parts.append(f"CREATE {'DATABASE' if dialect != 'duckdb' else 'SCHEMA'} IF NOT EXISTS {RAW_SCHEMA};")
        parts += [_landing(source, landing, dialect) for source in SOURCES]
    if warehouse is not None:
        parts.append(f"CREATE {'DATABASE' if dialect != 'duckdb' else 'SCHEMA'} IF NOT EXISTS stedi;")
        if dialect == "athena":
            parts.append(
                "-- The Iceberg tables: with --catalog glue they are in the Glue Data Catalog already and Athena\n"
                "-- queries them as they are; these statements create them empty elsewhere."
            )
        if dialect == "duckdb":
            parts.append(_duckdb_files(warehouse))
        parts += [_iceberg(warehouse, name, dialect) for name in warehouse.table_names()]
    return "\n\n".join(parts) + "\n"


def _duckdb_files(warehouse: Warehouse) -> str:
    from stedi.storage import is_remote
    from stedi.warehouse.duckdb_views import DUCKDB_FILE

    if is_remote(warehouse.location):
        raise SettingsError(
            "DuckDB views need a local warehouse (its stedi.duckdb file); for object storage use pyiceberg or "
            "stedi export"
        )
    path = f"{warehouse.location.rstrip('/')}/{DUCKDB_FILE}".replace("'", "''")
    return (
        "-- Every run rewrites stedi.duckdb with views over the tables' current files: a new session (or\n"
        "-- DETACH and ATTACH again) sees the tables as the last run published them.\n"
        f"ATTACH IF NOT EXISTS '{path}' AS stedi_files (READ_ONLY);"
    )
