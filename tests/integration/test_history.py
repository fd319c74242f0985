"""Every published state reachable, every dead byte reclaimed: history, time travel, rollback, plan
and maintenance."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.errors import WarehouseError
from stedi.pipeline.forget import forget
from stedi.pipeline.history import as_of, runs
from stedi.pipeline.maintain import apply_retention, maintain
from stedi.pipeline.plan import plan
from stedi.pipeline.query import query
from stedi.pipeline.rollback import rollback
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.maintenance import referenced
from tests.support.bytesearch import files_holding
from tests.support.cli import one_line_error, stedi, stedi_process
from tests.support.corpora import (
    BATCHES,
    assert_same_tables,
    copy_files,
    corpus,
    empty_landing,
    starter_files,
    table_rows,
)
from tests.support.landing import phone, small_landing

COUNTED = ("customer_landing", "accelerometer_landing", "step_trainer_landing", "accelerometer_trusted",
           "machine_learning_curated")  # fmt: skip


def _counts(warehouse: Path, snapshots: dict[str, int] | None = None) -> dict[str, int]:
    wh = Warehouse(warehouse)
    return {t: int(query(wh, f"SELECT count(*) FROM {t}", snapshots).column(0)[0].as_py()) for t in COUNTED}


def _data_bytes_on_disk(warehouse: Path) -> int:
    return sum(p.stat().st_size for p in warehouse.rglob("*.parquet"))


def _data_bytes_referenced(warehouse: Path) -> int:
    wh = Warehouse(warehouse)
    total = 0
    for name in wh.table_names():
        table = wh.load(name)
        keys = {k for k in referenced(wh, table, table.snapshots()) if k.endswith(".parquet")}
        total += sum(Path(k).stat().st_size for k in keys)
    return total


@pytest.fixture
def three_runs(tmp_path: Path) -> tuple[Path, Path, list[str], list[dict[str, int]]]:
    """The starter data in three batches, one run each: landing, warehouse, run ids and counts."""
    landing, warehouse = empty_landing(tmp_path / "landing"), tmp_path / "wh"
    files, ids, counts = starter_files(), [], []
    for batch in BATCHES:
        copy_files(files[batch], corpus("stedi-starter"), landing)
        ids.append(run(Settings(landing=str(landing), warehouse=str(warehouse))).run_id)
        counts.append(_counts(warehouse))
    return landing, warehouse, ids, counts


@pytest.mark.slow
def test_every_run_is_reachable_by_id_and_a_rollback_gives_its_tables(
    three_runs: tuple[Path, Path, list[str], list[dict[str, int]]], tmp_path: Path
) -> None:
    landing, warehouse, ids, counts = three_runs
    assert counts[0] != counts[1] != counts[2]
    wh = Warehouse(warehouse)
    for run_id, expected in zip(ids, counts, strict=True):
        assert _counts(warehouse, as_of(wh, run_id)) == expected
        assert _counts(warehouse, as_of(wh, run_id[:8])) == expected  # a prefix will do
    history = runs(wh)
    assert [r.run_id for r in history] == ids[::-1] and all(r.outcome == "published" for r in history)

    first_only = empty_landing(tmp_path / "first")
    copy_files(starter_files()[BATCHES[0]], corpus("stedi-starter"), first_only)
    run(Settings(landing=str(first_only), warehouse=str(tmp_path / "reference-1")))
    done = rollback(str(warehouse), ids[0])
    assert done.run.run_id == ids[0] and _counts(warehouse) == counts[0]
    assert_same_tables(warehouse, tmp_path / "reference-1")
    assert runs(Warehouse(warehouse))[0].outcome == "rolled back"

    again = run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert [s.files for s in again.sources] == [1, 5, 3]  # what came after the first run is read again
    run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(tmp_path / "reference")))
    assert_same_tables(warehouse, tmp_path / "reference")


def test_time_travel_by_time_and_a_clear_error_for_what_is_gone(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    first = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    (landing / "accelerometer" / "landing" / "more.json").write_text(phone("bob@x.com", 60) + "\n")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    wh = Warehouse(tmp_path / "wh")
    moment = runs(wh)[-1].at.isoformat()
    assert _counts(tmp_path / "wh", as_of(wh, moment))["accelerometer_landing"] == 4
    assert _counts(tmp_path / "wh")["accelerometer_landing"] == 5
    done = stedi("sql", "--warehouse", str(tmp_path / "wh"), "--as-of", "1999-01-01", "SELECT 1")
    assert done.returncode == 1 and "no table of the warehouse existed" in one_line_error(done)
    maintain(str(tmp_path / "wh"), keep_runs=1)
    done = stedi("sql", "--warehouse", str(tmp_path / "wh"), "--as-of", first.run_id[:10], "SELECT 1")
    assert done.returncode == 1
    message = one_line_error(done)
    assert f"run {first.run_id[:12]} is no longer reachable" in message and "runs still reachable:" in message
    with pytest.raises(WarehouseError, match="no longer reachable"):
        rollback(str(tmp_path / "wh"), first.run_id)


def test_a_rollback_across_a_forget_never_brings_the_person_back(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    before = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    forget(str(tmp_path / "wh"), ["jane@x.com"])
    (landing / "accelerometer" / "landing" / "more.json").write_text(phone("bob@x.com", 60) + "\n")
    after = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    with pytest.raises(WarehouseError, match="no longer reachable"):  # the erasure expired what held her
        rollback(str(tmp_path / "wh"), before.run_id)
    rollback(str(tmp_path / "wh"), after.run_id)
    wh = Warehouse(tmp_path / "wh")
    assert files_holding(tmp_path / "wh", "jane@x.com") == []
    for name in wh.table_names():
        for snapshot in wh.load(name).snapshots():  # no reachable snapshot holds her either
            rows = query(wh, f"SELECT * FROM {name}", {name: snapshot.snapshot_id}).to_pylist()
            assert "jane@x.com" not in str(rows).lower(), name


def test_plan_reports_exactly_what_the_run_then_does_and_writes_nothing(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    folder = landing / "accelerometer" / "landing"
    (folder / "more.json").write_text(phone("bob@x.com", 60) + "\n" + phone("carl@x.com", 70) + "\n")
    (folder / "accelerometer.json").rename(folder / "renamed.json")
    before = {p: p.read_bytes() for p in warehouse.rglob("*") if p.is_file()}
    planned = plan(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert {p: p.read_bytes() for p in warehouse.rglob("*") if p.is_file()} == before
    assert planned.files["accelerometer"] == {
        "new": 1,
        "changed": 0,
        "renamed": 1,
        "copied": 0,
        "removed": 0,
        "unchanged": 0,
    }
    predicted = {t.name: (t.rows_before, t.rows_out) for t in planned.result.tables}
    result = run(Settings(landing=str(landing), warehouse=str(warehouse)))
    made = {t.name: (t.rows_before, t.rows_out) for t in result.tables}
    assert predicted == made
    assert predicted["accelerometer_landing"] == (4, 6) and predicted["accelerometer_trusted"] == (3, 4)


def test_plan_on_a_new_warehouse_creates_nothing_and_tells_the_guard(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    done = stedi("plan", "--landing", str(landing), "--warehouse", str(tmp_path / "new"))
    assert done.returncode == 0, done.stderr
    assert "customer_trusted" in done.stdout and "nothing was written" in done.stdout
    assert not (tmp_path / "new").exists()
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    empty = tmp_path / "empty"
    empty.mkdir()
    done = stedi("plan", "--landing", str(empty), "--warehouse", str(tmp_path / "wh"))
    assert "the run would be REFUSED" in done.stdout and "customer_landing would go from 3 rows to none" in done.stdout


@pytest.mark.slow
def test_maintain_leaves_exactly_the_bytes_kept_snapshots_need(tmp_path: Path) -> None:
    landing = empty_landing(tmp_path / "landing")
    files = starter_files()
    ids = []
    for part in (files[:2], files[2:5], files[5:8], files[8:11], files[11:]):  # five runs with changes
        copy_files(part, corpus("stedi-starter"), landing)
        ids.append(run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), maintain=False)).run_id)
    warehouse = tmp_path / "wh"
    before = _data_bytes_on_disk(warehouse)
    assert before == _data_bytes_referenced(warehouse)  # every run's snapshots kept, nothing dead yet
    done = stedi("maintain", "--warehouse", str(warehouse), "--keep-runs", "1")
    assert done.returncode == 0 and "expired" in done.stdout, done.stderr
    assert _data_bytes_on_disk(warehouse) == _data_bytes_referenced(warehouse) < before
    wh = Warehouse(warehouse)
    assert _counts(warehouse, as_of(wh, ids[-1])) == _counts(warehouse)
    with pytest.raises(WarehouseError, match="no longer reachable"):
        as_of(wh, ids[0])
    glob_rows = query(wh, "SELECT count(*) FROM accelerometer_landing").column(0)[0].as_py()
    import duckdb

    glob = f"{warehouse}/stedi/accelerometer_landing/data/*.parquet"
    on_disk = duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()
    assert on_disk == [(glob_rows,)]  # no dead file left for a plain glob to count twice


@pytest.mark.slow
def test_a_run_killed_mid_commit_leaves_orphans_that_maintain_removes(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    expected = {name: table_rows(Warehouse(warehouse), name) for name in ("customer_trusted", "accelerometer_landing")}
    (landing / "accelerometer" / "landing" / "more.json").write_text(phone("bob@x.com", 60) + "\n")
    killed = stedi_process("run", "--landing", str(landing), "--warehouse", str(warehouse),
                           env={"STEDI_KILL_AT": "commit:accelerometer_landing"})  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert _data_bytes_on_disk(warehouse) > _data_bytes_referenced(warehouse)  # the killed run's files
    maintain(str(warehouse), keep_runs=10)
    assert _data_bytes_on_disk(warehouse) == _data_bytes_referenced(warehouse)
    wh = Warehouse(warehouse)
    for name, rows in expected.items():
        assert table_rows(wh, name) == rows
    assert run(Settings(landing=str(landing), warehouse=str(warehouse))).published


def test_runs_keep_the_history_of_their_last_runs_and_say_so(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    for t in range(3):
        (landing / "accelerometer" / "landing" / f"more-{t}.json").write_text(phone("bob@x.com", 100 + t) + "\n")
        run(Settings(landing=str(landing), warehouse=str(warehouse), maintain=False))
    wh = Warehouse(warehouse)
    assert len(wh.load("accelerometer_landing").snapshots()) >= 3
    done = apply_retention(wh, keep_runs=1)
    assert done.reclaimed.snapshots > 0 and done.reclaimed.files > 0
    assert len(Warehouse(warehouse).load("accelerometer_landing").snapshots()) == 1
    result = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--no-maintain")
    assert "maintenance:" not in result.stdout
