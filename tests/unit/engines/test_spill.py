"""Spill folders: one per run in the temporary folder; those of killed runs are removed by the next."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from stedi.engines.spill import SPILL_PREFIX, new_spill_folder


def _gone_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_new_spill_folder_removes_those_of_runs_whose_process_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    abandoned = tmp_path / f"{SPILL_PREFIX}{_gone_pid()}-abc"
    running = tmp_path / f"{SPILL_PREFIX}{os.getpid()}-other"  # a run still going: this process
    unrelated = tmp_path / f"{SPILL_PREFIX}notes"
    a_file = tmp_path / f"{SPILL_PREFIX}1-file"
    for folder in (abandoned, running, unrelated):
        (folder / "data").mkdir(parents=True)
    a_file.write_text("not a folder")

    made = Path(new_spill_folder())

    assert made.parent == tmp_path and made.name.startswith(f"{SPILL_PREFIX}{os.getpid()}-") and made.is_dir()
    assert not abandoned.exists()
    assert running.exists() and unrelated.exists() and a_file.exists()
