"""Stage `publish`: the staged tables become the warehouse's tables, all of them, after their checks."""

from __future__ import annotations

from stedi.results import PUBLISHED, TableResult
from stedi.stages.context import RunContext


def publish(ctx: RunContext) -> None:
    if ctx.result.outcome == PUBLISHED:
        ctx.say("publishing")
        ctx.commits = ctx.writer.publish_staged()
    ctx.result.tables = table_results(ctx)


def table_results(ctx: RunContext) -> list[TableResult]:
    from stedi.results import DropCount

    tables = []
    for name, commit in ctx.commits.items():
        zone = ctx.models.zone(name)
        counts = ctx.funnel.get(name)
        drops = [DropCount(code, text, n, reason) for code, text, n, reason in counts.drops] if counts else []
        seconds = ctx.build_seconds.get(name, 0.0) + commit.seconds
        tables.append(
            TableResult(name, zone.value if zone else "other", counts.rows_in if counts else None, commit.rows, drops,
                        seconds, commit.snapshot_id, commit.changed, ctx.published_rows.get(name),
                        ctx.models[name].growth if name in ctx.models else "")
        )  # fmt: skip
    return tables
