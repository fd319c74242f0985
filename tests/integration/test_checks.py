"""Checks on whole runs: the starter data passes every check, a failing check publishes nothing
(write-audit-publish), a warning publishes, and the CLI shows what failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.errors import ChecksFailed
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from stedi.warehouse.writes import AUDIT_BRANCH
from tests.support.corpora import BATCHES, ROOT, copy_files, corpus, empty_landing, snapshots, starter_files
from tests.support.landing import customer, models_folder, phone, small_landing, step, write_landing

pytestmark = pytest.mark.slow


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
    assert "checks: 29 of 30 passed" in result.output
    assert "FAIL  customer_trusted: row_count row count (expectations test) (482 rows, expected 1)" in result.output
    assert "NOT PUBLISHED" in result.output
    assert "error: 1 error check(s) failed, nothing was published" in result.output


KEYED_BY_EMAIL = """/* @table
zone = "curated"
description = "Consenting phone users (a test table keyed by email)."
input = "accelerometer_trusted"
key = ["email"]
person = [{kind = "email", column = "email"}]
consent = "email"
*/
"""


def _check(result, table: str, kind: str):  # -> CheckOutcome
    (found,) = [c for c in result.checks if c.table == table and c.kind == kind]
    return found


def _unique_check(result, table: str):  # -> CheckOutcome
    return _check(result, table, "unique")


def _references_check(result, table: str):  # -> CheckOutcome
    return _check(result, table, "references")


def test_what_the_sql_guarantees_is_proven_from_the_size_at_which_runs_extend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = small_landing(tmp_path / "landing")
    counted = run(Settings(landing=str(landing), warehouse=str(tmp_path / "small")))
    # Small data: counted.
    assert _unique_check(counted, "accelerometer_trusted").detail == "ok"
    assert _references_check(counted, "accelerometer_trusted").detail == "ok"
    monkeypatch.setenv("STEDI_INCREMENTAL_FROM", "0")
    result = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    distinct, joined = (
        _unique_check(result, "accelerometer_trusted"),
        _references_check(result, "accelerometer_trusted"),
    )
    assert (distinct.status, distinct.value, joined.status, joined.value) == ("pass", 0, "pass", 0)
    assert "holds by construction (the table's SQL is SELECT DISTINCT" in distinct.detail
    assert joined.detail == (
        "ok: holds by construction (the table's SQL keeps only rows its inner join matched to "
        "customer_trusted.email), not counted"
    )
    # customer_trusted's SQL is no SELECT DISTINCT: its key is counted. customer_curated's SQL filters
    # customer_trusted with IN: its reference is counted.
    assert _unique_check(result, "customer_trusted").detail == "ok"
    assert _references_check(result, "customer_curated").detail == "ok"


PHONE_USERS_WITH_READINGS = KEYED_BY_EMAIL.replace(
    "*/",
    '[[check]]\nkind = "references"\ncolumn = "email"\nto_table = "step_trainer_trusted"\nto_column = "email"\n*/',
)


@pytest.mark.parametrize(("join", "status", "value"), [("LEFT JOIN", "fail", 1), ("JOIN", "pass", 0)])
def test_a_reference_the_sql_does_not_join_is_counted_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, join: str, status: str, value: int
) -> None:
    monkeypatch.setenv("STEDI_INCREMENTAL_FROM", "0")
    sql = f"SELECT DISTINCT a.user AS email FROM accelerometer_trusted AS a {join} step_trainer_trusted AS s ON s.email = a.user"
    folder = models_folder(tmp_path / "sql", add={"phone_users": PHONE_USERS_WITH_READINGS + sql})
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S1"), customer("bob@x.com", "S2")],
        accelerometer=[phone("jane@x.com", 10), phone("bob@x.com", 10)],
        step_trainer=[step("S1", 10)],  # bob's step trainer sent nothing
    )
    settings = Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), models=str(folder))
    if status == "fail":
        with pytest.raises(ChecksFailed) as failed:
            run(settings)
        result = failed.value.result  # type: ignore[attr-defined]
    else:
        result = run(settings)
    check = _references_check(result, "phone_users")
    assert (check.status, check.value) == (status, value)
    assert ("holds by construction" in check.detail) == (status == "pass")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT user AS email, x FROM accelerometer_trusted",  # no DISTINCT
        "SELECT DISTINCT user AS email, x FROM accelerometer_trusted",  # DISTINCT over more than the key
    ],
)
def test_a_key_the_sql_does_not_make_distinct_is_counted_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    monkeypatch.setenv("STEDI_INCREMENTAL_FROM", "0")
    folder = models_folder(tmp_path / "sql", add={"phone_users": KEYED_BY_EMAIL + sql})
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S1")],
        accelerometer=[phone("jane@x.com", 10, x=1.0), phone("jane@x.com", 20, x=2.0)],
        step_trainer=[step("S1", 10)],
    )
    with pytest.raises(ChecksFailed) as failed:
        run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), models=str(folder)))
    check = _unique_check(failed.value.result, "phone_users")  # type: ignore[attr-defined]
    assert (check.status, check.value) == ("fail", 1)


def _cardinality_checks(result, table: str) -> list:  # -> list[CheckOutcome]
    return [c for c in result.checks if c.table == table and c.kind == "cardinality"]


def _one_serial_per_instant(name: str, source: str, sql: str) -> str:
    """A test table whose own check states that each instant has one serial."""
    return f"""/* @table
zone = "curated"
description = "Each instant of a step-trainer reading with its serial ({name}, a test table)."
input = "{source}"

[[check]]
kind = "cardinality"
columns = ["sensorReadingTime"]
of = "serialNumber"
max = 1
severity = "warn"
*/
{sql}
"""


INSTANTS = _one_serial_per_instant(
    "instants",
    "step_trainer_trusted",
    "SELECT DISTINCT s.sensorReadingTime, s.serialNumber FROM step_trainer_trusted AS s",
)
INSTANT_SERIALS = _one_serial_per_instant(
    "instant_serials", "instants", "SELECT i.sensorReadingTime, i.serialNumber FROM instants AS i"
)


@pytest.mark.parametrize(("bob_at", "violations"), [(20, 0), (10, 1)])
def test_a_cardinality_follows_from_the_inputs_checks_only_where_they_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bob_at: int, violations: int
) -> None:
    """instant_serials takes both columns from instants, whose own check states the same: it is
    not counted where that check passed, and counted (finding what it finds) where it did not."""
    monkeypatch.setenv("STEDI_INCREMENTAL_FROM", "0")
    folder = models_folder(tmp_path / "sql", add={"instants": INSTANTS, "instant_serials": INSTANT_SERIALS})
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S1"), customer("bob@x.com", "S2")],
        accelerometer=[phone("jane@x.com", 10), phone("bob@x.com", bob_at)],
        step_trainer=[step("S1", 10), step("S2", bob_at)],  # at 10 both: two serials at one instant
    )
    result = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), models=str(folder)))
    (premise,) = _cardinality_checks(result, "instants")
    (derived,) = _cardinality_checks(result, "instant_serials")
    assert (premise.value, derived.value) == (violations, violations)
    if violations:
        assert (premise.status, derived.status, derived.detail) == ("warn", "warn", "1 violating rows")
    else:
        assert derived.detail == (
            "ok: follows from the table's SQL, as instants has at most one serialNumber per (sensorReadingTime) "
            "(its check passed); not counted"
        )
    # The package's own: each ML row's subject from its step-trainer reading's owner, and the split of
    # each subject from the subject keys the run made (counted there: one row per person).
    by_subject, by_instant = sorted(
        _cardinality_checks(result, "machine_learning_curated"), key=lambda c: c.description
    )
    assert by_instant.detail == (
        "ok: follows from the table's SQL, as step_trainer_trusted has at most one email per (serialNumber, "
        "sensorReadingTime) (its check passed) and subject_keys has at most one subject_id per (email) (counted); "
        "not counted"
    )
    assert by_subject.detail == (
        "ok: follows from the table's SQL, as subject_keys has at most one split per (subject_id) (counted); not counted"
    )


def test_below_the_size_at_which_runs_extend_every_cardinality_is_counted(tmp_path: Path) -> None:
    result = run(Settings(landing=str(small_landing(tmp_path / "landing")), warehouse=str(tmp_path / "wh")))
    assert [c.detail for c in _cardinality_checks(result, "machine_learning_curated")] == ["ok", "ok"]


def _queries_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every query the embedded engine is asked to count from now on (it still counts them)."""
    from stedi.engines.duckdb import DuckDBEngine

    asked: list[str] = []
    counted = DuckDBEngine.rows_of_each
    monkeypatch.setattr(
        DuckDBEngine, "rows_of_each", lambda self, queries: asked.extend(queries) or counted(self, queries)
    )
    return asked


