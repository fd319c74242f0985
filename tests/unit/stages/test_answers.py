"""Answers taken from the last run: only from a record of the tables as they are, and only for queries
over relations the run found unchanged."""

from __future__ import annotations

import base64
import json
import zlib
from types import SimpleNamespace
from typing import Any

import pytest

from stedi.contract.sources import SOURCES
from stedi.contract.tables import load
from stedi.stages import answers
from stedi.stages.freshness import table_names

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
