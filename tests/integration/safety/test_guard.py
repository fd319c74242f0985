"""A guard against mass loss: a run that would empty tables, lose most of a table's rows, or finds a
landing folder missing or empty where earlier runs read files publishes nothing and says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.errors import EXIT_REFUSED, Refused
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.cli import stedi
from tests.support.corpora import snapshots
from tests.support.landing import customer, small_landing, write_landing


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    landing = small_landing(tmp_path / "landing")
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    return landing, tmp_path / "wh"


def test_an_empty_landing_root_publishes_nothing_and_exits_3(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, warehouse = built
    before = snapshots(warehouse)
    empty = tmp_path / "empty"
    empty.mkdir()
    done = stedi("run", "--landing", str(empty), "--warehouse", str(warehouse))
    assert done.returncode == EXIT_REFUSED
    assert "the customer/landing/ folder is missing, where earlier runs read 1 files" in done.stdout
    assert "NOT PUBLISHED: refused by the shrink guard" in done.stdout
    assert "error: refused to publish" in done.stderr and "--allow-shrink" in done.stderr
    after = snapshots(warehouse)
    assert {n: s for n, s in after.items() if n != "run_history"} == {
        n: s for n, s in before.items() if n != "run_history"
    }
    refused = query(Warehouse(warehouse), "SELECT DISTINCT outcome FROM run_history WHERE kind = 'refusal'").to_pylist()
    assert refused == [{"outcome": "refused"}]


def test_emptied_source_folders_are_refused_unless_allowed(built: tuple[Path, Path]) -> None:
    landing, warehouse = built
    shutil.rmtree(landing / "accelerometer" / "landing")
    (landing / "accelerometer" / "landing").mkdir()
    with pytest.raises(Refused) as refused:
        run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert "the accelerometer/landing/ folder is empty, where earlier runs read 1 files" in refused.value.reasons
    assert "accelerometer_landing would go from 4 rows to none" in refused.value.reasons
    assert Warehouse(warehouse).describe("accelerometer_landing").rows == 4
    result = run(Settings(landing=str(landing), warehouse=str(warehouse), allow_shrink=True))
    assert result.published and Warehouse(warehouse).describe("accelerometer_landing").rows == 0


def test_losing_more_than_the_share_allowed_is_refused(built: tuple[Path, Path]) -> None:
    landing, warehouse = built
    write_landing(
        landing,
        customer={
            "customer.json": customer("jane@x.com", "S1")
            + "\n"
            + customer("bob@x.com", "S2", updated=2, consent=None)
            + "\n"
        },
    )
    with pytest.raises(Refused, match=r"customer_trusted would lose 50% of its rows \(2 -> 1; --max-shrink is 40%\)"):
        run(Settings(landing=str(landing), warehouse=str(warehouse), max_shrink=0.4))
    assert run(Settings(landing=str(landing), warehouse=str(warehouse))).published  # 50 % is allowed by default


def test_a_new_warehouse_with_a_wrong_landing_root_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    done = stedi("run", "--landing", str(tmp_path / "nothing"), "--warehouse", str(tmp_path / "wh"))
    assert done.returncode == 1 and "has no customer/landing/ folder" in done.stderr
