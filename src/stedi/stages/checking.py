"""Stage `check`: the funnel, the declared checks and the shrink guard decide whether a run publishes.

The shrink guard stops a run that would empty a table holding rows, remove more than `--max-shrink`
of a published table's rows, or that finds a source's landing folder missing or empty where earlier
runs read files: such a run is almost always a wrong path or a broken export, and publishing it would
lose the data. `--allow-shrink` lets it through.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from stedi.contract.checks import Check, declared_checks, failures, load_expectations, outcome, row_count_checks
from stedi.contract.tables import LEDGER_TABLE, Zone
from stedi.results import FAILED, PUBLISHED, REFUSED, UNCHANGED, CheckOutcome
from stedi.stages import answers, extending
from stedi.stages.context import Funnel, RunContext
from stedi.stages.extending import threshold
from stedi.stages.ingestion import stage_ledger

GUARDED = (Zone.LANDING, Zone.TRUSTED, Zone.CURATED)
PROVEN = "ok: holds by construction (the table's SQL is SELECT DISTINCT over these columns), not counted"
JOINED = "ok: holds by construction (the table's SQL keeps only rows its inner join matched to {to}), not counted"


def check(ctx: RunContext) -> None:
    ctx.say("counting")
    ctx.funnel = funnel(ctx)
    ctx.say("checking")
    outcomes = run_checks(ctx)  # the engine counts while the warehouse's worker finishes the commits
    ctx.commits = ctx.writer.staged()
    stage_ledger(ctx)  # the landing tables' snapshots name where each file's rows are
    ctx.commits = ctx.writer.staged()
    ctx.result.checks = [replace(o, detail=f"{o.detail}: {why_empty(ctx, o.table)}")
                         if o.kind == "min_rows" and o.status != "pass" else o for o in outcomes]  # fmt: skip
    ctx.result.refusals = shrink_refusals(ctx)
    if ctx.carried_answers:
        ctx.result.notes.append(
            f"{extending.NOTE_PREFIX} {ctx.carried_answers} check and reason counts read only tables unchanged since "
            "the last run: their answers were taken from it, not counted again"
        )
    if failures(ctx.result.checks):
        ctx.result.outcome = FAILED
    elif ctx.result.refusals:
        ctx.result.outcome = REFUSED
    elif not any(c.changed for c in ctx.commits.values()):
        ctx.result.outcome = UNCHANGED
    else:
        ctx.result.outcome = PUBLISHED


def funnel(ctx: RunContext) -> dict[str, Funnel]:
    """Rows in and the count of every drop reason that applies under the run's parameters."""
    tables = [t for t in ctx.models.transforms if t.published]
    queries = []
    for t in tables:
        queries.append(f"SELECT COUNT(*) FROM {t.input}")
        queries += [drop.sql for drop in t.drops if drop.applies(ctx.parameters)]
    values = iter(answers.counts(ctx, queries))
    found = {}
    for t in tables:
        rows_in = next(values)
        drops = [(d.code, d.text(n), n, d.many) for d in t.drops if d.applies(ctx.parameters) and (n := next(values))]
        found[t.name] = Funnel(rows_in, drops)
    return found


def run_checks(ctx: RunContext) -> list[CheckOutcome]:
    """Every declared check, and the row counts of `--expect`, on the relations the run built."""
    settings = ctx.settings
    checks = declared_checks(ctx.models)
    if settings.expect:
        checks += row_count_checks(load_expectations(settings.expect, settings.consent_policy, settings.ml_join))
    if settings.require_rows:
        checks = [replace(c, severity="error") if c.kind == "min_rows" else c for c in checks]
    proven = _proven(ctx, checks)
    counting = {c: sql for c in checks if c not in proven and (sql := _counting_sql(ctx, c)) is not None}
    figured = [c for c in counting if c.figure_sql]
    # One batch, so that the engine may count several at a time.
    found = answers.answer(ctx, list(counting.values()) + [c.figure_sql or "" for c in figured])
    counted = dict(zip(counting, found, strict=False))
    for c, sql in counting.items():
        if sql != c.sql:  # the whole table's count, found over the new rows' keys: the next run may need it
            answers.remember(ctx, c.sql, counted[c])
    figures = dict(zip(figured, found[len(counting) :], strict=True))
    return [
        replace(outcome(c, 0), detail=proven[c])
        if c in proven
        else outcome(c, *_measured(counted.get(c), figures.get(c)))
        for c in checks
    ]


