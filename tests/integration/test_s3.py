"""Landing and warehouse in object storage, against a real S3-compatible server (SeaweedFS)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest
from click.testing import CliRunner

from stedi.cli import main
from stedi.config import Settings
from stedi.errors import WarehouseError
from stedi.pipeline.run import run
from stedi.storage import filesystem
from stedi.warehouse.catalog import Warehouse
from tests.support.cli import one_line_error, stedi
from tests.support.corpora import corpus_run, data_tables, table_rows
from tests.support.seaweed import S3Server

pytestmark = pytest.mark.s3


def test_pipeline_in_object_storage_gives_exactly_the_local_tables(
    s3: S3Server, starter_in_s3: str, tmp_path: Path
) -> None:
    warehouse = f"s3://{s3.bucket}/warehouse-e2e"
    catalog = str(tmp_path / "catalog.db")
    result = run(Settings(landing=starter_in_s3, warehouse=warehouse, catalog=catalog))
    assert {t.name: t.rows_out for t in result.tables}["machine_learning_curated"] == 40981
    remote = Warehouse(warehouse, catalog=catalog)
    _, local = corpus_run("stedi-starter")
    assert data_tables(remote) == data_tables(local)
    for name in data_tables(local):
        assert table_rows(remote, name) == table_rows(local, name), name
    files, _ = remote.data_files("accelerometer_landing") or ([], None)
    assert files and all(f.startswith(f"s3://{s3.bucket}/warehouse-e2e/") for f in files)
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.db"]  # nothing else written locally


def test_sql_and_tables_read_an_s3_warehouse(s3: S3Server, starter_in_s3: str, tmp_path: Path) -> None:
    warehouse = f"s3://{s3.bucket}/warehouse-cli"
    catalog = str(tmp_path / "catalog.db")
    runner = CliRunner()
    done = runner.invoke(main, ["run", "--landing", starter_in_s3, "--warehouse", warehouse, "--catalog", catalog])
    assert done.exit_code == 0, done.output
    out = runner.invoke(
        main,
        [
            "sql",
            "--warehouse",
            warehouse,
            "--catalog",
            catalog,
            "--format",
            "csv",
            "SELECT count(*) AS n FROM customer_trusted",
        ],
    )
    assert out.output.splitlines() == ["n", "482"]
    listing = runner.invoke(main, ["tables", "--warehouse", warehouse, "--catalog", catalog, "--format", "csv"])
    assert "machine_learning_curated,curated,40981" in listing.output


def test_remote_warehouse_without_a_catalog_is_a_clear_error(s3: S3Server, starter_in_s3: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--landing", starter_in_s3, "--warehouse", f"s3://{s3.bucket}/w"])
    assert result.exit_code == 1
    assert "needs --catalog" in result.output


def test_wrong_credentials_fail_fast_with_a_clear_message(
    s3: S3Server, starter_in_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["run", "--landing", starter_in_s3, "--warehouse", str(tmp_path / "wh")])
    assert result.exit_code == 1
    assert "access denied: check the AWS credentials" in result.output
    assert time.monotonic() - started < 20


def test_reading_commands_on_access_denied_are_one_line(s3: S3Server, starter_in_s3: str, tmp_path: Path) -> None:
    warehouse, catalog = f"s3://{s3.bucket}/warehouse-denied", str(tmp_path / "catalog.db")
    assert (
        CliRunner()
        .invoke(main, ["run", "--landing", starter_in_s3, "--warehouse", warehouse, "--catalog", catalog])
        .exit_code
        == 0
    )
    for args in (["tables"], ["sql", "SELECT count(*) FROM customer_trusted"], ["report"], ["verify"]):
        done = stedi(
            *args, "--warehouse", warehouse, "--catalog", catalog, env={**s3.env(), "AWS_SECRET_ACCESS_KEY": "wrong"}
        )
        assert done.returncode == 1, args
        assert "access denied" in one_line_error(done), args


def test_missing_bucket_is_a_clear_error(s3: S3Server, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", "--landing", "s3://no-such-bucket/landing", "--warehouse", str(tmp_path / "wh")]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "no-such-bucket" in result.output


def test_unreachable_endpoint_fails_fast(s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.seaweed import _free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    started = time.monotonic()
    result = CliRunner().invoke(
        main, ["run", "--landing", f"s3://{s3.bucket}/starter", "--warehouse", str(tmp_path / "wh")]
    )
    assert result.exit_code == 1
    assert "cannot reach the storage endpoint" in result.output
    assert time.monotonic() - started < 20


def test_a_failed_upload_leaves_no_table_pointing_at_a_missing_file(
    s3: S3Server, starter_in_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyiceberg.io.pyarrow import PyArrowFile

    warehouse = f"s3://{s3.bucket}/warehouse-crash"
    catalog = str(tmp_path / "catalog.db")
    run(Settings(landing=starter_in_s3, warehouse=warehouse, catalog=catalog))
    before = {
        n: Warehouse(warehouse, catalog=catalog).describe(n).rows
        for n in data_tables(Warehouse(warehouse, catalog=catalog))
    }

    real_create = PyArrowFile.create
    calls = {"n": 0}

    def flaky_create(self: PyArrowFile, overwrite: bool = False) -> Any:
        calls["n"] += 1
        if calls["n"] == 12:  # somewhere in the middle of the second run's uploads
            raise OSError("simulated upload failure: connection reset")
        return real_create(self, overwrite)

    monkeypatch.setattr(PyArrowFile, "create", flaky_create)
    with pytest.raises(WarehouseError, match="simulated upload failure"):
        run(Settings(landing=starter_in_s3, warehouse=warehouse, catalog=catalog, consent_policy="as-of"))
    monkeypatch.setattr(PyArrowFile, "create", real_create)

    wh = Warehouse(warehouse, catalog=catalog)
    fs, _ = filesystem(warehouse)
    for name in data_tables(wh):
        table = wh.load(name)
        referenced = [task.file.file_path for task in table.scan().plan_files()]
        referenced += [table.metadata_location]
        for path in referenced:
            assert fs.get_file_info(path.removeprefix("s3://")).type == pafs.FileType.File, (name, path)
        assert wh.read(name).num_rows == before[name], name  # nothing of the failed run was published


def test_history_time_travel_and_maintenance_in_object_storage(s3: S3Server, tmp_path: Path) -> None:
    from stedi.pipeline.history import as_of
    from stedi.pipeline.maintain import maintain
    from stedi.pipeline.query import query
    from stedi.warehouse.maintenance import referenced
    from tests.support.landing import phone, small_landing

    landing = small_landing(tmp_path / "landing")
    fs, base = filesystem(f"s3://{s3.bucket}/history-landing")
    warehouse, catalog = f"s3://{s3.bucket}/history-wh", str(tmp_path / "catalog.db")
    ids = []
    for t in range(3):
        (landing / "accelerometer" / "landing" / f"more-{t}.json").write_text(phone("bob@x.com", 100 + t) + "\n")
        pafs.copy_files(str(landing), base, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
        settings = Settings(
            landing=f"s3://{s3.bucket}/history-landing", warehouse=warehouse, catalog=catalog, maintain=False
        )
        ids.append(run(settings).run_id)
    wh = Warehouse(warehouse, catalog=catalog)
    counts = [query(wh, "SELECT count(*) FROM accelerometer_landing", as_of(wh, i)).column(0)[0].as_py() for i in ids]
    assert counts == [5, 6, 7]
    maintain(warehouse, catalog, keep_runs=1)
    wh = Warehouse(warehouse, catalog=catalog)
    on_store = {i.path: i.size for i in fs.get_file_info(pafs.FileSelector(f"{s3.bucket}/history-wh", recursive=True))
                if i.type == pafs.FileType.File and i.path.endswith(".parquet")}  # fmt: skip
    needed = set()
    for name in wh.table_names():
        table = wh.load(name)
        needed |= {k for k in referenced(wh, table, table.snapshots()) if k.endswith(".parquet")}
    assert set(on_store) == needed
    assert query(wh, "SELECT count(*) FROM accelerometer_landing", as_of(wh, ids[-1])).column(0)[0].as_py() == 7
    with pytest.raises(WarehouseError, match="no longer reachable"):
        as_of(wh, ids[0])


def test_a_catalog_restored_from_before_an_erasure_is_refused_for_a_warehouse_in_object_storage(
    s3: S3Server, tmp_path: Path
) -> None:
    """The record of who was erased is kept with the tables' files in the bucket, so a local catalog
    put back from an older backup cannot bring an erased person back."""
    from stedi.pipeline.forget import forget
    from tests.support.landing import sid, small_landing

    landing = small_landing(tmp_path / "landing")
    warehouse, catalog = f"s3://{s3.bucket}/erased-wh", tmp_path / "catalog.db"
    run(Settings(landing=str(landing), warehouse=warehouse, catalog=str(catalog)))
    backup = catalog.read_bytes()
    forget(warehouse, ["jane@x.com"], catalog=str(catalog))
    fs, base = filesystem(warehouse)
    with fs.open_input_stream(f"{base}/erased.json") as stream:
        record = stream.read().decode()
    assert sid("jane@x.com") in record and "jane" not in record

    catalog.write_bytes(backup)  # the catalog as it was before the erasure
    stored = _objects(fs, base)
    options = ["--warehouse", warehouse, "--catalog", str(catalog)]
    for command in (["run", "--landing", str(landing), *options, "--full-refresh"], ["forget", "bob@x.com", *options]):
        done = stedi(*command)
        assert done.returncode == 1, command
        message = one_line_error(done)
        assert "does not know 1 erasure(s)" in message and "would bring erased people back" in message
        assert "stedi recover" not in message  # it rebuilds local catalogs only
    assert _objects(fs, base) == stored  # nothing written


def _objects(fs: pafs.FileSystem, base: str) -> dict[str, int | None]:
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True))
    return {i.path: i.size for i in infos if i.type == pafs.FileType.File}


def test_tables_extended_with_new_rows_in_object_storage_equal_a_full_run(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows of before are read from the store (not a local view); only new rows are appended."""
    from stedi.stages import extendable
    from tests.support.corpora import BATCHES, copy_files, corpus, empty_landing, starter_files

    monkeypatch.setattr(extendable, "MIN_LANDING_BYTES", 0)
    landing = empty_landing(tmp_path / "landing")
    warehouse, catalog = f"s3://{s3.bucket}/extended-wh", str(tmp_path / "catalog.db")
    files = starter_files()
    copy_files(files[: BATCHES[1].stop], corpus("stedi-starter"), landing)
    run(Settings(landing=str(landing), warehouse=warehouse, catalog=catalog))
    copy_files(files[BATCHES[2]], corpus("stedi-starter"), landing)
    result = run(Settings(landing=str(landing), warehouse=warehouse, catalog=catalog))

    assert any(n.startswith("incremental: appended only the new rows of") for n in result.notes), result.notes
    remote = Warehouse(warehouse, catalog=catalog)
    _, local = corpus_run("stedi-starter")
    for name in data_tables(local):
        assert table_rows(remote, name) == table_rows(local, name), name
