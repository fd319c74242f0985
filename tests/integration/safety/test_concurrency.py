"""Concurrent runs are safe from the first one: the lock covers creating the warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.pipeline.run import run
from tests.support.corpora import assert_same_tables
from tests.support.landing import small_landing

pytestmark = pytest.mark.slow


def test_four_first_runs_at_once_all_finish_with_exact_tables(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    command = [sys.executable, "-m", "stedi", "run", "--landing", str(landing), "--warehouse", str(tmp_path / "wh")]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in runs]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "reference")))
    assert_same_tables(tmp_path / "wh", tmp_path / "reference")