def _proven(ctx: RunContext, checks: list[Check]) -> dict[Check, str]:
    """The checks a table's SQL proves, with why: a `unique` check over the columns of its SELECT
    DISTINCT; a `references` check whose column the SQL takes from a row it joined (inner join) to
    the referred column by equality. They cannot fail, and counting them costs a pass over the table
    (a second DISTINCT, or an anti join, over the largest tables of a large run). Proving needs
    SQLGlot, so only runs over as much landing data as extending asks try."""
    if ctx.landing_bytes < threshold() or not any(c.kind in ("unique", "references") for c in checks):
        return {}
    from stedi.contract.algebra import distinct_columns, join_references

    found = {}
    for check in checks:
        if check.table not in ctx.models or not (sql := ctx.models[check.table].sql):
            continue
        distinct = distinct_columns(sql) if check.kind == "unique" else None
        if distinct is not None and set(distinct) == set(check.columns):
            found[check] = PROVEN
        elif check.kind == "references" and check.refers_to is not None:
            to_table, to_column = check.refers_to
            if (check.columns[0].lower(), to_table.lower(), to_column.lower()) in join_references(sql):
                found[check] = JOINED.format(to=f"{to_table}.{to_column}")
    return found


def why_empty(ctx: RunContext, name: str) -> str:
    """The filter that removed everything on the way to an empty table: the first table upstream (in
    build order) that kept none of its rows, with its largest drop reasons."""
    upstream, todo = set(), [name]
    while todo:
        table = ctx.models[todo.pop()] if todo[-1] in ctx.models else None
        if table is not None and table.name not in upstream:
            upstream.add(table.name)
            todo += [d for d in table.depends if d in ctx.models]
    for table in ctx.models.transforms:
        counts, commit = ctx.funnel.get(table.name), ctx.commits.get(table.name)
        if table.name in upstream and counts and commit and counts.rows_in and not commit.rows:
            reasons = "; ".join(drop[1] for drop in sorted(counts.drops, key=lambda d: -d[2])[:2])
            return f"{table.name} kept none of its {counts.rows_in:,} rows ({reasons or 'no reason counted'})"
    return "no rows reached it"


def _counting_sql(ctx: RunContext, check: Check) -> str | None:
    """The query that counts a check's violations (None: there are none to count).

    A check with a scope (its violations are groups of rows sharing a key) on a table that holds
    every row the last run published, and new ones, is counted only over the keys the new rows hold:
    any other group has the rows it had. Of error severity, the rows of before passed it (a failed
    error check publishes nothing), so the count there is all of it; with no new rows there is
    nothing to count. Of severity warn, the rows of before may hold violations: the count is the last
    run's answer, less the violations of before among those keys, plus those now. Without that
    answer, the whole table is counted."""
    if check.scope is None or check.table not in ctx.kept_rows:
        return check.sql
    grown = ctx.kept_rows[check.table]
    if check.severity == "error":
        return None if grown is None else check.scoped(grown.delta)
    last = answers.previous(ctx, check.sql) if grown is not None else None
    if grown is None or last is None or not _one_count(last):
        return check.sql
    return f"SELECT {int(last[0][0])} - ({check.scoped(grown.delta, grown.before)}) + ({check.scoped(grown.delta)})"


def _one_count(rows: list[tuple[Any, ...]]) -> bool:
    return len(rows) == 1 and len(rows[0]) == 1 and isinstance(rows[0][0], int) and not isinstance(rows[0][0], bool)


def _measured(
    counted: list[tuple[Any, ...]] | None, figure_rows: list[tuple[Any, ...]] | None
) -> tuple[int, float | None]:
    """A check's count of violations and its figure (`sql`'s second column, or `figure_sql`'s value)
    from the rows of its queries (None: not counted)."""
    if counted is None:
        return 0, None
    ((count, *rest),) = counted
    figure = rest[0] if rest else None
    if figure_rows is not None:
        ((figure, *_),) = figure_rows
    return int(count or 0), None if figure is None else float(figure)


def shrink_refusals(ctx: RunContext) -> list[str]:
    """Why the shrink guard stops this run (empty: it does not)."""
    settings = ctx.settings
    if settings.allow_shrink:
        return []
    reasons = []
    for p in ctx.plans:
        earlier = p.previous.get(p.source.landing_table, 0)
        if earlier and not p.files:
            state = "missing" if p.listing.missing else "empty"
            reasons.append(f"the {p.source.name}/landing/ folder is {state}, where earlier runs read {earlier:,} files")
    for name, commit in ctx.commits.items():
        zone = ctx.models.zone(name)
        before = ctx.published_rows.get(name, 0)
        if zone not in GUARDED or name == LEDGER_TABLE or not before or commit.rows >= before:
            continue
        lost = (before - commit.rows) / before
        if commit.rows == 0:
            reasons.append(f"{name} would go from {before:,} rows to none")
        elif lost > settings.max_shrink:
            reasons.append(
                f"{name} would lose {lost:.0%} of its rows ({before:,} -> {commit.rows:,}; --max-shrink is "
                f"{settings.max_shrink:.0%})"
            )
    return reasons
