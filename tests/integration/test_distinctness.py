"""A run that extends its tables builds the distinct step-trainer readings as a view of the landing
rows when the last run found those rows distinct already and they are unchanged; every table still
equals a full rebuild, with the same checks and reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.stages import distinctness, extending
from tests.support.corpora import assert_same_as_a_full_rebuild, build
from tests.support.landing import phone, small_landing, step, write_landing

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("extends_at_any_size")]


def _views(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Each time the runs from now on build the distinct step-trainer readings from unchanged
    landing rows: whether as a view of those rows."""
    made: list[tuple[str, bool]] = []
    real = distinctness.built_as_view

    def spied(ctx, table):  # type: ignore[no-untyped-def]
        found = real(ctx, table)
        if table.name == "step_trainer_readings":
            made.append((table.name, found))
        return found

    monkeypatch.setattr(distinctness, "built_as_view", spied)
    return made


@pytest.mark.parametrize("duplicate", [False, True])
def test_step_readings_found_distinct_are_a_view_of_their_landing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duplicate: bool
) -> None:
    """With every step-trainer reading once in the landing files, each run with new phone readings
    only builds the distinct readings as a view; with one reading exported twice, by DISTINCT."""
    landing = small_landing(tmp_path / "landing")
    if duplicate:
        write_landing(landing, step_trainer={"again.json": step("S1", 10) + "\n"})
    build(landing, tmp_path / "wh")
    views = _views(monkeypatch)
    for at in (30, 40):  # the second run uses what the first found, as the first did the full run's
        write_landing(landing, accelerometer={f"later-{at}.json": phone("jane@x.com", at) + "\n"})
        result = build(landing, tmp_path / "wh")
        assert "accelerometer_trusted" in next(n for n in result.notes if n.startswith(extending.NOTE_PREFIX))
        assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)
    assert views == [("step_trainer_readings", not duplicate)] * 2
    dropped = {d.code: d.count for t in result.tables if t.name == "step_trainer_trusted" for d in t.drops}
    assert dropped.get("duplicate", 0) == (1 if duplicate else 0)


@pytest.mark.parametrize("again", [False, True])
def test_new_step_readings_are_made_distinct_and_found_distinct_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, again: bool
) -> None:
    """A new step-trainer file changes the readings' input: they are made distinct by their SQL, and
    whether they were is found again, for the run after it: a reading sent again ends the view."""
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    views = _views(monkeypatch)
    write_landing(landing, step_trainer={"later.json": step("S1", 10 if again else 50) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)
    assert views == []  # its input grew: not offered
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 50) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)
    assert views == [("step_trainer_readings", not again)]


def _extended(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each time the runs from now on find the step-trainer readings' input grown: whether they were
    extended by the distinct new readings (from the rows of before as a view), not made distinct whole."""
    made: list[bool] = []
    real = extending.Extension._extend_distinct

    def spied(self, table):  # type: ignore[no-untyped-def]
        found = real(self, table)
        made.append(found)
        return found

    monkeypatch.setattr(extending.Extension, "_extend_distinct", spied)
    return made


def test_new_step_readings_extend_the_readings_found_distinct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """New step-trainer files whose readings are new are only made distinct among themselves and
    against the readings held; one that sends a held reading again is extended too, and ends it for
    the run after (its input's rows are no longer distinct)."""
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    extended = _extended(monkeypatch)
    later = {
        "new.json": step("S1", 50) + "\n" + step("S1", 60) + "\n",
        "held-again.json": step("S1", 50) + "\n",  # the reading the run before took from new.json
        "after.json": step("S1", 70) + "\n",
    }
    for name, text in later.items():
        write_landing(landing, step_trainer={name: text})
        result = build(landing, tmp_path / "wh")
        assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)
    assert extended == [True, True, False]
    dropped = {d.code: d.count for t in result.tables if t.name == "step_trainer_trusted" for d in t.drops}
    assert dropped.get("duplicate") == 1
