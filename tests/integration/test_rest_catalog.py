"""The whole pipeline through an Iceberg REST catalog: SeaweedFS's, serving S3 Tables buckets.

The catalog is given as a user would: `--catalog URL` with pyiceberg's standard settings for the
catalog named `stedi` (credential, warehouse), or `--catalog pyiceberg:NAME` from a
`.pyiceberg.yaml`. Each test has a table bucket (one catalog) of its own; stedi's own files (report,
dataset card) go to a plain bucket, since table buckets hold tables only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from stedi.config import Settings
from stedi.pipeline.history import as_of
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.stages import planning
from stedi.stages.planning import LOOKS_PROPERTY, decode_looks
from stedi.storage import filesystem
from stedi.warehouse.catalog import Warehouse, open_catalog
from stedi.warehouse.folder import NAMESPACE
from stedi.warehouse.writes import AUDIT_BRANCH
from tests.support.bytesearch import files_holding
from tests.support.cli import one_line_error, stedi, stedi_process
from tests.support.corpora import (
    BATCHES,
    copy_files,
    corpus,
    corpus_run,
    data_tables,
    empty_landing,
    starter_files,
    table_rows,
)
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, S3Server, _free_port

pytestmark = pytest.mark.s3

UseCatalog = Callable[[str], list[str]]
LANDING_ROWS = "SELECT (SELECT count(*) FROM accelerometer_landing) + (SELECT count(*) FROM step_trainer_landing)"


@pytest.fixture
def rest(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> UseCatalog:
    """Point the environment at one table bucket; the options that name the warehouse and catalog."""

    def use(table_bucket: str) -> list[str]:
        for key, value in s3.rest_env(table_bucket).items():
            monkeypatch.setenv(key, value)
        return ["--warehouse", f"s3://{s3.bucket}/{table_bucket}-files", "--catalog", s3.iceberg_rest]

    return use


def _settings(options: list[str], landing: Path, **more: object) -> Settings:
    return Settings(landing=str(landing), warehouse=options[1], catalog=options[3], **more)  # type: ignore[arg-type]


def _count(warehouse: Warehouse, sql: str, at: dict[str, int] | None = None) -> int:
    return int(query(warehouse, sql, at).column(0)[0].as_py())


def test_pipeline_through_rest_is_exact_incremental_and_audited(
    rest: UseCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = rest("rest-exact")
    landing = empty_landing(tmp_path / "landing")
    files = starter_files()
    copy_files(files[BATCHES[0]] + files[BATCHES[1]], corpus("stedi-starter"), landing)
    run(_settings(options, landing))
    copy_files(files[BATCHES[2]], corpus("stedi-starter"), landing)
    result = run(_settings(options, landing))
    assert sum(t.changed for t in result.tables) > 0
    remote = Warehouse(options[1], catalog=options[3])
    _, local = corpus_run("stedi-starter")  # the same data through the SQLite catalog
    assert data_tables(remote) == data_tables(local)
    for name in data_tables(local):
        assert table_rows(remote, name) == table_rows(local, name), name
    ml = remote.load("machine_learning_curated")
    assert ml.metadata.refs[AUDIT_BRANCH].snapshot_id == ml.current_snapshot().snapshot_id  # published from audit
    before = {name: remote.state(name)[0] for name in data_tables(remote)}
    again = run(_settings(options, landing))
    assert not any(t.changed for t in again.tables)
    assert {name: Warehouse(options[1], catalog=options[3]).state(name)[0] for name in before} == before
    monkeypatch.setattr(planning, "RACY_NS", 0)  # looks settle at once
    for path in landing.rglob("*.json"):
        path.chmod(0o640)  # new looks, the same contents: confirmed by hashing, kept as a table property
    assert run(_settings(options, landing)).outcome == "unchanged"
    kept = Warehouse(options[1], catalog=options[3]).load("customer_landing").properties.get(LOOKS_PROPERTY)
    assert len(decode_looks(kept, before["customer_landing"])) == len(list(landing.glob("customer/landing/*.json")))
    listing = stedi("tables", *options, "--format", "csv")
    assert "machine_learning_curated,curated,40981" in listing.stdout, listing.stderr
    counted = stedi("sql", *options, "--format", "csv", "SELECT count(*) AS n FROM customer_trusted")
    assert counted.stdout.splitlines() == ["n", "482"]
    assert stedi("report", *options).returncode == 0
    fs, path = filesystem(f"{options[1]}/report.html")
    assert fs.get_file_info(path).size > 10_000


def test_history_rollback_maintenance_and_erasure_through_rest(rest: UseCatalog, s3: S3Server, tmp_path: Path) -> None:
    options = rest("rest-erase")
    landing = empty_landing(tmp_path / "landing")
    files = starter_files()
    copy_files(files[BATCHES[0]] + files[BATCHES[1]], corpus("stedi-starter"), landing)
    first = run(_settings(options, landing)).run_id
    copy_files(files[BATCHES[2]], corpus("stedi-starter"), landing)
    run(_settings(options, landing))
    wh = Warehouse(options[1], catalog=options[3])
    partial = _count(wh, LANDING_ROWS, as_of(wh, first))
    assert 0 < partial < 81273 + 28680
    runs = json.loads(stedi("history", *options, "--format", "json").stdout)
    assert [r["outcome"] for r in runs] == ["published", "published"]
    assert stedi("rollback", *options, first).returncode == 0
    assert _count(Warehouse(options[1], catalog=options[3]), LANDING_ROWS) == partial
    run(_settings(options, landing))  # files ingested after the rolled-back run are read again
    wh = Warehouse(options[1], catalog=options[3])
    assert _count(wh, LANDING_ROWS) == 81273 + 28680
    assert stedi("maintain", *options, "--keep-runs", "1").returncode == 0
    email = str(query(wh, "SELECT min(email) FROM customer_trusted").column(0)[0].as_py())
    done = stedi("forget", *options, email)
    assert done.returncode == 0, done.stderr
    wh = Warehouse(options[1], catalog=options[3])
    assert _count(wh, "SELECT count(*) FROM customer_trusted") == 481
    copied = tmp_path / "bucket"
    fs, _ = filesystem(f"s3://{s3.bucket}")
    pafs.copy_files("rest-erase", str(copied), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    assert any(copied.rglob("*.parquet"))
    assert files_holding(copied, email) == []  # gone from every object of the table bucket


def test_two_runs_at_once_through_rest_publish_one_whole_state(rest: UseCatalog) -> None:
    """No lock is possible through a REST catalog: two runs with different settings race, and the
    tables end as one of them built them, never a mixture; a run that lost says which table."""
    options = rest("rest-race")
    landing = str(corpus("stedi-starter"))
    commands = [["run", "--landing", landing, *options, "--consent-policy", p] for p in ("all", "as-of")]
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda args: stedi_process(*args), commands))
    assert any(d.returncode == 0 for d in done), [d.stderr for d in done]
    for finished in done:
        if finished.returncode != 0:
            assert "was changed by another writer" in one_line_error(finished)
    remote = Warehouse(options[1], catalog=options[3])
    matches = []
    for policy in ("all", "as-of"):
        _, local = corpus_run("stedi-starter", consent_policy=policy)
        matches.append(all(table_rows(remote, n) == table_rows(local, n) for n in data_tables(local)))
    assert matches.count(True) == 1, matches  # every table from the same run


def test_writers_that_make_the_namespace_at_once_all_open_the_catalog(rest: UseCatalog) -> None:
    """The server fails one of two creates of a namespace that race (its half-made namespace answers
    500); every writer still opens the catalog, the namespace made once."""
    options = rest("rest-namespace")
    for _ in range(30):
        with ThreadPoolExecutor(4) as pool:
            opened = list(pool.map(lambda _: open_catalog(options[1], options[3], create=True), range(4)))
        assert all((NAMESPACE,) in catalog.list_namespaces() for catalog in opened)
        opened[0].drop_namespace(NAMESPACE)  # the next round races a create again


def test_catalog_settings_from_pyiceberg_yaml_and_clear_errors(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "pyiceberg-home"
    home.mkdir()
    (home / ".pyiceberg.yaml").write_text(
        f"catalog:\n  lab:\n    uri: {s3.iceberg_rest}\n    credential: {ACCESS_KEY}:{SECRET_KEY}\n"
        "    warehouse: rest-config\n"
    )
    monkeypatch.setenv("PYICEBERG_HOME", str(home))
    options = ["--warehouse", f"s3://{s3.bucket}/rest-config-files", "--catalog", "pyiceberg:lab"]
    done = stedi("run", "--landing", str(corpus("stedi-starter")), *options)
    assert done.returncode == 0, done.stderr
    assert "machine_learning_curated,curated,40981" in stedi("tables", *options, "--format", "csv").stdout
    url = ["--warehouse", options[1], "--catalog", s3.iceberg_rest]
    wrong: dict[str, tuple[dict[str, str | None], list[str], str]] = {
        "a wrong credential": ({"PYICEBERG_CATALOG__STEDI__CREDENTIAL": f"{ACCESS_KEY}:wrong"}, url, "refused the credentials"),
        "a wrong token": ({"PYICEBERG_CATALOG__STEDI__CREDENTIAL": None, "PYICEBERG_CATALOG__STEDI__TOKEN": "not-a-token"}, url, "refused the credentials"),
        "a missing table bucket": ({"PYICEBERG_CATALOG__STEDI__WAREHOUSE": "no-such-tables"}, url, "no such warehouse"),
        "no server": ({}, ["--warehouse", options[1], "--catalog", f"http://127.0.0.1:{_free_port()}"], "cannot reach"),
    }  # fmt: skip
    base: dict[str, str | None] = {**s3.rest_env("rest-config")}
    for case, (settings, args, words) in wrong.items():
        started = time.monotonic()
        failed = stedi_process("tables", *args, env={**base, **settings})
        assert failed.returncode == 1, case
        assert words in one_line_error(failed), case
        assert time.monotonic() - started < 30, case


def test_an_unknown_pyiceberg_catalog_name_is_one_line(tmp_path: Path) -> None:
    done = stedi_process("tables", "--warehouse", str(tmp_path / "wh"), "--catalog", "pyiceberg:nowhere")
    assert done.returncode == 1
    assert "no pyiceberg catalog named nowhere" in one_line_error(done)
