"""A catalog lost, emptied, damaged or restored from an older backup never brings an erased person
back or loses the tables' history: every command refuses it in one line, and `stedi recover` rebuilds
it from the tables' own metadata."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.pipeline.forget import forget
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.bytesearch import files_holding
from tests.support.cli import one_line_error, stedi
from tests.support.corpora import table_rows
from tests.support.landing import sid, small_landing


def _bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(warehouse: Path) -> dict[str, list[tuple]]:
    opened = Warehouse(warehouse)
    return {name: sorted(table_rows(opened, name), key=repr) for name in opened.table_names()}


@pytest.fixture
def erased(tmp_path: Path) -> tuple[Path, Path]:
    """A warehouse of the small landing data, run twice, with jane erased."""
    landing = small_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    forget(str(warehouse), ["jane@x.com"])
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    return landing, warehouse


@pytest.mark.parametrize("loss", ["deleted", "emptied", "fresh"])
def test_a_lost_catalog_is_refused_and_recover_brings_back_every_table_and_the_ledger(
    erased: tuple[Path, Path], tmp_path: Path, loss: str
) -> None:
    landing, warehouse = erased
    before = _rows(warehouse)
    catalog = warehouse / "catalog.db"
    if loss == "deleted":
        catalog.unlink()
    elif loss == "emptied":
        catalog.write_bytes(b"")
    else:  # a catalog with the schema but no tables put in its place
        with closing(sqlite3.connect(catalog)) as db, db:
            db.execute("DELETE FROM iceberg_tables")
    kept = _bytes(warehouse)
    for command in (
        ["run", "--landing", str(landing), "--warehouse", str(warehouse)],
        ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh"],
        ["tables", "--warehouse", str(warehouse)],
        ["forget", "bob@x.com", "--warehouse", str(warehouse)],
    ):
        done = stedi(*command)
        assert done.returncode == 1
        message = one_line_error(done)
        assert "holds tables" in message and f"stedi recover --warehouse {warehouse}" in message
    assert {k: v for k, v in _bytes(warehouse).items() if k != ".stedi.lock"} == {
        k: v for k, v in kept.items() if k != ".stedi.lock"
    }  # nothing written: no catalog made, no table rebuilt

    done = stedi("recover", "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    assert "recovered 14 tables" in done.stdout
    assert _rows(warehouse) == before
    assert Warehouse(warehouse).read("erasure_ledger").column("subject_id").to_pylist() == [sid("jane@x.com")]
    assert stedi("run", "--landing", str(landing), "--warehouse", str(warehouse)).returncode == 0
    assert files_holding(warehouse, "jane@x.com") == []
    assert stedi("history", "--warehouse", str(warehouse), "--format", "json").stdout.count('"run_id"') >= 3


def test_a_catalog_restored_from_before_an_erasure_is_refused_as_stale(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    backup = (warehouse / "catalog.db").read_bytes()
    forget(str(warehouse), ["jane@x.com"])
    (warehouse / "catalog.db").write_bytes(backup)  # restored from the backup taken before the erasure
    for command in (
        ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh"],
        ["plan", "--landing", str(landing), "--warehouse", str(warehouse)],
        ["forget", "bob@x.com", "--warehouse", str(warehouse)],
    ):
        done = stedi(*command)
        assert done.returncode == 1
        assert "does not know 1 erasure(s)" in one_line_error(done)
    rolled = stedi("rollback", "0", "--warehouse", str(warehouse))  # refused before the run is looked up
    assert rolled.returncode == 1 and "does not know" in one_line_error(rolled)

    done = stedi("recover", "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    set_aside = [p for p in warehouse.iterdir() if p.name.startswith("catalog.db.stale-")]
    assert len(set_aside) == 1 and set_aside[0].read_bytes() == backup  # kept, not deleted
    assert stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh").returncode == 0
    assert files_holding(warehouse / "stedi", "jane@x.com") == []
    assert Warehouse(warehouse).read("customer_trusted").column("email").to_pylist() == ["bob@x.com"]


def test_a_damaged_catalog_is_set_aside_and_a_sound_one_left_alone(erased: tuple[Path, Path]) -> None:
    _, warehouse = erased
    before = _rows(warehouse)
    sound = (warehouse / "catalog.db").read_bytes()
    done = stedi("recover", "--warehouse", str(warehouse))
    assert done.returncode == 1 and "is sound" in one_line_error(done)
    assert (warehouse / "catalog.db").read_bytes() == sound

    garbage = b"not a database, " * 500
    (warehouse / "catalog.db").write_bytes(garbage)
    refused = stedi("tables", "--warehouse", str(warehouse))
    assert "stedi recover" in one_line_error(refused)
    assert stedi("recover", "--warehouse", str(warehouse)).returncode == 0
    assert _rows(warehouse) == before
    (damaged,) = [p for p in warehouse.iterdir() if p.name.startswith("catalog.db.damaged-")]
    assert damaged.read_bytes() == garbage


def test_a_moved_warehouse_recovers_on_its_own_files(erased: tuple[Path, Path], tmp_path: Path) -> None:
    _, warehouse = erased
    before = _rows(warehouse)
    moved = tmp_path / "elsewhere" / "wh moved"
    moved.parent.mkdir()
    shutil.copytree(warehouse, moved)
    original = _bytes(warehouse)
    (moved / "catalog.db").unlink()
    done = stedi("recover", "--warehouse", str(moved), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert f'"root": "file://{warehouse}"' in done.stdout  # where it was created
    assert _rows(moved) == before
    assert stedi("forget", "bob@x.com", "--warehouse", str(moved)).returncode == 0
    assert _bytes(warehouse) == original  # the original was never touched
    assert files_holding(moved, "bob@x.com") == []


def test_a_catalog_that_lost_only_its_erasure_ledger_is_refused(erased: tuple[Path, Path]) -> None:
    landing, warehouse = erased
    (warehouse / "erased.json").unlink()  # the folder's copy gone too: the ledger's own files still tell
    with closing(sqlite3.connect(warehouse / "catalog.db")) as db, db:
        db.execute("DELETE FROM iceberg_tables WHERE table_name = 'erasure_ledger'")
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh")
    assert done.returncode == 1
    assert "does not list the erasure ledger its folder holds" in one_line_error(done)
    assert stedi("recover", "--warehouse", str(warehouse)).returncode == 0
    assert stedi("run", "--landing", str(landing), "--warehouse", str(warehouse), "--full-refresh").returncode == 0
    assert files_holding(warehouse / "stedi", "jane@x.com") == []


@pytest.mark.parametrize("loss", ["ledger files lost", "tables restored from before the erasure"])
def test_an_erasure_the_ledger_lost_is_put_back_from_the_folder_s_copy_and_done_again(
    tmp_path: Path, loss: str
) -> None:
    landing = small_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    shutil.copytree(warehouse, tmp_path / "backup")  # jane in every table, no erasure ledger yet
    forget(str(warehouse), ["jane@x.com"])
    if loss == "ledger files lost":
        shutil.rmtree(warehouse / "stedi" / "erasure_ledger")
    else:  # the tables and the catalog put back from the backup; erased.json is the one of now
        shutil.copy(warehouse / "erased.json", tmp_path / "erased.json")
        shutil.rmtree(warehouse)
        shutil.copytree(tmp_path / "backup", warehouse)
        shutil.copy(tmp_path / "erased.json", warehouse / "erased.json")
        assert files_holding(warehouse / "stedi", "jane@x.com")
    refused = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert refused.returncode == 1 and "stedi recover" in one_line_error(refused)

    done = stedi("recover", "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    assert "1 erasure(s) named in erased.json were missing" in done.stdout
    ledger = Warehouse(warehouse).read("erasure_ledger").to_pylist()
    assert [(e["subject_id"], e["completed_at"]) for e in ledger] == [(sid("jane@x.com"), None)]  # pending
    assert stedi("run", "--landing", str(landing), "--warehouse", str(warehouse)).returncode == 0
    assert files_holding(warehouse / "stedi", "jane@x.com") == []
    ledger = Warehouse(warehouse).read("erasure_ledger").to_pylist()
    assert [e["subject_id"] for e in ledger] == [sid("jane@x.com")] and ledger[0]["completed_at"] is not None


def test_another_warehouses_catalog_is_refused_and_that_warehouse_left_as_it_was(
    erased: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, warehouse = erased
    kept = _bytes(warehouse)
    other = tmp_path / "other"
    for command in (
        ["run", "--landing", str(landing), "--warehouse", str(other), "--catalog", str(warehouse / "catalog.db"),
         "--full-refresh"],
        ["tables", "--warehouse", str(other), "--catalog", str(warehouse / "catalog.db")],
    ):  # fmt: skip
        done = stedi(*command)
        assert done.returncode == 1
        assert f"belongs to the warehouse at {warehouse}" in one_line_error(done)
    assert {k: v for k, v in _bytes(warehouse).items() if k != ".stedi.lock"} == {
        k: v for k, v in kept.items() if k != ".stedi.lock"
    }
    # A copy of the folder with a copy of its catalog kept outside it is a warehouse of its own.
    shutil.copytree(warehouse, tmp_path / "copy")
    (tmp_path / "copy" / "catalog.db").rename(tmp_path / "copy-catalog.db")
    done = stedi("tables", "--warehouse", str(tmp_path / "copy"), "--catalog", str(tmp_path / "copy-catalog.db"))
    assert done.returncode == 0, done.stderr


# A commit of the catalog cut off by SIGKILL after SQLite wrote some of its pages: the file holds part
# of the change, and its rollback journal (catalog.db-journal) the pages as they were.
_KILLED_MID_COMMIT = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA cache_size = 1")
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE iceberg_tables SET metadata_location = metadata_location || ?", ("x" * 200_000,))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_catalog_left_mid_commit_by_a_killed_process_is_rolled_back_and_used(tmp_path: Path) -> None:
    """SQLite undoes such a commit from its journal when the file is next opened for writing; a
    reader that opened it read-only could not, and would call a sound catalog damaged."""
    landing, warehouse = small_landing(tmp_path / "landing"), tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    before = _rows(warehouse)
    catalog = warehouse / "catalog.db"
    killed = subprocess.run([sys.executable, "-c", _KILLED_MID_COMMIT, str(catalog)], check=False)
    assert killed.returncode == -signal.SIGKILL
    assert (warehouse / "catalog.db-journal").stat().st_size > 0
    with closing(sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)) as db, pytest.raises(sqlite3.OperationalError):
        db.execute("SELECT COUNT(*) FROM iceberg_tables").fetchall()  # the journal is there to be undone
    listed = stedi("tables", "--warehouse", str(warehouse))
    assert listed.returncode == 0, listed.stderr
    assert _rows(warehouse) == before
    rerun = run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert [s.files for s in rerun.sources] == [0, 0, 0]
