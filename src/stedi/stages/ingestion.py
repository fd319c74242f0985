"""Stages `plan` and `read`: which landing files to read, reading them, and keeping the rest.

See `planning` for the rules. Each landing and quarantine table is staged with the map of files its
rows come from; `ingested_files` is derived from those maps and the rows after them. People in the
erasure ledger are dropped from the landing relations before anything is built from them.
"""

from __future__ import annotations

import time

import pyarrow as pa

from stedi import faults
from stedi.contract.sources import QUARANTINE_SCHEMA, SOURCES, Source
from stedi.contract.tables import HISTORY_TABLE, LEDGER_TABLE, Zone
from stedi.errors import LandingError, WarehouseError
from stedi.results import UNCHANGED, SourceResult, TableResult
from stedi.stages import extendable
from stedi.stages.answers import ANSWERS_PROPERTY
from stedi.stages.context import RunContext
from stedi.stages.erasure import find, keep_sql, path_redactor
from stedi.stages.freshness import built_from, nothing_new
from stedi.stages.planning import (
    FILES_PROPERTY,
    LOOKS_PROPERTY,
    SourcePlan,
    TableState,
    decode_files,
    decode_looks,
    encode_files,
    encode_looks,
    kept_rows_sql,
    paths_table,
    plan_source,
)
from stedi.storage import local_path
from stedi.warehouse.catalog import Warehouse, local_table_names, table_state
from stedi.warehouse.writes import set_table_properties

LEDGER_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("content_hash", pa.string()),  # null: not read whole (retried every run), or skipped
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("records", pa.int64(), nullable=False),
        pa.field("quarantined", pa.int64(), nullable=False),
        # When this content was first ingested under this path, and the landing table's snapshot then.
        pa.field("snapshot_id", pa.int64()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("status", pa.string()),  # ingested | not read whole | skipped
        pa.field("detail", pa.string()),  # why not read whole, or why skipped
    ]
)
SOURCE_TABLES = tuple(t for s in SOURCES for t in (s.landing_table, s.quarantine_table))


def plan(ctx: RunContext) -> None:
    """Stage `plan`: the tables' state before the run, and per source what to read and keep."""
    settings = ctx.settings
    assert settings.landing is not None and ctx.key is not None  # checked to exist by the pipeline (require_root)
    names = local_table_names(settings.warehouse, settings.catalog)
    if names is None or names:
        ctx.session.run(lambda w: _states(ctx, w))
    redact = path_redactor(ctx.erased, ctx.key.secret)
    ctx.plans = [plan_source(settings.landing, s, ctx.states, settings.full_refresh, redact) for s in SOURCES]
    for p in ctx.plans:
        if p.listing.missing and not any(p.previous.values()):
            raise LandingError(
                f"landing folder {settings.landing} has no {p.source.name}/landing/ folder "
                f"(expected ROOT/{p.source.name}/landing/*.json)"
            )
    ctx.result.notes.extend(event for p in ctx.plans for event in p.events)
    if nothing_new(ctx):
        _settle_unchanged(ctx)


def _settle_unchanged(ctx: RunContext) -> None:
    """The result of a run that found nothing new: every table as it is, nothing read or built."""
    ctx.news = False
    ctx.result.outcome = UNCHANGED
    ctx.result.notes.append(
        "nothing new since the last run with these settings: no table was read, built or checked again "
        "(--full-refresh rebuilds everything)"
    )
    for p in ctx.plans:
        ctx.result.sources.append(SourceResult(p.source.name, 0, 0, 0, p.listing.skipped, 0.0, len(p.files)))
    names = [t.name for t in ctx.models if t.zone is not Zone.INTERNAL and t.name in ctx.published_rows]
    ctx.result.tables = [
        TableResult(name, zone.value if (zone := ctx.models.zone(name)) else "other", None, ctx.published_rows[name],
                    [], 0.0, ctx.published_snapshots.get(name), False, ctx.published_rows[name])
        for name in names if ctx.models.zone(name) is not Zone.SYSTEM or name == LEDGER_TABLE
    ]  # fmt: skip


def _states(ctx: RunContext, warehouse: Warehouse) -> None:
    """Every table's snapshot and rows, the landing tables' file maps, what the tables were built
    from. A damaged table stops a run, but for a full refresh, which rebuilds it."""
    ctx.built_from = built_from(warehouse)
    for name in warehouse.table_names():
        try:
            table = warehouse.load(name)
            snapshot_id, rows, properties = table_state(table)
        except WarehouseError:
            if not ctx.settings.full_refresh:
                raise
            continue
        ctx.published_rows[name], ctx.published_snapshots[name] = rows, snapshot_id
        if name == HISTORY_TABLE:
            ctx.answers_before = properties.get(ANSWERS_PROPERTY)
        if name in SOURCE_TABLES:
            files = decode_files(properties.get(FILES_PROPERTY))
            looks = decode_looks(table.properties.get(LOOKS_PROPERTY), snapshot_id)
            ctx.states[name] = TableState(snapshot_id, files, looks)


