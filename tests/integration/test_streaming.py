"""The streaming design: files read in chunks, tables built under a memory limit and written in batches.

Each test compares against a result obtained without the mechanism under test (one chunk, no limit,
an Arrow table in memory), or against counts written down independently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pytest

from stedi.config import Settings
from stedi.contract.sources import SOURCES
from stedi.errors import SettingsError
from stedi.pipeline.run import run
from stedi.reading import reader
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.rows import Rows
from stedi.warehouse.writes import write
from tests.support.corpora import corpus, corpus_run, data_tables, table_rows

pytestmark = pytest.mark.slow

CORPORA = ("stedi-starter", "stedi-2022-10", "stedi-2022-07")


@pytest.mark.parametrize("name", CORPORA)
def test_reading_file_by_file_gives_the_rows_of_one_chunk(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = {s.name: reader.read_source(str(corpus(name)), s) for s in SOURCES}
    monkeypatch.setattr(reader, "BATCH_BYTES", 1)  # every file its own chunk
    for source in SOURCES:
        files = reader.discover(str(corpus(name)), source.name).files
        chunks = list(reader.read_chunks(str(corpus(name)), source, files))
        assert len(files) // 2 < len(chunks) <= len(files)  # files with no lines join the next chunk
        assert [f.relative for c in chunks for f in c.files] == [f.relative for f in files]
        records = pa.concat_tables([c.records for c in chunks])
        quarantine = pa.concat_tables([c.quarantine for c in chunks])
        assert records.equals(whole[source.name].records)
        assert quarantine.equals(whole[source.name].quarantine)
        assert [f for c in chunks for f in c.files] == whole[source.name].files


def test_a_run_in_many_chunks_under_a_small_memory_limit_equals_the_default_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEDI_SUBJECT_KEY", "test-subject-key")
    monkeypatch.setattr(reader, "BATCH_BYTES", 1 << 20)  # the starter phone readings: ~9 chunks
    settings = Settings(
        landing=str(corpus("stedi-starter")), warehouse=str(tmp_path / "wh"), memory_limit="40MB", report=False
    )
    result = run(settings)
    _, default = corpus_run("stedi-starter")
    small = Warehouse(tmp_path / "wh")
    assert data_tables(small) == data_tables(default)
    for name in data_tables(default):
        if name != "ingested_files":
            assert table_rows(small, name) == table_rows(default, name), name
    for table, field in (("customer_landing", "email"), ("accelerometer_landing", "user")):
        assert not small.load(table).schema().find_field(field).optional  # the contract's required fields
    rows = {t.name: t.rows_out for t in result.tables}
    assert rows["accelerometer_landing"] == 81_273
    assert rows["machine_learning_curated"] == 40_981


def test_an_invalid_memory_limit_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="memory limit must be a size"):
        Settings(landing=str(corpus("stedi-starter")), warehouse=str(tmp_path / "wh"), memory_limit="lots")


def test_the_memory_limit_option_reaches_the_engine(tmp_path: Path) -> None:
    # 1MB cannot hold the starter run: the run fails, so the limit was applied.
    command = [
        sys.executable, "-m", "stedi", "run", "--landing", str(corpus("stedi-starter")),
        "--warehouse", str(tmp_path / "wh"), "--memory-limit", "1MB", "--no-report",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Out of Memory Error" in done.stderr, done.stderr


def _duckdb_table(rows: int) -> Rows:
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE t AS SELECT range AS id, 'name-' || range AS name, range / 7.0 AS value FROM range({rows})"
    )
    return Rows(con, "t")


def test_a_table_of_a_million_rows_is_written_whole(tmp_path: Path) -> None:
    rows = _duckdb_table(1_000_000)  # many row groups, written in parallel
    warehouse = Warehouse(tmp_path / "wh", create=True)
    commit = write(warehouse, "t", rows)
    assert commit.rows == 1_000_000
    back = warehouse.read("t").sort_by("id")
    assert back.column("id").to_pylist() == list(range(1_000_000))
    assert back.column("name")[999_999].as_py() == "name-999999"
    assert back.column("value")[700].as_py() == 100.0


def test_rows_have_the_same_fingerprint_in_duckdb_and_in_arrow(tmp_path: Path) -> None:
    rows = _duckdb_table(1000)
    warehouse = Warehouse(tmp_path / "wh", create=True)
    first = write(warehouse, "t", rows)
    # The same rows as Arrow, in another order: no new snapshot.
    arrow = rows.con.sql("SELECT * FROM t ORDER BY id DESC").to_arrow_table()
    again = write(warehouse, "t", arrow)
    assert (again.changed, again.snapshot_id) == (False, first.snapshot_id)
    changed = write(warehouse, "t", arrow.slice(1))
    assert changed.changed and changed.rows == 999


def test_required_columns_stay_required_when_streamed(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh", create=True)
    rows = _duckdb_table(10)  # DuckDB reports every column nullable
    declared = pa.schema([pa.field("id", pa.int64(), nullable=False), ("name", pa.string()), ("value", pa.float64())])
    write(warehouse, "t", Rows(rows.con, "t", declared))
    assert not warehouse.load("t").schema().find_field("id").optional
    write(warehouse, "t", Rows(rows.con, "t"))  # a later write without the declaration keeps it
    assert not warehouse.load("t").schema().find_field("id").optional
    assert warehouse.load("t").schema().find_field("name").optional
    assert warehouse.read("t").num_rows == 10


def test_a_killed_runs_spill_folder_is_removed_by_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    command = [
        sys.executable, "-m", "stedi", "run", "--landing", str(corpus("stedi-starter")),
        "--warehouse", str(tmp_path / "killed"), "--no-report",
    ]  # fmt: skip
    env = {**os.environ, "TMPDIR": str(temp), "STEDI_SUBJECT_KEY": "test-subject-key"}
    killed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(temp.glob(f"stedi-spill-{killed.pid}-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    killed.kill()
    killed.wait()
    (abandoned,) = temp.glob(f"stedi-spill-{killed.pid}-*")
    alive = temp / f"stedi-spill-{os.getpid()}-other"  # a run still going (this process)
    alive.mkdir()
    unrelated = temp / "stedi-spill-notes"
    unrelated.mkdir()

    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("STEDI_SUBJECT_KEY", "test-subject-key")
    run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(tmp_path / "wh"), report=False))
    assert not abandoned.exists()
    assert alive.exists() and unrelated.exists()
    assert sorted(p.name for p in temp.iterdir()) == sorted([alive.name, unrelated.name])  # its own is gone too
