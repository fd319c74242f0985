"""Checks as data: every kind passing and failing, expectations files, and write-audit-publish."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from stedi.config import Settings
from stedi.contract.checks import compile_check, declared_checks, load_expectations
from stedi.errors import ChecksFailed
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.warehouse.catalog import AUDIT_BRANCH, Warehouse
from tests.conftest import ROOT, corpus
from tests.test_incremental import BATCHES, copy_files, empty_landing, snapshots, starter_files


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE people (email VARCHAR, serial VARCHAR, consent BIGINT)")
    con.execute("INSERT INTO people VALUES ('a', 's1', 1), ('b', 's2', NULL), ('b', 's3', 3), ('c', 's3', 4)")
    con.execute("CREATE TABLE readings (email VARCHAR, serial VARCHAR, t BIGINT, x DOUBLE)")
    con.execute("INSERT INTO readings VALUES ('a', 's1', 1, 0.5), ('z', 's1', 1, 99.0), ('c', 's3', 2, -7.0)")
    return con


CASES = [
    ({"kind": "unique", "table": "people", "columns": ["email"]}, 1),
    ({"kind": "unique", "table": "people", "columns": ["email", "serial"]}, 0),
    ({"kind": "not_null", "table": "people", "columns": ["consent"]}, 1),
    ({"kind": "not_null", "table": "people", "columns": ["email", "serial"]}, 0),
    ({"kind": "range", "table": "readings", "column": "x", "min": -5, "max": 50}, 2),
    ({"kind": "range", "table": "readings", "column": "x", "min": -100, "max": 100}, 0),
    ({"kind": "references", "table": "readings", "column": "email", "to_table": "people", "to_column": "email"}, 1),
    ({"kind": "references", "table": "people", "column": "serial", "to_table": "readings", "to_column": "serial"}, 1),
    ({"kind": "cardinality", "table": "readings", "columns": ["serial", "t"], "of": "email", "max": 1}, 1),
    ({"kind": "cardinality", "table": "people", "columns": ["email"], "of": "serial", "max": 2}, 0),
    ({"kind": "funnel", "table": "people", "from": "readings"}, 1),
    ({"kind": "funnel", "table": "readings", "from": "people"}, 0),
]


@pytest.mark.parametrize(("spec", "violations"), CASES, ids=lambda v: str(v)[:60])
def test_every_check_kind_counts_its_violations(con: duckdb.DuckDBPyConnection, spec: dict, violations: int) -> None:
    check = compile_check({**spec, "severity": "error"})
    assert con.execute(check.sql).fetchone()[0] == violations


def test_unknown_kind_or_severity_is_a_clear_error() -> None:
    from stedi.errors import SettingsError

    with pytest.raises(SettingsError, match="unknown kind"):
        compile_check({"kind": "vibes", "table": "t"})
    with pytest.raises(SettingsError, match="severity"):
        compile_check({"kind": "unique", "table": "t", "columns": ["a"], "severity": "fatal"})


def test_the_shipped_checks_cover_every_kind() -> None:
    assert {c.kind for c in declared_checks()} == {"unique", "not_null", "range", "references", "cardinality", "funnel"}


def test_starter_expectations_mark_the_seed_figure_as_the_timestamp_join() -> None:
    path = ROOT / "expectations" / "stedi-starter.toml"
    assert load_expectations(path, "all", "owner").rows["machine_learning_curated"] == 40981
    assert load_expectations(path, "all", "timestamp").rows["machine_learning_curated"] == 43681
    assert "timestamp" in path.read_text().split("43681")[1].splitlines()[0]
    as_of = load_expectations(path, "as-of", "owner").rows
    assert (as_of["accelerometer_trusted"], as_of["customer_curated"]) == (32025, 464)


@pytest.mark.parametrize("join", ["owner", "timestamp"])
def test_starter_data_passes_every_check_and_expectation(tmp_path: Path, join: str) -> None:
    expect = str(ROOT / "expectations" / "stedi-starter.toml")
    result = run(
        Settings(landing=str(corpus("stedi-starter")), warehouse=str(tmp_path / "wh"), expect=expect, ml_join=join)
    )
    assert result.published
    assert [c for c in result.checks if c.status != "pass"] == []
    assert sum(c.kind == "row_count" for c in result.checks) == 8


def _expectations(tmp_path: Path, severity: str, trusted: int) -> str:
    path = tmp_path / f"expect-{severity}.toml"
    path.write_text(f'dataset = "test"\nseverity = "{severity}"\n[rows]\ncustomer_trusted = {trusted}\n')
    return str(path)


def test_a_failing_error_check_publishes_nothing_and_keeps_the_audited_tables(tmp_path: Path) -> None:
    landing = empty_landing(tmp_path / "landing")
    files = starter_files()
    copy_files(files[BATCHES[0]] + files[BATCHES[1]], corpus("stedi-starter"), landing)
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    before = snapshots(tmp_path / "wh")
    copy_files(files[BATCHES[2]], corpus("stedi-starter"), landing)
    with pytest.raises(ChecksFailed, match="customer_trusted: row count") as failed:
        run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), expect=_expectations(tmp_path, "error", 1)))
    assert not failed.value.result.published  # type: ignore[attr-defined]
    after = snapshots(tmp_path / "wh")
    assert {n: s for n, s in after.items() if n != "run_history"} == {
        n: s for n, s in before.items() if n != "run_history"
    }
    wh = Warehouse(tmp_path / "wh")
    trusted = wh.load("customer_trusted")
    audited = trusted.scan(snapshot_id=trusted.metadata.refs[AUDIT_BRANCH].snapshot_id).to_arrow()
    assert audited.num_rows == 482 != wh.describe("customer_trusted").rows  # the checked rows wait on the branch
    history = query(wh, "SELECT published, status, value, expected FROM run_history WHERE kind = 'check'"
                        " AND table_name = 'customer_trusted' AND name LIKE 'row_count%'").to_pylist()  # fmt: skip
    assert history == [{"published": False, "status": "fail", "value": 482, "expected": 1}]
    # Fixed expectations: the next run publishes the same tables.
    result = run(
        Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), expect=_expectations(tmp_path, "error", 482))
    )
    assert result.published and Warehouse(tmp_path / "wh").describe("customer_trusted").rows == 482


def test_a_failing_warn_check_is_reported_and_the_run_publishes(tmp_path: Path) -> None:
    result = run(
        Settings(
            landing=str(corpus("stedi-starter")),
            warehouse=str(tmp_path / "wh"),
            expect=_expectations(tmp_path, "warn", 7),
        )
    )
    assert result.published
    warned = [c for c in result.checks if c.status == "warn"]
    assert [(c.table, c.value, c.expected) for c in warned] == [("customer_trusted", 482, 7)]
    assert Warehouse(tmp_path / "wh").describe("customer_trusted").rows == 482


def test_cli_shows_the_failed_check_and_exits_1(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from stedi.cli import main

    expect = _expectations(tmp_path, "error", 1)
    args = ["run", "--landing", str(corpus("stedi-starter")), "--warehouse", str(tmp_path / "wh"), "--expect", expect]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "checks: 20 of 21 passed" in result.output
    assert "FAIL  customer_trusted: row_count row count (expectations test) (482 rows, expected 1)" in result.output
    assert "NOT PUBLISHED" in result.output
    assert "error: 1 error check(s) failed, nothing was published" in result.output
