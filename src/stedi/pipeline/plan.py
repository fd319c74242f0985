"""`stedi plan`: what a run would do, written nowhere.

The run's own stages, up to the checks, with a table writer that writes nothing: the files that are
new, changed, renamed or removed per source, every table's rows before and after with the reasons
rows fall away, the checks that would fail, and whether the shrink guard would stop the run. The
warehouse is opened read-only (a warehouse that does not exist yet is planned as an empty one), and
no byte of it changes.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass, replace

from stedi import subject_key
from stedi.config import Settings
from stedi.contract.tables import load
from stedi.engines import create_engine
from stedi.engines.base import Capabilities, Engine, TableWriter
from stedi.errors import SubjectKeyError, WarehouseError
from stedi.pipeline.run import Progress
from stedi.reading.landing import require_root
from stedi.results import RunResult
from stedi.stages import keys
from stedi.stages.building import build
from stedi.stages.checking import check
from stedi.stages.context import RunContext
from stedi.stages.erasure import read_ledger
from stedi.stages.ingestion import plan as plan_files
from stedi.stages.ingestion import read
from stedi.stages.planning import SourcePlan
from stedi.stages.publishing import table_results
from stedi.warehouse.session import Session
from stedi.warehouse.writes import ANY_SNAPSHOT, Commit


class DryWriter(TableWriter):
    """Stages nothing: remembers what would be written, and counts its rows."""

    capabilities = Capabilities(skips_unchanged=False, stages_on_branch=False, checks_expected=False, appends=True)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.names: list[str] = []

    def stage(self, name: str, *, append_from: str | None = None, properties: dict[str, str] | None = None,
              expected: object = ANY_SNAPSHOT) -> None:  # fmt: skip
        if name not in self.names:
            self.names.append(name)

    def staged(self) -> dict[str, Commit]:
        counts = self.engine.counts([f"SELECT COUNT(*) FROM {name}" for name in self.names])
        return {name: Commit(name, n, None, True, staged=True) for name, n in zip(self.names, counts, strict=True)}

    def publish_staged(self) -> dict[str, Commit]:
        raise RuntimeError("a plan publishes nothing")


@dataclass
class Plan:
    result: RunResult  # what the run would give: sources, tables (rows before and after), checks, refusals
    files: dict[str, dict[str, int]]  # source -> new, changed, renamed, copied, removed, unchanged
    plans: list[SourcePlan]


def plan(settings: Settings, progress: Progress | None = None) -> Plan:
    landing = require_root(settings.landing)
    say = progress or (lambda _message: None)
    models = load(settings.models)
    scratch = None
    session = Session(settings.warehouse, settings.catalog, create=False)
    try:
        session.warehouse  # noqa: B018 - opened read-only, or found missing
    except WarehouseError as exc:
        session.close()
        if "no STEDI" not in str(exc):
            raise
        scratch = tempfile.mkdtemp(prefix="stedi-plan-")  # a new warehouse: planned against an empty one
        session = Session(f"{scratch}/warehouse")
    engine = create_engine(replace(settings, full_refresh=False) if scratch else settings, session)
    result = RunResult(landing, settings.warehouse, engine.name, settings.consent_policy, settings.ml_join)
    ctx = RunContext(settings, models, session, engine, result, say, DryWriter(engine))
    try:
        result.run_id = uuid.uuid4().hex
        _prepare(ctx)
        plan_files(ctx)  # finds whether anything is new (see stages.freshness)
        if ctx.news:
            for stage in (read, build, check):
                stage(ctx)
            result.tables = table_results(ctx)
    finally:
        session.close()
        engine.close()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return Plan(result, {p.source.name: p.changes() for p in ctx.plans}, ctx.plans)


def _prepare(ctx: RunContext) -> None:
    """Like a run's `prepare`, writing nothing: the key is checked, not recorded or made."""
    settings = ctx.settings
    ctx.parameters = settings.parameters
    try:
        ctx.key, _ = ctx.session.run(lambda w: keys.bind(w, create=False))
    except SubjectKeyError:
        if subject_key.find() is not None or ctx.session.run(lambda w: bool(w.table_names())):
            raise
        ctx.key = subject_key.SubjectKey(b"a key the first run would generate", "a new key")
        ctx.result.notes.append(f"the first run would generate a subject key in {subject_key.key_file()}")
    ledger = ctx.session.run(read_ledger)
    if any(e.completed_at is None for e in ledger):
        ctx.result.notes.append("the run would first complete an interrupted erasure")
    ctx.erased = {e.subject_id for e in ledger}
