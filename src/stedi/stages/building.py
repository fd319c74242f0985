"""Stage `build`: every SQL table in build order, its privacy invariants checked before it is staged."""

from __future__ import annotations

import time

from stedi import faults
from stedi.contract import privacy
from stedi.contract.tables import PARAMETERS, SUBJECT_KEYS, Table
from stedi.errors import PrivacyError
from stedi.stages import extending
from stedi.stages.context import RunContext


def build(ctx: RunContext) -> None:
    engine, writer = ctx.engine, ctx.writer
    engine.load(PARAMETERS, ctx.parameters_table)
    extension = extending.start(ctx)
    for table in ctx.models.transforms:
        if table.pseudonym is not None:
            source, column = table.pseudonym.source
            if extension is None or not extension.set_keys(SUBJECT_KEYS, source, column):
                engine.load(SUBJECT_KEYS, ctx.subject_keys_of(source, column))
        ctx.say(f"building {table.name}")
        ctx.step = table.name
        started = time.perf_counter()
        if extension is not None:
            new_rows = extension.build(table)
        else:
            engine.build(table.name, table.sql or "", view=table.view)
            extending.keep_fingerprint(ctx, table)
            new_rows = None
        faults.point(f"build:{table.name}")
        if table.published:
            check_privacy(ctx, table)
            if new_rows is not None:
                writer.stage(table.name, append_from=new_rows, expected=ctx.published_snapshots.get(table.name))
            else:
                writer.stage(table.name)
        ctx.build_seconds[table.name] = time.perf_counter() - started
    if extension is not None:
        ctx.kept_rows = extension.kept_rows()
        ctx.unchanged = extension.unchanged()
        if note := extension.note():
            ctx.result.notes.append(note)


def check_privacy(ctx: RunContext, table: Table) -> None:
    """Before a table is staged: the privacy invariants it declares."""
    queries = privacy.invariant_queries(table)
    violations = ctx.engine.counts([sql for _, sql in queries])
    columns = ctx.engine.columns(table.name) if table.no_personal_columns else []
    if broken := privacy.broken_invariants(table, ctx.models, columns, violations):
        raise PrivacyError(
            f"privacy invariant broken, {table.name} and the tables after it were not published: " + "; ".join(broken)
        )
