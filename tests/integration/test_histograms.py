"""The gaps of every device, a count and a median, in runs that extend the tables: counted from the
last run's steps less those of the devices the new rows touch, plus theirs now, with the answers of
a full rebuild; the steps carried through a run that leaves the table as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.results import RunResult
from stedi.stages import histograms
from tests.support.corpora import assert_same_as_a_full_rebuild, build
from tests.support.landing import phone, small_landing, step, write_landing

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("extends_at_any_size")]


def _merges(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many steps' pairs each run from now on takes from the last run's record, for each merge of
    the gaps check's."""
    taken: list[int] = []
    real = histograms._load

    def spied(ctx, name, pairs):  # type: ignore[no-untyped-def]
        if "__gaps_values" in name:  # the gaps check's, not the shares of the owners' readings
            taken.append(sum(n for _, n in pairs))
        return real(ctx, name, pairs)

    monkeypatch.setattr(histograms, "_load", spied)
    return taken


def _gaps(result: RunResult) -> list[tuple]:  # type: ignore[type-arg]
    return [(c.status, c.value, c.detail) for c in result.checks if c.kind == "gaps"]


def test_the_gaps_of_a_grown_table_come_from_the_last_runs_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = small_landing(tmp_path / "landing")  # jane's S1 read at 10 and 20: one step
    build(landing, tmp_path / "wh")
    merges = _merges(monkeypatch)
    # jane's S1 again 90 seconds later: a gap; the count and median follow from the one step of before
    write_landing(landing, step_trainer={"later.json": step("S1", 90_020) + "\n"})
    grown = build(landing, tmp_path / "wh")
    assert merges == [1]
    assert _gaps(grown)[0][1] == 1  # one step above the minute
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, grown)
    # carl, who never consented, sends a phone reading: the step-trainer table is as it was, and its
    # steps are kept for the next run, which merges them again (two steps now)
    write_landing(landing, accelerometer={"carl.json": phone("carl@x.com", 30) + "\n"})
    unchanged = build(landing, tmp_path / "wh")
    assert merges == [1]
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, unchanged)
    write_landing(landing, step_trainer={"latest.json": step("S1", 90_030) + "\n" + step("S2", 40) + "\n"})
    again = build(landing, tmp_path / "wh")
    assert merges == [1, 2]
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, again)


def test_steps_beyond_what_a_record_keeps_are_counted_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(histograms, "MOST_VALUES", 0)
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    merges = _merges(monkeypatch)
    write_landing(landing, step_trainer={"later.json": step("S1", 90_020) + "\n"})
    result = build(landing, tmp_path / "wh")
    assert merges == []
    assert_same_as_a_full_rebuild(landing, tmp_path / "wh", tmp_path, result)
