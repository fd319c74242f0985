"""What the stages of a run share: its settings, the warehouse session, the engine and what each
stage found. Each stage is a function of this context; the pipeline runs them in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stedi.config import Settings
    from stedi.contract.tables import Models
    from stedi.engines.base import Engine, TableWriter
    from stedi.reading.reader import FileRead
    from stedi.results import RunResult
    from stedi.stages.extending import Grown
    from stedi.stages.planning import SourcePlan, TableState
    from stedi.stages.regrouping import Regrouped
    from stedi.subject_key import SubjectKey
    from stedi.warehouse.session import Session
    from stedi.warehouse.writes import Commit

Say = Callable[[str], None]


@dataclass
class Funnel:
    rows_in: int
    drops: list[tuple[str, str, int, str]]  # (code, text with the count, count, reason without it)


@dataclass
class RunContext:
    settings: Settings
    models: Models
    session: Session
    engine: Engine
    result: RunResult
    say: Say
    writer: TableWriter
    key: SubjectKey | None = None
    erased: set[str] = field(default_factory=set)  # subject_ids in the erasure ledger
    states: dict[str, TableState] = field(default_factory=dict)  # landing and quarantine tables before
    published_rows: dict[str, int] = field(default_factory=dict)  # every table's rows before the run
    published_snapshots: dict[str, int | None] = field(default_factory=dict)  # every table's snapshot before
    built_from: str | None = None  # what the published tables were built from (see freshness)
    plans: list[SourcePlan] = field(default_factory=list)
    reads: dict[str, list[FileRead]] = field(default_factory=dict)  # source -> files read
    parameters: dict[str, str] = field(default_factory=dict)
    funnel: dict[str, Funnel] = field(default_factory=dict)
    build_seconds: dict[str, float] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    news: bool = True  # False: nothing new since the last run with these settings
    landing_growth: dict[str, tuple[str, str]] = field(default_factory=dict)  # table -> (rows read, rows held)
    erasure_rewrote: bool = False  # rows of erased people were dropped from the landing relations
    # Published tables that still hold every row the last run published (see `extending`): the
    # relations of their new rows and of the rows they held, None when they have no new rows.
    kept_rows: dict[str, Grown | None] = field(default_factory=dict)
    # Relations of the build equal to what the last run that published left (see `extending`), and
    # the answers that run recorded, taken where a query reads only those (see `answers`).
    unchanged: frozenset[str] = frozenset()
    # Relations of the build that hold every row they held in the last run and new ones: the
    # relations of those (see `extending`), where answers are corrected by difference (see `answers`).
    grown: dict[str, Grown] = field(default_factory=dict)
    # Internal relations counted again only for the groups new rows touch (see `regrouping`).
    regrouped: dict[str, Regrouped] = field(default_factory=dict)
    answers_before: str | None = None
    answers_known: dict[str, list[list[Any]]] | None = None  # answers_before decoded (see answers)
    answers: dict[str, list[list[object]]] = field(default_factory=dict)  # this run's, for the next run
    carried_answers: int = 0
    # Digests of the fingerprints of the internal relations only ever rebuilt whole, as this run built
    # them: the next run that extends the tables finds one it rebuilds equal to before by them (see
    # `extending` and `freshness.relation_digest`).
    relation_digests: dict[str, str] = field(default_factory=dict)
    step: str | None = None  # what the current stage is doing (a table it builds), for errors

    @property
    def landing_bytes(self) -> int:
        """The size of every landing file of the run (read now or before): the data its tables hold."""
        return sum(f.size for p in self.plans for f in p.files)

    @property
    def parameters_table(self):  # -> pa.Table
        import pyarrow as pa

        return pa.table({name: [value] for name, value in self.parameters.items()})

    def subject_keys_of(self, relation: str, column: str):  # -> pa.Table
        """The pseudonym relation (email, subject_id, split) of the emails in `relation.column`,
        under the run's subject key and split."""
        return self.subject_keys(self.emails_of(relation, column))

    def emails_of(self, relation: str, column: str) -> list[str]:
        return [str(e) for (e,) in self.engine.rows(f'SELECT "{column}" FROM "{relation}"')]

    def subject_keys(self, emails: list[str]):  # -> pa.Table
        """The pseudonym relation of these emails (any thread: it asks nothing of the engine)."""
        from stedi.contract import privacy

        assert self.key is not None
        return privacy.subject_keys(emails, self.key.secret, self.settings.split_shares)
