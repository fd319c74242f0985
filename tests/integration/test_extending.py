"""Runs whose news are new landing rows extend the tables after them: each table still equals a full
rebuild, only the new rows are written, and a change that takes rows away rebuilds what it touches."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from stedi.errors import ChecksFailed
from stedi.pipeline.forget import forget
from stedi.pipeline.verify import verify
from stedi.results import UNCHANGED, RunResult
from stedi.stages import extendable, extending
from stedi.warehouse.catalog import Warehouse
from tests.support.corpora import assert_same_tables, build, table_rows
from tests.support.landing import customer, models_folder, phone, sid, small_landing, step, write_landing

pytestmark = pytest.mark.slow


def _files(warehouse: Path, name: str) -> set[str]:
    """The data files holding the table's rows now."""
    plan = Warehouse(warehouse).data_files(name)
    assert plan is not None
    return set(plan[0])


def _note(notes: list[str]) -> str:
    return next((n for n in notes if n.startswith(extending.NOTE_PREFIX)), "")


def _outcomes(result: RunResult) -> list[tuple]:
    return _outcomes_of(result.checks)


def _outcomes_of(checks: list) -> list[tuple]:  # type: ignore[type-arg]
    return [(c.table, c.kind, c.description, c.status, c.value, _answer(c.detail)) for c in checks]


def _answer(detail: str) -> str:
    """A check's detail without how a pass was decided ("ok: ..."): counted over the new keys in a
    run that extends, settled by a unique key in a full rebuild. Figures ("ok; ...") are kept."""
    return "ok" if detail.startswith("ok: ") else detail


def _compared_tables(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The published tables the runs from now on build whole and compare with their rows of before."""
    compared: list[str] = []
    real = extending.Extension._compared

    def spied(self, table, before):  # type: ignore[no-untyped-def]
        compared.append(table.name)
        return real(self, table, before)

    monkeypatch.setattr(extending.Extension, "_compared", spied)
    return compared


def _rebuilt_equal(landing: Path, warehouse: Path, tmp_path: Path, extended: RunResult | None = None) -> None:
    """The tables equal a full rebuild's; so do the extending run's checks, when given."""
    reference = build(landing, tmp_path / "reference")
    assert_same_tables(warehouse, tmp_path / "reference")
    if extended is not None:
        assert _outcomes(extended) == _outcomes(reference)
        assert _reasons(extended) == _reasons(reference)


def _reasons(result: RunResult) -> list[tuple]:  # type: ignore[type-arg]
    """Each table's rows in and out, and the count of each reason rows were dropped."""
    return [(t.name, t.rows_in, t.rows_out, t.drops) for t in result.tables]


@pytest.mark.usefixtures("extends_at_any_size")
def test_new_readings_are_appended_to_every_table_they_reach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """New phone and step-trainer readings: every table they reach gets its new rows, by the delta
    rule where its SQL allows: step_trainer_trusted too, as the owners of the readings add up two
    select-project-joins and grow by the new readings of each. customer_curated (a subquery) is
    built and compared."""
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    compared = _compared_tables(monkeypatch)
    tables = ("accelerometer_trusted", "step_trainer_trusted", "machine_learning_curated")
    files = {name: _files(tmp_path / "wh", name) for name in tables}
    write_landing(
        landing,
        accelerometer={"later.json": "\n".join([phone("jane@x.com", 30), phone("bob@x.com", 30)]) + "\n"},
        step_trainer={"later.json": step("S1", 30) + "\n"},
    )
    result = build(landing, tmp_path / "wh")

    note = _note(result.notes)
    for name in tables:
        assert name in note
        assert files[name] < _files(tmp_path / "wh", name)  # the files of before kept, one added
    assert "customer_curated" not in note  # jane and bob were curated already
    assert compared == ["customer_curated"]
    wh = Warehouse(tmp_path / "wh")
    assert len(table_rows(wh, "accelerometer_trusted")) == 5  # jane 10, 20, 30; bob 10, 30
    assert len(table_rows(wh, "step_trainer_trusted")) == 4  # S1 10, 20, 30 (jane); S2 30 (bob)
    # jane's S1 at 10, 20, 30 with her phone then; bob's S2 at 30 with the phone reading he sent now
    ml = {(r["subject_id"], r["sensorReadingTime"]) for r in wh.read("machine_learning_curated").to_pylist()}
    assert ml == {(sid("jane@x.com"), 10), (sid("jane@x.com"), 20), (sid("jane@x.com"), 30), (sid("bob@x.com"), 30)}
    # The appended tables' fingerprints (the rows held plus the rows appended) are those of their files.
    assert [(h.name, h.problems) for h in verify(str(tmp_path / "wh")) if h.damaged] == []
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path, result)


