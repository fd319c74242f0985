"""Crash safety: `stedi run` killed with SIGKILL at many points; the next run gives the exact tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.corpora import (
    BATCHES,
    assert_same_tables,
    copy_files,
    corpus,
    corpus_run,
    empty_landing,
    starter_files,
)

pytestmark = pytest.mark.slow

# Tables are committed to the audit branch (commit:/committed:), then published together after the
# checks (published:). Every landing, quarantine and published table is hit in some phase.
KILL_POINTS = [
    "read",
    "commit:customer_landing",
    "committed:customer_quarantine",
    "commit:accelerometer_landing",
    "committed:step_trainer_quarantine",
    "build:customer_trusted",
    "commit:customer_trusted",
    "committed:accelerometer_trusted",
    "build:customer_curated",
    "commit:step_trainer_trusted",
    "committed:machine_learning_curated",
    "commit:ingested_files",
    "published:customer_landing",
    "published:customer_quarantine",
    "published:accelerometer_quarantine",
    "published:step_trainer_landing",
    "published:step_trainer_quarantine",
    "published:customer_curated",
    "published:machine_learning_curated",
    "published:ingested_files",
]
NEW_FILES = [1, 5, 3]  # customer, accelerometer, step_trainer files in the second batch
PUBLISH_ORDER = [
    f"{s}_{kind}" for s in ("customer", "accelerometer", "step_trainer") for kind in ("landing", "quarantine")
]


def _expected_reads(point: str) -> list[int]:
    """Files the next run reads: those of every source whose landing and quarantine tables were not
    both published before the kill (nothing is published before the checks pass)."""
    kind, _, table = point.partition(":")
    if kind != "published":
        return NEW_FILES
    if table not in PUBLISH_ORDER:
        return [0, 0, 0]
    done = PUBLISH_ORDER.index(table) + 1
    return [0 if done >= 2 * (i + 1) else n for i, n in enumerate(NEW_FILES)]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_at_any_point_is_completed_by_the_next(point: str, tmp_path: Path) -> None:
    landing, warehouse = empty_landing(tmp_path / "landing"), tmp_path / "wh"
    copy_files(starter_files()[BATCHES[0]], corpus("stedi-starter"), landing)
    run(Settings(landing=str(landing), warehouse=str(warehouse)))  # the first batch, ingested
    copy_files(starter_files()[BATCHES[1].start :], corpus("stedi-starter"), landing)
    # Every other point kills a run that extends the tables with their new rows instead of rebuilding.
    extend = {"STEDI_INCREMENTAL_FROM": "0"} if KILL_POINTS.index(point) % 2 else {}
    killed = subprocess.run(
        [sys.executable, "-m", "stedi", "run", "--landing", str(landing), "--warehouse", str(warehouse)],
        env={**os.environ, "STEDI_KILL_AT": point, **extend},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    wh = Warehouse(warehouse)
    for name in wh.table_names():
        wh.read(name)  # every table is at a committed snapshot whose files all exist
    result = run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert [s.files for s in result.sources] == _expected_reads(point)
    run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(tmp_path / "reference")))
    assert_same_tables(warehouse, tmp_path / "reference")


# The Spark engine stages its tables on the audit branch and publishes them after the checks: a kill
# between two publications leaves some tables of the new run; the next run publishes the rest.
SPARK_KILL_POINTS = [
    "read",
    "build:customer_trusted",
    "commit:customer_landing",
    "published:accelerometer_landing",
    "published:machine_learning_curated",
]


@pytest.mark.spark
@pytest.mark.parametrize("point", SPARK_KILL_POINTS)
def test_a_spark_run_killed_at_any_point_is_completed_by_the_next(point: str, tmp_path: Path) -> None:
    landing, warehouse = empty_landing(tmp_path / "landing"), tmp_path / "wh"
    copy_files(starter_files()[BATCHES[0]], corpus("stedi-starter"), landing)
    run(Settings(landing=str(landing), warehouse=str(warehouse), engine="spark"))
    copy_files(starter_files()[BATCHES[1].start :], corpus("stedi-starter"), landing)
    killed = subprocess.run(
        [sys.executable, "-m", "stedi", "run", "--engine", "spark", "--landing", str(landing), "--warehouse",
         str(warehouse)], env={**os.environ, "STEDI_KILL_AT": point}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    wh = Warehouse(warehouse)
    for name in wh.table_names():
        wh.read(name)  # every table is at a committed snapshot whose files all exist
    run(Settings(landing=str(landing), warehouse=str(warehouse), engine="spark"))
    _, reference = corpus_run("stedi-starter")
    assert_same_tables(warehouse, Path(reference.location))
