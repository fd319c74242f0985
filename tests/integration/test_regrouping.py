"""An internal table of groups (`step_trainer_matching`, one row per owner) in runs that extend the
tables: only the owners new readings touch are counted again, and the reason and the check that read
it answer what a full rebuild answers, without computing the whole table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stedi.engines.duckdb import DuckDBEngine
from stedi.results import RunResult
from stedi.stages import extending, histograms
from stedi.warehouse.catalog import Warehouse
from tests.support.corpora import assert_same_as_a_full_rebuild, build
from tests.support.landing import customer, models_folder, phone, small_landing, step, write_landing

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("extends_at_any_size")]

# A query that reads the whole table (its relations of touched owners are named with a suffix).
_WHOLE = re.compile(r'\bFROM\s+"?step_trainer_matching"?(?![\w"])', re.IGNORECASE)


def _spy(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """The tables each run from now on regroups, and every query its checks and reasons ask."""
    regrouped: list[str] = []
    asked: list[str] = []
    real_regroup, real_rows = extending.regroup, DuckDBEngine.rows_of_each

    def regroup(engine, table, befores, deltas):  # type: ignore[no-untyped-def]
        regrouped.append(table.name)
        return real_regroup(engine, table, befores, deltas)

    def rows_of_each(self, queries):  # type: ignore[no-untyped-def]
        asked.extend(queries)
        return real_rows(self, queries)

    monkeypatch.setattr(extending, "regroup", regroup)
    monkeypatch.setattr(DuckDBEngine, "rows_of_each", rows_of_each)
    return regrouped, asked


def _matching(result: RunResult) -> tuple[tuple, int]:  # type: ignore[type-arg]
    (clock,) = [(c.status, c.value, c.detail) for c in result.checks if c.kind == "at_least"]
    drops = next(t.drops for t in result.tables if t.name == "machine_learning_curated")
    return clock, sum(d.count for d in drops if d.code == "no_phone_reading")


def test_only_the_owners_new_readings_touch_are_counted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # jane's two step-trainer readings are matched by her phone; bob's one (S2 at 30) by none of his
    landing = small_landing(tmp_path / "landing")
    first = build(landing, tmp_path / "wh")
    assert _matching(first) == (("warn", 1, "1 violating rows; median share per subject 50%"), 1)
    regrouped, asked = _spy(monkeypatch)
    # bob's phone reads at 30: his reading is matched now
    write_landing(landing, accelerometer={"bob-later.json": phone("bob@x.com", 30) + "\n"})
    matched = build(landing, tmp_path / "wh")
    assert regrouped == ["step_trainer_matching"]
    assert _matching(matched) == (("pass", 0, "ok; median share per subject 100%"), 0)
    assert not [q for q in asked if _WHOLE.search(q)]
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, matched)
    # new step-trainer readings of jane (at 40) and bob (at 50) that no phone reading matches
    asked.clear()
    write_landing(landing, step_trainer={"later.json": step("S1", 40) + "\n" + step("S2", 50) + "\n"})
    unmatched = build(landing, tmp_path / "wh")
    assert regrouped == ["step_trainer_matching"] * 2
    assert _matching(unmatched) == (("pass", 0, "ok; median share per subject 58%"), 2)  # 2/3 and 1/2
    assert not [q for q in asked if _WHOLE.search(q)]
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, unmatched)


def test_without_the_last_runs_shares_the_check_reads_the_whole_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(histograms, "MOST_VALUES", 0)  # no run records its shares
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    regrouped, asked = _spy(monkeypatch)
    write_landing(landing, accelerometer={"bob-later.json": phone("bob@x.com", 30) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert regrouped == ["step_trainer_matching"]
    assert [q for q in asked if _WHOLE.search(q)]  # the check, through the table's view
    assert _matching(result) == (("pass", 0, "ok; median share per subject 100%"), 0)
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)


def test_a_changed_input_builds_the_table_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    regrouped, _ = _spy(monkeypatch)
    # bob withdraws his consent: his readings leave the trusted tables, which did not only grow
    write_landing(landing, customer={"later.json": customer("bob@x.com", "S2", updated=2, consent=None) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert regrouped == []
    assert _matching(result)[1] == 0
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)


MATCHING_OWNERS = """/* @table
zone = "curated"
description = "Each owner's readings and those no phone reading of theirs matches."
input = "step_trainer_matching"
key = ["email"]
person = [{kind = "email", column = "email"}]
consent = "email"
*/
SELECT email, readings, unmatched FROM step_trainer_matching WHERE readings > 0
"""


def test_a_table_reading_a_table_of_groups_is_built_from_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The touched groups' rows of before are not in a regrouped table: what reads it is built
    again, not given new rows or kept as it was."""
    folder = models_folder(tmp_path / "sql", add={"matching_owners": MATCHING_OWNERS})
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh", models=str(folder))
    regrouped, _ = _spy(monkeypatch)
    write_landing(landing, accelerometer={"bob-later.json": phone("bob@x.com", 30) + "\n"})
    build(landing, tmp_path / "wh", models=str(folder))
    assert regrouped == ["step_trainer_matching"]
    rows = Warehouse(tmp_path / "wh").read("matching_owners").to_pylist()
    assert sorted((r["email"], r["readings"], r["unmatched"]) for r in rows) == [
        ("bob@x.com", 1, 0),  # his reading at 30 is matched now
        ("jane@x.com", 2, 0),
    ]