@pytest.mark.usefixtures("extends_at_any_size")
def test_a_withdrawn_consent_rebuilds_the_tables_it_takes_rows_from(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    write_landing(landing, customer={"later.json": customer("bob@x.com", "S2", updated=2, consent=None) + "\n"})
    result = build(landing, tmp_path / "wh")

    note = _note(result.notes)
    assert "rebuilt whole: customer_trusted, accelerometer_trusted, customer_curated, step_trainer_trusted" in note
    wh = Warehouse(tmp_path / "wh")
    assert [r["email"] for r in wh.read("customer_trusted").to_pylist()] == ["jane@x.com"]
    assert "bob@x.com" not in str(table_rows(wh, "accelerometer_trusted"))
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path)


@pytest.mark.usefixtures("extends_at_any_size")
def test_a_second_holder_of_a_serial_takes_readings_from_its_owner(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    # dan also holds S1 and has a phone reading at 20: jane no longer owns S1's reading at 20
    write_landing(
        landing,
        customer={"later.json": customer("dan@x.com", "S1") + "\n"},
        accelerometer={"later.json": phone("dan@x.com", 20) + "\n"},
    )
    result = build(landing, tmp_path / "wh")

    note = _note(result.notes)
    assert "rebuilt whole: step_trainer_trusted, machine_learning_curated" in note
    assert "customer_trusted" in note.partition("rebuilt whole")[0]  # dan appended
    wh = Warehouse(tmp_path / "wh")
    owned = {
        (r["serialNumber"], r["sensorReadingTime"], r["email"]) for r in wh.read("step_trainer_trusted").to_pylist()
    }
    assert owned == {("S1", 10, "jane@x.com"), ("S2", 30, "bob@x.com")}
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path)


@pytest.mark.usefixtures("extends_at_any_size")
def test_new_phone_readings_that_move_no_owner_extend_the_step_trainer_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dora's device has readings but her phone had none: she was not curated. Her first phone
    reading curates her. The owners of step-trainer readings (rebuilt whole: not a select-project-
    join) are as they were, so step_trainer_trusted gains dora's readings by its SQL over the new
    curated customer, without being rebuilt and compared with what it held."""
    landing = small_landing(tmp_path / "landing")
    write_landing(
        landing,
        customer={"dora.json": customer("dora@x.com", "S4") + "\n"},
        step_trainer={"dora.json": step("S4", 40) + "\n" + step("S4", 50) + "\n"},
    )
    build(landing, tmp_path / "wh")
    write_landing(landing, accelerometer={"dora.json": phone("dora@x.com", 40) + "\n"})
    compared = _compared_tables(monkeypatch)
    result = build(landing, tmp_path / "wh")

    assert "step_trainer_trusted" not in compared  # customer_curated is (a subquery: not a join)
    assert "step_trainer_trusted" in _note(result.notes)
    owned = {(r["serialNumber"], r["sensorReadingTime"], r["email"])
             for r in Warehouse(tmp_path / "wh").read("step_trainer_trusted").to_pylist()}  # fmt: skip
    assert {("S4", 40, "dora@x.com"), ("S4", 50, "dora@x.com")} <= owned
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path, result)


def _keys_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The relations whose people the build asks the engine for, to key them, from now on."""
    from stedi.stages.context import RunContext

    asked: list[str] = []
    real = RunContext.subject_keys_of

    def spied(self, relation, column):  # type: ignore[no-untyped-def]
        asked.append(relation)
        return real(self, relation, column)

    monkeypatch.setattr(RunContext, "subject_keys_of", spied)
    return asked


