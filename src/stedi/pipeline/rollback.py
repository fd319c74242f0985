"""`stedi rollback RUN`: every table back to the snapshots a run published.

Recorded in `run_history` as a run of its own ("rolled back"). The landing tables' file maps are
snapshot properties, so they roll back with the rows: the next `stedi run` reads again the files
ingested after that run. Erasure wins: anyone in the erasure ledger found in the state rolled back
to is erased again before the command returns (and the snapshots that held them are expired).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from stedi.contract.tables import Models, load
from stedi.pipeline.history import ROLLED_BACK, RunRecord, run_snapshots
from stedi.results import RunResult, TableResult
from stedi.stages import keys
from stedi.stages.erasure import read_ledger
from stedi.stages.forgetting import Erasure, erase
from stedi.stages.history import history_rows
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.locking import writer_lock
from stedi.warehouse.publishing import publish
from stedi.warehouse.writes import append_rows


@dataclass
class RollbackResult:
    run: RunRecord  # the run gone back to
    moved: list[str]  # tables whose current snapshot changed
    erasure: Erasure  # people of the ledger found in the rolled-back state, erased again
    run_id: str = ""


def rollback(location: str, given: str, catalog: str | None = None, models: Models | None = None) -> RollbackResult:
    models = models or load()
    with writer_lock(location):
        warehouse = Warehouse(location, catalog=catalog)
        key, _ = keys.bind(warehouse, create=False)
        read_ledger(warehouse)  # a stale catalog is refused before any table moves
        record, target = run_snapshots(warehouse, given)
        moved = []
        for name, snapshot in target.items():
            current = warehouse.load(name).current_snapshot()
            if current is None or current.snapshot_id != snapshot:
                publish(warehouse, name, snapshot, staged=False)
                moved.append(name)
        erasure = erase(warehouse, models, key, {}, recheck=True)
        result = RollbackResult(record, moved, erasure, uuid.uuid4().hex)
        _record(warehouse, models, record, result)
    return result


def _record(warehouse: Warehouse, models: Models, record: RunRecord, result: RollbackResult) -> None:
    run = RunResult("", warehouse.location, record.engine, record.consent_policy, record.ml_join, outcome=ROLLED_BACK)
    run.run_id = result.run_id
    for name in record.tables:
        info = warehouse.describe(name)
        zone = models.zone(name)
        run.tables.append(
            TableResult(
                name, zone.value if zone else "other", None, info.rows, [], 0.0, info.snapshot_id, name in result.moved
            )
        )
    extra: list[tuple[object, ...]] = [
        ("rollback", "", f"to run {record.run_id}", None, None, 0, None, "rollback", None)
    ]
    append_rows(warehouse, "run_history", history_rows(run, extra))
