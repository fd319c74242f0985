"""The console script's way out: its exit code, whatever became of its output streams."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def _threads_after_importing_the_command(environment: dict[str, str]) -> list[str]:
    code = "import os, stedi.cli; print(' '.join(open(f'/proc/self/task/{t}/comm').read().strip() for t in os.listdir('/proc/self/task')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2, reason="needs Linux's /proc and two cores"
)
def test_the_command_starts_no_blas_threads_unless_the_user_asks_for_them() -> None:
    """NumPy's BLAS starts a thread per further core, which spins beside the work; no command needs it."""
    plain = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert len(_threads_after_importing_the_command(plain)) < len(
        _threads_after_importing_the_command({**plain, "OPENBLAS_NUM_THREADS": "2"})
    )
