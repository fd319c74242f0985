"""`stedi run`: the run as named stages over one context.

    prepare -> plan -> read -> build -> check -> publish -> record -> maintain -> report

The warehouse is opened once, by a session whose worker thread also does the commits (they overlap
the engine's work). Tables are staged on an audit branch as they are built and published together
after the checks; `record` and `report` run for every run that got that far, published or not.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from stedi import subject_key
from stedi.config import Settings
from stedi.contract.sources import SOURCES
from stedi.contract.tables import Models, load
from stedi.engines import create_engine
from stedi.errors import ChecksFailed, LandingError, Refused, StediError, StepError, WarehouseError
from stedi.reading.landing import holds, require_root
from stedi.results import FAILED, REFUSED, RunResult
from stedi.stages.building import build
from stedi.stages.checking import check
from stedi.stages.context import RunContext
from stedi.stages.history import record
from stedi.stages.ingestion import plan, read
from stedi.stages.keys import check_location
from stedi.stages.preparing import prepare
from stedi.stages.publishing import publish
from stedi.warehouse.locking import writer_lock
from stedi.warehouse.session import Session

TIMESTAMP_JOIN_NOTE = (
    "machine_learning_curated uses --ml-join timestamp (compatibility with the original AWS Glue project): step-trainer "
    "readings are paired with any consenting customer's phone reading at the same instant, so some rows "
    "pair one customer's step trainer with another customer's phone. Use --ml-join owner for ML work."
)

Progress = Callable[[str], None]


def _maintain(ctx: RunContext) -> None:
    """The default retention: history kept for the last runs, the rest reclaimed."""
    if not ctx.settings.maintain:
        return
    from stedi.pipeline.maintain import DEFAULT_KEEP_RUNS, apply_retention

    done = ctx.session.run(apply_retention).reclaimed
    if done.snapshots:
        ctx.result.notes.append(
            f"maintenance: kept the history of the last {DEFAULT_KEEP_RUNS} runs; expired {done.snapshots:,} older "
            f"snapshots and deleted {done.files:,} files ({done.bytes / 1e6:,.1f} MB) (--no-maintain skips this)"
        )


def _report(ctx: RunContext) -> None:
    """The report, dataset card and DuckDB views file (without the report: the views file alone); a
    run whose tables are published does not fail for want of them."""
    from stedi.report import write_report
    from stedi.warehouse.duckdb_views import refresh_duckdb_views, write_duckdb_views

    try:
        if not ctx.news:  # the report still tells the tables as they are; the views file of a moved
            ctx.session.run(refresh_duckdb_views)  # or copied warehouse may name the original's files
        elif ctx.settings.report:
            ctx.session.run(lambda w: write_report(w, ctx.result, ctx.models))
        else:
            ctx.session.run(write_duckdb_views)
    except WarehouseError as exc:
        what = "the report" if ctx.news and ctx.settings.report else "the DuckDB views file"
        ctx.result.notes.append(f"warning: {what} was not written ({exc}); `stedi report` writes it again")


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[RunContext], None]
    always: bool = False  # also after a run that publishes nothing (refused, checks failed)
    without_news: bool = False  # also when planning found nothing new (see stages.freshness)


STAGES = (
    Stage("prepare", prepare, without_news=True),
    Stage("plan", plan, without_news=True),
    Stage("read", read),
    Stage("build", build),
    Stage("check", check),
    Stage("publish", publish, always=True),
    Stage("record", record, always=True, without_news=True),
    Stage("maintain", _maintain, always=True),
    Stage("report", _report, always=True, without_news=True),
)


def steps(models: Models | None = None) -> int:
    """The messages a run says: one per stage, one per source read, one per table built."""
    return len(STAGES) + len(SOURCES) + len((models or load()).transforms)


def run(settings: Settings, progress: Progress | None = None) -> RunResult:
    """Build every table from `settings.landing` into `settings.warehouse`.

    Only one run writes to a local warehouse at a time: another one waits (see `locking`). Raises
    ChecksFailed (an error check failed) or Refused (the shrink guard) after recording the run;
    nothing of such a run is published.
    """
    landing = require_root(settings.landing)  # before the warehouse is made: a typo leaves nothing behind
    for source in SOURCES:
        if holds(landing, source.name, settings.warehouse):
            raise LandingError(
                f"the warehouse {settings.warehouse} is inside the landing folder {source.name}/landing/ of "
                f"{settings.landing}: runs would read the warehouse's own files as landing data; nothing was "
                "written, put it elsewhere"
            )
    # Also before: an unusable key (empty, short, a pipe or a device) or a key file inside the warehouse.
    check_location(settings.warehouse)
    subject_key.find()
    say = progress or (lambda _message: None)
    models = load(settings.models)
    with writer_lock(settings.warehouse, say):
        session = Session(settings.warehouse, settings.catalog)
        try:
            engine = create_engine(settings, session)
        except BaseException:
            session.close()
            raise
        result = RunResult(landing, settings.warehouse, engine.name, settings.consent_policy, settings.ml_join)
        ctx = RunContext(settings, models, session, engine, result, say, engine.writer)
        try:
            _run_stages(ctx)
        finally:
            session.close()  # first: a commit under way reads from the engine
            engine.close()
    if result.outcome == FAILED:
        raise ChecksFailed(result)
    if result.outcome == REFUSED:
        raise Refused(result, result.refusals)
    return result


def _run_stages(ctx: RunContext) -> None:
    started = time.perf_counter()
    ctx.result.run_id = uuid.uuid4().hex
    for stage in STAGES:
        if not stage.always and ctx.result.outcome in (FAILED, REFUSED):
            continue
        if not ctx.news and not stage.without_news:
            continue
        ctx.say(stage.name)
        ctx.step = None
        t0 = time.perf_counter()
        try:
            stage.run(ctx)
        except (StediError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if stage.name == "publish":
                state = "Some tables were published before it; the next run publishes the rest"
            else:
                state = "Nothing of this run was published; every table keeps its previous snapshot"
            where = f"stage {stage.name}" + (f" ({ctx.step})" if ctx.step else "")
            raise StepError(f"{where} failed: {ctx.engine.explain(exc)}. {state}") from exc
        ctx.result.stages[stage.name] = time.perf_counter() - t0
        if stage.name == "publish":
            if ctx.settings.ml_join == "timestamp":
                ctx.result.notes.append(TIMESTAMP_JOIN_NOTE)
            ctx.result.seconds = time.perf_counter() - started
    ctx.result.seconds = time.perf_counter() - started