def _outliers(result) -> list[tuple[str, str, int, str]]:
    return [(c.table, c.status, c.value, c.detail) for c in result.checks if c.kind == "outliers"]


def test_outliers_are_counted_by_value_where_the_column_holds_few_values_also_in_a_run_that_extends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stedi.contract.checks import declared_checks
    from stedi.contract.tables import load
    from stedi.stages import checking

    asked = _queries_asked(monkeypatch)
    files = starter_files()
    last_phone_file = [f for f in files if "/accelerometer/" in f.as_posix()][-1]
    landing = empty_landing(tmp_path / "landing")
    copy_files([f for f in files if f != last_phone_file], corpus("stedi-starter"), landing)
    monkeypatch.setenv("STEDI_INCREMENTAL_FROM", "0")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    copy_files([last_phone_file], corpus("stedi-starter"), landing)
    asked.clear()
    extended = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    assert any("appended only the new rows of accelerometer_trusted" in n for n in extended.notes), extended.notes
    by_value = {c.sql: c.by_value for c in declared_checks(load()) if c.kind == "outliers"}
    # The starter's phone readings hold three values of x, y and z: the accelerometer table, read
    # through its files and new rows, is counted by value from the last run's estimate.
    phone_checks = [sql for sql in by_value if '"accelerometer_trusted"' in sql]
    assert len(phone_checks) == 3 and all(by_value[sql] in asked and sql not in asked for sql in phone_checks)
    # Every form gives the answers of a full run counted over every row.
    monkeypatch.setattr(checking, "BY_VALUE_MOST", -1)
    asked.clear()
    full = run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(tmp_path / "full")))
    assert not set(by_value.values()) & set(asked)
    assert _outliers(extended) == _outliers(full)
    assert [d for _, _, _, d in _outliers(full)] == [
        "ok; x: median absolute deviation 1",
        "ok; y: median absolute deviation 1",
        "ok; z: median absolute deviation 0",
        "ok; distanceFromObject: median absolute deviation 25",
    ]


