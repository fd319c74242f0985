"""Commands that build, plan, roll back, maintain or check the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from stedi.cli.group import (
    TABLE_FORMATS,
    catalog_option,
    main,
    outcome_format_option,
    user_errors,
    warehouse_option,
)
from stedi.config import CONSENT_POLICIES, ENGINES, ML_JOINS, Settings

RUN_OPTIONS = [
    click.option("--landing", envvar="STEDI_LANDING", help="Landing root holding SOURCE/landing/ folders. Env: STEDI_LANDING."),
    warehouse_option,
    catalog_option,
    click.option("--consent-policy", type=click.Choice(CONSENT_POLICIES), envvar="STEDI_CONSENT_POLICY", default="all",
                 show_default=True,
                 help="all: every reading of a consenting customer; as-of: only readings at or after consent."),
    click.option("--ml-join", type=click.Choice(ML_JOINS), envvar="STEDI_ML_JOIN", default="owner", show_default=True,
                 help="owner: pair readings with the owner's phone; timestamp: the timestamp-only join (for comparison)."),
    click.option("--split", envvar="STEDI_SPLIT", metavar="TRAIN/VALIDATION/TEST",
                 help="Shares of subjects in the train, validation and test splits of machine_learning_curated "
                 "(default 80/10/10). Env: STEDI_SPLIT."),
    click.option("--engine", type=click.Choice(ENGINES), envvar="STEDI_ENGINE", default="duckdb", show_default=True,
                 help="duckdb: embedded, no server; spark: PySpark 3.5 with Iceberg."),
    click.option("--spark-master", envvar="STEDI_SPARK_MASTER",
                 help="Spark master URL (default local[*]). Env: STEDI_SPARK_MASTER."),
    click.option("--spark-conf", multiple=True, metavar="KEY=VALUE", help="Extra Spark setting, passed through (repeatable)."),
    click.option("--memory-limit", envvar="STEDI_MEMORY_LIMIT", metavar="SIZE",
                 help="Embedded engine's memory limit (e.g. 4GB; default: half the machine's memory); beyond it DuckDB "
                 "spills to a temporary folder. Env: STEDI_MEMORY_LIMIT."),
    click.option("--expect", envvar="STEDI_EXPECT", type=click.Path(dir_okay=False, exists=True),
                 help="A dataset's expectations file: row counts checked before anything is published. Env: STEDI_EXPECT."),
    click.option("--full-refresh", is_flag=True,
                 help="Read every landing file again and check every table's files instead of trusting stored "
                 "fingerprints (a damaged table is rewritten). Default: read only new or changed files."),
    click.option("--max-shrink", envvar="STEDI_MAX_SHRINK", metavar="PERCENT",
                 help="Refuse to publish a run that removes more than this share of a published table's rows "
                 "(default 50%). Env: STEDI_MAX_SHRINK."),
    click.option("--allow-shrink", is_flag=True,
                 help="Publish even a run the shrink guard would refuse (a table emptied, a landing folder missing or "
                 "empty)."),
    click.option("--require-rows", is_flag=True,
                 help="An empty machine_learning_curated stops the run (an error check) instead of a warning."),
    click.option("--max-record-size", envvar="STEDI_MAX_RECORD_SIZE", metavar="SIZE",
                 help="A landing line longer than this is quarantined as too large (default 64MB). "
                 "Env: STEDI_MAX_RECORD_SIZE."),
]  # fmt: skip


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(RUN_OPTIONS):
        command = option(command)
    return command


def settings_from(spark_conf: tuple[str, ...], **given: Any) -> Settings:
    conf = {}
    for item in spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--spark-conf")
        conf[key.strip()] = value
    return Settings.resolve(spark_conf=conf, **given)


@main.command()
@run_options
@click.option("--report/--no-report", default=True, show_default=True, help="Write report.html into the warehouse.")
@click.option("--no-maintain", is_flag=True,
              help="Keep all history this time (by default a run expires what the last 10 runs do not need).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Summary as text or as the JSON run trace.")  # fmt: skip
@user_errors
def run(spark_conf: tuple[str, ...], report: bool, no_maintain: bool, fmt: str, **given: Any) -> None:
    """Build every table from the landing data and commit each to the warehouse.

    Only landing files not ingested before (by content) are read; the tables always equal a full
    rebuild from the landing files present. A second run on the same warehouse waits for the first.
    Exit codes: 0 published, 1 error or failed check, 2 usage, 3 refused by the shrink guard.
    """
    from stedi.cli.progress import terminal_progress
    from stedi.cli.render import as_json, run_summary
    from stedi.errors import ChecksFailed, Refused
    from stedi.pipeline.run import run as run_pipeline
    from stedi.pipeline.run import steps

    settings = settings_from(spark_conf, report=report, maintain=not no_maintain, **given)
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
@run_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What the run would do, as text or JSON.")  # fmt: skip
@user_errors
def plan(spark_conf: tuple[str, ...], fmt: str, **given: Any) -> None:
    """Show what `stedi run` with these options would do, writing nothing: files new, changed, renamed
    or removed, every table's rows before and after, checks that would fail, and the shrink guard."""
    from stedi.cli.render import as_json, plan_summary
    from stedi.pipeline.plan import plan as make_plan

    planned = make_plan(settings_from(spark_conf, **given))
    if fmt == "json":
        click.echo(as_json({**planned.result.to_dict(), "files": planned.files}, indent=2))
    else:
        click.echo(plan_summary(planned))