@pytest.mark.usefixtures("extends_at_any_size")
@pytest.mark.parametrize("newcomer", [True, False])
def test_the_pseudonyms_of_the_people_held_are_keyed_from_the_tables_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newcomer: bool
) -> None:
    """The curated customers of before are keyed from the published table's files, beside the build;
    the engine is asked only for the new ones (dora's first phone reading curates her), and for none
    when nobody new is curated (jane's new reading). The subject ids are a full rebuild's."""
    landing = small_landing(tmp_path / "landing")
    write_landing(landing, customer={"dora.json": customer("dora@x.com", "S4") + "\n"},
                  step_trainer={"dora.json": step("S4", 40) + "\n"})  # fmt: skip
    build(landing, tmp_path / "wh")
    who = "dora@x.com" if newcomer else "jane@x.com"
    write_landing(landing, accelerometer={"later.json": phone(who, 40) + "\n"})
    asked = _keys_asked(monkeypatch)
    result = build(landing, tmp_path / "wh")

    assert ("customer_curated" in _note(result.notes)) == newcomer
    assert asked == (["customer_curated__delta"] if newcomer else [])
    subjects = {r["subject_id"] for r in Warehouse(tmp_path / "wh").read("machine_learning_curated").to_pylist()}
    assert (sid("dora@x.com") in subjects) == newcomer
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path, result)


@pytest.mark.usefixtures("extends_at_any_size")
def test_pseudonyms_are_keyed_through_the_engine_when_the_files_cannot_be_read_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 30) + "\n"})

    def unreadable(self, source, column):  # type: ignore[no-untyped-def]
        raise OSError("no such file")

    monkeypatch.setattr(extending.Extension, "_keys_of_files", unreadable)
    asked = _keys_asked(monkeypatch)
    result = build(landing, tmp_path / "wh")

    assert asked == ["customer_curated"]
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path, result)


