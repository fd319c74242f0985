"""Only its own files: landing read inside its root, a copied warehouse that works on its own files,
a moved one that keeps working, and any folder name."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from stedi.config import Settings
from stedi.pipeline.forget import forget
from stedi.pipeline.run import run
from stedi.results import UNCHANGED
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.duckdb_views import DUCKDB_FILE
from tests.support.bytesearch import files_holding
from tests.support.cli import one_line_error, stedi
from tests.support.corpora import table_rows
from tests.support.landing import phone, small_landing


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_links_out_of_the_landing_root_are_never_read_and_loops_end(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    secret = tmp_path / "secret.json"
    secret.write_text('{"email":"secret@outside.com","serialNumber":"X","registrationDate":1,"lastUpdateDate":1}\n')
    folder = landing / "customer" / "landing"
    (folder / "leak.json").symlink_to(secret)
    (folder / "again").symlink_to(folder)  # a loop
    result = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    customers = next(s for s in result.sources if s.source == "customer")
    assert customers.files_found == 1 and customers.records == 3  # read once, not once per loop
    assert dict(customers.skipped_files) == {
        "customer/landing/again": "a link to a folder already read (a loop)",
        "customer/landing/leak.json": "a link that leaves the landing root or leads nowhere",
    }
    assert files_holding(tmp_path / "wh", "secret@outside.com") == []
    ledger = {r["path"]: r for r in Warehouse(tmp_path / "wh").read("ingested_files").to_pylist()}
    assert ledger["customer/landing/leak.json"]["status"] == "skipped"


def test_a_copy_works_on_its_own_files_and_its_forget_leaves_the_original_byte_for_byte(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh-a")))
    shutil.copytree(tmp_path / "wh-a", tmp_path / "wh-b", symlinks=True)
    original = _digests(tmp_path / "wh-a")
    forget(str(tmp_path / "wh-b"), ["jane@x.com"])
    (landing / "accelerometer" / "landing" / "more.json").write_text(phone("bob@x.com", 77) + "\n")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh-b")))
    assert _digests(tmp_path / "wh-a") == original
    assert files_holding(tmp_path / "wh-b", "jane@x.com") == []
    assert files_holding(tmp_path / "wh-a", "jane@x.com")
    done = stedi(
        "sql", "--warehouse", str(tmp_path / "wh-b"), "--format", "csv", "SELECT count(*) FROM accelerometer_landing"
    )
    assert done.stdout.splitlines()[-1] == "3"  # bob's 2 and the new one; jane's gone, carl's kept


def _through_duckdb_views(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse / DUCKDB_FILE), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_copy_run_with_nothing_new_gets_a_duckdb_views_file_of_its_own_files(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh-a")))
    shutil.copytree(tmp_path / "wh-a", tmp_path / "wh-b", symlinks=True)
    assert run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh-b"))).outcome == UNCHANGED
    shutil.rmtree(tmp_path / "wh-a")  # had the copy's views kept naming the original's files, they would fail now
    sql = "SELECT count(*) FROM machine_learning_curated"
    assert _through_duckdb_views(tmp_path / "wh-b", sql) == [(2,)]  # jane's two readings at step-trainer instants
    views = tmp_path / "wh-b" / DUCKDB_FILE
    written = views.stat().st_mtime_ns, views.stat().st_ino
    assert run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh-b"))).outcome == UNCHANGED
    assert (views.stat().st_mtime_ns, views.stat().st_ino) == written  # right already: not written again
    views.unlink()
    assert run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh-b"))).outcome == UNCHANGED
    assert _through_duckdb_views(tmp_path / "wh-b", sql) == [(2,)]
    views.unlink()
    views.mkdir()  # in the way: the run still succeeds, and says what it could not write
    again = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh-b")))
    assert again.outcome == UNCHANGED
    assert any(n.startswith("warning: the DuckDB views file was not written") for n in again.notes), again.notes


def test_a_moved_warehouse_keeps_working(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    expected = {
        name: table_rows(Warehouse(tmp_path / "wh"), name) for name in ("customer_trusted", "machine_learning_curated")
    }
    shutil.move(tmp_path / "wh", tmp_path / "moved")
    for args in (("tables",), ("report",), ("verify",), ("sql", "SELECT count(*) FROM customer_trusted")):
        done = stedi(*args, "--warehouse", str(tmp_path / "moved"))
        assert done.returncode == 0, (args, done.stderr)
    (landing / "accelerometer" / "landing" / "more.json").write_text(phone("jane@x.com", 30) + "\n")
    again = run(Settings(landing=str(landing), warehouse=str(tmp_path / "moved")))
    assert [s.files for s in again.sources] == [0, 1, 0]
    assert not (tmp_path / "wh").exists()
    wh = Warehouse(tmp_path / "moved")
    assert table_rows(wh, "customer_trusted") == expected["customer_trusted"]
    assert len(table_rows(wh, "machine_learning_curated")) == len(expected["machine_learning_curated"])


def test_any_warehouse_path_works_and_nothing_is_written_beside_it(tmp_path: Path) -> None:
    name = "with space, ünïcödé, quote'd, hash#and?query%20"
    landing = small_landing(tmp_path / "landing")
    parent = tmp_path / "parent"
    parent.mkdir()
    warehouse = parent / name
    done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in parent.iterdir()) == [name]
    done = stedi(
        "sql", "--warehouse", str(warehouse), "--format", "csv", "SELECT count(*) FROM machine_learning_curated"
    )
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "2", done.stderr
    assert stedi("forget", "bob@x.com", "--warehouse", str(warehouse)).returncode == 0
    assert sorted(p.name for p in parent.iterdir()) == [name]


def test_a_warehouse_inside_a_landing_folder_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    before, entries = _digests(landing), sorted(landing.rglob("*"))
    beside = tmp_path / "wh"  # inside the landing root, beside the source folders: allowed
    for warehouse in (landing / "customer" / "landing" / "wh", landing / "accelerometer" / "landing"):
        done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
        assert done.returncode != 0
        assert "is inside the landing folder" in one_line_error(done)
        assert _digests(landing) == before and sorted(landing.rglob("*")) == entries  # nothing written there
    inside_root = landing / "lakehouse"
    for warehouse in (beside, inside_root):
        done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
        assert done.returncode == 0, done.stderr


def test_an_export_never_replaces_the_warehouse_its_catalog_its_key_or_a_folder_that_is_not_an_export(
    tmp_path: Path,
) -> None:
    landing = small_landing(tmp_path / "landing")
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    key_file = tmp_path / "subject.key"
    key_file.write_text("a key kept in a file of its own, for this test\n")
    env: dict[str, str | None] = {"STEDI_SUBJECT_KEY_FILE": str(key_file)}
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("not an export\n")
    kept = {"warehouse": _digests(warehouse), "key": key_file.read_text(), "notes": _digests(notes)}
    export = ["export", "machine_learning_curated", "--warehouse", str(warehouse), "--overwrite"]
    targets = {
        warehouse / "catalog.db": "is inside the warehouse",
        warehouse: "is the warehouse",
        warehouse / "stedi" / "new.parquet": "is inside the warehouse",
        tmp_path: "holds the warehouse",
        key_file: "is the warehouse's subject key",
        notes: "is a folder that is not an export",
    }
    for target, why in targets.items():
        done = stedi(*export[:2], str(target), *export[2:], env=env)
        assert done.returncode == 2 and why in one_line_error(done), (target, done.stderr)
    assert kept == {"warehouse": _digests(warehouse), "key": key_file.read_text(), "notes": _digests(notes)}
    earlier = tmp_path / "ml"
    for _ in range(2):  # an earlier export's folder is replaced
        assert stedi(*export[:2], str(earlier), *export[2:], env=env).returncode == 0
    assert [p.name for p in earlier.iterdir()] and all(p.name.startswith("split=") for p in earlier.iterdir())


def test_a_catalog_naming_another_warehouses_files_is_refused_and_a_full_refresh_repairs_it(tmp_path: Path) -> None:
    import sqlite3

    landing = small_landing(tmp_path / "landing")
    mine, other = tmp_path / "mine", tmp_path / "other"
    for warehouse in (mine, other):
        run(Settings(landing=str(landing), warehouse=str(warehouse)))
    before = _digests(other)
    (foreign,) = sqlite3.connect(other / "catalog.db").execute(
        "SELECT metadata_location FROM iceberg_tables WHERE table_name = 'customer_trusted'"
    )
    with sqlite3.connect(mine / "catalog.db") as con:  # a damaged (or hostile) catalog
        con.execute("UPDATE iceberg_tables SET metadata_location = ? WHERE table_name = 'customer_trusted'", foreign)
    for command in (["tables"], ["run", "--landing", str(landing)]):
        done = stedi(*command, "--warehouse", str(mine))
        assert done.returncode != 0
        assert "customer_trusted is damaged" in one_line_error(done) and "outside the warehouse" in done.stderr
    assert run(Settings(landing=str(landing), warehouse=str(mine), full_refresh=True)).published
    assert table_rows(Warehouse(mine), "customer_trusted") == table_rows(Warehouse(other), "customer_trusted")
    assert _digests(other) == before  # never read through, written or deleted


def test_an_empty_path_is_refused_and_never_means_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty variable in a script (`--warehouse "$WH"`) must not build, read or export in the folder
    # the command happens to run in, even one that holds a warehouse.
    landing = small_landing(tmp_path / "landing")
    here = tmp_path / "here"
    run(Settings(landing=str(landing), warehouse=str(here)))
    before = _digests(here)
    monkeypatch.chdir(here)
    for args, words in [
        (["run", "--landing", str(landing), "--warehouse", ""], "no warehouse given"),
        (["plan", "--landing", str(landing), "--warehouse", " "], "no warehouse given"),
        (["tables", "--warehouse", ""], "no warehouse given"),
        (["sql", "SELECT 1", "--warehouse", ""], "no warehouse given"),
        (["forget", "a@x.com", "--warehouse", ""], "no warehouse given"),
        (["recover", "--warehouse", ""], "no warehouse given"),
        (["tables", "--warehouse", str(here), "--catalog", ""], "no catalog given"),
        (["export", "customer_trusted", "", "--warehouse", str(here), "--overwrite"], "no output given"),
        (["generate", ""], "no output given"),
        (["rollback", "", "--warehouse", str(here)], "no run id given"),
    ]:
        done = stedi(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert words in one_line_error(done), args
    assert _digests(here) == before
    empty = tmp_path / "empty"  # where the generator would otherwise have written its landing folders
    empty.mkdir()
    monkeypatch.chdir(empty)
    assert "no output given" in one_line_error(stedi("generate", "", "--scale", "0.01"))
    assert list(empty.iterdir()) == []


def test_a_variable_set_but_empty_is_refused_and_never_means_the_default_warehouse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `STEDI_WAREHOUSE="$WH" stedi run` with WH unset would otherwise build ./lakehouse and say "done".
    landing = small_landing(tmp_path / "landing")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    for args, variable in [
        (["run", "--landing", str(landing)], "STEDI_WAREHOUSE"),
        (["tables"], "STEDI_WAREHOUSE"),
        (["run", "--landing", str(landing), "--warehouse", "wh"], "STEDI_CATALOG"),
    ]:
        done = stedi(*args, env={variable: ""})
        assert done.returncode == 2, (args, done.stderr)
        assert f"{variable} is set but empty" in one_line_error(done), args
    assert list(here.iterdir()) == []
    given = stedi("run", "--landing", str(landing), "--warehouse", "wh", env={"STEDI_WAREHOUSE": ""})
    assert given.returncode == 0, given.stderr  # the option given on the command line is what counts
