"""Running the `stedi` command as a user would: `stedi()` in this process (fast), `stedi_process()`
in a process of its own (for what needs one: a kill, a memory measure, commands at once)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from stedi.cli import invoke


def _environment(env: dict[str, str | None] | None) -> dict[str, str]:
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def stedi(*args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """`stedi ARGS` in this process, with `env` added to (or, a None value, removed from) the
    environment while it runs; its exit code and what it printed."""
    saved = dict(os.environ)
    environment = _environment(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(environment)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = invoke(list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["stedi", *args], code, out.getvalue(), err.getvalue())


def stedi_process(
    *args: str, env: dict[str, str | None] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`stedi ARGS` in a new process (the console script's way out included)."""
    return subprocess.run(
        [sys.executable, "-m", "stedi", *args], env=_environment(env), cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error a command printed, checked to be one line starting `error:` and no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]