@main.command()
@click.argument("run_id")
@warehouse_option
@catalog_option
@outcome_format_option()
@user_errors
def rollback(run_id: str, warehouse: str, catalog: str | None, fmt: str) -> None:
    """Put every table back to the snapshots run RUN_ID published (a prefix of the id will do).

    The next `stedi run` reads again the landing files ingested after that run. People erased since
    are never brought back: anyone of the erasure ledger found again is erased again."""
    from stedi.pipeline.rollback import rollback as go_back

    done = go_back(warehouse, run_id, catalog)
    erased_again = bool(done.erasure.removed or done.erasure.history_purged)
    if fmt == "json":
        from stedi.cli.render import as_json

        click.echo(as_json({"rolled_back_to": done.run.run_id, "run_at": done.run.at.isoformat(), "moved": done.moved,
                            "recorded_as": done.run_id, "erased_again": erased_again}, indent=2))  # fmt: skip
        return
    click.echo(
        f"rolled back to run {done.run.run_id[:12]} of {done.run.at:%Y-%m-%d %H:%M:%SZ}: "
        f"{len(done.moved)} tables moved ({', '.join(done.moved) or 'none'}); recorded as run {done.run_id[:12]}"
    )
    if erased_again:
        click.echo("people erased since were found in that state and erased again")


@main.command()
@warehouse_option
@catalog_option
@click.option(
    "--keep-runs", type=int, default=10, show_default=True, help="Keep the snapshots of this many latest runs."
)
@click.option("--older-than", metavar="DURATION",
              help="Keep every snapshot younger than this too (7d, 12h, 30m).")  # fmt: skip
@click.option("--compact", is_flag=True, help="Rewrite tables made of many small files into few.")
@outcome_format_option()
@user_errors
def maintain(
    warehouse: str, catalog: str | None, keep_runs: int, older_than: str | None, compact: bool, fmt: str
) -> None:
    """Expire snapshots outside retention and delete every file no kept snapshot needs (files of killed
    runs included, and only inside the warehouse); with --compact, rewrite tables of many small files."""
    from stedi.pipeline.maintain import maintain as tidy
    from stedi.pipeline.maintain import parse_duration

    done = tidy(warehouse, catalog, keep_runs, parse_duration(older_than) if older_than else None, compact)
    r = done.reclaimed
    if fmt == "json":
        from stedi.cli.render import as_json

        click.echo(as_json({"kept_runs": done.kept_runs, "expired_snapshots": r.snapshots, "deleted_files": r.files,
                            "deleted_bytes": r.bytes, "compacted": done.compacted}, indent=2))  # fmt: skip
        return
    if done.compacted:
        click.echo(f"compacted {', '.join(done.compacted)}")
    click.echo(
        f"kept the current state and the last {done.kept_runs} runs; expired {r.snapshots:,} snapshots; "
        f"deleted {r.files:,} files ({r.bytes:,} bytes)"
    )


@main.command()
@warehouse_option
@catalog_option
@click.option(
    "--format", "fmt", type=click.Choice(TABLE_FORMATS), default="table", show_default=True, help="Output format."
)
@user_errors
def verify(warehouse: str, catalog: str | None, fmt: str) -> None:
    """Check every data file the tables' current snapshots need: present, whole, and holding the rows
    that were committed. Exit 1 names the damaged tables and what repairs them (`stedi run --full-refresh`
    rebuilds a table from the landing files; `stedi recover` puts the erasure ledger back from erased.json)."""
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
        from stedi.contract.tables import ERASURE_TABLE
        from stedi.warehouse.erased_copy import damage_remedy

        rebuilt = [name for name in damaged if name != ERASURE_TABLE]
        remedies = (
            [f"`stedi run --full-refresh` rebuilds {', '.join(rebuilt)} from the landing files"] if rebuilt else []
        )
        if ERASURE_TABLE in damaged:
            remedies.append(f"{ERASURE_TABLE}: {damage_remedy(ERASURE_TABLE, warehouse)}")
        raise WarehouseError(f"{len(damaged)} damaged table(s): {', '.join(damaged)}; {'; '.join(remedies)}")


@main.command()
@warehouse_option
@catalog_option
@outcome_format_option()
@user_errors
def recover(warehouse: str, catalog: str | None, fmt: str) -> None:
    """Rebuild a lost, damaged or stale SQLite catalog from the tables' own metadata files in the
    warehouse folder: every table comes back with its snapshots, history and erasure ledger. A catalog
    file it replaces is kept beside it, renamed."""
    from stedi.pipeline.recover import recover as rebuild

    done = rebuild(warehouse, catalog)
    if fmt == "json":
        from stedi.cli.render import as_json

        click.echo(as_json({"root": done.root, "tables": done.tables, "subject_key_fingerprint": done.key_fingerprint,
                            "replaced": done.replaced, "restored_erasures": done.restored_erasures}, indent=2))  # fmt: skip
        return
    if done.replaced:
        click.echo(f"kept the catalog it replaces as {done.replaced}")
    click.echo(f"recovered {len(done.tables)} tables ({sum(done.tables.values()):,} rows) created at {done.root}")
    if done.restored_erasures:
        click.echo(
            f"{done.restored_erasures} erasure(s) named in erased.json were missing from the recovered erasure ledger: "
            "put back as pending, the next `stedi run` or `stedi forget` erases those people again"
        )
    if done.key_fingerprint is None:
        click.echo(
            "neither erased.json nor the dataset card named the subject key: the next run records the fingerprint "
            "of the key it finds"
        )
