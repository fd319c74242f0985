"""Runs of the whole pipeline on the real corpora, made once per test session and shared."""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from stedi.config import Settings
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.results import RunResult
from stedi.warehouse.catalog import Warehouse
from tests.conftest import corpus

_TMP = Path(tempfile.mkdtemp(prefix="stedi-test-runs-"))


@cache
def corpus_run(name: str, consent_policy: str = "all", ml_join: str = "owner") -> tuple[RunResult, Warehouse]:
    warehouse = _TMP / f"{name}-{consent_policy}-{ml_join}"
    previous = os.environ.get("STEDI_SUBJECT_KEY")
    os.environ["STEDI_SUBJECT_KEY"] = "test-subject-key"
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
