"""`run_history`: every run's table counts, drop reasons, check outcomes and published snapshots.
Its snapshot also carries the run's answers to its checks and reason counts (see `answers`).

One row per fact, so that the report, `stedi sql` and `stedi history` can show what changed since the
last run and trends over runs. It is appended directly to the main branch, also for a run that was
refused or whose checks failed.
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa

from stedi.contract.tables import HISTORY_TABLE
from stedi.results import RunResult
from stedi.stages import answers
from stedi.stages.context import RunContext
from stedi.stages.freshness import remember
from stedi.stages.ingestion import keep_looks
from stedi.warehouse.writes import append_rows

HISTORY_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("run_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("engine", pa.string(), nullable=False),
        pa.field("consent_policy", pa.string(), nullable=False),
        pa.field("ml_join", pa.string(), nullable=False),
        pa.field("published", pa.bool_(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # table | drop | check | refusal | rollback | maintenance
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),  # the reason or check in words; "rows" for tables
        pa.field("status", pa.string()),  # checks: pass | warn | fail
        pa.field("severity", pa.string()),
        pa.field("value", pa.int64(), nullable=False),
        pa.field("expected", pa.int64()),
        pa.field("outcome", pa.string()),  # published | unchanged | failed | refused
        pa.field("code", pa.string()),  # a drop reason's or check's stable code
        pa.field("snapshot_id", pa.int64()),  # tables: the snapshot the run left current
        pa.field("detail", pa.string()),  # checks: the outcome in words, with the check's figure if it has one
    ]
)


def history_rows(result: RunResult, extra: list[tuple[object, ...]] | None = None) -> pa.Table:
    """The facts of a run; `extra`: more rows (kind, table, name, status, severity, value, expected,
    code, snapshot[, detail]) such as the run a rollback went back to."""
    rows: list[tuple[object, ...]] = [(*row, None)[:10] for row in extra or []]
    for t in result.tables:
        rows.append(("table", t.name, "rows", None, None, t.rows_out, None, "rows", t.snapshot_id, None))
        for drop in t.drops:
            rows.append(("drop", t.name, drop.reason or drop.text.split(" ", 1)[1], None, None, drop.count, None,
                         drop.code, None, None))  # fmt: skip
    for c in result.checks:
        rows.append(("check", c.table, f"{c.kind}: {c.description}", c.status, c.severity, c.value, c.expected,
                     c.kind, None, c.detail))  # fmt: skip
    for reason in result.refusals:
        rows.append(("refusal", "", reason, None, None, 0, None, "shrink", None, None))
    now = int(time.time() * 1_000_000)
    fixed = (result.run_id, now, result.engine, result.consent_policy, result.ml_join, result.published)
    full = [(*fixed, *row[:7], result.outcome, *row[7:]) for row in rows]
    columns: list[Any] = list(zip(*full, strict=True)) if full else [[] for _ in HISTORY_SCHEMA]
    return pa.table([pa.array(col, f.type) for col, f in zip(columns, HISTORY_SCHEMA, strict=True)], HISTORY_SCHEMA)


def record(ctx: RunContext) -> None:
    """Stage `record`: the run's facts appended to run_history."""
    rows = history_rows(ctx.result)
    # The answers of the checks and reason counts, for the next run (see `answers`); a run that
    # found nothing new passes on those of the run that built the tables.
    recorded = answers.record(ctx) if ctx.news else ctx.answers_before or ""
    properties = {answers.ANSWERS_PROPERTY: recorded}
    # A full refresh repairs what it can: a run_history whose files are lost starts again.
    repair = ctx.settings.full_refresh
    ctx.session.run(lambda w: append_rows(w, HISTORY_TABLE, rows, properties, repair=repair))
    if ctx.news and ctx.result.published:
        remember(ctx)
    if not ctx.news:
        keep_looks(ctx)
