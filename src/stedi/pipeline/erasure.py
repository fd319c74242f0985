"""Erasure: `stedi forget` removes people from every table and from the tables' history.

Rows are found through identity and ownership: the normalised email (customer records, phone
readings by `user`), the readings the person owns (step-trainer readings, by the ownership rule of
SEMANTICS.md), quarantined raw text that contains the email, and `subject_id` in the ML table. Each
changed table is rewritten in one commit; then every older snapshot is expired and every file the
current snapshot does not reference is deleted, so the bytes are gone, not just hidden. The erasure
ledger keeps only keyed hashes (`subject_id`s), so that later runs suppress the same people.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs

from stedi.contract import privacy
from stedi.contract.sources import SOURCES
from stedi.contract.tables import TRANSFORMS
from stedi.reading.coerce import TRIM_CHARS
from stedi.reading.landing import discover, open_root, read_bytes
from stedi.warehouse.catalog import Warehouse, local_table_names
from stedi.warehouse.locking import writer_lock
from stedi.warehouse.storage import filesystem

if TYPE_CHECKING:
    from stedi.engines import Engine

LEDGER = "erasure_ledger"
NORMALISED = "LOWER(TRIM(BOTH ' ' || CHR(9) || CHR(10) || CHR(13) FROM {}))"
# What each table keeps when the people in `erased(email, subject_id)` are forgotten.
KEEP = {
    "customer_landing": f"SELECT * FROM customer_landing WHERE {NORMALISED.format('email')} NOT IN (SELECT email FROM erased)",
    "accelerometer_landing": f"SELECT * FROM accelerometer_landing WHERE {NORMALISED.format('user')} NOT IN (SELECT email FROM erased)",
    "step_trainer_landing": (
        "SELECT * FROM step_trainer_landing AS s WHERE NOT EXISTS (SELECT 1 FROM step_trainer_owner AS o"
        " WHERE o.serialNumber = s.serialNumber AND o.sensorReadingTime = s.sensorReadingTime"
        " AND o.email IN (SELECT email FROM erased))"
    ),
    **{
        f"{s.name}_quarantine": (
            f"SELECT * FROM {s.name}_quarantine AS q"
            " WHERE NOT EXISTS (SELECT 1 FROM erased AS e WHERE contains(lower(q.raw_text), e.email))"
        )
        for s in SOURCES
    },
    "customer_trusted": "SELECT * FROM customer_trusted WHERE email NOT IN (SELECT email FROM erased)",
    "customer_curated": "SELECT * FROM customer_curated WHERE email NOT IN (SELECT email FROM erased)",
    "accelerometer_trusted": "SELECT * FROM accelerometer_trusted WHERE user NOT IN (SELECT email FROM erased)",
    "step_trainer_trusted": "SELECT * FROM step_trainer_trusted WHERE email NOT IN (SELECT email FROM erased)",
    "machine_learning_curated": (
        "SELECT * FROM machine_learning_curated WHERE subject_id NOT IN (SELECT subject_id FROM erased)"
    ),
}
OWNERSHIP = ("customer_standing", "accelerometer_readings", "step_trainer_readings", "step_trainer_owner")


@dataclass
class ForgetResult:
    people: int
    removed: dict[str, int] = field(default_factory=dict)  # table -> rows removed
    files_deleted: int = 0
    landing_files: list[str] = field(default_factory=list)  # landing files that still hold someone
    seconds: float = 0.0


def normalise(email: str) -> str:
    return email.strip(TRIM_CHARS).lower()


def erased_relation(emails: list[str], key: bytes) -> pa.Table:
    """`erased(email, subject_id)` for the given (normalised) emails."""
    return privacy.subject_keys(emails, key)


def forget(warehouse: Warehouse, emails: list[str], landing: str | None = None) -> ForgetResult:
    """Remove the people from every table and its history (holding the warehouse's writer lock)."""
    with writer_lock(warehouse.location):
        return _forget(warehouse, emails, landing)


def _forget(warehouse: Warehouse, emails: list[str], landing: str | None) -> ForgetResult:
    started = time.perf_counter()
    people = sorted({normalise(e) for e in emails if normalise(e)})
    result = ForgetResult(len(people))
    key = privacy.subject_key()
    erased = erased_relation(people, key)
    names = warehouse.table_names()
    con = duckdb.connect()
    tables = {name: warehouse.read(name) for name in names if name in KEEP}
    for name, data in tables.items():
        con.register(name, data)
    con.register("erased", erased)
    if all(s.landing_table in tables for s in SOURCES):
        for step in (t for t in TRANSFORMS if t.name in OWNERSHIP):
            con.execute(f"CREATE TABLE {step.name} AS {step.sql}").fetchall()
    for name, data in tables.items():
        if name == "step_trainer_landing" and "step_trainer_owner" not in {
            r[0] for r in con.execute("SHOW TABLES").fetchall()
        }:
            continue
        kept = con.sql(KEEP[name]).to_arrow_table()
        if kept.num_rows != data.num_rows:
            result.removed[name] = data.num_rows - kept.num_rows
            warehouse.write(name, kept.cast(data.schema))
    con.close()
    _record(warehouse, erased, names)
    branched = [n for n in names if n not in result.removed and len(warehouse.load(n).metadata.refs) > 1]
    for name in [*result.removed, *branched, LEDGER]:
        result.files_deleted += purge_history(warehouse, name)
    from stedi.report import write_report

    write_report(warehouse)  # the report shows masked samples, but it is rebuilt from what is left
    if landing:
        result.landing_files = landing_files_holding(landing, people)
    result.seconds = time.perf_counter() - started
    return result


def _record(warehouse: Warehouse, erased: pa.Table, names: list[str]) -> None:
    """Add the subjects to the erasure ledger (keyed hashes only, never the email)."""
    new = erased.select(["subject_id"])
    now = int(time.time() * 1000)
    new = new.append_column("erased_at", pa.array([now] * new.num_rows, pa.int64()))
    if LEDGER in names:
        old = warehouse.read(LEDGER)
        seen = set(old.column("subject_id").to_pylist())
        new = pa.concat_tables(
            [old, new.filter(pa.array([s not in seen for s in new.column("subject_id").to_pylist()]))]
        )
    warehouse.write(LEDGER, new)


def ledger_absent(location: str, catalog: str | None) -> bool:
    """True when a warehouse's default SQLite catalog certainly has no erasure ledger (read directly)."""
    names = local_table_names(location, catalog)
    return names is not None and LEDGER not in names


def ledger_subjects(warehouse: Warehouse) -> set[str]:
    if LEDGER not in warehouse.table_names():
        return set()
    return set(warehouse.read(LEDGER).column("subject_id").to_pylist())


def purge_history(warehouse: Warehouse, name: str) -> int:
    """Expire every snapshot but the current one and delete every file it does not reference."""
    table = warehouse.load(name)
    if branches := [ref for ref in table.metadata.refs if ref != "main"]:
        # An audit branch of a run whose checks failed holds unpublished rows: they go too.
        with table.manage_snapshots() as manage:
            for ref in branches:
                manage.remove_branch(ref)
        table = warehouse.load(name)
    current = table.current_snapshot()
    older = [s.snapshot_id for s in table.snapshots() if current is None or s.snapshot_id != current.snapshot_id]
    if older:
        table.maintenance.expire_snapshots().by_ids(older).commit()
        table = warehouse.load(name)
        current = table.current_snapshot()
    keep = {_key(table.metadata_location)}
    if current is not None:
        keep.add(_key(current.manifest_list))
        for manifest in current.manifests(table.io):
            keep.add(_key(manifest.manifest_path))
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                keep.add(_key(entry.data_file.file_path))
    fs, base = filesystem(table.location())
    deleted = 0
    for info in fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
        if info.type == pafs.FileType.File and _key(info.path) not in keep:
            fs.delete_file(info.path)
            deleted += 1
    return deleted


def _key(location: str) -> str:
    """A file location as the filesystem lists it (no scheme)."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return parsed.path
    return f"{parsed.netloc}{parsed.path}"


def landing_files_holding(landing: str, emails: list[str]) -> list[str]:
    """Landing files that contain any of the emails (any case; .gz decompressed): not ours to delete."""
    needles = [e.encode("utf-8") for e in emails]
    fs, _ = open_root(landing)
    found = []
    for source in SOURCES:
        files, _ = discover(landing, source.name)
        for file in files:
            data, _error = read_bytes(fs, file)
            lowered = data.lower()
            if any(n in lowered for n in needles):
                found.append(file.relative)
    return found


def suppress_erased(engine: Engine, subjects: set[str], key: bytes) -> int:
    """Drop the records of erased people from the landing relations of a run (before anything is built).

    The landing emails are hashed with the subject key and compared with the ledger; ownership of
    step-trainer readings is decided with everyone's records, as in the pipeline, before the erased
    people's own records are dropped.
    """
    engine.build(
        "landing_emails",
        f"SELECT DISTINCT {NORMALISED.format('email')} AS email FROM customer_landing"
        f" UNION SELECT DISTINCT {NORMALISED.format('user')} AS email FROM accelerometer_landing",
    )
    emails = [str(e) for e in engine.values("landing_emails", "email")]
    hits = sorted(e for e in emails if privacy.subject_id(key, e) in subjects)
    if not hits:
        return 0
    engine.load("erased", erased_relation(hits, key))
    for step in (t for t in TRANSFORMS if t.name in OWNERSHIP):
        engine.build(step.name, step.sql, view=step.view)
    landing = [name for s in SOURCES for name in (s.landing_table, s.quarantine_table)]
    before = sum(engine.scalars([f"SELECT COUNT(*) FROM {name}" for name in landing]))
    for name in landing:
        engine.build(f"{name}__kept", KEEP[name])
        engine.rename(f"{name}__kept", name)
    return before - sum(engine.scalars([f"SELECT COUNT(*) FROM {name}" for name in landing]))
