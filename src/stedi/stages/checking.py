"""Stage `check`: the funnel, the declared checks and the shrink guard decide whether a run publishes.

The shrink guard stops a run that would empty a table holding rows, remove more than `--max-shrink`
of a published table's rows, or that finds a source's landing folder missing or empty where earlier
runs read files: such a run is almost always a wrong path or a broken export, and publishing it would
lose the data. `--allow-shrink` lets it through.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any

from stedi.contract.checks import (
    Check,
    compile_check,
    declared_checks,
    failures,
    funnel_queries,
    load_expectations,
    outcome,
    row_count_checks,
)
from stedi.contract.tables import LEDGER_TABLE, PARAMETERS, SUBJECT_KEYS, Zone
from stedi.results import FAILED, PUBLISHED, REFUSED, UNCHANGED, CheckOutcome
from stedi.stages import answers, extending, histograms
from stedi.stages.context import Funnel, RunContext
from stedi.stages.extendable import threshold
from stedi.stages.ingestion import stage_ledger

if TYPE_CHECKING:
    from stedi.contract.algebra import Dependency

# Up to this many distinct values (the engine's estimate), a check computed by value is cheaper: at
# 7.7 million rows, 0.01 s against 0.11 s for 11 values, 0.06 s against 0.12 s for 180,000, and
# about as dear at 800,000; at 3.8 million distinct values, 1.6 s against 0.13 s.
BY_VALUE_MOST = 100_000
GUARDED = (Zone.LANDING, Zone.TRUSTED, Zone.CURATED)
PROVEN = "ok: holds by construction (the table's SQL is SELECT DISTINCT over these columns), not counted"
JOINED = "ok: holds by construction (the table's SQL keeps only rows its inner join matched to {to}), not counted"
UNIQUE_KEY = "ok: each ({key}) has one row (counted), so none has two values; not counted"


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
    values = iter(answers.counts(ctx, funnel_queries(ctx.models, ctx.parameters)))
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
    inheriting = _inheriting(ctx, checks, proven)
    keyed = _keyed(ctx, checks, {*proven, *inheriting})
    premises = {d: _dependency_sql(d) for deps in inheriting.values() for d in deps if d.relation in _MADE_BY_THE_RUN}
    keys = list(dict.fromkeys(keyed.values()))
    first = [c for c in checks if c not in proven and c not in inheriting and c not in keyed]
    measured, extra = _count(ctx, first, list(premises.values()) + keys)
    counted_premises, key_counts = extra[: len(premises)], extra[len(premises) :]
    unique = {key for key, rows in zip(keys, key_counts, strict=True) if _none(rows)}
    settled = {c for c, key in keyed.items() if key in unique}
    measured |= _count(ctx, [c for c in keyed if c not in settled], [])[0]
    measured |= {c: (0, None) for c in settled}  # what counting them would find
    for c in settled:  # the next run may count from it (see `_counting_sql`)
        answers.remember(ctx, c.sql, [(0,)])
    held = {d for d, rows in zip(premises, counted_premises, strict=True) if _none(rows)}
    held |= {d for deps in inheriting.values() for d in deps if _checked(d, proven, measured)}
    inherited = {c: deps for c, deps in inheriting.items() if all(d in held for d in deps)}
    measured |= _count(ctx, [c for c in inheriting if c not in inherited], [])[0]
    outcomes = []
    for c in checks:
        if c in proven:
            outcomes.append(replace(outcome(c, 0), detail=proven[c]))
        elif c in settled:
            outcomes.append(replace(outcome(c, 0), detail=UNIQUE_KEY.format(key=", ".join(c.columns))))
        elif c in inherited:
            outcomes.append(replace(outcome(c, 0), detail=_follows(inherited[c])))
        else:
            outcomes.append(outcome(c, *measured[c]))
    return outcomes


def _count(
    ctx: RunContext, checks: list[Check], extra: list[str]
) -> tuple[dict[Check, tuple[int, float | None]], list[answers.Rows]]:
    """Each check's count of violations and figure, and the rows of the `extra` queries: one batch,
    so that the engine may count several at a time."""
    counting: dict[Check, str] = {}
    valued: list[Check] = []  # counted from their values' multiset (see `histograms`)
    for c in checks:
        if (sql := histograms.counting_sql(ctx, c)) is not None:
            valued.append(c)
        elif (sql := _counting_sql(ctx, c)) is None:
            continue
        counting[c] = sql
    figured = [c for c in counting if c.figure_sql]
    found = answers.answer(ctx, list(counting.values()) + [c.figure_sql or "" for c in figured] + extra)
    counted = dict(zip(counting, found, strict=False))
    for c in valued:
        counted[c] = histograms.answered(ctx, c, counted[c])
    for c, sql in counting.items():
        if sql != c.sql:  # the whole table's count, found over the new rows' keys: the next run may need it
            answers.remember(ctx, c.sql, counted[c])
    figures = dict(zip(figured, found[len(counting) : len(counting) + len(figured)], strict=True))
    measured = {c: _measured(c, counted.get(c), figures.get(c)) for c in checks}
    return measured, found[len(counting) + len(figured) :]


# Relations the run makes itself, small (a row per person, or one row): a dependency of theirs that a
# check would inherit is counted, not declared.
_MADE_BY_THE_RUN = (SUBJECT_KEYS, PARAMETERS)


def _inheriting(ctx: RunContext, checks: list[Check], proven: dict[Check, str]) -> dict[Check, tuple[Dependency, ...]]:
    """The `cardinality` checks that the table's SQL and dependencies of its inputs imply (see
    `algebra.cardinality_premises`), with those dependencies: each holds when a check of this run
    that is not itself inherited states it and passed, or, of a relation the run makes itself, when
    counting it finds none broken. Only where `_proven` tries (SQLGlot)."""
    if ctx.landing_bytes < threshold() or not any(c.kind == "cardinality" for c in checks):
        return {}
    from stedi.contract.algebra import cardinality_premises

    # The pseudonyms at check time are those of the last table built with them: of each, when one.
    made = set(_MADE_BY_THE_RUN) - (
        {SUBJECT_KEYS} if sum(1 for t in ctx.models.transforms if t.pseudonym) > 1 else set()
    )
    candidates = {}
    for check in checks:
        if check in proven or check.kind != "cardinality" or check.of is None or (check.most or 0) < 1:
            continue
        sql = ctx.models[check.table].sql if check.table in ctx.models else None
        if sql and (deps := cardinality_premises(sql, check.columns, check.of)):
            candidates[check] = deps

    @cache
    def inheriting(check: Check) -> bool:
        # A dependency holds by a check that is counted (not inheriting) on the input it names, a table
        # upstream of this one in the models' graph: the recursion ends.
        return all(
            d.relation in made
            or (
                d.relation != check.table.lower()
                and any(_states(c, d) and not (c in candidates and inheriting(c)) for c in checks)
            )
            for d in candidates[check]
        )

    return {c: deps for c, deps in candidates.items() if inheriting(c)}


def _states(check: Check, dependency: Dependency) -> bool:
    """Whether the check, passed, states the dependency: a cardinality of at most one of its column
    per a part of its key, or a unique part of its key."""
    columns, key = {c.lower() for c in check.columns}, {k.lower() for k in dependency.key}
    if check.table.lower() != dependency.relation or not columns <= key:
        return False
    if check.kind == "cardinality":
        return check.most == 1 and (check.of or "").lower() == dependency.column.lower()
    return check.kind == "unique"


def _checked(dependency: Dependency, proven: dict[Check, str], measured: dict[Check, tuple[int, float | None]]) -> bool:
    """Whether a check of this run that states the dependency was proven, or counted no violation."""
    return any(_states(c, dependency) and (c in proven or measured[c][0] == 0) for c in [*proven, *measured])


def _keyed(ctx: RunContext, checks: list[Check], decided: set[Check]) -> dict[Check, str]:
    """The `cardinality` (of at most one value or more) and `conflicts` checks to be counted over
    their whole table, with the query that counts the rows beyond the first of each key: where it
    finds none, every key has one row, so neither can find a violation. That grouping has no value
    to compare (at scale 100, 0.08 s against 0.21 s and 0.12 s for `step_trainer_trusted`'s two),
    and a table's instants are usually read once. Only where `_proven` tries: a second round of
    queries when a key repeats."""
    if ctx.landing_bytes < threshold():
        return {}
    found = {}
    for check in checks:
        if check in decided or check.kind not in ("cardinality", "conflicts") or (check.most or 1) < 1:
            continue
        if check.columns and _counting_sql(ctx, check) == check.sql:
            found[check] = compile_check({"kind": "unique", "table": check.table, "columns": list(check.columns)}).sql
    return found


def _none(rows: list[tuple[Any, ...]]) -> bool:
    """Whether a count query's rows are the count 0."""
    return answers.one_count(rows) and rows[0][0] == 0


def _dependency_sql(dependency: Dependency) -> str:
    key = ", ".join(f'"{k}"' for k in dependency.key)
    return (
        f'SELECT COUNT(*) FROM (SELECT {key} FROM "{dependency.relation}" GROUP BY {key} '
        f'HAVING COUNT(DISTINCT "{dependency.column}") > 1)'
    )


def _follows(dependencies: tuple[Dependency, ...]) -> str:
    said = " and ".join(
        f"{d.relation} has at most one {d.column} per ({', '.join(d.key)}) "
        + ("(counted)" if d.relation in _MADE_BY_THE_RUN else "(its check passed)")
        for d in dependencies
    )
    return f"ok: follows from the table's SQL, as {said}; not counted"


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
    run's answer, less the violations of before among those keys, plus those now (when that answer
    is 0, those now alone). Without that answer, the whole table is counted."""
    if check.scope is None or check.table not in ctx.kept_rows:
        return _cheaper_form(ctx, check)
    grown = ctx.kept_rows[check.table]
    if check.severity == "error":
        return None if grown is None else check.scoped(grown.delta)
    last = answers.previous(ctx, check.sql) if grown is not None else None
    if grown is None or last is None or not answers.one_count(last):
        return check.sql
    if last[0][0] == 0:  # no group of before broke it, so none of those the new rows touch did
        return check.scoped(grown.delta)
    return f"SELECT {int(last[0][0])} - ({check.scoped(grown.delta, grown.before)}) + ({check.scoped(grown.delta)})"


def _cheaper_form(ctx: RunContext, check: Check) -> str:
    """The check's SQL, or the SQL that gives its answer by value where the engine estimates that
    its column holds few enough distinct values for that to be cheaper (`Check.by_value`).

    A table the run extends is read through its files, of which the engine keeps no statistics:
    its values are at most those the last run estimated (recorded with its answers) and those of
    its new rows. Any estimate only picks the query; both give the same answer."""
    if check.by_value is None:
        return check.sql
    column = check.columns[0]
    key = f"-- distinct values of {check.table}.{column}"
    estimate = ctx.engine.distinct_estimate(check.table, column)
    if (
        estimate is None
        and check.table in ctx.kept_rows
        and answers.one_count(last := answers.previous(ctx, key) or [])
    ):
        grown = ctx.kept_rows[check.table]
        added = 0 if grown is None else ctx.engine.distinct_estimate(grown.delta, column)
        estimate = None if added is None else last[0][0] + added
    if estimate is not None:
        answers.remember(ctx, key, [(estimate,)])
    return check.by_value if estimate is not None and estimate <= BY_VALUE_MOST else check.sql


def _measured(
    check: Check, counted: list[tuple[Any, ...]] | None, figure_rows: list[tuple[Any, ...]] | None
) -> tuple[int, float | None]:
    """A check's count of violations and its figure (`sql`'s second column, or `figure_sql`'s value)
    from the rows of its queries (None: not counted)."""
    if counted is None:
        return 0, None
    ((count, *rest),) = counted
    figure = rest[0] if rest else None
    if figure_rows is not None:
        ((figure, *_),) = figure_rows
    count = int(count or 0)
    return max(count, 0) if check.excess else count, None if figure is None else float(figure)


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
