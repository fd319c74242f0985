"""Data-quality checks as data: `transforms/checks.toml`, plus a dataset's row-count expectations.

Each check compiles to one SQL query (source dialect) that counts violating rows; all of a run's
checks are computed in one query by the engine, on the tables it has built and staged but not yet
published. A failing `error` check stops the run before publication (write-audit-publish).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stedi.errors import SettingsError
from stedi.results import CheckOutcome

if TYPE_CHECKING:
    from stedi.config import Settings
    from stedi.engines import Engine

SEVERITIES = ("warn", "error")


@dataclass(frozen=True)
class Check:
    kind: str
    table: str
    severity: str
    sql: str  # counts violating rows
    description: str
    expected: int | None = None  # row-count checks: the expected figure

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
        sql = f"SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM {t} GROUP BY {cols} HAVING COUNT(*) > 1)"
        text = f"({', '.join(spec['columns'])}) unique"
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
    elif kind == "cardinality":
        cols = ", ".join(_q(c) for c in spec["columns"])
        sql = (
            f"SELECT COUNT(*) FROM (SELECT {cols} FROM {t} GROUP BY {cols}"
            f" HAVING COUNT(DISTINCT {_q(spec['of'])}) > {int(spec['max'])})"
        )
        text = f"at most {spec['max']} {spec['of']} per ({', '.join(spec['columns'])})"
    elif kind == "funnel":
        source = _q(spec["from"])
        sql = f"SELECT GREATEST((SELECT COUNT(*) FROM {t}) - (SELECT COUNT(*) FROM {source}), 0)"
        text = f"no more rows than {spec['from']}"
    else:
        raise SettingsError(f"check on {table}: unknown kind {kind!r}")
    return Check(kind, table, severity, sql, text)


def declared_checks(path: Path | None = None) -> list[Check]:
    """The checks of the pipeline (transforms/checks.toml), or of another file."""
    text = path.read_text() if path else resources.files("stedi.contract").joinpath("checks.toml").read_text()
    return [compile_check(spec) for spec in tomllib.loads(text).get("check", [])]


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


def run_checks(engine: Engine, settings: Settings) -> list[CheckOutcome]:
    """Every declared check, and the row counts of `settings.expect`, in one query on the engine."""
    checks = declared_checks()
    if settings.expect:
        checks += row_count_checks(load_expectations(settings.expect, settings.consent_policy, settings.ml_join))
    values = engine.scalars([c.sql for c in checks])
    return [outcome(c, v) for c, v in zip(checks, values, strict=True)]


def outcome(check: Check, value: int) -> CheckOutcome:
    """A check's result: `value` counts violating rows (for row counts: the rows)."""
    if check.kind == "row_count":
        passed, detail = value == check.expected, f"{value:,} rows, expected {check.expected:,}"
    else:
        passed, detail = value == 0, ("ok" if value == 0 else f"{value:,} violating rows")
    status = "pass" if passed else ("fail" if check.severity == "error" else "warn")
    return CheckOutcome(
        check.table, check.kind, check.description, check.severity, status, value, check.expected, detail
    )
