"""The Spark engine's table writer: write-audit-publish on the audit branch, as the embedded engine.

Spark writes each staged table to the branch `stedi-audit` (Iceberg's `spark.wap.branch`, which
starts the branch at the table's current snapshot), so nothing is visible before the checks pass; the
snapshots are then published through pyiceberg, after every one of them was found still to descend
from the table's main branch as the run planned it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stedi import faults
from stedi.contract.sources import SOURCES
from stedi.contract.tables import LEDGER_TABLE
from stedi.engines.base import Capabilities, TableWriter, publish_commits
from stedi.engines.spark_catalogs import CATALOG
from stedi.warehouse.catalog import NAMESPACE, table_state
from stedi.warehouse.writes import (
    ANY_SNAPSHOT,
    AUDIT_BRANCH,
    FINGERPRINT,
    TARGET_FILE_BYTES,
    Commit,
    nulls_refused,
    overtaken,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from stedi.engines.spark import SparkEngine
    from stedi.warehouse.catalog import Warehouse

WAP_ENABLED = "write.wap.enabled"  # Iceberg writes to `spark.wap.branch` only for tables that allow it


class SparkWriter(TableWriter):
    """Stages tables on the audit branch with Spark; publishes them with pyiceberg.

    A table whose rows and properties equal its current snapshot's is not written again (no new
    snapshot): the rows are compared by a fingerprint (count and an order-free sum of row hashes)
    stored on each snapshot Spark writes.
    """

    capabilities = Capabilities(skips_unchanged=True, stages_on_branch=True, checks_expected=True, appends=True)

    def __init__(self, engine: SparkEngine) -> None:
        self.engine = engine
        self._pending: dict[str, tuple[str | None, dict[str, str], object]] = {}
        self._commits: dict[str, Commit] = {}

    def stage(
        self,
        name: str,
        *,
        append_from: str | None = None,
        properties: dict[str, str] | None = None,
        expected: object = ANY_SNAPSHOT,
    ) -> None:
        self._commits.pop(name, None)
        self._pending[name] = (append_from, properties or {}, expected)

    def staged(self) -> dict[str, Commit]:
        wrote = bool(self._pending)
        while self._pending:
            name = next(iter(self._pending))
            append_from, properties, expected = self._pending.pop(name)
            if name == LEDGER_TABLE:  # staged last: the landing tables' snapshots are known now
                self._with_landing_snapshots()
            self._commits[name] = self._stage_one(name, append_from, properties, expected)
        if wrote:
            # Spark's catalog connections hold the SQLite catalog's lock: released while the checks
            # run, for pyiceberg (which publishes) and other processes.
            self.engine.release_catalog()
        return dict(self._commits)

    def publish_staged(self) -> dict[str, Commit]:
        commits = self.staged()
        published = publish_commits(self.engine.session, commits)
        self._commits.clear()
        return published

    def _stage_one(self, name: str, append_from: str | None, given: dict[str, str], expected: object) -> Commit:
        started = time.perf_counter()
        target = f"{CATALOG}.{NAMESPACE}.{name}"
        frame = self.engine.frame(name)
        columns = frame.columns
        state = self.engine.session.run(lambda w: _TableState.of(w, name, columns))
        current = state.snapshot_id
        if expected is not ANY_SNAPSHOT and current != expected:
            raise overtaken(name)
        measured = _measure(frame, state.required)
        if measured.nulls:
            raise nulls_refused(name, measured.nulls)
        properties = {**given, FINGERPRINT: measured.fingerprint}
        if current is not None and all(state.properties.get(k) == v for k, v in properties.items()):
            return Commit(name, state.rows, current, False, time.perf_counter() - started)
        self._prepare(target, frame, state)
        added = self.engine.frame(append_from) if append_from is not None and current is not None else None
        writer = (added if added is not None else frame).writeTo(target).option("check-nullability", "false")
        for key, value in properties.items():
            writer = writer.option(f"snapshot-property.{key}", value)
        faults.point(f"commit:{name}")
        spark = self.engine.spark
        # The branch restarted at the current snapshot before the write, so that the snapshot's
        # summary carries the table's totals (Iceberg leaves them out when the write creates the branch).
        restart = "CREATE OR REPLACE BRANCH" if current is not None else "DROP BRANCH IF EXISTS"
        spark.sql(f"ALTER TABLE {target} {restart} `{AUDIT_BRANCH}`")
        spark.conf.set("spark.wap.branch", AUDIT_BRANCH)
        try:
            if added is not None:
                writer.append()
            else:
                from pyspark.sql import functions as F

                writer.overwrite(F.lit(True))
        finally:
            spark.conf.unset("spark.wap.branch")
        ((snapshot_id,),) = spark.sql(f"SELECT snapshot_id FROM {target}.refs WHERE name = '{AUDIT_BRANCH}'").collect()
        return Commit(name, measured.rows, int(snapshot_id), True, time.perf_counter() - started, staged=True)

    def _prepare(self, target: str, frame: DataFrame, state: _TableState) -> None:
        """The table made ready for a write to the audit branch: created (with no snapshot) from the
        relation's columns, or widened by the columns it lacks, and allowed to take branch writes."""
        spark = self.engine.spark
        columns = {f.name: f"`{f.name}` {f.dataType.simpleString()}" for f in frame.schema.fields}
        properties = f"'{WAP_ENABLED}' = 'true', 'write.target-file-size-bytes' = '{TARGET_FILE_BYTES}'"
        if not state.exists:
            spark.sql(f"CREATE TABLE IF NOT EXISTS {target} ({', '.join(columns.values())}) USING iceberg "
                      f"TBLPROPERTIES ({properties})")  # fmt: skip
        elif state.missing:
            spark.sql(f"ALTER TABLE {target} ADD COLUMNS ({', '.join(columns[c] for c in state.missing)})")
        if state.exists and not state.wap_enabled:
            spark.sql(f"ALTER TABLE {target} SET TBLPROPERTIES ('{WAP_ENABLED}' = 'true')")

    def _with_landing_snapshots(self) -> None:
        """Files this run ingested are in the snapshot its landing table is staged (and then published) at."""
        from pyspark.sql import functions as F

        ledger = self.engine.frame(LEDGER_TABLE)
        staged = {
            s.name: self._commits[s.landing_table].snapshot_id for s in SOURCES if s.landing_table in self._commits
        }
        snapshot = F.lit(None).cast("bigint")
        for source, snapshot_id in staged.items():
            if snapshot_id is not None:
                snapshot = F.when(F.col("source") == source, F.lit(snapshot_id)).otherwise(snapshot)
        filled = ledger.withColumn("snapshot_id", F.coalesce(F.col("snapshot_id"), snapshot))
        self.engine.register(LEDGER_TABLE, filled.select(*ledger.columns))


