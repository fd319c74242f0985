"""The shared corpora (../shared/data, or STEDI_TEST_DATA), whole-pipeline runs on them made once per
test session, and helpers to compare warehouses."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from stedi.config import Settings
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.results import RunResult
from stedi.warehouse.catalog import Warehouse

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = Path(os.environ.get("STEDI_TEST_DATA", ROOT.parent / "shared" / "data"))
TEST_KEY = "test-subject-key"
STARTER_COUNTS = {
    "customer_landing": 956,
    "accelerometer_landing": 81273,
    "step_trainer_landing": 28680,
    "customer_trusted": 482,
    "accelerometer_trusted": 40981,
    "customer_curated": 482,
    "step_trainer_trusted": 14460,
    "machine_learning_curated": 40981,
}
BATCHES = (slice(0, 4), slice(4, 9), slice(9, None))  # 13 starter files: customer+3, 5, 4
_TMP = Path(tempfile.mkdtemp(prefix="stedi-test-runs-"))


def corpus(name: str) -> Path:
    path = DATA / name
    if not path.is_dir():
        raise FileNotFoundError(f"test corpus {path} is missing: set STEDI_TEST_DATA to the shared data folder")
    return path


def corpus_run(name: str, consent_policy: str = "all", ml_join: str = "owner") -> tuple[RunResult, Warehouse]:
    """The result of the one run of a corpus with these settings (made on first use)."""
    return _corpus_run(name, consent_policy, ml_join)  # one cache key however the defaults are passed


@cache
def _corpus_run(name: str, consent_policy: str, ml_join: str) -> tuple[RunResult, Warehouse]:
    warehouse = _TMP / f"{name}-{consent_policy}-{ml_join}"
    previous = os.environ.get("STEDI_SUBJECT_KEY")
    os.environ["STEDI_SUBJECT_KEY"] = TEST_KEY
    try:
        result = run(
            Settings(
                landing=str(corpus(name)), warehouse=str(warehouse), consent_policy=consent_policy, ml_join=ml_join
            )
        )
    finally:
        if previous is None:
            del os.environ["STEDI_SUBJECT_KEY"]
        else:
            os.environ["STEDI_SUBJECT_KEY"] = previous
    return result, Warehouse(warehouse)


def count(warehouse: Warehouse, table: str) -> int:
    return int(query(warehouse, f"SELECT COUNT(*) AS n FROM {table}").column("n")[0].as_py())


RUN_COLUMNS = ("snapshot_id", "ingested_at")  # the ledger's columns that belong to a run, not to the data


def table_rows(warehouse: Warehouse, name: str) -> list[tuple[Any, ...]]:
    """A table's rows as sorted tuples of its columns in name order (run-specific columns left out)."""
    table = warehouse.read(name)
    columns = sorted(c for c in table.column_names if c not in RUN_COLUMNS)
    return sorted((tuple(r[c] for c in columns) for r in table.to_pylist()), key=repr)


def data_tables(warehouse: Warehouse) -> list[str]:
    """The warehouse's tables without run_history (which grows on every run by design)."""
    return [name for name in warehouse.table_names() if name != "run_history"]


def assert_same_tables(warehouse: Path, reference: Path) -> None:
    names = data_tables(Warehouse(reference))
    assert data_tables(Warehouse(warehouse)) == names
    for name in names:
        assert table_rows(Warehouse(warehouse), name) == table_rows(Warehouse(reference), name), name


def assert_same_as_a_full_rebuild(landing: Path, warehouse: Path, scratch: Path, result: RunResult) -> RunResult:
    """The tables of `warehouse`, and the rows in and out, reasons and checks of `result` (its last
    run), equal those of a full rebuild of `landing` into a new warehouse under `scratch`; returns the
    rebuild's result. A pass may be decided another way in a run that extends ("ok: ..."); figures
    ("ok; ...") are kept."""
    fresh = scratch / f"reference-{len(list(scratch.glob('reference-*')))}"
    reference = build(landing, fresh)
    assert_same_tables(warehouse, fresh)
    assert [(t.name, t.rows_in, t.rows_out, t.drops) for t in result.tables] == [
        (t.name, t.rows_in, t.rows_out, t.drops) for t in reference.tables
    ]
    assert [(c.table, c.description, c.status, c.value, _said(c.detail)) for c in result.checks] == [
        (c.table, c.description, c.status, c.value, _said(c.detail)) for c in reference.checks
    ]
    return reference


def _said(detail: str) -> str:
    return "ok" if detail.startswith("ok: ") else detail


def snapshots(warehouse: Path) -> dict[str, int | None]:
    wh = Warehouse(warehouse)
    return {name: wh.describe(name).snapshot_id for name in data_tables(wh)}


def build(landing: Path, warehouse: Path, **settings: Any) -> RunResult:
    return run(Settings(landing=str(landing), warehouse=str(warehouse), **settings))


def starter_files() -> list[Path]:
    return sorted(corpus("stedi-starter").rglob("*.json"))


def copy_files(files: list[Path], source_root: Path, landing: Path) -> None:
    for f in files:
        target = landing / f.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)


def empty_landing(path: Path) -> Path:
    for source in ("customer", "accelerometer", "step_trainer"):
        (path / source / "landing").mkdir(parents=True, exist_ok=True)
    return path
