"""Answers taken from the last run: only from a record of the tables as they are, and only for queries
over relations the run found unchanged."""

from __future__ import annotations

import base64
import json
import zlib
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stedi.contract.sources import SOURCES
from stedi.contract.tables import load
from stedi.stages import answers
from stedi.stages.extending import Grown
from stedi.stages.freshness import table_names
from stedi.stages.regrouping import Regrouped

OVER_UNCHANGED = "SELECT COUNT(*) FROM customer_trusted WHERE email IS NULL"
OVER_GROWN = "SELECT COUNT(*) FROM accelerometer_trusted"
FIGURE = "SELECT COUNT(*), MEDIAN(x) FROM customer_trusted"


class Engine:
    """Answers every query with (1, 0.5) and remembers what it was asked."""

    name = "duckdb"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def rows_of_each(self, queries: list[str]) -> list[list[tuple[Any, ...]]]:
        self.asked += queries
        return [[(1, 0.5)] for _ in queries]


def _ctx(snapshot: int = 1, **changes: Any) -> SimpleNamespace:
    ctx = SimpleNamespace(
        models=load(),
        plans=[SimpleNamespace(source=s) for s in SOURCES],
        key=SimpleNamespace(fingerprint="f" * 32),
        erased=set(),
        parameters={"consent_policy": "all", "ml_join": "owner", "split": "80/10/10"},
        engine=Engine(),
        unchanged=frozenset({"customer_trusted", "customer_landing"}),
        answers_before=None,
        answers_known=None,
        answers={},
        carried_answers=0,
        grown={},
        regrouped={},
    )
    names = table_names(ctx)  # type: ignore[arg-type]
    ctx.commits = {name: SimpleNamespace(snapshot_id=snapshot) for name in names}
    ctx.published_snapshots = dict.fromkeys(names, snapshot)
    for name, value in changes.items():
        setattr(ctx, name, value)
    return ctx


def _recorded(values: dict[str, list[list[Any]]], **changes: Any) -> str:
    """The record a run with these answers leaves (made by the code under test, read back below)."""
    last = _ctx(**changes)
    last.answers = values
    return answers.record(last)  # type: ignore[arg-type]


def _padded(record: str) -> str:
    """A record that is right in every way but its size."""
    found = json.loads(zlib.decompress(base64.b64decode(record)))
    return _encoded({**found, "padding": " " * answers.MAX_RECORD_BYTES})


def _encoded(found: object) -> str:
    return base64.b64encode(zlib.compress(json.dumps(found).encode())).decode()


def test_a_query_over_unchanged_relations_takes_the_recorded_answer() -> None:
    recorded = _recorded({answers._digest(OVER_UNCHANGED): [[7]], answers._digest(OVER_GROWN): [[8]]})
    ctx = _ctx(answers_before=recorded)
    assert answers.answer(ctx, [OVER_UNCHANGED, OVER_GROWN]) == [[(7,)], [(1, 0.5)]]  # type: ignore[arg-type]
    assert ctx.engine.asked == [OVER_GROWN]
    assert ctx.carried_answers == 1
    # this run's record holds both, the one taken and the one counted
    assert ctx.answers == {answers._digest(OVER_UNCHANGED): [[7]], answers._digest(OVER_GROWN): [[1, 0.5]]}


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(lambda: _recorded({answers._digest(FIGURE): [[7, 2.5]]}, snapshot=2), id="other snapshots"),
        pytest.param(
            lambda: _recorded({answers._digest(FIGURE): [[7, 2.5]]}, parameters={"consent_policy": "as-of"}),
            id="other settings",
        ),
        pytest.param(
            lambda: _recorded({answers._digest(FIGURE): [[7, 2.5]]}, engine=SimpleNamespace(name="spark")),
            id="another engine",
        ),
        pytest.param(lambda: "not base64 at all!", id="garbage"),
        pytest.param(lambda: _encoded(["a list"]), id="not a record"),
        pytest.param(lambda: _padded(_recorded({answers._digest(FIGURE): [[7, 2.5]]})), id="too large"),
    ],
)
def test_a_record_not_of_the_tables_as_they_are_is_not_used(record: Any) -> None:
    ctx = _ctx(answers_before=record())
    assert answers.answer(ctx, [FIGURE]) == [[(1, 0.5)]]  # type: ignore[arg-type]
    assert ctx.engine.asked == [FIGURE]
    assert ctx.carried_answers == 0


