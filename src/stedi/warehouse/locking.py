"""One writer at a time on a local warehouse: runs and erasures take an exclusive lock file.

A second `stedi run` on the same warehouse waits for the first to finish (saying so), then does its
own work, which is usually to find nothing new. The lock is an OS file lock, so a run killed with
SIGKILL releases it at once. Warehouses in object storage have no lock file: there, two writers rely
on Iceberg's optimistic concurrency, and the one that loses fails with a clear message (see
docs/decisions.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from stedi.errors import BusyError, WarehouseError
from stedi.storage import is_remote, require_location

LOCK_FILE = ".stedi.lock"
DEFAULT_WAIT = 3600.0


@contextmanager
def writer_lock(location: str, say: Callable[[str], None] | None = None, wait: float | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait` seconds (STEDI_LOCK_WAIT) for another writer."""
    if is_remote(require_location(location)):
        yield
        return
    import fcntl

    from stedi.config import parse_seconds

    limit = (
        wait
        if wait is not None
        else parse_seconds(os.environ.get("STEDI_LOCK_WAIT", str(DEFAULT_WAIT)), "STEDI_LOCK_WAIT")
    )
    folder = Path(location)
    try:
        if folder.exists() and not folder.is_dir():
            raise WarehouseError(f"the warehouse {location} is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_FILE, "a+")  # noqa: SIM115 - closed below, after the lock is released
    except OSError as exc:
        raise WarehouseError(
            f"cannot take the writer lock {folder / LOCK_FILE}: {exc.strerror or exc} (the warehouse folder must be "
            "writable)"
        ) from None
    with handle:
        deadline = time.monotonic() + limit
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise BusyError(
                        f"another stedi run or forget is writing to warehouse {location}; gave up after "
                        f"{limit:g} s (STEDI_LOCK_WAIT)"
                    ) from None
                if not told and say is not None:
                    say("waiting for another run on this warehouse to finish")
                told = True
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