def keep_looks(ctx: RunContext) -> None:
    """After a run that found nothing new: the looks it confirmed by hashing, kept on the source
    tables (see `planning`), so that the next run trusts them instead of hashing the files again."""
    updates = {
        name: (state.snapshot_id, encode_looks(state.snapshot_id, p.looks))
        for p in ctx.plans
        for name in (p.source.landing_table, p.source.quarantine_table)
        if (state := ctx.states.get(name)) and state.snapshot_id is not None and state.files is not None
        and p.looks != state.looks
    }  # fmt: skip

    def keep(warehouse: Warehouse) -> None:
        for name, (snapshot_id, value) in updates.items():
            set_table_properties(warehouse, name, {LOOKS_PROPERTY: value}, snapshot_id)

    if updates:
        ctx.session.run(keep)


def read(ctx: RunContext) -> None:
    """Stage `read`: the new landing files into the engine, merged with the rows kept; erased people
    dropped; the landing and quarantine tables staged."""
    engine, settings = ctx.engine, ctx.settings
    assert settings.landing is not None
    engine.reserve(ctx.landing_bytes)
    extendable.parse_ahead(ctx)
    for source, p in zip(SOURCES, ctx.plans, strict=True):
        ctx.say(f"reading {source.name}: {len(p.to_read)} of {len(p.files)} files are new or changed")
        started = time.perf_counter()
        ctx.reads[source.name] = reads = engine.ingest(settings.landing, source, p.to_read)
        for table in (source.landing_table, source.quarantine_table):
            if p.kept[table]:
                _merge_kept(ctx, source, table, p)
        records, bad = (sum(r.records for r in reads), sum(r.quarantined for r in reads))
        seconds = time.perf_counter() - started
        ctx.result.sources.append(
            SourceResult(source.name, len(reads), records, bad, p.listing.skipped, seconds, len(p.files))
        )
    faults.point("read")
    ctx.erasure_rewrote = rewrite = _suppress_erased(ctx)
    engine.settle()
    _stage_sources(ctx, rewrite)


def _merge_kept(ctx: RunContext, source: Source, table: str, p: SourcePlan) -> None:
    engine = ctx.engine
    columns = source.landing_schema().names if table == source.landing_table else QUARANTINE_SCHEMA.names
    engine.rename(table, f"{table}__read")
    plan = ctx.session.run(lambda w: w.data_files(table))
    if plan is None:
        current = f"current_{table}"
        engine.load(current, ctx.session.run(lambda w: w.read(table)))
    else:
        current = engine.attach(f"current_{table}", *plan)
    listed = ", ".join(f'"{c}"' for c in columns)
    if p.append_only[table]:
        ctx.landing_growth[table] = (f"{table}__read", current)
    if p.append_only[table] and plan is not None and plan[0] and all(local_path(f) is not None for f in plan[0]):
        # The table holds exactly the kept files' rows: a view over its Parquet files and the rows
        # read, which the builds scan as fast as a copy, spares a pass that copies every kept row.
        engine.build(table, f"SELECT {listed} FROM {current} UNION ALL SELECT {listed} FROM {table}__read", view=True)
        return
    engine.load(f"{table}__paths", paths_table(p.kept[table]))
    engine.build(
        table,
        f"{kept_rows_sql(columns, current, f'{table}__paths')} UNION ALL SELECT {listed} FROM {table}__read",
    )


def _suppress_erased(ctx: RunContext) -> bool:
    """Drop the records of people in the erasure ledger from the landing relations (before anything
    is built). Ownership of step-trainer readings is decided with everyone's records, as in the
    pipeline, before the erased people's own records are dropped. True when rows were dropped."""
    if not ctx.erased:
        return False
    engine, models = ctx.engine, ctx.models
    assert ctx.key is not None
    ctx.say("suppressing erased people")
    landing = {t.name: (t, t.name) for t in models if t.zone in (Zone.LANDING, Zone.QUARANTINE)}
    found = find(engine, landing, ctx.erased, ctx.key.secret)
    if not found.emails:
        return False
    found.load(engine)
    engine.load("run_parameters", ctx.parameters_table)
    vias = {p.via for spec, _ in landing.values() for p in spec.person if p.kind == "owned" and p.via}
    for step in {s.name: s for via in sorted(vias) for s in models.needed_for(via)}.values():
        engine.build(step.name, step.sql or "", view=step.view)
    before = sum(engine.counts([f"SELECT COUNT(*) FROM {name}" for name in landing]))
    for name, (spec, relation) in landing.items():
        sql = keep_sql(spec, relation, engine.columns(relation))
        if sql is not None:
            engine.build(f"{name}__kept", sql)
            engine.rename(f"{name}__kept", name)
    dropped = before - sum(engine.counts([f"SELECT COUNT(*) FROM {name}" for name in landing]))
    if dropped:
        ctx.result.notes.append(f"{dropped:,} landing records of erased people suppressed (erasure ledger)")
    return bool(dropped)


