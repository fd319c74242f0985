"""Spill folders: where a run's DuckDB puts what does not fit its memory limit.

Each run has one in the system's temporary folder, named by the prefix and the run's process id,
removed when the engine closes. A run that was killed leaves its folder behind (at scale it holds
gigabytes): the next run removes every folder whose process is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile

SPILL_PREFIX = "stedi-spill-"


def new_spill_folder() -> str:
    """A new spill folder for this process, after removing those of runs that were killed."""
    _remove_abandoned_spills()
    return tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-")


def _remove_abandoned_spills() -> None:
    """Remove spill folders left by runs that were killed (a clean run removes its own at close):
    at scale they hold gigabytes. A folder whose process is still alive is never touched."""
    folder = tempfile.gettempdir()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(SPILL_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        pid = entry.name.removeprefix(SPILL_PREFIX).partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        pass
    return True
