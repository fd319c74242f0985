"""The distribution as a user installs it: a wheel built from the source tree, installed into a
fresh virtual environment (no editable install, no test tree), runs the pipeline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.landing import small_landing
from tests.support.wheel import build_wheel

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_wheel_installs_in_a_fresh_environment_and_runs(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    assert wheel.name == "stedi_lakehouse-0.1.0-py3-none-any.whl"
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    _run(venv / "bin" / "pip", "install", "--quiet", wheel)
    stedi = venv / "bin" / "stedi"
    assert _run(stedi, "--version").stdout.strip() == "stedi, version 0.1.0"
    landing = small_landing(tmp_path / "landing")
    _run(stedi, "run", "--landing", landing, "--warehouse", tmp_path / "wh", cwd=tmp_path)
    counted = _run(stedi, "sql", "--warehouse", tmp_path / "wh", "--format", "csv",
                   "SELECT count(*) AS n FROM customer_landing", cwd=tmp_path)  # fmt: skip
    assert counted.stdout.splitlines()[1] == "3"  # the three customers of the small landing data
