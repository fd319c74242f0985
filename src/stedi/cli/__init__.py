"""The `stedi` command: parse options, call the library, render the result."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from stedi import __version__
from stedi.config import CONSENT_POLICIES, DEFAULT_WAREHOUSE, ENGINES, ML_JOINS, Settings
from stedi.errors import EXIT_ERROR, StediError
from stedi.pipeline.ddl import DIALECTS

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


catalog_option = click.option(
    "--catalog",
    envvar="STEDI_CATALOG",
    help="Iceberg catalog: a SQLite file, an Iceberg REST URL, glue, or pyiceberg:NAME. "
    "Default: catalog.db in a local warehouse. Env: STEDI_CATALOG.",
)

warehouse_option = click.option(
    "--warehouse",
    envvar="STEDI_WAREHOUSE",
    default=DEFAULT_WAREHOUSE,
    show_default=True,
    help="Warehouse folder (catalog and Iceberg tables). Env: STEDI_WAREHOUSE.",
)


@click.group()
@click.version_option(__version__, prog_name="stedi")
def main() -> None:
    """STEDI lakehouse: landing JSON to trusted and curated Iceberg tables."""


@main.command()
@click.option(
    "--landing", envvar="STEDI_LANDING", help="Landing root holding SOURCE/landing/ folders. Env: STEDI_LANDING."
)
@warehouse_option
@catalog_option
@click.option(
    "--consent-policy",
    type=click.Choice(CONSENT_POLICIES),
    envvar="STEDI_CONSENT_POLICY",
    default="all",
    show_default=True,
    help="all: every reading of a consenting customer; as-of: only readings at or after consent.",
)
@click.option(
    "--ml-join",
    type=click.Choice(ML_JOINS),
    envvar="STEDI_ML_JOIN",
    default="owner",
    show_default=True,
    help="owner: pair readings with the owner's phone; timestamp: the seed's timestamp-only join (compatibility).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    envvar="STEDI_ENGINE",
    default="duckdb",
    show_default=True,
    help="duckdb: embedded, no server; spark: PySpark 3.5 with Iceberg (pip install 'stedi[spark]').",
)
@click.option(
    "--spark-master", envvar="STEDI_SPARK_MASTER", help="Spark master URL (default local[*]). Env: STEDI_SPARK_MASTER."
)
@click.option(
    "--spark-conf", multiple=True, metavar="KEY=VALUE", help="Extra Spark setting, passed through (repeatable)."
)
@click.option(
    "--memory-limit",
    envvar="STEDI_MEMORY_LIMIT",
    metavar="SIZE",
    help="Embedded engine's memory limit (e.g. 2GB, the default); beyond it DuckDB spills to a temporary "
    "folder. Env: STEDI_MEMORY_LIMIT.",
)
@click.option(
    "--expect",
    envvar="STEDI_EXPECT",
    type=click.Path(dir_okay=False, exists=True),
    help="A dataset's expectations file: row counts checked before anything is published. Env: STEDI_EXPECT.",
)
@click.option("--report/--no-report", default=True, show_default=True, help="Write report.html into the warehouse.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Read every landing file again and check every table's files instead of trusting stored fingerprints "
    "(a damaged table is rewritten). Default: read only new or changed files.",
)
@click.option(
    "--max-shrink",
    envvar="STEDI_MAX_SHRINK",
    metavar="PERCENT",
    help="Refuse to publish a run that removes more than this share of a published table's rows (default 50%). "
    "Env: STEDI_MAX_SHRINK.",
)
@click.option(
    "--allow-shrink",
    is_flag=True,
    help="Publish even a run the shrink guard would refuse (a table emptied, a landing folder missing or empty).",
)
@click.option(
    "--max-record-size",
    envvar="STEDI_MAX_RECORD_SIZE",
    metavar="SIZE",
    help="A landing line longer than this is quarantined as too large (default 64MB). Env: STEDI_MAX_RECORD_SIZE.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Summary as text or as the JSON run trace.")  # fmt: skip
@user_errors
def run(
    landing: str | None,
    warehouse: str,
    catalog: str | None,
    consent_policy: str,
    ml_join: str,
    engine: str,
    spark_master: str | None,
    spark_conf: tuple[str, ...],
    memory_limit: str | None,
    expect: str | None,
    report: bool,
    full_refresh: bool,
    max_shrink: str | None,
    allow_shrink: bool,
    max_record_size: str | None,
    fmt: str,
) -> None:
    """Build every table from the landing data and commit each to the warehouse.

    Only landing files not ingested before (by content) are read; the tables always equal a full
    rebuild from the landing files present. A second run on the same warehouse waits for the first.
    Exit codes: 0 published, 1 error or failed check, 2 usage, 3 refused by the shrink guard.
    """
    conf = {}
    for item in spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--spark-conf")
        conf[key.strip()] = value
    settings = Settings.resolve(
        landing=landing,
        warehouse=warehouse,
        catalog=catalog,
        consent_policy=consent_policy,
        ml_join=ml_join,
        engine=engine,
        spark_master=spark_master,
        spark_conf=conf,
        memory_limit=memory_limit,
        full_refresh=full_refresh,
        expect=expect,
        report=report,
        max_shrink=max_shrink,
        allow_shrink=allow_shrink,
        max_record_size=max_record_size,
    )
    from stedi.cli.progress import terminal_progress
    from stedi.cli.render import as_json, run_summary
    from stedi.errors import ChecksFailed, Refused
    from stedi.pipeline.run import run as run_pipeline
    from stedi.pipeline.run import steps

    stopped: ChecksFailed | Refused | None = None
    with terminal_progress(total=steps()) as progress:
        try:
            result = run_pipeline(settings, progress=progress)
        except (ChecksFailed, Refused) as exc:  # the summary still shows what was built and why it stopped
            result, stopped = exc.result, exc  # type: ignore[assignment]
    click.echo(as_json(result.to_dict(), indent=2) if fmt == "json" else run_summary(result))
    if stopped is not None:
        raise stopped


@main.command()
@warehouse_option
@catalog_option
@click.option("--open", "open_it", is_flag=True, help="Open the report in a web browser.")
@user_errors
def report(warehouse: str, catalog: str | None, open_it: bool) -> None:
    """Rewrite report.html in the warehouse from its tables and run history."""
    from stedi.report import write_report_for

    location = write_report_for(warehouse, catalog)
    click.echo(location)
    if open_it:
        import webbrowser

        webbrowser.open(location if "://" in location else f"file://{os.path.abspath(location)}")


@main.command()
@click.argument("query")
@warehouse_option
@catalog_option
@click.option(
    "--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True, help="Output format."
)
@user_errors
def sql(query: str, warehouse: str, catalog: str | None, fmt: str) -> None:
    """Run one read-only SQL query over the tables, by bare name (FROM customer_trusted)."""
    from stedi.cli.render import rows_as_text
    from stedi.pipeline.query import query as run_query
    from stedi.warehouse.catalog import Warehouse

    click.echo(rows_as_text(run_query(Warehouse(warehouse, catalog=catalog), query), fmt))


@main.command()
@warehouse_option
@catalog_option
@click.option(
    "--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True, help="Output format."
)
@user_errors
def tables(warehouse: str, catalog: str | None, fmt: str) -> None:
    """List the warehouse's tables with their zone, row count and current snapshot."""
    import pyarrow as pa

    from stedi.cli.render import rows_as_text
    from stedi.contract.tables import load
    from stedi.warehouse.catalog import Warehouse

    models = load()
    wh = Warehouse(warehouse, catalog=catalog)
    infos = [wh.describe(name) for name in wh.table_names()]
    listing = pa.table(
        {
            "table": [i.name for i in infos],
            "zone": [z.value if (z := models.zone(i.name)) else "other" for i in infos],
            "rows": pa.array([i.rows for i in infos], pa.int64()),
            "snapshot_id": pa.array([i.snapshot_id for i in infos], pa.int64()),
        }
    )
    click.echo(rows_as_text(listing, fmt))


