"""Every shell block the docs mark as runnable (```sh) runs as shown, from a folder holding `landing/`
(generated STEDI-shaped data) and `lakehouse/` (built from it by `stedi run`), the layout the docs
assume. Blocks that need what this machine has not (AWS, a cluster, a scheduler) are plain ``` blocks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.corpora import ROOT

pytestmark = pytest.mark.slow

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
RUNNABLE = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks(doc: Path) -> list[str]:
    return RUNNABLE.findall(doc.read_text())


def test_the_docs_have_runnable_blocks() -> None:
    assert sum(len(_blocks(doc)) for doc in DOCS) >= 6


@pytest.mark.parametrize("doc", [d for d in DOCS if _blocks(d)], ids=lambda d: d.name)
def test_every_runnable_block_of_a_doc_runs(doc: Path, tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    def shell(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600, check=False)  # fmt: skip

    ready = shell("stedi generate landing --scale 0.05 --seed 1 && stedi run --landing landing --warehouse lakehouse")
    assert ready.returncode == 0, ready.stderr
    for block in _blocks(doc):
        done = shell(block)
        assert done.returncode == 0, f"{doc.name}:\n{block}\n{done.stderr[-2000:]}"
