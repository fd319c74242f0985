"""Incremental runs: only new landing files are read, and the tables always equal a full rebuild."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stedi.engines.duckdb import DuckDBEngine
from stedi.errors import StepError, WarehouseError
from stedi.pipeline.forget import forget
from stedi.pipeline.query import query
from stedi.stages import extendable, extending, planning
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.writes import write
from tests.support.corpora import (
    BATCHES,
    STARTER_COUNTS,
    assert_same_tables,
    build,
    copy_files,
    corpus,
    empty_landing,
    snapshots,
    starter_files,
)
from tests.support.defects import write_defect_landing

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def extend_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """These small landings take the path of large ones: tables after the landing tables are
    extended with new rows where they can be (see stages.extending), and must equal a full rebuild."""
    monkeypatch.setattr(extendable, "MIN_LANDING_BYTES", 0)


@pytest.fixture(scope="module")
def starter_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("reference") / "wh"
    import os

    os.environ["STEDI_SUBJECT_KEY"] = "test-subject-key"
    build(corpus("stedi-starter"), warehouse)
    return warehouse


def test_three_batches_give_the_tables_of_one_full_run(tmp_path: Path, starter_reference: Path) -> None:
    landing = empty_landing(tmp_path / "landing")
    files = starter_files()
    read = []
    for batch in BATCHES:
        copy_files(files[batch], corpus("stedi-starter"), landing)
        result = build(landing, tmp_path / "wh")
        read.append(sum(s.files for s in result.sources))
    assert read == [4, 5, 4]  # each run read only its new files
    assert_same_tables(tmp_path / "wh", starter_reference)
    wh = Warehouse(tmp_path / "wh")
    assert {name: wh.describe(name).rows for name in STARTER_COUNTS} == STARTER_COUNTS


def test_an_extending_runs_reason_counts_and_checks_are_a_full_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New phone files: the counts that are sums over rows are the last run's corrected by the new
    rows (asked of the engine as such), and every count and check equals a full run's."""
    files = starter_files()
    later = [f for f in files if "/accelerometer/" in f.as_posix()][-3:]
    landing = empty_landing(tmp_path / "landing")
    copy_files([f for f in files if f not in later], corpus("stedi-starter"), landing)
    build(landing, tmp_path / "wh")
    copy_files(later, corpus("stedi-starter"), landing)
    asked: list[str] = []
    real = DuckDBEngine.rows_of_each

    def spied(self, queries):  # type: ignore[no-untyped-def]
        asked.extend(queries)
        return real(self, queries)

    with monkeypatch.context() as patched:
        patched.setattr(DuckDBEngine, "rows_of_each", spied)
        extended = build(landing, tmp_path / "wh")
    reference = build(landing, tmp_path / "reference")

    corrected = [q for q in asked if q.split(" ")[1].isdigit() and "accelerometer_readings__delta" in q]
    assert corrected, asked
    assert any(n.startswith(extending.NOTE_PREFIX) for n in extended.notes)
    assert [(t.name, t.rows_in, t.rows_out, t.drops) for t in extended.tables] == [
        (t.name, t.rows_in, t.rows_out, t.drops) for t in reference.tables
    ]
    assert [(c.table, c.description, c.status, c.value) for c in extended.checks] == [
        (c.table, c.description, c.status, c.value) for c in reference.checks
    ]
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")