@pytest.mark.usefixtures("extends_at_any_size")
def test_owners_recorded_by_another_row_hash_are_rebuilt_and_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fingerprints summed with another row hash (another DuckDB) tell nothing: the owners are taken
    as changed, and step_trainer_trusted is built whole and compared."""
    from stedi.stages import freshness

    landing = small_landing(tmp_path / "landing")
    with monkeypatch.context() as patched:
        patched.setattr(freshness, "row_hash", lambda: "another row hash")
        build(landing, tmp_path / "wh")
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 30) + "\n"})
    compared = _compared_tables(monkeypatch)
    result = build(landing, tmp_path / "wh")

    assert "step_trainer_trusted" in compared
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path, result)


@pytest.mark.usefixtures("extends_at_any_size")
def test_a_rerun_after_a_run_that_can_be_extended_finds_nothing_new(tmp_path: Path) -> None:
    """The record of what the tables were built from holds the owners' fingerprints too; a run with
    no landing change still stops after planning."""
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    result = build(landing, tmp_path / "wh")

    assert result.outcome == UNCHANGED
    assert any(n.startswith("nothing new since the last run") for n in result.notes)


@pytest.mark.usefixtures("extends_at_any_size")
def test_after_an_erasure_the_next_run_rebuilds_everything(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    forget(str(tmp_path / "wh"), ["bob@x.com"])
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 30) + "\n"})
    result = build(landing, tmp_path / "wh")

    assert _note(result.notes) == ""
    assert "bob@x.com" not in str(table_rows(Warehouse(tmp_path / "wh"), "customer_landing"))


def test_small_landing_data_is_rebuilt_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEDI_SUBJECT_KEY", "test-subject-key")
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh")
    before = _files(tmp_path / "wh", "accelerometer_trusted")
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 30) + "\n"})
    result = build(landing, tmp_path / "wh")

    assert _note(result.notes) == ""
    assert not before & _files(tmp_path / "wh", "accelerometer_trusted")  # rewritten
    assert os.path.getsize(landing / "accelerometer" / "landing" / "later.json") < extendable.MIN_LANDING_BYTES


ONE_USER_PER_INSTANT = """/* @table
zone = "curated"
description = "Phone readings by instant (a test table: one user per instant)."
input = "accelerometer_trusted"
person = [{kind = "email", column = "email"}]
consent = "email"

[[check]]
kind = "cardinality"
columns = ["timestamp"]
of = "email"
max = 1
*/
SELECT a.user AS email, a.timestamp FROM accelerometer_trusted AS a
"""


@pytest.mark.usefixtures("extends_at_any_size")
def test_an_error_check_counted_where_the_new_rows_are_fails_on_them(tmp_path: Path) -> None:
    """A check of error severity on a table that grew is counted over the groups its new rows join;
    new rows that break it there fail the run, as a full run would."""
    folder = models_folder(tmp_path / "sql", add={"phone_instants": ONE_USER_PER_INSTANT})
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S1"), customer("bob@x.com", "S2")],
        accelerometer=[phone("jane@x.com", 10), phone("jane@x.com", 20), phone("bob@x.com", 15)],
        step_trainer=[step("S1", 10)],
    )
    build(landing, tmp_path / "wh", models=str(folder))
    write_landing(landing, accelerometer={"later.json": phone("bob@x.com", 20) + "\n"})
    with pytest.raises(ChecksFailed) as failed:
        build(landing, tmp_path / "wh", models=str(folder))
    result = failed.value.result  # type: ignore[attr-defined]
    assert "phone_instants" in _note(result.notes)  # extended: its new row is bob's reading at 20
    (check,) = [c for c in result.checks if c.table == "phone_instants"]
    assert (check.kind, check.status, check.value) == ("cardinality", "fail", 1)


NULL_FIRST_COLUMN = """/* @table
zone = "curated"
description = "Users with phone readings, behind a column that is always null (a test table)."
input = "accelerometer_trusted"
person = [{kind = "email", column = "email"}]
consent = "email"
*/
SELECT DISTINCT CAST(NULL AS VARCHAR) AS nothing, a.user AS email FROM accelerometer_trusted AS a
"""


@pytest.mark.usefixtures("extends_at_any_size")
def test_a_distinct_table_gains_no_row_it_holds_when_its_first_column_is_null(tmp_path: Path) -> None:
    """New rows of a SELECT DISTINCT table are those its rows of before do not hold, compared whole
    (NULL equal to NULL), however the comparison is narrowed."""
    folder = models_folder(tmp_path / "sql", add={"users_seen": NULL_FIRST_COLUMN})
    landing = small_landing(tmp_path / "landing")
    build(landing, tmp_path / "wh", models=str(folder))
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 30) + "\n"})
    result = build(landing, tmp_path / "wh", models=str(folder))

    assert "accelerometer_trusted" in _note(result.notes)  # extended, not rebuilt
    rows = table_rows(Warehouse(tmp_path / "wh"), "users_seen")  # (email, nothing)
    assert rows == [("bob@x.com", None), ("jane@x.com", None)]  # jane's row not added again
    reference = build(landing, tmp_path / "reference", models=str(folder))
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")
    assert _outcomes(result) == _outcomes(reference)


def _recording_wrong_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run records the figure of each answer that has one (its second column: a median, a
    deviation) as 4321 (a mutation no real run makes): a later run that shows it took it from the record."""
    from stedi.stages import answers

    real = answers.record

    def wrong(ctx):  # type: ignore[no-untyped-def]
        ctx.answers = {k: [[row[0], 4321.0, *row[2:]] if len(row) > 1 else row for row in rows]
                       for k, rows in ctx.answers.items()}  # fmt: skip
        return real(ctx)

    monkeypatch.setattr(answers, "record", wrong)


@pytest.mark.usefixtures("extends_at_any_size")
def test_checks_over_unchanged_tables_take_the_last_runs_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new step-trainer reading leaves the phone and customer tables as they were: their checks are
    the last run's answers; those of the tables that grew are counted again."""
    landing = small_landing(tmp_path / "landing")
    with monkeypatch.context() as patched:
        _recording_wrong_figures(patched)
        build(landing, tmp_path / "wh")
    write_landing(landing, step_trainer={"later.json": step("S1", 30) + "\n"})
    result = build(landing, tmp_path / "wh")

    reference = build(landing, tmp_path / "reference")
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")
    details = {(c.table, c.description): c.detail for c in result.checks}
    for column in "xyz":  # accelerometer_trusted did not change: its figures are the record's
        assert details["accelerometer_trusted", f"{column} within 6 median absolute deviations of its median"] == (
            f"ok; {column}: median absolute deviation 4.32e+03"
        )
    # step_trainer_trusted grew: its figures were counted, as a full rebuild counts them
    grown = [c for c in result.checks if c.table == "step_trainer_trusted"]
    assert any(c.kind == "gaps" for c in grown)
    assert _outcomes_of(grown) == _outcomes_of([c for c in reference.checks if c.table == "step_trainer_trusted"])
    assert [(c.table, c.status, c.value) for c in result.checks] == [
        (c.table, c.status, c.value) for c in reference.checks
    ]
    assert "check and reason counts read only tables unchanged" in " ".join(result.notes)