def _stage_sources(ctx: RunContext, rewrite: bool) -> None:
    """Stage every landing and quarantine table with its file map; new rows are appended when the
    table holds exactly the rest (`rewrite`: always rewrite, e.g. after erased people were dropped)."""
    writer = ctx.writer
    for p in ctx.plans:
        digests = {r.relative: r.digest for r in ctx.reads[p.source.name]}
        properties = {FILES_PROPERTY: encode_files(p.files_map(digests))}
        for table in (p.source.landing_table, p.source.quarantine_table):
            append = p.append_only[table] and not rewrite and writer.capabilities.appends
            read = f"{table}__read" if p.kept[table] else table  # see _merge_kept
            writer.stage(table, append_from=read if append else None, properties=properties, expected=p.expected[table])


def ledger(ctx: RunContext) -> pa.Table:
    """`ingested_files`: one row per landing entry: every data file now in the tables, with what it
    gave, and every entry that was skipped, with why."""
    repair = ctx.settings.full_refresh
    previous = ctx.session.run(lambda w: _previous_ledger(w, repair))
    snapshots = {name: commit.snapshot_id for name, commit in ctx.commits.items()}
    now = int(time.time() * 1_000_000)
    rows: dict[str, list[object]] = {name: [] for name in LEDGER_SCHEMA.names}

    def add(**values: object) -> None:
        for name in LEDGER_SCHEMA.names:
            rows[name].append(values.get(name))

    for p in ctx.plans:
        source = p.source
        counts = _counts(ctx, source.landing_table)
        bad = _counts(ctx, source.quarantine_table)
        kept_from = dict((new, old) for old, new in p.kept[source.landing_table])
        problems = {r.relative: r.problem for r in ctx.reads[source.name] if r.digest is None}
        digests = {r.relative: r.digest for r in ctx.reads[source.name]}
        for file in p.files:
            digest = digests[file.relative] if file.relative in digests else p.digests.get(file.relative)
            # A content known under this path (or the one it was renamed from) keeps its first ingestion.
            before = previous.get((kept_from.get(file.relative, file.relative), digest)) if digest else None
            snapshot, at = before if before else (snapshots.get(source.landing_table), now)
            status = "ingested" if digest else "not read whole"
            add(source=source.name, path=file.relative, content_hash=digest, bytes=file.size,
                records=counts.get(file.relative, 0), quarantined=bad.get(file.relative, 0), snapshot_id=snapshot,
                ingested_at=at, status=status, detail=problems.get(file.relative))  # fmt: skip
        for path, why in p.listing.skipped:
            add(source=source.name, path=path, bytes=0, records=0, quarantined=0, ingested_at=now, status="skipped",
                detail=why)  # fmt: skip
    return pa.table(rows, schema=LEDGER_SCHEMA)


def stage_ledger(ctx: RunContext) -> None:
    ctx.engine.load(LEDGER_TABLE, ledger(ctx))
    ctx.writer.stage(LEDGER_TABLE)


def _counts(ctx: RunContext, table: str) -> dict[str, int]:
    return {
        str(f): int(n) for f, n in ctx.engine.rows(f"SELECT source_file, COUNT(*) FROM {table} GROUP BY source_file")
    }


def _previous_ledger(
    warehouse: Warehouse, repair: bool = False
) -> dict[tuple[str, str | None], tuple[int | None, int]]:
    """When each content was first ingested under each path; `repair` (a full refresh): a ledger
    that cannot be read counts as none, and this run dates every file."""
    if LEDGER_TABLE not in warehouse.table_names():
        return {}
    try:
        old = warehouse.read(LEDGER_TABLE)
    except WarehouseError:
        if not repair:
            raise
        return {}
    ats = old.column("ingested_at").cast(pa.int64()).to_pylist()
    columns = [old.column(c).to_pylist() for c in ("path", "content_hash", "snapshot_id")]
    return {(path, digest): (snapshot, at) for path, digest, snapshot, at in zip(*columns, ats, strict=True)}
