"""The warehouse's runs, and its tables as a run published them or as they stood at a time.

Every run records, in `run_history`, the snapshot each table had when it ended. Those snapshots are
what `stedi sql --as-of RUN`, `stedi tables --as-of` and `stedi rollback` go back to, for as long as
they are kept (`stedi maintain` expires old ones; an erasure removes every snapshot that held the
person).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from stedi.contract.tables import HISTORY_TABLE
from stedi.errors import UsageError, WarehouseError
from stedi.results import PUBLISHED, UNCHANGED
from stedi.warehouse.catalog import Warehouse

ROLLED_BACK = "rolled back"
REACHABLE_OUTCOMES = (PUBLISHED, UNCHANGED, ROLLED_BACK)  # runs whose tables were the warehouse's


@dataclass
class RunRecord:
    run_id: str
    at: datetime
    engine: str
    consent_policy: str
    ml_join: str
    outcome: str
    tables: dict[str, tuple[int | None, int]] = field(default_factory=dict)  # table -> (snapshot id, rows)
    detail: str = ""  # a rollback: the run it went back to

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "at": self.at.isoformat(),
            "engine": self.engine,
            "consent_policy": self.consent_policy,
            "ml_join": self.ml_join,
            "outcome": self.outcome,
            "detail": self.detail,
            "tables": {name: {"snapshot_id": s, "rows": rows} for name, (s, rows) in self.tables.items()},
        }


def runs(warehouse: Warehouse) -> list[RunRecord]:
    """Every run recorded in the warehouse, newest first."""
    if HISTORY_TABLE not in warehouse.table_names():
        return []
    facts = warehouse.read(HISTORY_TABLE)
    names = set(facts.column_names)
    found: dict[str, RunRecord] = {}
    for row in facts.to_pylist():
        record = found.get(row["run_id"])
        if record is None:
            outcome = row.get("outcome") or (PUBLISHED if row["published"] else "failed")
            at = row["run_at"] if isinstance(row["run_at"], datetime) else datetime.fromtimestamp(0, UTC)
            record = found[row["run_id"]] = RunRecord(
                row["run_id"], at, row["engine"], row["consent_policy"], row["ml_join"], outcome
            )
        if row["kind"] == "table":
            snapshot = row.get("snapshot_id") if "snapshot_id" in names else None
            record.tables[row["table_name"]] = (snapshot, int(row["value"]))
        elif row["kind"] == "rollback":
            record.detail = row["name"]
    return sorted(found.values(), key=lambda r: r.at, reverse=True)


def find_run(records: list[RunRecord], given: str) -> RunRecord:
    """The run a (prefix of a) run id names."""
    if not given.strip():
        raise UsageError("no run id given (`stedi history` lists them)")
    matches = [r for r in records if r.run_id.startswith(given.strip().lower())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no run {given} in this warehouse (`stedi history` lists them)")
    raise UsageError(f"{given} names {len(matches)} runs; give more of the run id")


def reachable(warehouse: Warehouse, record: RunRecord) -> bool:
    """Whether every table's snapshot of a run is still kept."""
    if record.outcome not in REACHABLE_OUTCOMES or not record.tables:
        return False
    names = set(warehouse.table_names())
    for name, (snapshot, _) in record.tables.items():
        if snapshot is None or name not in names or warehouse.load(name).snapshot_by_id(snapshot) is None:
            return False
    return True


def reachable_runs(warehouse: Warehouse, records: list[RunRecord]) -> list[RunRecord]:
    return [r for r in records if reachable(warehouse, r)]


def _unreachable(warehouse: Warehouse, records: list[RunRecord], what: str) -> WarehouseError:
    kept = [f"{r.run_id[:12]} ({r.at:%Y-%m-%d %H:%M:%S}Z)" for r in reachable_runs(warehouse, records)]
    listed = ", ".join(kept) if kept else "none"
    return WarehouseError(
        f"{what} is no longer reachable: its snapshots were expired (by `stedi maintain` or by an erasure); "
        f"runs still reachable: {listed}"
    )


def run_snapshots(warehouse: Warehouse, given: str) -> tuple[RunRecord, dict[str, int]]:
    """The run and the snapshot of every table it left, checked to be reachable."""
    records = runs(warehouse)
    record = find_run(records, given)
    if record.outcome not in REACHABLE_OUTCOMES:
        raise WarehouseError(
            f"run {record.run_id[:12]} published nothing ({record.outcome}): there is no state of it to go back to"
        )
    if not reachable(warehouse, record):
        raise _unreachable(warehouse, records, f"run {record.run_id[:12]}")
    return record, {name: s for name, (s, _) in record.tables.items() if s is not None}


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{text!r} is neither a run id nor an ISO-8601 time (2026-12-01T10:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def snapshots_at(warehouse: Warehouse, moment: datetime) -> dict[str, int]:
    """The snapshot of every table current at a time (tables that did not exist yet are left out)."""
    millis = int(moment.timestamp() * 1000)
    found: dict[str, int] = {}
    for name in warehouse.table_names():
        table = warehouse.load(name)
        entries = [e for e in table.history() if e.timestamp_ms <= millis]
        if not entries:
            continue
        snapshot = entries[-1].snapshot_id
        if table.snapshot_by_id(snapshot) is None:
            raise _unreachable(warehouse, runs(warehouse), f"the state of {name} at {moment.isoformat()}")
        found[name] = snapshot
    if not found:
        raise WarehouseError(f"no table of the warehouse existed at {moment.isoformat()}")
    return found


def as_of(warehouse: Warehouse, given: str) -> dict[str, int]:
    """The snapshots `--as-of` names: a run (id or prefix), or an ISO-8601 time."""
    records = runs(warehouse)
    if any(r.run_id.startswith(given.lower()) for r in records) and len(given) >= 4:
        return run_snapshots(warehouse, given)[1]
    return snapshots_at(warehouse, parse_time(given))


def history_table(records: list[RunRecord]) -> pa.Table:
    """The runs as rows for `stedi history`: one row per run and table."""
    rows: dict[str, list[object]] = {
        c: [] for c in ("run_id", "at", "engine", "settings", "outcome", "table", "snapshot_id", "rows")
    }
    for r in records:
        settings = f"consent-policy {r.consent_policy}, ml-join {r.ml_join}" + (f", {r.detail}" if r.detail else "")
        for name, (snapshot, count) in sorted(r.tables.items()) or [("", (None, 0))]:
            for column, value in zip(rows, (r.run_id[:12], r.at.strftime("%Y-%m-%d %H:%M:%SZ"), r.engine, settings,
                                            r.outcome, name, snapshot, count), strict=True):  # fmt: skip
                rows[column].append(value)
    return pa.table(
        {
            **{c: pa.array(rows[c], pa.string()) for c in ("run_id", "at", "engine", "settings", "outcome", "table")},
            "snapshot_id": pa.array(rows["snapshot_id"], pa.int64()),
            "rows": pa.array(rows["rows"], pa.int64()),
        }
    )
