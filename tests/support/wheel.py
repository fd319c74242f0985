"""The distribution's wheel, built as a user would from the source tree (a copy of it: the clone stays
untouched by the build)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.corpora import ROOT


def build_wheel(target: Path) -> Path:
    source = target / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(source), "-w",
                           str(target)], capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    [wheel] = target.glob("*.whl")
    return wheel
