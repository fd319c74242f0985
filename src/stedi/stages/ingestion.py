"""The landing step of a run: read only what is new, keep the rest, and keep the ledger of files.

See `incremental` for the rules. Each landing and quarantine table is committed with the map of files
its rows come from; the `ingested_files` table is derived from those maps and the rows after them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pyarrow as pa

from stedi.contract.sources import QUARANTINE_SCHEMA, SOURCES, Source
from stedi.engines import Engine
from stedi.results import SourceResult
from stedi.stages.planning import (
    FILES_PROPERTY,
    SourcePlan,
    TableState,
    decode_files,
    kept_rows_sql,
    paths_table,
    plan_source,
)
from stedi.warehouse.catalog import Warehouse, local_table_names

LEDGER_TABLE = "ingested_files"
LEDGER_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("content_hash", pa.string()),  # null: the file could not be read (retried every run)
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("records", pa.int64(), nullable=False),
        pa.field("quarantined", pa.int64(), nullable=False),
        # When this content was first ingested under this path, and the landing table's snapshot then.
        pa.field("snapshot_id", pa.int64()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
SOURCE_TABLES = tuple(t for s in SOURCES for t in (s.landing_table, s.quarantine_table))


@dataclass
class Ingested:
    plans: list[SourcePlan]
    results: list[SourceResult]


def table_states(engine: Engine, location: str, catalog: str | None) -> dict[str, TableState]:
    """The current state of the landing and quarantine tables (empty for a new warehouse, at once)."""
    names = local_table_names(location, catalog)
    if names is not None and not names & set(SOURCE_TABLES):
        return {}

    def read(warehouse: Warehouse) -> dict[str, TableState]:
        states = {}
        for table in SOURCE_TABLES:
            snapshot_id, properties = warehouse.state(table)
            states[table] = TableState(snapshot_id, decode_files(properties.get(FILES_PROPERTY)))
        return states

    return engine.with_warehouse(read)


def ingest(
    engine: Engine, root: str, states: dict[str, TableState], full_refresh: bool, say: Callable[[str], None]
) -> Ingested:
    """Read the new landing files of every source; make `<source>_landing` / `_quarantine` whole."""
    plans = [plan_source(root, source, states, full_refresh) for source in SOURCES]
    engine.reserve(sum(f.size for plan in plans for f in plan.files))
    results = []
    for source, plan in zip(SOURCES, plans, strict=True):
        say(f"reading {source.name}: {len(plan.to_read)} of {len(plan.files)} files are new or changed")
        read = engine.ingest(root, source, plan.to_read, plan.skipped)
        results.append(replace(read, files_found=len(plan.files)))
        for table in (source.landing_table, source.quarantine_table):
            if plan.kept[table]:
                _merge_kept(engine, source, table, plan)
    return Ingested(plans, results)


def _merge_kept(engine: Engine, source: Source, table: str, plan: SourcePlan) -> None:
    columns = source.landing_schema().names if table == source.landing_table else QUARANTINE_SCHEMA.names
    engine.rename(table, f"{table}__read")
    current = engine.attach(table)
    engine.load(f"{table}__paths", paths_table(plan.kept[table]))
    listed = ", ".join(f'"{c}"' for c in columns)
    engine.build(
        table,
        f"{kept_rows_sql(columns, current, f'{table}__paths')} UNION ALL SELECT {listed} FROM {table}__read",
    )


def publish_sources(engine: Engine, ingested: Ingested, rewrite: bool) -> None:
    """Commit every landing and quarantine table with its file map; new rows are appended when the
    table holds exactly the rest (`rewrite`: always rewrite, e.g. after erased people were dropped)."""
    for plan in ingested.plans:
        properties = {FILES_PROPERTY: plan.files_property}
        for table in (plan.source.landing_table, plan.source.quarantine_table):
            append = plan.append_only[table] and not rewrite
            read = f"{table}__read" if plan.kept[table] else table  # see _merge_kept
            engine.publish(
                table,
                append_from=read if append else None,
                properties=properties,
                expected=plan.expected[table],
            )


def ledger(engine: Engine, ingested: Ingested, snapshots: dict[str, int | None]) -> pa.Table:
    """`ingested_files`: one row per landing data file now in the tables, with what it gave."""
    previous = engine.with_warehouse(_previous_ledger)
    now = int(time.time() * 1_000_000)
    rows: dict[str, list[object]] = {name: [] for name in LEDGER_SCHEMA.names}
    for plan in ingested.plans:
        source = plan.source
        counts = _counts(engine, source.landing_table)
        bad = _counts(engine, source.quarantine_table)
        kept_from = dict((new, old) for old, new in plan.kept[source.landing_table])
        for file in plan.files:
            digest = plan.hashes[file.relative]
            # A content known under this path (or the one it was renamed from) keeps its first ingestion.
            before = previous.get((kept_from.get(file.relative, file.relative), digest))
            snapshot, at = before if before else (snapshots.get(source.landing_table), now)
            for name, value in (
                ("source", source.name), ("path", file.relative), ("content_hash", digest), ("bytes", file.size),
                ("records", counts.get(file.relative, 0)), ("quarantined", bad.get(file.relative, 0)),
                ("snapshot_id", snapshot), ("ingested_at", at),
            ):  # fmt: skip
                rows[name].append(value)
    return pa.table(rows, schema=LEDGER_SCHEMA)


def _counts(engine: Engine, table: str) -> dict[str, int]:
    return {str(f): int(n) for f, n in engine.rows(f"SELECT source_file, COUNT(*) FROM {table} GROUP BY source_file")}


def _previous_ledger(warehouse: Warehouse) -> dict[tuple[str, str | None], tuple[int | None, int]]:
    if LEDGER_TABLE not in warehouse.table_names():
        return {}
    old = warehouse.read(LEDGER_TABLE).cast(LEDGER_SCHEMA)
    ats = old.column("ingested_at").cast(pa.int64()).to_pylist()
    columns = [old.column(c).to_pylist() for c in ("path", "content_hash", "snapshot_id")]
    return {(path, digest): (snapshot, at) for path, digest, snapshot, at in zip(*columns, ats, strict=True)}
