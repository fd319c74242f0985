"""The pipeline: read the landing sources, build every table in DAG order, commit each to Iceberg.

With the embedded engine, commits run on one background thread, in order, while the engine keeps
working: opening the catalog (and importing pyiceberg) overlaps reading the landing files. Landing and
quarantine tables are committed as soon as they are read; each trusted and curated one as soon as it
is built and its privacy invariants hold. Each commit is one atomic Iceberg snapshot of that table.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pyarrow as pa

from stedi import faults
from stedi.config import Settings
from stedi.contract import privacy
from stedi.contract.checks import failures, run_checks
from stedi.contract.tables import TRANSFORMS, Transform, Zone
from stedi.engines import Engine, create_engine
from stedi.errors import ChecksFailed, LandingError, PrivacyError, StediError, StepError
from stedi.pipeline.erasure import suppress_erased
from stedi.reading.landing import root_exists
from stedi.report import write_report_for
from stedi.results import RunResult, TableResult
from stedi.stages.history import HISTORY_TABLE, record_run
from stedi.stages.ingestion import LEDGER_TABLE, ingest, ledger, publish_sources, table_states
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.committer import Committer
from stedi.warehouse.locking import writer_lock

TIMESTAMP_JOIN_NOTE = (
    "machine_learning_curated uses --ml-join timestamp (the seed's compatibility mode): step-trainer "
    "readings are paired with any consenting customer's phone reading at the same instant, so some rows "
    "pair one customer's step trainer with another customer's phone. Use --ml-join owner for ML work."
)

Progress = Callable[[str], None]


def zone_of(table: str) -> str:
    """The zone a warehouse table belongs to, by name."""
    for transform in TRANSFORMS:
        if transform.name == table:
            return transform.zone.value
    if table == LEDGER_TABLE:
        return "ledger"
    if table == HISTORY_TABLE:
        return "history"
    if table.endswith("_quarantine"):
        return "quarantine"
    return "landing" if table.endswith("_landing") else "other"


def _check_landing(root: str) -> None:
    if not root_exists(root):
        raise LandingError(f"landing folder {root} does not exist")


def run(settings: Settings, progress: Progress | None = None, committer: Committer | None = None) -> RunResult:
    """Build every zone from `settings.landing` into `settings.warehouse`.

    `committer` may be started early by the caller (see `Committer`); by default the engine starts one.
    Only one run writes to a local warehouse at a time: another one waits (see `locking`).
    """
    with writer_lock(settings.warehouse, progress):
        return _run(settings, progress, committer)


def _run(settings: Settings, progress: Progress | None, committer: Committer | None) -> RunResult:
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    if not settings.landing:
        raise LandingError("no landing folder given (--landing or STEDI_LANDING)")
    _check_landing(settings.landing)
    key = privacy.subject_key()
    if broken := privacy.key_invariant(settings.warehouse):
        raise PrivacyError(f"privacy invariant broken, nothing was run: {broken}")
    engine = create_engine(
        settings.engine,
        settings.warehouse,
        committer=committer,
        catalog=settings.catalog,
        spark_master=settings.spark_master,
        spark_conf=settings.spark_conf,
        memory_limit=settings.memory_limit,
    )
    result = RunResult(settings.landing, settings.warehouse, engine.name, settings.consent_policy, settings.ml_join)
    try:
        step = "reading the landing files"
        say("planning")
        states = table_states(engine, settings.warehouse, settings.catalog)
        ingested = ingest(engine, settings.landing, states, settings.full_refresh, say)
        result.sources.extend(ingested.results)
        result.notes.extend(event for plan in ingested.plans for event in plan.events)
        faults.point("read")
        rewrite = False
        if erased := engine.erased_subjects():
            say("suppressing erased people")
            if suppressed := suppress_erased(engine, erased, key):
                rewrite = True
                result.notes.append(f"{suppressed:,} landing records of erased people suppressed (erasure ledger)")
        publish_sources(engine, ingested, rewrite)
        parameters = {"consent_policy": settings.consent_policy, "ml_join": settings.ml_join}
        engine.load("run_parameters", pa.table({name: [value] for name, value in parameters.items()}))
        build_seconds: dict[str, float] = {}
        for transform in TRANSFORMS:
            step = transform.name
            if transform.name == "machine_learning_curated":
                emails = [str(e) for e in engine.values("customer_curated", "email")]
                engine.load("subject_keys", privacy.subject_keys(emails, key))
            say(f"building {transform.name}")
            t0 = time.perf_counter()
            engine.build(transform.name, transform.sql, view=transform.view)
            faults.point(f"build:{transform.name}")
            if transform.zone is not Zone.INTERNAL:
                _check_privacy(engine, transform.name)
                engine.publish(transform.name)
            build_seconds[transform.name] = time.perf_counter() - t0
        step = "counting"
        say("counting")
        funnel = _funnel(engine, [t for t in TRANSFORMS if t.zone is not Zone.INTERNAL], parameters)
        step = "committing"
        say("committing")
        commits = engine.published()
        step = LEDGER_TABLE
        snapshots = {name: commit.snapshot_id for name, commit in commits.items()}
        engine.load(LEDGER_TABLE, ledger(engine, ingested, snapshots))
        engine.publish(LEDGER_TABLE)
        engine.published()
        step = "checks"
        say("checking")
        result.checks = run_checks(engine, settings)
        if not failures(result.checks):
            step = "publishing"
            say("publishing")
            engine.release()
            result.published = True
        commits = engine.published()
    except (StediError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if step == "publishing":
            state = "Some tables were published before it; the next run publishes the rest"
        else:
            state = "Nothing of this run was published; every table keeps its previous snapshot"
        raise StepError(f"step {step} failed: {exc}. {state}") from exc
    finally:
        engine.close()
    by_name = {t.name: t for t in TRANSFORMS}
    for name, commit in commits.items():
        rows_in, drops = funnel.get(name, (None, []))
        zone = by_name[name].zone.value if name in by_name else zone_of(name)
        seconds = build_seconds.get(name, 0.0) + commit.seconds
        result.tables.append(
            TableResult(name, zone, rows_in, commit.rows, drops, seconds, commit.snapshot_id, commit.changed)
        )
    if settings.ml_join == "timestamp":
        result.notes.append(TIMESTAMP_JOIN_NOTE)
    result.run_id = uuid.uuid4().hex
    record_run(Warehouse(settings.warehouse, catalog=settings.catalog), result, funnel, commits)
    result.seconds = time.perf_counter() - started
    if settings.report:
        write_report_for(settings.warehouse, settings.catalog, result)
    if not result.published:
        raise ChecksFailed(result)
    return result


def _check_privacy(engine: Engine, table: str) -> None:
    """Before a trusted or curated table is published: the privacy invariants that concern it."""
    queries = [privacy.CONSENT_QUERIES[table]] if table in privacy.CONSENT_QUERIES else []
    columns = engine.columns(table) if table == privacy.ML_TABLE else []
    if table == privacy.ML_TABLE and "subject_id" in columns:
        queries.append(privacy.PSEUDONYM_QUERY)
    counts = engine.scalars(queries)
    consent = counts[0] if table in privacy.CONSENT_QUERIES else 0
    pseudonyms = counts[-1] if table == privacy.ML_TABLE and "subject_id" in columns else 0
    if broken := privacy.table_invariants(table, consent, columns, pseudonyms):
        raise PrivacyError(
            f"privacy invariant broken, {table} and the tables after it were not published: " + "; ".join(broken)
        )


def _funnel(
    engine: Engine, transforms: list[Transform], parameters: dict[str, str]
) -> dict[str, tuple[int, list[tuple[str, int]]]]:
    """Rows in and the count of every drop reason that applies under the run's parameters."""
    queries = []
    for t in transforms:
        queries.append(f"SELECT COUNT(*) FROM {t.input}")
        queries += [drop.count_sql for drop in t.drops if drop.applies(parameters)]
    values = iter(engine.scalars(queries))
    funnel = {}
    for t in transforms:
        rows_in = next(values)
        drops = [(d.reason.format(n=f"{n:,}"), n) for d in t.drops if d.applies(parameters) and (n := next(values))]
        funnel[t.name] = (rows_in, drops)
    return funnel
