"""Progress of a run on the terminal: a Rich progress bar on stderr when it is a terminal.

The pipeline reports steps as short messages; here they advance one bar over the run's known steps.
Off a terminal (pipes, CI, tests) only messages a person must see (waiting for a lock) are printed,
and Rich is not even imported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def terminal_progress(stream=None, total: int = 1) -> Iterator[Callable[[str], None]]:
    """`total`: the messages the work will say (for a run, `pipeline.run.steps()`)."""
    out = stream or sys.stderr
    if not out.isatty():

        def plain(message: str) -> None:
            if message.startswith("waiting"):
                print(message, file=out, flush=True)

        yield plain
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<48}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(file=out), transient=True) as bar:
        task = bar.add_task("starting", total=total)

        def advance(message: str) -> None:
            bar.update(task, description=message[:48], advance=1)

        yield advance