@main.command()
@warehouse_option
@catalog_option
@click.option(
    "--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True, help="Output format."
)
@user_errors
def verify(warehouse: str, catalog: str | None, fmt: str) -> None:
    """Check every data file the tables' current snapshots need: present, whole, and holding the rows
    that were committed. Exit 1 names the damaged tables (`stedi run --full-refresh` rebuilds them)."""
    import pyarrow as pa

    from stedi.cli.render import rows_as_text
    from stedi.errors import WarehouseError
    from stedi.pipeline.verify import verify as check

    found = check(warehouse, catalog)
    listing = pa.table(
        {
            "table": [t.name for t in found],
            "files": pa.array([t.files for t in found], pa.int64()),
            "rows": pa.array([t.rows for t in found], pa.int64()),
            "status": ["damaged" if t.damaged else "ok" for t in found],
            "problem": ["; ".join(t.problems) if t.damaged else "" for t in found],
        }
    )
    click.echo(rows_as_text(listing, fmt))
    if damaged := [t.name for t in found if t.damaged]:
        raise WarehouseError(
            f"{len(damaged)} damaged table(s): {', '.join(damaged)}; `stedi run --full-refresh` rebuilds them from "
            "the landing files"
        )


@main.command()
@click.argument("emails", nargs=-1)
@click.option("--file", "email_file", type=click.File("r"), help="Read emails from a file, one per line ('-': stdin).")
@warehouse_option
@catalog_option
@click.option("--landing", envvar="STEDI_LANDING", help="Landing root: report which landing files still hold them.")
@user_errors
def forget(emails: tuple[str, ...], email_file: Any, warehouse: str, catalog: str | None, landing: str | None) -> None:
    """Erase people by email address: their rows in every table, addresses in landing file names, and
    every older snapshot and file that held them. Later runs keep them out."""
    from stedi.contract.tables import load
    from stedi.pipeline.forget import forget as erase

    wanted = list(emails) + ([line for line in email_file.read().splitlines() if line.strip()] if email_file else [])
    if not wanted:
        raise click.UsageError("give at least one EMAIL or --file")
    result = erase(warehouse, wanted, catalog=catalog, landing=landing)
    found = [p for p in result.people if p.found]
    order = [t.name for t in load()]
    click.echo(
        f"forgot {len(result.people)} {'person' if len(result.people) == 1 else 'people'} in {result.seconds:.2f}s"
    )
    for person in result.people:
        if not person.found:
            click.echo(
                f"  {person.email}: found in no table; recorded in the erasure ledger, so later runs keep them out"
            )
            continue
        click.echo(f"  {person.email}:")
        for table in order:
            if n := person.rows.get(table, 0):
                click.echo(f"    {table:<26} {n:>10,} {'row' if n == 1 else 'rows'} removed")
        if person.in_paths:
            click.echo("    landing file names holding the address are redacted")
        if person.in_history:
            click.echo("    also found in the tables' history")
    if result.erasure.history_purged:
        click.echo(
            f"  history removed: {result.erasure.files_deleted:,} files deleted; the erasure ledger keeps keyed hashes only"
        )
    elif not found:
        click.echo("  nothing was removed, so no history was expired")
    if landing:
        if result.landing_files:
            click.echo("landing files that still hold them (not ours to delete; later runs suppress them):")
            for path in result.landing_files:
                click.echo(f"  {path}")
        else:
            click.echo("no landing file holds them")


