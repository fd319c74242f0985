"""The embedded engine answers a batch of queries two at a time: a query that fails stops the
batch at once, the others under way included, instead of after them."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from types import FrameType

import duckdb
import pytest

from stedi.engines.duckdb import DuckDBEngine

# About 10^10 pairs: minutes of work if nothing stops it.
ENDLESS = "SELECT COUNT(*) FROM numbers AS x, numbers AS y WHERE (x.a * y.a) % 7 = 3"


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    made = DuckDBEngine(None)
    made.build("numbers", "SELECT range AS a FROM range(100000)")
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fails the test if it is still running after two minutes (the batch below stops in well under a
    second; left to run, the endless query takes minutes)."""

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError("the batch went on after a query of it failed")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(120)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.usefixtures("deadline")
def test_a_failed_query_stops_the_query_beside_it(engine: DuckDBEngine) -> None:
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        engine.rows_of_each([ENDLESS, "SELECT COUNT(*) FROM no_such_table", "SELECT 1"])
    # The engine answers again afterwards.
    assert engine.rows_of_each(["SELECT COUNT(*) FROM numbers", "SELECT MAX(a) FROM numbers"]) == [
        [(100000,)],
        [(99999,)],
    ]
