"""Checks counted from a multiset of values that each run records for the next (see
`contract.checks.Histogram`): the gaps of every device, and the share of each owner's step-trainer
readings a phone reading matches, whose figures are medians.

A median is not a sum: the last run's answer cannot be corrected by the new rows as a count can. But
the multiset of the values it is the median of can: a run whose table kept every row and gained new
ones holds the last run's values, less those of the groups (devices) its new rows join as they were,
plus theirs now. So in a run whose tables the next one may extend, such a check is counted from its
values' (value, times) pairs, and the run records the pairs with its answers (see `answers`) when
they are at most `MOST_VALUES`; the next run that extends the table counts only the groups its new
rows join (at scale 100 with one new phone file, 0.04 s instead of 0.22 s for every device's steps),
or, for a relation counted again only for the groups new rows touch (see `regrouping`), those groups.
Either way the count and figure are the check's own SQL's, bit for bit (`Histogram.answer`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from stedi.contract.checks import HISTOGRAM, Check
from stedi.stages import answers, extendable
from stedi.stages.context import RunContext

# Distinct values a run records of a check's multiset (its answers stay a few dozen kilobytes); with
# more, the next run counts the check whole. The steps of generated data at scale 100 take about 4,000.
MOST_VALUES = 10_000


def counting_sql(ctx: RunContext, check: Check) -> str | None:
    """The query that gives the check's count, figure and its values' pairs (a list, NULL beyond
    `MOST_VALUES`), from the last run's pairs where the table grew; None where the check is counted
    as before (no multiset, a run no later run extends, or an unchanged table: its answer is the last
    run's, and so are its pairs, kept again for the next run)."""
    histogram = check.histogram
    if histogram is None or not extendable.may_be_extended(ctx):
        return None
    last = _pairs(answers.previous(ctx, _key(check)))
    relation = histogram.relation or check.table
    grown = ctx.kept_rows.get(relation)
    unchanged = relation in ctx.unchanged or (relation in ctx.kept_rows and grown is None)
    if unchanged and last is not None:
        answers.remember(ctx, _key(check), last)
        return None
    values = histogram.values
    recorded = f"{check.table}__{check.kind}_values_{_digest(_key(check))}"
    if (regrouped := ctx.regrouped.get(relation)) is not None and last is not None:
        _load(ctx, recorded, last)
        values = histogram.regrouped(recorded, regrouped.was, regrouped.now)
    elif grown is not None and last is not None and histogram.relation is None:
        _load(ctx, recorded, last)
        values = histogram.merged(recorded, grown.delta, grown.before, check.table)
    answer = histogram.answer.replace(HISTOGRAM, "h")
    return (
        f"WITH h AS MATERIALIZED ({values}) SELECT a.*, CASE WHEN (SELECT COUNT(*) FROM h) <= {MOST_VALUES} "
        f"THEN (SELECT list([value, n] ORDER BY value) FROM h) END FROM ({answer}) AS a"
    )


def answered(ctx: RunContext, check: Check, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The check's own answer (count and figure) from the rows of `counting_sql`; its pairs recorded
    for the next run."""
    ((count, figure, pairs),) = rows
    if pairs is not None:  # a list of one type: with values of DOUBLE, the counts are DOUBLE too
        answers.remember(ctx, _key(check), [(value, int(n)) for value, n in pairs])
    return [(count, figure)]


def _pairs(rows: list[tuple[Any, ...]] | None) -> list[tuple[Any, ...]] | None:
    """The recorded rows when they are (number, count) pairs, as this module records them; None for
    anything else (the check is then counted whole)."""
    if rows is None or len(rows) > MOST_VALUES:
        return None
    numbers = all(len(row) == 2 and _number(row[0]) and _number(row[1]) and row[1] > 0 for row in rows)
    return rows if numbers and not any(isinstance(row[1], float) for row in rows) else None


def _number(value: Any) -> bool:
    """A float, or an integer of 64 bits (what the engine holds)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, float) or -(2**63) <= value < 2**63


def _load(ctx: RunContext, name: str, pairs: list[tuple[Any, ...]]) -> None:
    """The last run's pairs, as relation `name` of the engine."""
    import pyarrow as pa

    values, times = [v for v, _ in pairs], [n for _, n in pairs]
    kind = pa.float64() if any(isinstance(v, float) for v in values) else pa.int64()
    ctx.engine.load(name, pa.table({"value": pa.array(values, kind), "n": pa.array(times, pa.int64())}))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _key(check: Check) -> str:
    """Under what the run's record keeps the check's pairs."""
    assert check.histogram is not None
    return f"-- values of: {check.histogram.values}"
