"""The pipeline: read the landing sources, build every table in DAG order, commit each to Iceberg."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyarrow as pa

from . import privacy
from .catalog import Warehouse
from .config import Settings
from .contracts import SOURCES
from .engines import Engine, create_engine
from .errors import LandingError
from .landing import open_root
from .reader import read_source
from .results import RunResult, SourceResult, TableResult
from .transforms import TRANSFORMS, Zone

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
    if table.endswith("_quarantine"):
        return "quarantine"
    return "landing" if table.endswith("_landing") else "other"


def _check_landing(root: str) -> None:
    import pyarrow.fs as pafs

    fs, base = open_root(root)
    if fs.get_file_info(base).type != pafs.FileType.Directory:
        raise LandingError(f"landing folder {root} does not exist")


def run(settings: Settings, progress: Progress | None = None) -> RunResult:
    """Build every zone from `settings.landing` into `settings.warehouse`."""
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    if not settings.landing:
        raise LandingError("no landing folder given (--landing or STEDI_LANDING)")
    _check_landing(settings.landing)
    warehouse = Warehouse(settings.warehouse, create=True)
    key = privacy.subject_key()
    engine = create_engine(settings.engine)
    result = RunResult(settings.landing, settings.warehouse, engine.name, settings.consent_policy, settings.ml_join)
    try:
        outputs: dict[str, pa.Table] = {}
        for source in SOURCES:
            say(f"reading {source.name}")
            t0 = time.perf_counter()
            ingest = read_source(settings.landing, source)
            engine.load(source.landing_table, ingest.records)
            outputs[source.landing_table] = ingest.records
            outputs[source.quarantine_table] = ingest.quarantine
            result.sources.append(
                SourceResult(
                    source.name,
                    len(ingest.files),
                    ingest.accepted,
                    ingest.quarantined,
                    ingest.skipped,
                    time.perf_counter() - t0,
                )
            )
        engine.load(
            "run_parameters",
            pa.table({"consent_policy": [settings.consent_policy], "ml_join": [settings.ml_join]}),
        )
        timings: dict[str, float] = {}
        for transform in TRANSFORMS:
            if transform.name == "machine_learning_curated":
                emails = engine.fetch("customer_curated").column("email").to_pylist()
                engine.load("subject_keys", privacy.subject_keys(emails, key))
            say(f"building {transform.name}")
            t0 = time.perf_counter()
            engine.build(transform.name, transform.sql)
            if transform.zone is not Zone.INTERNAL:
                outputs[transform.name] = engine.fetch(transform.name)
            timings[transform.name] = time.perf_counter() - t0
        result.tables = _commit(warehouse, engine, outputs, timings, say)
        if settings.ml_join == "timestamp":
            result.notes.append(TIMESTAMP_JOIN_NOTE)
    finally:
        engine.close()
    result.seconds = time.perf_counter() - started
    return result


def _commit(
    warehouse: Warehouse, engine: Engine, outputs: dict[str, pa.Table], timings: dict[str, float], say: Progress
) -> list[TableResult]:
    by_name = {t.name: t for t in TRANSFORMS}
    tables = []
    for name, data in outputs.items():
        say(f"committing {name}")
        t0 = time.perf_counter()
        commit = warehouse.write(name, data)
        seconds = timings.get(name, 0.0) + time.perf_counter() - t0
        transform = by_name.get(name)
        if transform is None:
            tables.append(TableResult(name, zone_of(name), None, data.num_rows, [], seconds, commit.snapshot_id))
            continue
        rows_in = engine.scalar(f"SELECT COUNT(*) FROM {transform.input}")
        drops = []
        for drop in transform.drops:
            n = engine.scalar(drop.count_sql)
            if n:
                drops.append((drop.reason.format(n=f"{n:,}"), n))
        tables.append(
            TableResult(name, transform.zone.value, rows_in, data.num_rows, drops, seconds, commit.snapshot_id)
        )
    return tables
