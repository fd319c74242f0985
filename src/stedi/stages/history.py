"""`run_history`: every run's table counts, drops and check results, appended to the warehouse.

One row per fact, so that the report (and `stedi sql`) can show what changed since the last run and
trends over runs. It is written directly to the main branch, also for a run whose checks failed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from stedi.results import RunResult
    from stedi.warehouse.catalog import Commit, Warehouse

HISTORY_TABLE = "run_history"
HISTORY_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("run_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("engine", pa.string(), nullable=False),
        pa.field("consent_policy", pa.string(), nullable=False),
        pa.field("ml_join", pa.string(), nullable=False),
        pa.field("published", pa.bool_(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # table | drop | check
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),  # the drop reason or check description; "rows" for tables
        pa.field("status", pa.string()),  # checks: pass | warn | fail
        pa.field("severity", pa.string()),
        pa.field("value", pa.int64(), nullable=False),
        pa.field("expected", pa.int64()),
    ]
)


def history_rows(
    result: RunResult, funnel: dict[str, tuple[int, list[tuple[str, int]]]], commits: dict[str, Commit]
) -> pa.Table:
    rows: list[tuple[object, ...]] = []
    for name, commit in commits.items():
        rows.append(("table", name, "rows", None, None, commit.rows, None))
        for reason, n in funnel.get(name, (0, []))[1]:
            rows.append(("drop", name, reason, None, None, n, None))
    for c in result.checks:
        rows.append(("check", c.table, f"{c.kind}: {c.description}", c.status, c.severity, c.value, c.expected))
    now = int(time.time() * 1_000_000)
    fixed = (result.run_id, now, result.engine, result.consent_policy, result.ml_join, result.published)
    full = [(*fixed, *row) for row in rows]
    columns: list[Any] = list(zip(*full, strict=True)) if full else [[] for _ in HISTORY_SCHEMA]
    return pa.table([pa.array(col, f.type) for col, f in zip(columns, HISTORY_SCHEMA, strict=True)], HISTORY_SCHEMA)


def record_run(
    warehouse: Warehouse,
    result: RunResult,
    funnel: dict[str, tuple[int, list[tuple[str, int]]]],
    commits: dict[str, Commit],
) -> None:
    warehouse.append_rows(HISTORY_TABLE, history_rows(result, funnel, commits))
