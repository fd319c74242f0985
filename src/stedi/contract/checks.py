"""Data-quality checks as data: each table's declared checks and key, plus a dataset's row counts.

Each check compiles to one SQL query (source dialect) that counts violating rows (and, for checks
that describe the data, gives a figure as its second column, computed in the same pass), run by the
engine on the tables it has built and staged but not yet published. A failing `error` check stops the run
before publication (write-audit-publish).
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stedi.contract.tables import Models
from stedi.errors import SettingsError
from stedi.results import CheckOutcome

SEVERITIES = ("warn", "error")
NEW_ROWS = "__new_rows__"  # where a scoped check names the relation of a table's new rows
ROWS = "__rows__"  # where a scoped check names the rows it counts in (the table, or its rows of before)
HISTOGRAM = "__histogram__"  # where a histogram's answer names the relation of (value, n) pairs


@dataclass(frozen=True)
class Histogram:
    """A check whose count and figure follow from a multiset of values (say, each device's steps
    between readings): the pairs (`value`, `n`: how many times) over the whole table (`values`), or
    over the groups of rows of ROWS that share a key with a row of NEW_ROWS (`scoped`, as `scope`
    below). A table that kept its rows and gained new ones holds the last multiset less the values
    of those groups as they were, plus theirs now; `answer` gives the check's count and figure from
    the pairs of relation HISTOGRAM, as the check's own SQL gives them from the table."""

    values: str
    scoped: str
    answer: str
    # The relation the values are of, when not the check's table: an internal one whose rows a run
    # may recount for the groups new rows touch (`scoped` then gives the values of relation ROWS).
    relation: str | None = None

    def regrouped(self, recorded: str, was: str, now: str) -> str:
        """The pairs of `relation` from `recorded`, its pairs of before: less those of `was` (the rows
        of before of the groups new rows touch), plus those of `now` (those groups' rows now)."""
        return _corrected(recorded, self.scoped.replace(ROWS, _q(was)), self.scoped.replace(ROWS, _q(now)))

    def merged(self, recorded: str, delta: str, before: str, table: str) -> str:
        """The pairs of relation `table`, which holds the rows of `before` and those of `delta`, from
        `recorded`, the pairs of `before`: those less the pairs of the groups of `before` that share
        a key with a row of `delta`, plus the pairs of those groups in `table`."""
        return _corrected(recorded, _placed(self.scoped, delta, before), _placed(self.scoped, delta, table))


def _corrected(recorded: str, was: str, now: str) -> str:
    """The pairs of relation `recorded` less those query `was` gives, plus those query `now` gives."""
    return (
        f"SELECT value, CAST(SUM(n) AS BIGINT) AS n FROM (SELECT value, n FROM {_q(recorded)} "
        f"UNION ALL SELECT value, -n FROM ({was}) AS was "
        f"UNION ALL SELECT value, n FROM ({now}) AS now) AS parts "
        "GROUP BY value HAVING SUM(n) <> 0"
    )


@dataclass(frozen=True)
class Check:
    kind: str
    table: str
    severity: str
    sql: str  # counts violating rows; a second column, if any, is the figure
    description: str
    expected: int | None = None  # row-count checks: the expected figure
    figure_sql: str | None = None  # the figure, when a query of its own gives it (else `sql`'s second column)
    figure: str = ""  # a number said beside the count (e.g. a median): a format string of `value`
    # The key (`unique`, `cardinality`, `conflicts`); `references` and `outliers`: the column.
    columns: tuple[str, ...] = ()
    refers_to: tuple[str, str] | None = None  # `references` checks: the table and column referred to
    of: str | None = None  # `cardinality` checks: the column of which each key may have at most `most` values
    most: int | None = None
    # Counts the violations among the groups of rows (ROWS) that share a key with the rows of
    # NEW_ROWS: a group's violation depends on its rows alone, so only groups new rows join can change.
    # See `scoped`.
    scope: str | None = None
    # The same answer as `sql`, from the distinct values of `columns[0]` with their counts: far
    # cheaper where the column holds few distinct values, far dearer where it holds millions: the run
    # picks one by the engine's estimate of them (`stages.checking.BY_VALUE_MOST`).
    by_value: str | None = None
    histogram: Histogram | None = None
    # `sql` gives by how many rows a total is past its bound, negative or 0 within it: the violations
    # are its positive part. A difference of totals is a sum of counts, which a run that extends the
    # tables corrects by their new rows (see `stages.answers`); clamped in SQL, it would be counted again.
    excess: bool = False

    def scoped(self, new_rows: str, rows: str | None = None) -> str:
        """`scope` over the relation `new_rows`, counting in `rows` (default: the check's table).

        For a table that holds its rows of before and the new ones, its count is the count over the
        rows of before, less `scoped(new, before)`, plus `scoped(new)`; all of it when the rows of
        before passed (an error check of a run that published)."""
        assert self.scope is not None
        return _placed(self.scope, new_rows, rows or self.table)

    @property
    def name(self) -> str:
        return f"{self.table}: {self.description}"