@main.command()
@click.option("--dialect", type=click.Choice(DIALECTS), default="athena", show_default=True, help="SQL dialect.")
@click.option("--landing", envvar="STEDI_LANDING", help="Landing root: adds external tables over its JSON files.")
@click.option("--warehouse", envvar="STEDI_WAREHOUSE", help="Warehouse: adds its Iceberg tables. Env: STEDI_WAREHOUSE.")
@catalog_option
@user_errors
def ddl(dialect: str, landing: str | None, warehouse: str | None, catalog: str | None) -> None:
    """Print CREATE statements for the landing tables and the warehouse's Iceberg tables."""
    from stedi.pipeline.ddl import ddl as make_ddl

    if not landing and not warehouse:
        raise click.UsageError("give --landing, --warehouse or both")
    wh = None
    if warehouse:
        from stedi.warehouse.catalog import Warehouse

        wh = Warehouse(warehouse, catalog=catalog)
    click.echo(make_ddl(dialect, landing, wh), nl=False)


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--scale", type=float, default=1.0, show_default=True, help="1 is the size of the starter data.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option("--defects", is_flag=True, help="Add what real exports have: duplicates, varied emails, shared "
              "serials, run-together objects, trailing commas, truncated lines, bad types.")  # fmt: skip
@user_errors
def generate(out: str, scale: float, seed: int, defects: bool) -> None:
    """Write STEDI-shaped landing data (customer, accelerometer, step_trainer) under OUT."""
    import math
    import time

    from stedi.generate import generate as generate_data

    if not math.isfinite(scale) or scale <= 0:
        raise click.BadParameter("must be a positive number", param_hint="--scale")
    started = time.perf_counter()
    result = generate_data(out, scale=scale, seed=seed, defects=defects)
    seconds = time.perf_counter() - started
    lines = sum(result.lines.values())
    click.echo(
        f"wrote {result.customers:,} customers, {result.accelerometer:,} accelerometer and "
        f"{result.step_trainer:,} step-trainer lines in {result.files} files ({result.bytes / 1e6:,.1f} MB) "
        f"under {out} in {seconds:.1f}s ({lines / seconds / 1e6:.2f}M lines/s)"
    )


def invoke(args: list[str]) -> int:
    """Run one `stedi` command and return its exit code; a usage error is one line, like every other
    error (`error: ... (see stedi CMD --help)`, exit 2)."""
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
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