def test_nothing_is_taken_in_a_run_that_rebuilds() -> None:
    recorded = _recorded({answers._digest(FIGURE): [[7, 2.5]]})
    ctx = _ctx(answers_before=recorded, unchanged=frozenset())
    assert answers.answer(ctx, [FIGURE]) == [[(1, 0.5)]]  # type: ignore[arg-type]


def test_text_is_never_recorded() -> None:
    class Texts(Engine):
        def rows_of_each(self, queries: list[str]) -> list[list[tuple[Any, ...]]]:
            return [[("jane@x.com", 1)] for _ in queries]

    ctx = _ctx(engine=Texts())
    answers.answer(ctx, ["SELECT email, 1 FROM customer_trusted"])  # type: ignore[arg-type]
    assert ctx.answers == {}


def test_a_run_whose_table_has_no_snapshot_records_nothing() -> None:
    ctx = _ctx()
    ctx.commits["customer_trusted"] = SimpleNamespace(snapshot_id=None)
    assert answers.record(ctx) == ""  # type: ignore[arg-type]


# A sum of counts over two relations that grow (r, s) and one that does not (u, looked up): the
# run corrects the last answer by the counts over the new rows, and gets what counting finds.
SUM_OF_COUNTS = """SELECT (SELECT COUNT(*) FROM r AS a JOIN s AS b ON a.k = b.k
WHERE a.v NOT IN (SELECT v FROM u) OR b.v IS NULL) - (SELECT COUNT(*) FROM s WHERE v > 1) + 3"""
ROWS = st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 3))), max_size=6)


class Counting(Engine):
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__()
        self.con = con

    def rows_of_each(self, queries: list[str]) -> list[list[tuple[Any, ...]]]:
        self.asked += queries
        return [self.con.execute(q).fetchall() for q in queries]


def _relations(con: duckdb.DuckDBPyConnection, rows: dict[str, list[tuple[int, int | None]]]) -> None:
    for name, values in rows.items():
        con.execute(f"CREATE TABLE {name} (k INTEGER, v INTEGER)")
        if values:
            con.executemany(f"INSERT INTO {name} VALUES (?, ?)", values)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(r_before=ROWS, r_new=ROWS, s_before=ROWS, s_new=ROWS, u=ROWS)
def test_a_sum_of_counts_over_grown_relations_is_corrected_by_the_new_rows(
    r_before: list, r_new: list, s_before: list, s_new: list, u: list
) -> None:
    then = duckdb.connect()
    _relations(then, {"r": r_before, "s": s_before, "u": u})
    ((last,),) = then.execute(SUM_OF_COUNTS).fetchall()
    now = duckdb.connect()
    _relations(now, {"r__before": r_before, "r__delta": r_new, "s__before": s_before, "s__delta": s_new, "u": u})
    for name in ("r", "s"):
        now.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}__before UNION ALL SELECT * FROM {name}__delta")
    ((expected,),) = now.execute(SUM_OF_COUNTS).fetchall()

    recorded = _recorded({answers._digest(SUM_OF_COUNTS): [[last]]})
    grown = {name: Grown(f"{name}__delta", f"{name}__before") for name in ("r", "s")}
    ctx = _ctx(answers_before=recorded, engine=Counting(now), grown=grown, unchanged=frozenset({"u"}))
    assert answers.answer(ctx, [SUM_OF_COUNTS]) == [[(expected,)]]  # type: ignore[arg-type]
    (asked,) = ctx.engine.asked
    assert asked.startswith(f"SELECT {last} ") and "r__delta" in asked and "s__delta" in asked
    assert ctx.answers == {answers._digest(SUM_OF_COUNTS): [[expected]]}  # what the next run corrects