@pytest.mark.usefixtures("extends_at_any_size")
def test_answers_recorded_against_other_snapshots_are_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that names other snapshots than the tables have (a run that published only part of
    its tables, a table changed by another tool) is not used: every answer is counted."""
    from stedi.stages import answers

    landing = small_landing(tmp_path / "landing")
    with monkeypatch.context() as patched:
        _recording_wrong_figures(patched)
        real = answers.record

        def elsewhere(ctx):  # type: ignore[no-untyped-def]
            ctx.commits = {name: replace(c, snapshot_id=(c.snapshot_id or 0) + 1) for name, c in ctx.commits.items()}
            return real(ctx)

        patched.setattr(answers, "record", elsewhere)
        build(landing, tmp_path / "wh")
    write_landing(landing, step_trainer={"later.json": step("S1", 30) + "\n"})
    result = build(landing, tmp_path / "wh")
    _rebuilt_equal(landing, tmp_path / "wh", tmp_path, result)
    assert "check and reason counts read only tables unchanged" not in " ".join(result.notes)


def _conflicts_sql() -> str:
    from stedi.contract.checks import declared_checks
    from stedi.contract.tables import load

    (check,) = [c for c in declared_checks(load()) if (c.table, c.kind) == ("step_trainer_trusted", "conflicts")]
    return check.sql


@pytest.mark.usefixtures("extends_at_any_size")
@pytest.mark.parametrize("recorded", [None, 5])
def test_a_warning_over_keys_is_counted_where_the_new_rows_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: int | None
) -> None:
    """The conflicts of step_trainer_trusted (a warning: published with the conflicts it found) in a
    run that extends the table: the last run's count, less the conflicts of before among the keys the
    new readings hold, plus those now. A count recorded as 5 (a mutation no real run makes) shows the
    run took it from the record."""
    from stedi.stages import answers

    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S1")],
        accelerometer=[phone("jane@x.com", 10)],
        step_trainer=[step("S1", 10, 100), step("S1", 10, 200), step("S1", 20, 100)],  # one conflict
    )
    with monkeypatch.context() as patched:
        if recorded is not None:
            real, digest = answers.record, answers._digest(_conflicts_sql())

            def wrong(ctx):  # type: ignore[no-untyped-def]
                assert ctx.answers[digest] == [[1]]
                ctx.answers[digest] = [[recorded]]
                return real(ctx)

            patched.setattr(answers, "record", wrong)
        build(landing, tmp_path / "wh")
    # A new conflict at 20, a third value at 10 (still one conflict there), a new instant alike.
    later = [step("S1", 20, 300), step("S1", 10, 300), step("S1", 30, 100)]
    write_landing(landing, step_trainer={"later.json": "\n".join(later) + "\n"})
    result = build(landing, tmp_path / "wh")

    assert "step_trainer_trusted" in _note(result.notes)  # extended
    (conflicts,) = [c for c in result.checks if (c.table, c.kind) == ("step_trainer_trusted", "conflicts")]
    assert (conflicts.status, conflicts.value) == ("warn", 2 if recorded is None else recorded - 1 + 2)
    if recorded is None:
        _rebuilt_equal(landing, tmp_path / "wh", tmp_path, result)
        # Recorded for the next run: the whole table's count.
        _, _, properties = Warehouse(tmp_path / "wh").state("run_history")
        record = answers.unpacked(properties[answers.ANSWERS_PROPERTY], answers.MAX_RECORD_BYTES)
        assert record["answers"][answers._digest(_conflicts_sql())] == [[2]]
