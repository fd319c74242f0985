"""`stedi maintain`, and the retention every run applies: history kept for the last runs, every other
byte reclaimed.

Kept: each table's current snapshot, the snapshots of the last N runs that published (default 10),
and with `--older-than`, every snapshot younger than that. Everything else expires, and every file
no kept snapshot needs is deleted, inside the warehouse only: older data files, manifests, metadata
files, and the files of runs that were killed before they committed. With `--compact`, a table made
of many small files is rewritten into few (the same rows, in a commit of its own).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from stedi.contract.tables import ERASURE_TABLE, HISTORY_TABLE
from stedi.errors import UsageError
from stedi.pipeline.history import REACHABLE_OUTCOMES, runs
from stedi.storage import is_remote
from stedi.warehouse import maintenance
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.locking import writer_lock
from stedi.warehouse.maintenance import Reclaimed

DEFAULT_KEEP_RUNS = 10
# Without the lock (object storage), another writer may be committing files right now: only files
# older than this are taken for orphans.
REMOTE_MIN_AGE_S = 3600.0
SMALL_FILE_BYTES = 32 << 20  # compaction: tables whose files average less than this
SMALL_FILES = 8  # ...and that have at least this many


@dataclass
class MaintainResult:
    reclaimed: Reclaimed = field(default_factory=Reclaimed)
    per_table: dict[str, Reclaimed] = field(default_factory=dict)
    compacted: list[str] = field(default_factory=list)
    kept_runs: int = 0


def parse_duration(text: str) -> timedelta:
    """`7d`, `12h`, `30m`, `45s` (or a plain number of seconds)."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    raw = text.strip().lower()
    factor = units.get(raw[-1:], 1)
    number = raw[:-1] if raw[-1:] in units else raw
    try:
        value = float(number) * factor
    except ValueError:
        raise UsageError(f"--older-than must be a duration such as 7d, 12h or 30m, not {text!r}") from None
    if value < 0 or value != value:
        raise UsageError(f"--older-than must be a duration such as 7d, 12h or 30m, not {text!r}")
    return timedelta(seconds=value)


def kept_snapshots(
    warehouse: Warehouse, keep_runs: int, older_than: timedelta | None = None
) -> tuple[dict[str, set[int]], int]:
    """Per table, the snapshots the retention keeps (besides the current one), and how many runs."""
    if keep_runs < 0:
        raise UsageError("--keep-runs must be 0 or more")
    recent = [r for r in runs(warehouse) if r.outcome in REACHABLE_OUTCOMES][:keep_runs]
    keep: dict[str, set[int]] = {}
    for record in recent:
        for name, (snapshot, _) in record.tables.items():
            if snapshot is not None:
                keep.setdefault(name, set()).add(snapshot)
    if older_than is not None:
        cutoff = (time.time() - older_than.total_seconds()) * 1000
        for name in warehouse.table_names():
            young = {s.snapshot_id for s in warehouse.load(name).snapshots() if s.timestamp_ms >= cutoff}
            keep.setdefault(name, set()).update(young)
    return keep, len(recent)


def apply_retention(warehouse: Warehouse, keep_runs: int = DEFAULT_KEEP_RUNS, sweep: bool = False,
                    older_than: timedelta | None = None) -> MaintainResult:  # fmt: skip
    """Expire what the retention does not keep; with `sweep`, also every orphan file."""
    keep, kept_runs = kept_snapshots(warehouse, keep_runs, older_than)
    result = MaintainResult(kept_runs=kept_runs)
    min_age = REMOTE_MIN_AGE_S if is_remote(warehouse.location) else 0.0
    for name in warehouse.table_names():
        # The log tables: their current snapshot holds every row there ever was.
        kept = set() if name in (HISTORY_TABLE, ERASURE_TABLE) else keep.get(name, set())
        reclaimed = maintenance.expire(warehouse, name, kept, sweep=sweep, min_age_s=min_age)
        result.per_table[name] = reclaimed
        result.reclaimed.add(reclaimed)
    return result


def maintain(
    location: str,
    catalog: str | None = None,
    keep_runs: int = DEFAULT_KEEP_RUNS,
    older_than: timedelta | None = None,
    compact: bool = False,
) -> MaintainResult:
    """Expire snapshots outside retention, delete every file no kept snapshot needs (orphans
    included), and with `compact` rewrite tables of many small files (holding the writer lock)."""
    with writer_lock(location):
        warehouse = Warehouse(location, catalog=catalog)
        compacted = _compact(warehouse) if compact else []
        result = apply_retention(warehouse, keep_runs, sweep=True, older_than=older_than)
        result.compacted = compacted
    return result


def _compact(warehouse: Warehouse) -> list[str]:
    import duckdb

    from stedi.warehouse.rows import Rows
    from stedi.warehouse.scan import attach
    from stedi.warehouse.writes import write

    done = []
    for name in warehouse.table_names():
        plan = warehouse.data_files(name)
        if plan is None or len(plan[0]) < SMALL_FILES:
            continue
        table = warehouse.load(name)
        current = table.current_snapshot()
        size = int(current.summary["total-files-size"]) if current and current.summary else 0
        if size / len(plan[0]) >= SMALL_FILE_BYTES:
            continue
        con = duckdb.connect()  # streamed from the files to the new ones: a table of any size
        try:
            attach(con, warehouse, name, "rows")
            write(warehouse, name, Rows(con, "rows"), force=True)
        finally:
            con.close()
        done.append(name)
    return done
