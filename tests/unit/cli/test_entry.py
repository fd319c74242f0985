"""The console script's way out: its exit code, whatever became of its output streams."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENTRY = "import sys; from stedi.cli import entry; sys.argv[0] = 'stedi'; entry()"


def _shell(args: str) -> subprocess.CompletedProcess[bytes]:
    """`stedi ARGS` through a shell, so that a stream can be closed (`>&-`) before it starts."""
    return subprocess.run(["sh", "-c", f'"{sys.executable}" -c "{ENTRY}" {args}'], capture_output=True, timeout=120)


def test_a_closed_output_stream_keeps_the_exit_code_and_prints_no_traceback(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    done = _shell(f'generate "{landing}" --scale 0.01 >&-')
    assert (done.returncode, done.stderr) == (0, b"")
    assert (landing / "customer" / "landing").is_dir()
    refused = _shell(f'generate "{landing}" --scale 0.01 2>&-')  # not empty now: refused, unheard
    assert (refused.returncode, refused.stdout) == (2, b"")
