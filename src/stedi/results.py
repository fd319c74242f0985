"""Typed results of a run, collected into one trace that every output (terminal, JSON) renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SourceResult:
    source: str
    files: int
    records: int
    quarantined: int
    skipped_files: list[str]
    seconds: float
    files_found: int = 0  # data files in the landing folder; `files` of them were read (new or changed)


@dataclass(frozen=True)
class TableResult:
    name: str
    zone: str
    rows_in: int | None
    rows_out: int
    drops: list[tuple[str, int]]  # (reason with the count filled in, count)
    seconds: float
    snapshot_id: int | None = None
    changed: bool = True  # False: the table already held exactly these rows; no snapshot added


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
    published: bool = False  # False: a failing error check kept every table at its previous snapshot
    run_id: str = ""
    seconds: float = 0.0

    def table(self, name: str) -> TableResult:
        return next(t for t in self.tables if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