@pytest.mark.parametrize(
    ("unchanged", "grown"),
    [
        pytest.param({"u"}, {"r"}, id="s neither grown nor unchanged"),
        pytest.param({"s"}, {"r"}, id="the looked-up u not unchanged"),
        pytest.param({"s", "r"}, {"u"}, id="the looked-up u grown"),
    ],
)
def test_a_sum_of_counts_is_counted_whole_unless_its_lookups_are_unchanged(unchanged: set, grown: set) -> None:
    recorded = _recorded({answers._digest(SUM_OF_COUNTS): [[5]]})
    states = {name: Grown(f"{name}__delta", f"{name}__before") for name in grown}
    ctx = _ctx(answers_before=recorded, grown=states, unchanged=frozenset(unchanged))
    answers.answer(ctx, [SUM_OF_COUNTS])  # type: ignore[arg-type]
    assert ctx.engine.asked == [SUM_OF_COUNTS]


OVER_GROUPS = """SELECT (SELECT COALESCE(SUM(v), 0) FROM g WHERE v > 0)
- (SELECT COUNT(*) FROM g AS a JOIN u ON a.k = u.k WHERE a.v IS NULL) + 1"""


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(before=ROWS, touched=st.sets(st.integers(0, 3)), new=ROWS, u=ROWS)
def test_a_sum_over_a_table_of_groups_is_corrected_by_the_touched_groups_rows(
    before: list, touched: set, new: list, u: list
) -> None:
    """A table whose groups (by k) the new rows touch: its rows now are those of the other groups as
    they were, and the touched groups' rows now; counts and sums over it, all else unchanged, are the
    last answer less the touched groups' part as it was, plus theirs now."""
    then = duckdb.connect()
    _relations(then, {"g": before, "u": u})
    ((last,),) = then.execute(OVER_GROUPS).fetchall()
    was = [row for row in before if row[0] in touched]
    now_rows = [row for row in new if row[0] in touched]
    now = duckdb.connect()
    _relations(now, {"g__was": was, "g__now": now_rows, "u": u})
    _relations(now, {"g": [row for row in before if row[0] not in touched] + now_rows})
    ((expected,),) = now.execute(OVER_GROUPS).fetchall()

    recorded = _recorded({answers._digest(OVER_GROUPS): [[last]]})
    ctx = _ctx(
        answers_before=recorded,
        engine=Counting(now),
        regrouped={"g": Regrouped("g__was", "g__now")},
        unchanged=frozenset({"u"}),
    )
    assert answers.answer(ctx, [OVER_GROUPS]) == [[(expected,)]]  # type: ignore[arg-type]
    (asked,) = ctx.engine.asked
    assert asked.startswith(f"SELECT {last} ") and "g__was" in asked and "g__now" in asked


def test_a_count_over_a_table_of_groups_and_a_grown_relation_is_counted_whole() -> None:
    joined = "SELECT COUNT(*) FROM g AS a JOIN r AS b ON a.k = b.k"
    ctx = _ctx(
        answers_before=_recorded({answers._digest(joined): [[5]]}),
        grown={"r": Grown("r__delta", "r__before")},
        regrouped={"g": Regrouped("g__was", "g__now")},
    )
    answers.answer(ctx, [joined])  # type: ignore[arg-type]
    assert ctx.engine.asked == [joined]


def test_without_the_last_answer_a_sum_of_counts_is_counted_whole() -> None:
    ctx = _ctx(answers_before=_recorded({}), grown={"r": Grown("r__delta", "r__before")}, unchanged=frozenset("su"))
    answers.answer(ctx, [SUM_OF_COUNTS])  # type: ignore[arg-type]
    assert ctx.engine.asked == [SUM_OF_COUNTS]
