"""Runs of the whole pipeline on the real corpora, made once per test session and shared."""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path

from stedi.catalog import Warehouse
from stedi.config import Settings
from stedi.pipeline import run
from stedi.query import query
from stedi.results import RunResult

from .conftest import corpus

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