@dataclass
class Expectations:
    dataset: str
    severity: str
    rows: dict[str, int] = field(default_factory=dict)


def _q(name: str) -> str:
    return f'"{name}"'


def _placed(sql: str, new_rows: str, rows: str) -> str:
    """`sql` with relation `new_rows` where it names NEW_ROWS and `rows` where it names ROWS (NEW_ROWS
    first: its name holds ROWS's)."""
    return sql.replace(NEW_ROWS, _q(new_rows)).replace(ROWS, _q(rows))


def compile_check(spec: dict[str, Any]) -> Check:
    """One entry of checks.toml as a Check (its SQL and a readable description)."""
    kind, table, severity = spec.get("kind"), spec.get("table"), spec.get("severity", "error")
    if severity not in SEVERITIES:
        raise SettingsError(f"check on {table}: severity must be warn or error, not {severity!r}")
    if not isinstance(table, str):
        raise SettingsError(f"check {spec}: no table")
    t = _q(table)
    if kind == "unique":
        cols = ", ".join(_q(c) for c in spec["columns"])
        # The rows beyond the first of each key: all rows less the distinct keys (a third cheaper than
        # summing per key group, the same count; NULLs form one key, as in GROUP BY).
        sql = f"SELECT (SELECT COUNT(*) FROM {t}) - (SELECT COUNT(*) FROM (SELECT DISTINCT {cols} FROM {t}) AS d)"
        text = f"({', '.join(spec['columns'])}) unique"
        return Check(kind, table, severity, sql, text, columns=tuple(spec["columns"]))
    elif kind == "not_null":
        where = " OR ".join(f"{_q(c)} IS NULL" for c in spec["columns"])
        sql, text = f"SELECT COUNT(*) FROM {t} WHERE {where}", f"{', '.join(spec['columns'])} not null"
    elif kind == "range":
        c, lo, hi = _q(spec["column"]), spec["min"], spec["max"]
        sql = f"SELECT COUNT(*) FROM {t} WHERE {c} < {lo} OR {c} > {hi}"
        text = f"{spec['column']} in [{lo}, {hi}]"
    elif kind == "references":
        c, other, oc = _q(spec["column"]), _q(spec["to_table"]), _q(spec["to_column"])
        sql = f"SELECT COUNT(*) FROM {t} AS a WHERE NOT EXISTS (SELECT 1 FROM {other} AS b WHERE b.{oc} = a.{c})"
        text = f"every {spec['column']} is a {spec['to_table']}.{spec['to_column']}"
        target = (spec["to_table"], spec["to_column"])
        return Check(kind, table, severity, sql, text, columns=(spec["column"],), refers_to=target)
    elif kind == "cardinality":
        cols = ", ".join(_q(c) for c in spec["columns"])
        grouped = f"GROUP BY {cols} HAVING COUNT(DISTINCT {_q(spec['of'])}) > {int(spec['max'])}"
        sql = f"SELECT COUNT(*) FROM (SELECT {cols} FROM {t} {grouped})"
        text = f"at most {spec['max']} {spec['of']} per ({', '.join(spec['columns'])})"
        scope = f"SELECT COUNT(*) FROM (SELECT {cols} FROM {ROWS} AS a WHERE {_touched(spec['columns'])} {grouped})"
        return Check(kind, table, severity, sql, text, columns=tuple(spec["columns"]), scope=scope, of=spec["of"],
                     most=int(spec["max"]))  # fmt: skip
    elif kind == "funnel":
        source = _q(spec["from"])
        sql = f"SELECT (SELECT COUNT(*) FROM {t}) - (SELECT COUNT(*) FROM {source})"
        return Check(kind, table, severity, sql, f"no more rows than {spec['from']}", excess=True)
    elif kind == "min_rows":
        least = int(spec.get("min", 1))
        sql = f"SELECT {least} - (SELECT COUNT(*) FROM {t})"  # the rows missing, so 0 or less passes
        return Check(
            kind, table, severity, sql, f"at least {least:,} row{'' if least == 1 else 's'}", least, excess=True
        )
    elif kind in _SENSOR_KINDS:
        return _SENSOR_KINDS[kind](spec, table, severity)
    else:
        raise SettingsError(f"check on {table}: unknown kind {kind!r}")
    return Check(kind, table, severity, sql, text)


