"""Corruption detected, not served: `stedi verify` names damaged tables, a run stops with one clear
line, and `--full-refresh` rebuilds what is damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.pipeline.forget import forget
from stedi.pipeline.run import run
from stedi.pipeline.verify import verify
from stedi.warehouse.catalog import Warehouse
from tests.support.cli import one_line_error, stedi
from tests.support.corpora import table_rows
from tests.support.landing import phone, sid, small_landing


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, dict[str, list]]:
    landing = small_landing(tmp_path / "landing")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    wh = Warehouse(tmp_path / "wh")
    return landing, tmp_path / "wh", {n: table_rows(wh, n) for n in wh.table_names() if n != "run_history"}


def _data_file(warehouse: Path, table: str) -> Path:
    plan = Warehouse(warehouse).data_files(table)
    assert plan is not None
    return Path(plan[0][0].removeprefix("file://"))


def _lose_current_metadata(warehouse: Path, table: str) -> None:
    opened = Warehouse(warehouse)
    Path(opened.physical(opened.load(table).metadata_location).removeprefix("file://")).unlink()


def _flip_a_value(path: Path, old: bytes, new: bytes) -> None:
    """One value changed in place, as a flipped bit does, the file still decoding."""
    data = path.read_bytes()
    assert data.count(old) >= 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new, 1))


def test_a_changed_value_is_found_by_verify_and_repaired_by_a_full_refresh(built: tuple[Path, Path, dict]) -> None:
    landing, warehouse, rows = built
    assert not any(t.damaged for t in verify(str(warehouse)))
    _flip_a_value(_data_file(warehouse, "customer_trusted"), b"S2", b"T2")  # uncompressed dictionary page
    health = {t.name: t for t in verify(str(warehouse))}
    assert health["customer_trusted"].problems == [
        "its rows are not the rows that were committed (fingerprint differs)"
    ]
    assert [n for n, t in health.items() if t.damaged] == ["customer_trusted"]
    done = stedi("verify", "--warehouse", str(warehouse))
    assert done.returncode == 1 and "damaged table(s): customer_trusted" in one_line_error(done)
    result = run(Settings(landing=str(landing), warehouse=str(warehouse), full_refresh=True))
    assert result.table("customer_trusted").changed  # rewritten, not trusted by its stored fingerprint
    assert not any(t.damaged for t in verify(str(warehouse)))
    assert table_rows(Warehouse(warehouse), "customer_trusted") == rows["customer_trusted"]


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_damaged_landing_file_is_one_clear_error_and_a_full_refresh_repairs_it(
    built: tuple[Path, Path, dict], damage: str
) -> None:
    landing, warehouse, rows = built
    data = _data_file(warehouse, "accelerometer_landing")
    if damage == "truncated":
        data.write_bytes(data.read_bytes()[:100])
    else:
        data.unlink()
    (landing / "accelerometer" / "landing" / "more.json").write_text(phone("bob@x.com", 50) + "\n")
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 1
    assert "--full-refresh" in one_line_error(done)
    assert {t.name for t in verify(str(warehouse)) if t.damaged} == {"accelerometer_landing"}
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh")
    assert done.returncode == 0, done.stderr
    assert not any(t.damaged for t in verify(str(warehouse)))
    assert len(table_rows(Warehouse(warehouse), "accelerometer_landing")) == len(rows["accelerometer_landing"]) + 1


@pytest.mark.parametrize("table", ["accelerometer_landing", "step_trainer_landing", "customer_quarantine"])
@pytest.mark.parametrize("where", ["pages", "footer"])
def test_a_garbled_file_of_rows_kept_is_one_clear_error_and_a_full_refresh_repairs_it(
    tmp_path: Path, table: str, where: str
) -> None:
    # Rows kept from earlier runs are read from the tables' files, by the builds or, for a table no
    # build reads (quarantine), only by its commit; the new file is of another source than two of them.
    landing = small_landing(tmp_path / "landing")
    (landing / "customer" / "landing" / "broken.json").write_text('{"email": "x@x.com", "serial\n')
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    data = _data_file(warehouse, table)
    raw = bytearray(data.read_bytes())
    if where == "pages":
        raw[4:44] = b"\x07" * 40  # just after the magic bytes: the first page
    else:
        raw[-8:-4] = (len(raw) * 2).to_bytes(4, "little")  # the footer's length, beyond the file
    data.write_bytes(bytes(raw))
    (landing / "accelerometer" / "landing" / "more.json").write_text(phone("bob@x.com", 50) + "\n")
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 1
    message = one_line_error(done)
    assert "damaged" in message and "--full-refresh" in message
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh")
    assert done.returncode == 0, done.stderr
    assert not any(t.damaged for t in verify(str(warehouse)))
    assert len(table_rows(Warehouse(warehouse), "customer_quarantine")) == 1


def test_missing_table_metadata_is_one_clear_error_and_a_full_refresh_rebuilds_the_table(
    built: tuple[Path, Path, dict],
) -> None:
    landing, warehouse, rows = built
    _lose_current_metadata(warehouse, "customer_curated")
    for args in (("tables",), ("sql", "SELECT * FROM customer_curated"), ("report",)):
        done = stedi(*args, "--warehouse", str(warehouse))
        assert done.returncode == 1 and "customer_curated" in one_line_error(done), args
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh")
    assert done.returncode == 0, done.stderr
    assert table_rows(Warehouse(warehouse), "customer_curated") == rows["customer_curated"]


def test_lost_run_history_metadata_is_one_clear_error_and_a_full_refresh_starts_the_history_again(
    built: tuple[Path, Path, dict],
) -> None:
    landing, warehouse, rows = built
    _lose_current_metadata(warehouse, "run_history")
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 1 and "run_history" in one_line_error(done) and "--full-refresh" in one_line_error(done)
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh", "--format", "json")
    assert done.returncode == 0, done.stderr
    wh = Warehouse(warehouse)
    runs = set(wh.read("run_history").column("run_id").to_pylist())
    assert runs == {json.loads(done.stdout)["run_id"]}  # the history lost with its metadata starts again
    assert {n: table_rows(wh, n) for n in rows} == rows
    assert not any(t.damaged for t in verify(str(warehouse)))


def test_a_damaged_catalog_is_one_clear_error(built: tuple[Path, Path, dict]) -> None:
    _, warehouse, _ = built
    (warehouse / "catalog.db").write_bytes(b"\x00\xffnot a database" * 200)
    for args in (("tables",), ("sql", "SELECT 1"), ("report",), ("verify",)):
        done = stedi(*args, "--warehouse", str(warehouse))
        assert done.returncode == 1
        assert "damaged or not a SQLite database" in one_line_error(done), args


@pytest.fixture(scope="module")
def erased(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, list]]:
    """A warehouse of the small landing data with jane erased (so it has every table), and its rows."""
    root = tmp_path_factory.mktemp("erased")
    landing = small_landing(root / "landing")
    run(Settings(landing=str(landing), warehouse=str(root / "wh")))
    forget(str(root / "wh"), ["jane@x.com"])
    run(Settings(landing=str(landing), warehouse=str(root / "wh")))
    wh = Warehouse(root / "wh")
    return landing, root / "wh", {n: table_rows(wh, n) for n in wh.table_names() if n != "run_history"}


HOLDING_ROWS = ["customer_landing", "accelerometer_landing", "step_trainer_landing", "customer_trusted",
                "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "ingested_files", "run_history",
                "erasure_ledger"]  # fmt: skip
EMPTY = ["customer_quarantine", "accelerometer_quarantine", "step_trainer_quarantine", "machine_learning_curated"]


def _lose_a_data_file(warehouse: Path, table: str) -> None:
    opened = Warehouse(warehouse)
    plan = opened.data_files(table)
    assert plan is not None and plan[0]
    Path(opened.physical(plan[0][0]).removeprefix("file://")).unlink()


@pytest.mark.parametrize(
    ("table", "loss"),
    [(t, "metadata") for t in HOLDING_ROWS + EMPTY] + [(t, "a data file") for t in HOLDING_ROWS],
)
def test_whichever_table_is_damaged_verify_names_the_one_command_that_repairs_it(
    erased: tuple[Path, Path, dict[str, list]], tmp_path: Path, table: str, loss: str
) -> None:
    landing, template, rows = erased
    warehouse = tmp_path / "wh"
    shutil.copytree(template, warehouse)
    assert sorted(Warehouse(warehouse).table_names()) == sorted([*HOLDING_ROWS, *EMPTY])
    (_lose_current_metadata if loss == "metadata" else _lose_a_data_file)(warehouse, table)
    found = stedi("verify", "--warehouse", str(warehouse))
    message = one_line_error(found)
    assert found.returncode == 1 and f"1 damaged table(s): {table};" in message
    if table == "erasure_ledger":  # never rebuilt from landing data: put back from erased.json
        assert f"stedi recover --warehouse {warehouse}" in message
        assert stedi("recover", "--warehouse", str(warehouse)).returncode == 0
        repaired = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    else:
        assert "--full-refresh" in message
        repaired = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh")
    assert repaired.returncode == 0, repaired.stderr
    assert not any(t.damaged for t in verify(str(warehouse)))
    wh = Warehouse(warehouse)
    ledger = wh.read("erasure_ledger").to_pylist()
    assert [e["subject_id"] for e in ledger] == [sid("jane@x.com")] and ledger[0]["completed_at"] is not None
    now = {n: table_rows(wh, n) for n in rows if n != "erasure_ledger"}
    assert now == {n: r for n, r in rows.items() if n != "erasure_ledger"}
