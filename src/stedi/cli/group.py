"""The `stedi` command group, its shared options, and the one place errors become messages."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from stedi import __version__
from stedi.config import DEFAULT_WAREHOUSE
from stedi.errors import EXIT_ERROR, StediError

F = TypeVar("F", bound=Callable[..., Any])
TABLE_FORMATS = ("table", "csv", "json")
DEBUG_ENV = "STEDI_DEBUG"


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "no details"


def user_errors(func: F) -> F:
    """Every failure as one line on stderr with its exit code, never a traceback (STEDI_DEBUG=1 shows
    the traceback of an unexpected one)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StediError as exc:
            click.echo(f"error: {_one_line(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except MemoryError:
            click.echo("error: out of memory; lower --memory-limit or free memory, and run again", err=True)
            sys.exit(EXIT_ERROR)
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            click.echo(f"error: {_one_line(exc.strerror or str(exc))}{where}", err=True)
            sys.exit(EXIT_ERROR)
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            click.echo(
                f"error: unexpected {type(exc).__name__}: {_one_line(str(exc))[:500]} (a bug: please report it; "
                f"{DEBUG_ENV}=1 shows where)",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def _refuse_empty_variable(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """An option's variable set to nothing is refused, as an empty path is: in a script it is almost
    always a variable that should have held the path (click takes it as unset, i.e. the default)."""
    variable = getattr(param, "envvar", None)
    given = ctx.get_parameter_source(param.name or "") in (ParameterSource.COMMANDLINE, ParameterSource.PROMPT)
    if isinstance(variable, str) and not given and os.environ.get(variable) == "":
        default = f" for the default {param.default}" if isinstance(param.default, str) and param.default else ""
        raise click.BadParameter(f"{variable} is set but empty; give it a value, or unset it{default}")
    return value


catalog_option = click.option(
    "--catalog",
    envvar="STEDI_CATALOG",
    callback=_refuse_empty_variable,
    help="Iceberg catalog: a SQLite file, an Iceberg REST URL, glue, or pyiceberg:NAME. "
    "Default: catalog.db in a local warehouse. Env: STEDI_CATALOG.",
)


def outcome_format_option(flag: str = "--format", dest: str = "fmt") -> Callable[[F], F]:
    """`--format text|json` for a command that reports what it did (JSON: for scripts)."""
    return click.option(
        flag, dest, type=click.Choice(["text", "json"]), default="text", show_default=True,
        help="Print what was done as text or as JSON.",
    )  # fmt: skip


warehouse_option = click.option(
    "--warehouse",
    envvar="STEDI_WAREHOUSE",
    default=DEFAULT_WAREHOUSE,
    callback=_refuse_empty_variable,
    show_default=True,
    help="Warehouse folder (catalog and Iceberg tables). Env: STEDI_WAREHOUSE.",
)


@click.group()
@click.version_option(__version__, prog_name="stedi")
def main() -> None:
    """STEDI lakehouse: landing JSON to trusted and curated Iceberg tables."""