def _gaps(spec: dict[str, Any], table: str, severity: str) -> Check:
    """Gaps in each device's readings: consecutive instants further apart than `max_gap` (ms).

    The steps between distinct instants, taken from the rows in instant order without a DISTINCT of
    the table first (a third less work): a row whose instant equals the one before it (read twice,
    or two values at one instant) starts no step. Equal as DISTINCT is equal: NaN is one instant."""
    by, at, limit = _q(spec["by"]), _q(spec["at"]), int(spec["max_gap"])

    def steps(rows: str, where: str = "") -> str:
        return (
            f"SELECT {at} - LAG({at}) OVER w AS step, {at} IS DISTINCT FROM LAG({at}) OVER w AS new_instant "
            f"FROM {rows} AS a{f' WHERE {where}' if where else ''} WINDOW w AS (PARTITION BY {by} ORDER BY {at})"
        )

    def values(rows: str, where: str = "") -> str:
        return (
            f"SELECT step AS value, COUNT(*) AS n FROM ({steps(rows, where)}) AS s "
            "WHERE new_instant AND step IS NOT NULL GROUP BY step"
        )

    answer = (
        f"SELECT (SELECT CAST(COALESCE(SUM(n) FILTER (WHERE value > {limit}), 0) AS BIGINT) FROM {HISTOGRAM}), "
        f"({_weighted_median(HISTOGRAM, 'value')})"
    )
    return Check(
        "gaps", table, severity,
        f"SELECT COUNT(CASE WHEN step > {limit} THEN 1 END), MEDIAN(step) FROM ({steps(_q(table))}) AS s WHERE new_instant",
        f"at most {limit:,} ms between consecutive readings of one {spec['by']}",
        figure="median sampling interval {value:,.0f} ms",
        histogram=Histogram(values(_q(table)), values(ROWS, _touched([spec["by"]])), answer),
    )  # fmt: skip


def _conflicts(spec: dict[str, Any], table: str, severity: str) -> Check:
    """Instants read twice with different values: keys whose rows disagree on `values`.

    The rows of a key disagree when one of the value columns holds two values there, NULL counted as
    a value (as DISTINCT counts it): its least and greatest differ, or it is NULL in some rows and not
    in others. One grouping, without the DISTINCT of every row before it (a third cheaper)."""
    keys = ", ".join(_q(c) for c in spec["columns"])
    disagree = " OR ".join(
        f"MIN({v}) IS DISTINCT FROM MAX({v}) OR (COUNT({v}) > 0 AND COUNT({v}) < COUNT(*))"
        for v in (_q(c) for c in spec["values"])
    )
    grouped = f"GROUP BY {keys} HAVING {disagree}"
    sql = f"SELECT COUNT(*) FROM (SELECT {keys} FROM {_q(table)} {grouped}) AS c"
    scope = f"SELECT COUNT(*) FROM (SELECT {keys} FROM {ROWS} AS a WHERE {_touched(spec['columns'])} {grouped}) AS c"
    text = f"({', '.join(spec['columns'])}) with more than one ({', '.join(spec['values'])})"
    return Check("conflicts", table, severity, sql, text, columns=tuple(spec["columns"]), scope=scope)


def _touched(columns: list[str]) -> str:
    """The condition that a row of `a` shares its key with a row of NEW_ROWS. NULLs form one key, as
    in GROUP BY: the keys are matched with IS NOT DISTINCT FROM."""
    same = " AND ".join(f"n.{_q(c)} IS NOT DISTINCT FROM a.{_q(c)}" for c in columns)
    return f"EXISTS (SELECT 1 FROM {NEW_ROWS} AS n WHERE {same})"


