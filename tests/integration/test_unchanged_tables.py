"""A run that extends its tables takes each published table whose inputs are all unchanged as the
rows the last run published, without building it: the tables, reasons and checks still equal a full
rebuild's, and nothing is committed to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.engines.duckdb import DuckDBEngine
from stedi.results import RunResult
from tests.support.corpora import assert_same_as_a_full_rebuild, build
from tests.support.landing import phone, small_landing, step, write_landing

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("extends_at_any_size")]

# The published tables a new step-trainer file leaves as they were: none reads step-trainer readings.
UNTOUCHED = ["customer_trusted", "accelerometer_trusted", "customer_curated"]


def _built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The relations the runs from now on build by a query."""
    names: list[str] = []
    real = DuckDBEngine.build

    def spied(self, name, sql, *, view=False):  # type: ignore[no-untyped-def]
        names.append(name)
        return real(self, name, sql, view=view)

    monkeypatch.setattr(DuckDBEngine, "build", spied)
    return names


def _snapshots(result: RunResult) -> dict[str, tuple[int | None, bool]]:
    """The snapshot each table untouched by new step-trainer readings was left at, and whether the
    run committed it."""
    return {t.name: (t.snapshot_id, t.changed) for t in result.tables if t.name in UNTOUCHED}


def test_tables_a_new_step_trainer_file_leaves_are_taken_as_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = small_landing(tmp_path / "landing")
    first = build(landing, tmp_path / "wh")
    built = _built(monkeypatch)
    write_landing(landing, step_trainer={"later.json": step("S1", 50) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert not set(UNTOUCHED) & set(built)
    assert "step_trainer_trusted" in {t.name for t in result.tables if t.changed}
    assert _snapshots(result) == {name: (snapshot, False) for name, (snapshot, _) in _snapshots(first).items()}
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)


def test_a_table_whose_columns_differ_from_its_files_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the published files' columns or types are not those the SQL gives, the table is built
    by its SQL (and found unchanged by its rows)."""
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    real = DuckDBEngine.described
    monkeypatch.setattr(
        DuckDBEngine, "described", lambda self, name: [] if name.endswith("__shape") else real(self, name)
    )
    built = _built(monkeypatch)
    write_landing(landing, step_trainer={"later.json": step("S1", 50) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert set(UNTOUCHED) <= set(built)
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)


def test_a_new_phone_file_takes_the_consenting_customers_as_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    built = _built(monkeypatch)
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 50) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert "customer_trusted" not in built
    assert "accelerometer_trusted" in {t.name for t in result.tables if t.changed}
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)