@pytest.mark.parametrize("distances", [(100, 100), (100, 250)])
def test_an_owner_and_a_conflict_check_are_settled_by_a_unique_key_else_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, distances: tuple[int, int]
) -> None:
    monkeypatch.setenv("STEDI_INCREMENTAL_FROM", "0")
    # S1 read at 10 twice: the same distance (one distinct reading) or two (one instant, two rows).
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S1")],
        accelerometer=[phone("jane@x.com", 10), phone("jane@x.com", 20)],
        step_trainer=[step("S1", 10, distances[0]), step("S1", 10, distances[1]), step("S1", 20)],
    )
    result = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    owner = next(c for c in _cardinality_checks(result, "step_trainer_trusted"))
    conflicts = _check(result, "step_trainer_trusted", "conflicts")
    if distances[0] == distances[1]:
        settled = (
            "ok: each (serialNumber, sensorReadingTime) has one row (counted), so none has two values; not counted"
        )
        assert (owner.value, owner.detail, conflicts.value, conflicts.detail) == (0, settled, 0, settled)
    else:  # the key repeats: both counted, the conflict found
        assert (owner.status, owner.value, owner.detail) == ("pass", 0, "ok")
        assert (conflicts.status, conflicts.value) == ("warn", 1)
    # Either way the owner check passed, and the ML table's owner check follows from it.
    (_, by_instant) = sorted(_cardinality_checks(result, "machine_learning_curated"), key=lambda c: c.description)
    assert by_instant.detail.startswith("ok: follows from the table's SQL, as step_trainer_trusted has at most one")