def test_defect_landing_in_batches_equals_a_full_run(tmp_path: Path) -> None:
    full = write_defect_landing(tmp_path / "full")
    build(full, tmp_path / "reference")
    files = sorted(p for p in full.rglob("*") if p.is_file())
    landing = empty_landing(tmp_path / "landing")
    for part in (files[: len(files) // 3], files[len(files) // 3 : 2 * len(files) // 3], files[2 * len(files) // 3 :]):
        copy_files(part, full, landing)
        build(landing, tmp_path / "wh")
    assert Warehouse(tmp_path / "wh").describe("customer_quarantine").rows == 4
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")


def test_rerun_with_nothing_new_reads_nothing_and_adds_no_snapshot(tmp_path: Path) -> None:
    landing = corpus("stedi-starter")
    build(landing, tmp_path / "wh")
    before = snapshots(tmp_path / "wh")
    result = build(landing, tmp_path / "wh")
    assert [s.files for s in result.sources] == [0, 0, 0]
    assert [s.files_found for s in result.sources] == [1, 9, 3]
    assert all(not t.changed for t in result.tables)
    assert snapshots(tmp_path / "wh") == before
    assert result.outcome == "unchanged"
    assert "read" not in result.stages and "build" not in result.stages  # stopped after planning
    assert {t.name: t.rows_out for t in result.tables if t.name in STARTER_COUNTS} == STARTER_COUNTS


def test_a_rerun_with_other_settings_rebuilds(tmp_path: Path) -> None:
    landing = corpus("stedi-starter")
    build(landing, tmp_path / "wh")
    result = build(landing, tmp_path / "wh", ml_join="timestamp")
    assert "build" in result.stages and result.outcome == "published"
    assert result.table("machine_learning_curated").changed
    again = build(landing, tmp_path / "wh", ml_join="timestamp")
    assert again.outcome == "unchanged" and "build" not in again.stages


def test_a_rerun_after_an_erasure_rebuilds_and_keeps_the_person_out(tmp_path: Path) -> None:
    landing = corpus("stedi-starter")
    build(landing, tmp_path / "wh")
    person = query(Warehouse(tmp_path / "wh"), "SELECT MIN(email) AS e FROM customer_curated").column("e")[0].as_py()
    forget(str(tmp_path / "wh"), [person])
    after_forget = snapshots(tmp_path / "wh")
    result = build(landing, tmp_path / "wh")
    assert "build" in result.stages  # the tables changed since the last build: no shortcut
    rebuilt = snapshots(tmp_path / "wh")
    # The rebuild gives the tables forget left (the ledger's per-file counts catch up with the erasure).
    assert {n: s for n, s in rebuilt.items() if n != "ingested_files"} == {
        n: s for n, s in after_forget.items() if n != "ingested_files"
    }
    again = build(landing, tmp_path / "wh")
    assert again.outcome == "unchanged" and "build" not in again.stages
    emails = query(Warehouse(tmp_path / "wh"), "SELECT email FROM customer_curated").column("email").to_pylist()
    assert person not in emails


def _changed_keeping_size_and_time_is_found(landing: Path, warehouse: Path, scratch: Path) -> None:
    """A customer file changed with its size and modification time kept: the next run reads it
    again, and the tables equal a full run's."""
    path = landing / "customer" / "landing" / "customer-1691348231425.json"
    before = path.stat()
    data = path.read_bytes()
    changed = data.replace(b'"shareWithResearchAsOfDate":', b'"shareWithResearchAsOfDatX":', 1)
    assert len(changed) == len(data) and changed != data
    path.write_bytes(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = build(landing, warehouse)
    assert result.outcome == "published" and [s.files for s in result.sources] == [1, 0, 0]
    shutil.copytree(landing, scratch / "fresh")
    build(scratch / "fresh", scratch / "reference")
    assert_same_tables(warehouse, scratch / "reference")


def test_a_same_size_same_time_change_is_not_missed_by_the_shortcut(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(corpus("stedi-starter"), landing)
    build(landing, tmp_path / "wh")
    _changed_keeping_size_and_time_is_found(landing, tmp_path / "wh", tmp_path)


def test_a_look_changed_without_content_is_hashed_once_and_a_later_change_is_still_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "RACY_NS", 0)  # looks settle at once (else two seconds after a change)
    hashed: list[str] = []
    real = planning.digest_of
    monkeypatch.setattr(planning, "digest_of", lambda fs, f: hashed.append(f.relative) or real(fs, f))
    landing = tmp_path / "landing"
    shutil.copytree(corpus("stedi-starter"), landing)
    build(landing, tmp_path / "wh")
    published = snapshots(tmp_path / "wh")
    files = sorted(landing.rglob("*.json"))
    for path in files:
        path.chmod(0o640)  # a new change time, the same content
    hashed.clear()
    assert build(landing, tmp_path / "wh").outcome == "unchanged"
    assert len(hashed) == len(files)  # in doubt: hashed, found unchanged
    hashed.clear()
    assert build(landing, tmp_path / "wh").outcome == "unchanged"
    assert hashed == []  # the looks confirmed by the run before are trusted
    assert snapshots(tmp_path / "wh") == published  # keeping them added no snapshot
    _changed_keeping_size_and_time_is_found(landing, tmp_path / "wh", tmp_path)


def test_ledger_has_path_content_hash_and_counts_of_each_file(tmp_path: Path) -> None:
    build(corpus("stedi-starter"), tmp_path / "wh")
    ledger = query(Warehouse(tmp_path / "wh"), "SELECT * FROM ingested_files ORDER BY path").to_pylist()
    root = corpus("stedi-starter")
    assert [r["path"] for r in ledger] == sorted(p.relative_to(root).as_posix() for p in starter_files())
    for r in ledger:
        data = (root / r["path"]).read_bytes()
        assert r["content_hash"] == hashlib.sha256(data).hexdigest()
        assert r["bytes"] == len(data)
        assert r["records"] == data.count(b"\n")  # the starter files hold one valid record a line
        assert r["quarantined"] == 0
    landing_snapshot = Warehouse(tmp_path / "wh").describe("accelerometer_landing").snapshot_id
    assert {r["snapshot_id"] for r in ledger if r["source"] == "accelerometer"} == {landing_snapshot}


def test_a_changed_file_is_reported_and_its_rows_replaced(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(corpus("stedi-starter"), landing)
    build(landing, tmp_path / "wh")
    target = next((landing / "customer" / "landing").glob("*.json"))
    lines = target.read_text().splitlines()
    target.write_text("\n".join([*lines[:-100], '{"email": "broken"', lines[-1]]) + "\n")
    result = build(landing, tmp_path / "wh")
    assert [s.files for s in result.sources] == [1, 0, 0]
    assert any("changed since it was ingested" in n and target.name in n for n in result.notes)
    build(landing, tmp_path / "reference")
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")
    wh = Warehouse(tmp_path / "wh")
    assert (wh.describe("customer_landing").rows, wh.describe("customer_quarantine").rows) == (956 - 99, 1)


def test_renamed_copied_and_removed_files(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(corpus("stedi-starter"), landing)
    build(landing, tmp_path / "wh")
    accel = sorted((landing / "accelerometer" / "landing").glob("*.json"))
    (landing / "accelerometer" / "landing" / "archive").mkdir()
    accel[0].rename(landing / "accelerometer" / "landing" / "archive" / accel[0].name)
    step = sorted((landing / "step_trainer" / "landing").glob("*.json"))
    shutil.copyfile(step[0], step[0].with_name("copy.json"))
    accel[1].unlink()
    result = build(landing, tmp_path / "wh")
    assert [s.files for s in result.sources] == [0, 0, 0]  # nothing is read again
    notes = "\n".join(result.notes)
    assert f"archive/{accel[0].name} is renamed from accelerometer/landing/{accel[0].name}" in notes
    assert f"copy.json is a copy of step_trainer/landing/{step[0].name}" in notes
    assert f"accelerometer/landing/{accel[1].name} is no longer in the landing area" in notes
    build(landing, tmp_path / "reference")
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")
    assert Warehouse(tmp_path / "wh").describe("step_trainer_landing").rows == 28680 + 10000


def test_full_refresh_reads_everything_and_changes_nothing_that_is_equal(tmp_path: Path) -> None:
    build(corpus("stedi-starter"), tmp_path / "wh")
    before = snapshots(tmp_path / "wh")
    result = build(corpus("stedi-starter"), tmp_path / "wh", full_refresh=True)
    assert [s.files for s in result.sources] == [1, 9, 3]
    assert snapshots(tmp_path / "wh") == before  # the same rows and file maps: no table moved


def test_a_failing_step_names_itself_and_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = empty_landing(tmp_path / "landing")
    files = starter_files()
    copy_files(files[BATCHES[0]], corpus("stedi-starter"), landing)
    build(landing, tmp_path / "wh")
    before = snapshots(tmp_path / "wh")
    copy_files(files[BATCHES[1]], corpus("stedi-starter"), landing)
    original = DuckDBEngine.build

    def failing(self: DuckDBEngine, name: str, sql: str, *, view: bool = False) -> None:
        if name == "customer_curated":
            raise RuntimeError("disk on fire")
        original(self, name, sql, view=view)

    monkeypatch.setattr(DuckDBEngine, "build", failing)
    with pytest.raises(StepError, match=r"stage build \(customer_curated\) failed: disk on fire"):
        build(landing, tmp_path / "wh")
    assert snapshots(tmp_path / "wh") == before  # nothing of the failed run was published
    monkeypatch.setattr(DuckDBEngine, "build", original)
    build(landing, tmp_path / "wh")  # the next run completes the work
    build(landing, tmp_path / "reference", full_refresh=True)
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")


def test_a_write_planned_against_an_older_snapshot_is_refused(tmp_path: Path) -> None:
    build(corpus("stedi-starter"), tmp_path / "wh")
    wh = Warehouse(tmp_path / "wh")
    current = wh.describe("customer_landing").snapshot_id
    data = wh.read("customer_landing")
    with pytest.raises(WarehouseError, match="changed by another writer"):
        write(wh, "customer_landing", data.slice(0, 10), expected=12345)
    assert wh.describe("customer_landing").snapshot_id == current
    empty = pa.Table.from_batches([], data.schema)
    assert write(wh, "customer_landing", data, append=empty, expected=current).changed is False


def test_two_runs_at_once_on_one_warehouse(tmp_path: Path, starter_reference: Path) -> None:
    command = [sys.executable, "-m", "stedi", "run", "--landing", str(corpus("stedi-starter"))]
    command += ["--warehouse", str(tmp_path / "wh")]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    # Whichever came first did the work; the other found nothing new and changed nothing.
    assert sorted(out.count("(unchanged, no new snapshot)") for out, _ in outputs) == [0, 12]
    assert_same_tables(tmp_path / "wh", starter_reference)


def test_the_july_2022_export_in_two_interleaved_batches_equals_a_full_run(tmp_path: Path) -> None:
    source = corpus("stedi-2022-07")
    files = sorted(p for p in source.rglob("*") if p.is_file())
    landing = empty_landing(tmp_path / "landing")
    for part in (files[::2], files[1::2]):  # truncated and empty files land in both batches
        copy_files(part, source, landing)
        build(landing, tmp_path / "wh", ml_join="timestamp")
    build(source, tmp_path / "reference", ml_join="timestamp")
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")
    assert Warehouse(tmp_path / "wh").describe("machine_learning_curated").rows == 10806


@pytest.mark.parametrize(("export", "ml_join"), [("stedi-2022-07", "owner"), ("stedi-2022-10", "owner"),
                                                 ("stedi-2022-10", "timestamp")])  # fmt: skip
def test_an_export_in_three_batches_newest_files_first_equals_a_full_run(
    tmp_path: Path, export: str, ml_join: str
) -> None:
    """Real exports, their files landing out of order: the tables of every batch after the first
    are extended from the rows of before, and must be the full rebuild's."""
    source = corpus(export)
    files = sorted((p for p in source.rglob("*") if p.is_file()), reverse=True)
    landing = empty_landing(tmp_path / "landing")
    notes = []
    for part in (files[::3], files[1::3], files[2::3]):
        copy_files(part, source, landing)
        notes += build(landing, tmp_path / "wh", ml_join=ml_join).notes
    build(source, tmp_path / "reference", ml_join=ml_join)
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")
    assert any(n.startswith(extending.NOTE_PREFIX) and "appended only the new rows" in n for n in notes)


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(batch_of=st.lists(st.integers(0, 3), min_size=13, max_size=13))
def test_any_split_of_the_starter_files_into_batches_equals_a_full_run(
    tmp_path_factory: pytest.TempPathFactory, starter_reference: Path, batch_of: list[int]
) -> None:
    tmp = tmp_path_factory.mktemp("split")
    landing = empty_landing(tmp / "landing")
    files = starter_files()
    for batch in sorted(set(batch_of)):
        copy_files([f for f, b in zip(files, batch_of, strict=True) if b == batch], corpus("stedi-starter"), landing)
        build(landing, tmp / "wh")
    assert_same_tables(tmp / "wh", starter_reference)