def _outliers(spec: dict[str, Any], table: str, severity: str) -> Check:
    """Values further from the median than `mads` median absolute deviations (robust to outliers)."""
    c, t, k = _q(spec["column"]), _q(table), float(spec["mads"])
    sql = (
        f"WITH center AS (SELECT MEDIAN({c}) AS m FROM {t}), "
        f"spread AS (SELECT MEDIAN(ABS(v.{c} - center.m)) AS d FROM {t} AS v CROSS JOIN center) "
        f"SELECT COUNT(CASE WHEN ABS(v.{c} - center.m) > {k} * spread.d AND spread.d > 0 THEN 1 END), MAX(spread.d) "
        f"FROM {t} AS v CROSS JOIN center CROSS JOIN spread"
    )
    # By value: the median of the values, then of their deviations from it, each over a table of
    # distinct numbers with their counts; the count of outliers sums the counts of the far values.
    by_value = (
        f"WITH numbers AS (SELECT CAST({c} AS DOUBLE) AS v, COUNT(*) AS n FROM {t} WHERE {c} IS NOT NULL GROUP BY 1), "
        f"center AS ({_weighted_median('numbers', 'v')}), "
        "deviations AS (SELECT ABS(numbers.v - center.median) AS v, SUM(numbers.n) AS n "
        "FROM numbers CROSS JOIN center GROUP BY 1), "
        f"spread AS ({_weighted_median('deviations', 'v')}) "
        f"SELECT CAST(COALESCE(SUM(CASE WHEN deviations.v > {k} * spread.median AND spread.median > 0 "
        "THEN deviations.n END), 0) AS BIGINT), MAX(spread.median) FROM deviations CROSS JOIN spread"
    )
    return Check(
        "outliers", table, severity, sql, f"{spec['column']} within {k:g} median absolute deviations of its median",
        figure=f"{spec['column']}: median absolute deviation {{value:,.3g}}", columns=(spec["column"],),
        by_value=by_value,
    )  # fmt: skip


def _weighted_median(relation: str, value: str) -> str:
    """`MEDIAN` of the values `relation` holds `n` times each, bit for bit as DuckDB's (the values at
    positions ⌊(N-1)/2⌋ and ⌊N/2⌋ of N in order, and of an even N the two interpolated as DuckDB
    does), as one row with column `median` (NULL when there are none).

    DuckDB interpolates `lo * (1 - d) + hi * d` as one fused multiply-add: `hi * 0.5` rounded, then
    `lo * 0.5` added to it exactly and the sum rounded once (the two differ from `lo * 0.5 + hi *
    0.5` only where halving `lo` is inexact: subnormal values). In doubles that is
    `(lo + 2 * (hi * 0.5)) / 2`: where the sum is at least twice the smallest normal double it rounds
    once and halving it is exact; below that it is exact and halving rounds once. Where the sum
    overflows, `lo` is large enough that `lo * 0.5` is exact. Checked against DuckDB's MEDIAN over
    pairs of subnormal, ordinary, huge and infinite values."""
    lo, hi, half = "CAST(lo AS DOUBLE)", "CAST(hi AS DOUBLE)", "CAST(0.5 AS DOUBLE)"
    total = f"{lo} + 2 * ({hi} * {half})"
    mean = f"CASE WHEN ABS({total}) > {sys.float_info.max!r} THEN {lo} * {half} + {hi} * {half} ELSE ({total}) / 2 END"
    return (
        f"SELECT CASE WHEN total % 2 = 1 THEN lo ELSE {mean} END AS median FROM ("
        f"SELECT MIN({value}) FILTER (WHERE earlier + n > (total - 1) // 2) AS lo, "
        f"MIN({value}) FILTER (WHERE earlier + n > total // 2) AS hi, ANY_VALUE(total) AS total FROM ("
        f"SELECT {value}, n, SUM(n) OVER (ORDER BY {value} ROWS UNBOUNDED PRECEDING) - n AS earlier, "
        f"SUM(n) OVER () AS total FROM {relation}) AS placed) AS ends"
    )


def _query(spec: dict[str, Any], table: str, severity: str) -> Check:
    """A check written as SQL: `sql` counts the violations, and may give a figure as its second column
    (said with `figure`); or `figure_sql` gives the figure in a query of its own."""
    figure = spec.get("figure") or ("{value:,.3g}" if spec.get("figure_sql") else "")
    return Check("query", table, severity, spec["sql"], spec["description"], figure_sql=spec.get("figure_sql"),
                 figure=figure)  # fmt: skip


