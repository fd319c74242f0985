"""The run's warehouse session: work in submission order on one thread, and no commit after a failed one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from stedi.errors import WarehouseError
from stedi.warehouse.session import Session


def test_commits_and_calls_run_in_order_and_a_failure_stops_the_rest(tmp_path: Path) -> None:
    session = Session(str(tmp_path / "wh"))
    try:
        session.submit("a", pa.table({"x": [1]}))
        seen = session.call(lambda w: w.table_names())
        session.submit("b", pa.table({"x": [1]}), expected=12345)  # planned against a snapshot that is not there
        session.submit("c", pa.table({"x": [1]}))
        assert seen.result() == ["a"]
        with pytest.raises(WarehouseError, match="table b was changed by another writer"):
            session.wait()
        with pytest.raises(WarehouseError, match="the commit of b failed first"):
            session.pending["c"].result()
        assert session.run(lambda w: w.table_names()) == ["a"]  # b is created by its first commit: none
    finally:
        session.close()
