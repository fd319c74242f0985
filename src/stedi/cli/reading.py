"""Commands that read the warehouse: sql, tables, report, ddl."""

from __future__ import annotations

import os

import click

from stedi.cli.group import TABLE_FORMATS, catalog_option, main, outcome_format_option, user_errors, warehouse_option
from stedi.config import SPLITS
from stedi.pipeline.ddl import DIALECTS
from stedi.pipeline.export import FORMATS as EXPORT_FORMATS


@main.command()
@warehouse_option
@catalog_option
@click.option("--open", "open_it", is_flag=True, help="Open the report in a web browser.")
@outcome_format_option()
@user_errors
def report(warehouse: str, catalog: str | None, open_it: bool, fmt: str) -> None:
    """Rewrite report.html (and the dataset card beside it) in the warehouse from its tables and run history."""
    from stedi.report import write_report_for

    location = write_report_for(warehouse, catalog)
    if fmt == "json":
        from stedi.cli.render import as_json

        click.echo(as_json({"report": location}))
    else:
        click.echo(location)
    if open_it:
        import webbrowser

        webbrowser.open(location if "://" in location else f"file://{os.path.abspath(location)}")


as_of_option = click.option(
    "--as-of",
    metavar="RUN|TIME",
    help="The tables as run RUN published them (an id from `stedi history`, or a prefix) or as they stood at an "
    "ISO-8601 TIME.",
)


@main.command()
@click.argument("query")
@warehouse_option
@catalog_option
@as_of_option
@click.option(
    "--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True, help="Output format."
)
@user_errors
def sql(query: str, warehouse: str, catalog: str | None, as_of: str | None, fmt: str) -> None:
    """Run one read-only SQL query over the tables, by bare name (FROM customer_trusted)."""
    from stedi.cli.render import rows_as_text
    from stedi.pipeline.history import as_of as snapshots_as_of
    from stedi.pipeline.query import query as run_query
    from stedi.warehouse.catalog import Warehouse

    wh = Warehouse(warehouse, catalog=catalog)
    snapshots = snapshots_as_of(wh, as_of) if as_of else None
    click.echo(rows_as_text(run_query(wh, query, snapshots), fmt))


@main.command()
@warehouse_option
@catalog_option
@as_of_option
@click.option(
    "--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True, help="Output format."
)
@user_errors
def tables(warehouse: str, catalog: str | None, as_of: str | None, fmt: str) -> None:
    """List the warehouse's tables with their zone, row count and current snapshot (or as of a run or time)."""
    import pyarrow as pa

    from stedi.cli.render import rows_as_text
    from stedi.contract.tables import load
    from stedi.pipeline.history import as_of as snapshots_as_of
    from stedi.warehouse.catalog import Warehouse, snapshot_rows

    models = load()
    wh = Warehouse(warehouse, catalog=catalog)
    snapshots = snapshots_as_of(wh, as_of) if as_of else None
    names = [n for n in wh.table_names() if snapshots is None or n in snapshots]
    rows, ids = [], []
    for name in names:
        if snapshots is None:
            info = wh.describe(name)
            rows.append(info.rows)
            ids.append(info.snapshot_id)
        else:
            table = wh.load(name)
            snapshot = table.snapshot_by_id(snapshots[name])
            rows.append(snapshot_rows(table, snapshot) if snapshot else 0)
            ids.append(snapshots[name])
    listing = pa.table(
        {
            "table": names,
            "zone": [z.value if (z := models.zone(n)) else "other" for n in names],
            "rows": pa.array(rows, pa.int64()),
            "snapshot_id": pa.array(ids, pa.int64()),
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
def history(warehouse: str, catalog: str | None, fmt: str) -> None:
    """The runs, newest first: id, time, engine, settings, outcome (published, unchanged, failed,
    refused, rolled back), and per table its snapshot and rows. JSON gives one object per run."""
    from stedi.cli.render import as_json, rows_as_text
    from stedi.pipeline.history import history_table, reachable, runs
    from stedi.warehouse.catalog import Warehouse

    wh = Warehouse(warehouse, catalog=catalog)
    records = runs(wh)
    if fmt == "json":
        click.echo(as_json([{**r.as_dict(), "reachable": reachable(wh, r)} for r in records], indent=2))
    else:
        click.echo(rows_as_text(history_table(records), fmt))


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
@click.argument("table")
@click.argument("out", type=click.Path(dir_okay=True, file_okay=True))
@warehouse_option
@catalog_option
@as_of_option
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS),
              help="File format of the export. Default: the one OUT's suffix names (.parquet, .csv, .jsonl, .json), "
                   "else parquet.")  # fmt: skip
@click.option("--where", metavar="CONDITION", help='Only the rows meeting this SQL condition (e.g. "x > 0").')
@click.option("--split", type=click.Choice(SPLITS), help="Only this split of machine_learning_curated.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists (a file, or an earlier export's folder).")
@outcome_format_option("--output-format", "output_format")
@user_errors
def export(
    table: str, out: str, warehouse: str, catalog: str | None, as_of: str | None, fmt: str | None, where: str | None,
    split: str | None, overwrite: bool, output_format: str,
) -> None:  # fmt: skip
    """Write a table's rows to OUT as Parquet, CSV or JSON lines.

    OUT is a file; for a table with a split column, OUT without a file suffix is a folder with one
    subfolder per split (split=train, ...). Example: stedi export machine_learning_curated ml --split train"""
    from stedi.pipeline.export import export as run_export
    from stedi.pipeline.history import as_of as snapshots_as_of
    from stedi.warehouse.catalog import Warehouse

    wh = Warehouse(warehouse, catalog=catalog)
    snapshots = snapshots_as_of(wh, as_of) if as_of else None
    done = run_export(wh, table, out, fmt, where, split, snapshots, overwrite)
    if output_format == "json":
        from stedi.cli.render import as_json

        click.echo(as_json({"table": done.table, "rows": done.rows, "location": done.location, "format": done.format,
                            "partitioned": done.partitioned, "files": done.files}, indent=2))  # fmt: skip
        return
    shape = f"partitioned by split, {len(done.files)} file(s)" if done.partitioned else "1 file"
    click.echo(f"exported {done.rows:,} rows of {done.table} to {done.location} ({done.format}, {shape})")