def _at_least(spec: dict[str, Any], table: str, severity: str) -> Check:
    """Rows of relation `over` whose `value` (an SQL expression of its columns) is below `min`, with
    the median value as its figure; NULL values are not counted. Counted from the multiset of the
    values (see `Histogram`), which a run corrects where it recounts only some groups of `over`."""
    value, least = spec["value"], spec["min"]
    if isinstance(least, bool) or not isinstance(least, int | float):
        raise SettingsError(f"check on {table}: min must be a number")
    rows = f"SELECT {value} AS v FROM {{rows}}"

    def values(relation: str) -> str:
        return (
            f"SELECT v AS value, COUNT(*) AS n FROM ({rows.format(rows=relation)}) AS r WHERE v IS NOT NULL GROUP BY v"
        )

    answer = (
        f"SELECT (SELECT CAST(COALESCE(SUM(n) FILTER (WHERE value < {least!r}), 0) AS BIGINT) FROM {HISTOGRAM}), "
        f"({_weighted_median(HISTOGRAM, 'value')})"
    )
    over = spec["over"]
    return Check(
        "at_least", table, severity,
        f"SELECT COUNT(CASE WHEN v < {least!r} THEN 1 END), MEDIAN(v) FROM ({rows.format(rows=_q(over))}) AS r",
        spec["description"], figure=spec.get("figure", ""),
        histogram=Histogram(values(_q(over)), values(ROWS), answer, relation=over),
    )  # fmt: skip


_SENSOR_KINDS = {"gaps": _gaps, "conflicts": _conflicts, "outliers": _outliers, "query": _query, "at_least": _at_least}


def declared_checks(models: Models) -> list[Check]:
    """The checks the published tables declare: one `unique` per key, then their `[[check]]` entries."""
    checks = []
    for table in models.transforms:
        if not table.published:
            continue
        if table.key:
            checks.append(compile_check({"kind": "unique", "table": table.name, "columns": list(table.key)}))
        checks += [compile_check({**spec, "table": table.name}) for spec in table.checks]
    return checks


def funnel_queries(models: Models, parameters: Mapping[str, str]) -> list[str]:
    """Each published table's funnel, in build order: the count of its input's rows, then the count
    of each drop reason that applies under the run's parameters."""
    queries = []
    for table in (t for t in models.transforms if t.published):
        queries.append(f"SELECT COUNT(*) FROM {table.input}")
        queries += [drop.sql for drop in table.drops if drop.applies(parameters)]
    return queries


def load_expectations(path: str | Path, consent_policy: str, ml_join: str) -> Expectations:
    """A dataset's expected row counts for these settings: [rows], overridden by "option=value" sections."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read expectations file {path}: {exc}") from None
    rows = {k: v for k, v in data.get("rows", {}).items() if isinstance(v, int)}
    for setting in (f"consent-policy={consent_policy}", f"ml-join={ml_join}"):
        rows.update(data.get("rows", {}).get(setting, {}))
    severity = data.get("severity", "error")
    if severity not in SEVERITIES:
        raise SettingsError(f"{path}: severity must be warn or error")
    return Expectations(str(data.get("dataset", Path(path).stem)), severity, rows)


def row_count_checks(expectations: Expectations) -> list[Check]:
    return [
        Check(
            "row_count",
            table,
            expectations.severity,
            f"SELECT COUNT(*) FROM {_q(table)}",
            f"row count (expectations {expectations.dataset})",
            expected,
        )
        for table, expected in expectations.rows.items()
    ]


def failures(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [o for o in outcomes if o.status == "fail"]


def outcome(check: Check, value: int, figure: float | None = None) -> CheckOutcome:
    """A check's result: `value` counts violating rows (for row counts: the rows); `figure`, said
    beside the count, is the number the check gives to describe the data."""
    if check.kind == "row_count":
        passed, detail = value == check.expected, f"{value:,} rows, expected {check.expected:,}"
    elif check.kind == "min_rows":
        rows = (check.expected or 0) - value
        passed, detail = value == 0, ("ok" if value == 0 else ("empty" if rows == 0 else f"only {rows:,} rows"))
    else:
        passed, detail = value == 0, ("ok" if value == 0 else f"{value:,} violating rows")
    if check.figure:
        detail += "; " + (check.figure.format(value=figure) if figure is not None else "no figure (no rows)")
    status = "pass" if passed else ("fail" if check.severity == "error" else "warn")
    return CheckOutcome(
        check.table, check.kind, check.description, check.severity, status, value, check.expected, detail
    )