def test_a_run_that_extends_counts_a_settled_conflict_check_over_its_new_keys_from_the_answer_of_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEDI_INCREMENTAL_FROM", "0")
    from stedi.contract.checks import declared_checks
    from stedi.contract.tables import load

    asked = _queries_asked(monkeypatch)
    first = {
        "customer": [customer("jane@x.com", "S1")],
        "accelerometer": [phone("jane@x.com", 10), phone("jane@x.com", 20)],
    }
    landing = write_landing(tmp_path / "landing", **first, step_trainer={"a.json": step("S1", 10) + "\n"})
    settled = _check(
        run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh"))), "step_trainer_trusted", "conflicts"
    )
    assert settled.detail.startswith("ok: each (serialNumber, sensorReadingTime) has one row")
    # A new file: S1 read at 10 again with another distance, and at 20.
    (landing / "step_trainer" / "landing" / "b.json").write_text(step("S1", 10, 250) + "\n" + step("S1", 20) + "\n")
    asked.clear()
    extended = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    assert any("appended only the new rows of step_trainer_trusted" in n for n in extended.notes), extended.notes
    (whole,) = [c.sql for c in declared_checks(load()) if c.kind == "conflicts"]
    assert whole not in asked  # counted over the new keys, from the last run's answer (0)
    assert not [q for q in asked if '__before" AS a WHERE EXISTS' in q]  # that 0 leaves no group of before to take away
    full = run(Settings(landing=str(landing), warehouse=str(tmp_path / "full")))
    in_extended, in_full = (_check(r, "step_trainer_trusted", "conflicts") for r in (extended, full))
    assert (in_extended.status, in_extended.value) == (in_full.status, in_full.value) == ("warn", 1)


def test_checks_of_totals_are_corrected_by_the_new_rows_in_a_run_that_extends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stedi.contract.checks import declared_checks
    from stedi.contract.tables import load
    from stedi.engines.duckdb import DuckDBEngine
    from stedi.stages import extendable
    from tests.support.corpora import assert_same_as_a_full_rebuild, build

    monkeypatch.setattr(extendable, "MIN_LANDING_BYTES", 0)
    # jane's step trainer reads at 10 and her phone at 99: no pair, machine_learning_curated is empty
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S1", consent=1)],
        accelerometer=[phone("jane@x.com", 99)],
        step_trainer=[step("S1", 10)],
    )
    empty = build(landing, tmp_path / "wh")
    [missing] = [c for c in empty.checks if c.kind == "min_rows"]
    assert (missing.status, missing.value) == ("warn", 1) and missing.detail.startswith("empty")
    asked: list[str] = []
    real = DuckDBEngine.rows_of_each
    monkeypatch.setattr(
        DuckDBEngine, "rows_of_each", lambda self, queries: asked.extend(queries) or real(self, queries)
    )
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 10) + "\n"})
    paired = build(landing, tmp_path / "wh")
    [found] = [c for c in paired.checks if c.kind == "min_rows"]
    assert (found.status, found.value) == ("pass", 0)
    totals = [c.sql for c in declared_checks(load()) if c.kind in ("funnel", "min_rows")]
    assert [sql for sql in totals if sql in asked] == []  # each corrected from the last answer, not counted
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, paired)
