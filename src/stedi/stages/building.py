"""Stage `build`: every SQL table in build order, its privacy invariants checked before it is staged."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from stedi import faults
from stedi.contract import privacy
from stedi.contract.algebra import relations_read
from stedi.contract.tables import PARAMETERS, SUBJECT_KEYS, Models, Table
from stedi.errors import PrivacyError
from stedi.stages import extendable, extending
from stedi.stages.context import RunContext

if TYPE_CHECKING:
    import pyarrow as pa


def build(ctx: RunContext) -> None:
    ctx.engine.load(PARAMETERS, ctx.parameters_table)
    extension = extending.start(ctx)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stedi-pseudonyms") as pool:
        if extension is not None:
            extension.keys_ahead(pool)
        ahead: dict[tuple[str, str], Future[pa.Table]] = {}
        for table in ctx.models.transforms:
            if table.pseudonym is not None:
                _load_pseudonyms(ctx, table.pseudonym.source, extension, ahead)
            _build_one(ctx, table, extension)
            if extension is None:
                # The pseudonyms of the people of a relation just built (an HMAC of each email, pure
                # Python: 0.1 s for 43,000 people), computed while the engine builds the next tables.
                for source in _pseudonyms_from(ctx.models, table.name):
                    ahead[source] = pool.submit(ctx.subject_keys, ctx.emails_of(*source))
    if extension is not None:
        ctx.kept_rows = extension.kept_rows()
        ctx.unchanged = extension.unchanged()
        ctx.grown = extension.grown()
        ctx.regrouped = extension.regrouped()
        if note := extension.note():
            ctx.result.notes.append(note)


def _pseudonyms_from(models: Models, relation: str) -> set[tuple[str, str]]:
    """The (relation, column) of the emails whose pseudonyms tables of `models` take from `relation`."""
    return {t.pseudonym.source for t in models.transforms if t.pseudonym and t.pseudonym.source[0] == relation}


def _load_pseudonyms(
    ctx: RunContext,
    source: tuple[str, str],
    extension: extending.Extension | None,
    ahead: dict[tuple[str, str], Future[pa.Table]],
) -> None:
    if extension is not None and extension.set_keys(SUBJECT_KEYS, *source):
        return
    computed = ahead.pop(source, None)
    ctx.engine.load(SUBJECT_KEYS, computed.result() if computed is not None else ctx.subject_keys_of(*source))


def _build_one(ctx: RunContext, table: Table, extension: extending.Extension | None) -> None:
    ctx.say(f"building {table.name}")
    ctx.step = table.name
    started = time.perf_counter()
    if extension is not None:
        new_rows = extension.build(table)
    else:
        ctx.engine.build(table.name, table.sql or "", view=table.view)
        extendable.keep_facts(ctx, table)
        new_rows = None
    faults.point(f"build:{table.name}")
    if table.published:
        # Rows the last run published, checked then against relations as they are now: the same answer.
        if extension is None or table.name not in extension.published_as_is:
            check_privacy(ctx, table, _checked_rows(table, extension, new_rows))
        if new_rows is not None:
            ctx.writer.stage(table.name, append_from=new_rows, expected=ctx.published_snapshots.get(table.name))
        else:
            ctx.writer.stage(table.name)
    ctx.build_seconds[table.name] = time.perf_counter() - started


def _checked_rows(table: Table, extension: extending.Extension | None, new_rows: str | None) -> str | None:
    """The relation whose rows a table's privacy invariants are to be checked over: its new rows
    alone when it only gains them and every relation the invariants look values up in holds every
    row it held (its rows of before kept them against those rows when the last run published them;
    a failed invariant publishes nothing); else the whole table (None)."""
    if extension is None or new_rows is None:
        return None
    for _, sql in privacy.invariant_queries(table, new_rows):
        looked_up = relations_read(sql)
        if looked_up is None or not all(extension.holds_what_it_held(r) for r in looked_up - {new_rows}):
            return None
    return new_rows


def check_privacy(ctx: RunContext, table: Table, rows: str | None = None) -> None:
    """Before a table is staged: the privacy invariants it declares, over the rows of relation `rows`
    (default: the whole table)."""
    queries = privacy.invariant_queries(table, rows)
    violations = ctx.engine.counts([sql for _, sql in queries])
    columns = ctx.engine.columns(table.name) if table.no_personal_columns else []
    if broken := privacy.broken_invariants(table, ctx.models, columns, violations):
        raise PrivacyError(
            f"privacy invariant broken, {table.name} and the tables after it were not published: " + "; ".join(broken)
        )
