"""One behaviour suite for every engine: relations from SQL and Arrow, the email macro, attached
warehouse files, and a table writer whose capability flags say what it really does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stedi.config import Settings
from stedi.engines import Engine, create_engine
from stedi.errors import WarehouseError
from stedi.warehouse.session import Session
from stedi.warehouse.writes import AUDIT_BRANCH, write

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Session]]:
    session = Session(str(tmp_path / "wh"))
    made = create_engine(Settings(engine=request.param, warehouse=str(tmp_path / "wh")), session)
    try:
        yield made, session
    finally:
        session.close()
        made.close()


PEOPLE = pa.table({"email": [" A@X.com", "b@x.com ", "B@X.COM"], "n": pa.array([1, 2, 3], pa.int64())})


def test_relations_from_arrow_and_sql_with_the_email_macro(engine: tuple[Engine, Session]) -> None:
    e, _ = engine
    e.load("people", PEOPLE)
    e.build("emails", "SELECT DISTINCT normalised_email(email) AS email FROM people ORDER BY email")
    assert e.rows("SELECT email FROM emails ORDER BY email") == [("a@x.com",), ("b@x.com",)]
    assert e.columns("emails") == ["email"] and e.has("emails") and not e.has("nothing")
    assert e.counts(["SELECT COUNT(*) FROM people", "SELECT SUM(n) FROM people WHERE n > 9"]) == [3, 0]


def test_a_view_computes_through_and_a_rename_replaces(engine: tuple[Engine, Session]) -> None:
    e, _ = engine
    e.load("people", PEOPLE)
    e.build("big", "SELECT * FROM people WHERE n > 1", view=True)
    e.build("small", "SELECT * FROM people WHERE n = 1")
    assert e.counts(["SELECT COUNT(*) FROM big"]) == [2]
    e.rename("small", "big")
    assert e.counts(["SELECT COUNT(*) FROM big"]) == [1] and not e.has("small")


def test_attached_files_are_read_where_they_are(engine: tuple[Engine, Session], tmp_path: Path) -> None:
    e, _ = engine
    pq.write_table(PEOPLE.slice(0, 2), tmp_path / "a.parquet")
    pq.write_table(PEOPLE.slice(2), tmp_path / "b.parquet")
    files = [f"file://{tmp_path / 'a.parquet'}", f"file:{tmp_path / 'b.parquet'}"]  # both spellings of a local file
    name = e.attach("current_people", files, PEOPLE.schema)
    assert e.counts([f"SELECT SUM(n) FROM {name}"]) == [6]
    empty = e.attach("current_none", [], PEOPLE.schema)
    assert e.counts([f"SELECT COUNT(*) FROM {empty}"]) == [0]


def test_the_writer_publishes_only_when_told_and_its_flags_are_true(engine: tuple[Engine, Session]) -> None:
    e, session = engine
    e.load("people", PEOPLE)
    e.build("table_a", "SELECT * FROM people")
    e.writer.stage("table_a")
    staged = e.writer.staged()
    assert staged["table_a"].rows == 3
    assert session.run(lambda w: "table_a" not in w.table_names() or w.describe("table_a").snapshot_id is None)
    published = e.writer.publish_staged()
    assert session.run(lambda w: w.describe("table_a").rows) == 3 and published["table_a"].rows == 3
    e.writer.stage("table_a")  # the same rows again
    commit = e.writer.publish_staged()["table_a"]
    assert commit.changed is not e.writer.capabilities.skips_unchanged
    e.build("table_a", "SELECT * FROM people WHERE n > 1")
    e.writer.stage("table_a")
    e.writer.staged()
    on_branch = session.run(lambda w: AUDIT_BRANCH in w.load("table_a").metadata.refs)
    assert on_branch is e.writer.capabilities.stages_on_branch
    assert session.run(lambda w: w.describe("table_a").rows) == 3  # staged is not published


def test_a_write_planned_against_a_replaced_snapshot_is_refused(engine: tuple[Engine, Session]) -> None:
    e, session = engine
    e.load("people", PEOPLE)
    e.build("table_a", "SELECT * FROM people")
    e.writer.stage("table_a")
    planned = e.writer.publish_staged()["table_a"].snapshot_id
    e.build("table_a", "SELECT * FROM people WHERE n > 1")
    e.writer.stage("table_a")
    current = e.writer.publish_staged()["table_a"].snapshot_id  # another run moved the table meanwhile
    e.build("table_a", "SELECT * FROM people WHERE n > 2")
    e.writer.stage("table_a", expected=planned)
    if e.writer.capabilities.checks_expected:
        with pytest.raises(WarehouseError, match="changed by another writer"):
            e.writer.publish_staged()
        assert session.run(lambda w: w.describe("table_a").snapshot_id) == current
    else:
        e.writer.publish_staged()
        assert session.run(lambda w: w.describe("table_a").rows) == 1


def test_a_staged_table_overtaken_before_publishing_publishes_nothing(engine: tuple[Engine, Session]) -> None:
    e, session = engine
    e.load("people", PEOPLE)
    for name in ("table_a", "table_b"):
        e.build(name, "SELECT * FROM people")
        e.writer.stage(name)
    e.writer.publish_staged()
    for name in ("table_a", "table_b"):
        e.build(name, "SELECT * FROM people WHERE n > 1")
        e.writer.stage(name)
    e.writer.staged()
    other = session.run(lambda w: write(w, "table_b", PEOPLE.slice(0, 1)))  # another writer, straight to main
    with pytest.raises(WarehouseError, match="nothing of this run was published"):
        e.writer.publish_staged()
    assert session.run(lambda w: w.describe("table_a").rows) == 3  # not published either
    assert session.run(lambda w: w.describe("table_b").snapshot_id) == other.snapshot_id


def test_nulls_in_a_required_column_are_refused(engine: tuple[Engine, Session]) -> None:
    e, session = engine
    required = pa.schema([pa.field("email", pa.string(), nullable=False), pa.field("n", pa.int64())])
    session.run(lambda w: write(w, "table_r", pa.table({"email": ["a@x.com"], "n": [1]}, schema=required)))
    e.load("people", pa.table({"email": [None, "b@x.com"], "n": [1, 2]}, schema=PEOPLE.schema))
    e.build("table_r", "SELECT * FROM people")
    e.writer.stage("table_r")
    with pytest.raises(WarehouseError, match="required column email holds nulls"):
        e.writer.publish_staged()
    assert session.run(lambda w: w.describe("table_r").rows) == 1


def test_many_small_queries_answer_in_order_what_each_answers_alone(engine: tuple[Engine, Session]) -> None:
    """An engine may run a batch side by side: every relation (loaded, built, a view, the email
    macro on text that is not ASCII) is seen by each query, and the answers come in order."""
    e, _ = engine
    e.load("people", pa.table({"email": [" A@X.com", "ΟΔΟΣ@x.com", None], "n": pa.array([1, 2, 3], pa.int64())}))
    e.build("numbers", "SELECT n * 10 AS m FROM people")
    e.build("normalised", "SELECT normalised_email(email) AS email, n FROM people", view=True)
    queries = [
        "SELECT COUNT(*) FROM people",
        "SELECT SUM(m) FROM numbers",
        "SELECT email FROM normalised WHERE n = 2",
        "SELECT MEDIAN(n), MAX(n) FROM people",
        "SELECT COUNT(*) FROM people WHERE n > 9",
        "SELECT email FROM normalised ORDER BY n",
    ]
    expected = [[(3,)], [(60,)], [("οδος@x.com",)], [(2.0, 3)], [(0,)], [("a@x.com",), ("οδος@x.com",), (None,)]]
    assert e.rows_of_each(queries) == expected
    assert [e.rows(q) for q in queries] == expected
    assert e.counts(queries[:2] + queries[4:5]) == [3, 60, 0]


def test_a_query_of_a_batch_that_fails_raises_what_it_raises_alone(engine: tuple[Engine, Session]) -> None:
    e, _ = engine
    e.load("people", PEOPLE)
    with pytest.raises(Exception) as alone:
        e.rows("SELECT COUNT(*) FROM no_such_table")
    with pytest.raises(type(alone.value)):
        e.rows_of_each(["SELECT COUNT(*) FROM people", "SELECT COUNT(*) FROM no_such_table", "SELECT 1"])
