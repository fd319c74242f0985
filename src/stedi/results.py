"""Typed results of a run, collected into one trace that every output (terminal, JSON, report) renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# What became of a run.
PUBLISHED = "published"  # its tables are the warehouse's tables now
UNCHANGED = "unchanged"  # nothing was new: no table needed a new snapshot
FAILED = "failed"  # an error check failed: nothing was published
REFUSED = "refused"  # the shrink guard stopped it: nothing was published


@dataclass(frozen=True)
class SourceResult:
    source: str
    files: int  # data files read this run (new or changed)
    records: int
    quarantined: int
    skipped_files: list[tuple[str, str]]  # (path, why) of entries that are not data files
    seconds: float
    files_found: int = 0  # data files in the landing folder


@dataclass(frozen=True)
class DropCount:
    code: str  # stable, for grouping across runs
    text: str  # the reason in words, with the count ("474 customers without research consent")
    count: int
    reason: str = ""  # the reason without the count, the same in every run ("customers without research consent")


@dataclass(frozen=True)
class TableResult:
    name: str
    zone: str
    rows_in: int | None
    rows_out: int
    drops: list[DropCount]
    seconds: float
    snapshot_id: int | None = None
    changed: bool = True  # False: the table already held exactly these rows; no snapshot added
    rows_before: int | None = None  # the published rows before the run
    growth: str = ""  # why the table may have more rows than its input (declared with its SQL)


@dataclass(frozen=True)
class CheckOutcome:
    table: str
    kind: str
    description: str
    severity: str  # warn | error
    status: str  # pass | warn | fail
    value: int  # violating rows; for row counts, the rows
    expected: int | None
    detail: str


@dataclass
class RunResult:
    landing: str
    warehouse: str
    engine: str
    consent_policy: str
    ml_join: str
    sources: list[SourceResult] = field(default_factory=list)
    tables: list[TableResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    outcome: str = PUBLISHED
    refusals: list[str] = field(default_factory=list)  # why the shrink guard stopped the run
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage
    run_id: str = ""
    seconds: float = 0.0

    @property
    def published(self) -> bool:
        """False: a failing check or the shrink guard kept every table at its previous snapshot."""
        return self.outcome in (PUBLISHED, UNCHANGED)

    def table(self, name: str) -> TableResult:
        return next(t for t in self.tables if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "published": self.published}