@dataclass(frozen=True)
class _TableState:
    """What a write needs to know of a table before Spark writes it."""

    exists: bool
    snapshot_id: int | None  # the main branch's snapshot
    rows: int
    properties: dict[str, str]  # the `stedi.*` properties of that snapshot
    required: list[str]  # of the relation's columns, those the table requires
    missing: list[str]  # the relation's columns the table lacks
    wap_enabled: bool

    @classmethod
    def of(cls, warehouse: Warehouse, name: str, columns: list[str]) -> _TableState:
        if name not in warehouse.table_names():
            return cls(False, None, 0, {}, [], [], False)
        table = warehouse.load(name)
        snapshot_id, rows, properties = table_state(table)
        fields = table.schema().fields
        known = {f.name for f in fields}
        required = [f.name for f in fields if f.required and f.name in columns]
        wap = table.metadata.properties.get(WAP_ENABLED) == "true"
        return cls(True, snapshot_id, rows, properties, required, [c for c in columns if c not in known], wap)


@dataclass(frozen=True)
class _Measure:
    rows: int
    fingerprint: str
    nulls: list[str]  # required columns holding nulls


def _measure(frame: DataFrame, required: list[str]) -> _Measure:
    """The rows of a relation in one pass: their count, a fingerprint (the count, an order-free sum
    of row hashes, the schema), and the required columns that hold nulls."""
    nulls = [f"count_if(`{c}` IS NULL)" for c in required]
    (row,) = frame.selectExpr("count(*)", "sum(cast(xxhash64(*) AS decimal(38,0)))", *nulls).collect()
    count, total, *null_counts = row
    fingerprint = f"spark:{count}:{total or 0}:{frame.schema.simpleString()}"
    return _Measure(int(count), fingerprint, [c for c, n in zip(required, null_counts, strict=True) if n])
