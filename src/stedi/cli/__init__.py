"""The `stedi` command: parse options, call the library, render the result.

Each command lives in a module by what it does (`running`, `reading`, `privacy`, `tools`); importing
them registers them with the group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

# No command multiplies matrices: NumPy's BLAS would only start a thread per core that spins beside
# the work (0.1 CPU seconds of every run). Set before NumPy is first imported; a user's setting stays.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click

from stedi.cli import privacy, reading, running, tools  # noqa: F401 - the commands register themselves
from stedi.cli.group import _one_line, main

__all__ = ["entry", "invoke", "main"]


def invoke(args: list[str]) -> int:
    """Run one `stedi` command and return its exit code; a usage error is one line, like every other
    error (`error: ... (see stedi CMD --help)`, exit 2)."""
    # pyiceberg logs its commit retries as warnings; what a command says is its own output.
    logging.getLogger("pyiceberg").addHandler(logging.NullHandler())
    logging.getLogger("pyiceberg").propagate = False
    try:
        main(args=args, prog_name="stedi", standalone_mode=False)
        return 0
    except click.exceptions.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "stedi"
        click.echo(f"error: {_one_line(exc.format_message())} (see {command} --help)", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        click.echo(exc.code, err=True)
        return 1


def entry() -> None:
    """The console script: run the command, flush, and leave without interpreter teardown.

    Every file and catalog commit is closed when a command returns; what remains is unloading
    pyiceberg's and SQLAlchemy's modules, which costs a quarter of a second on every call.
    """
    code = invoke(sys.argv[1:])
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: started with the stream closed
            with contextlib.suppress(OSError, ValueError):  # a reader that left (`| head`) or a closed stream
                stream.flush()
    os._exit(code)
