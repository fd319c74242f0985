"""`stedi forget`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from stedi.cli.group import catalog_option, main, outcome_format_option, user_errors, warehouse_option

if TYPE_CHECKING:
    from stedi.pipeline.forget import ForgetResult


@main.command()
@click.argument("emails", nargs=-1)
@click.option("--file", "email_file", type=click.File("r"), help="Read emails from a file, one per line ('-': stdin).")
@warehouse_option
@catalog_option
@click.option("--landing", envvar="STEDI_LANDING", help="Landing root: report which landing files still hold them.")
@outcome_format_option()
@user_errors
def forget(
    emails: tuple[str, ...], email_file: Any, warehouse: str, catalog: str | None, landing: str | None, fmt: str
) -> None:
    """Erase people by email address: their rows in every table, addresses in landing file names, and
    every older snapshot and file that held them. Later runs keep them out."""
    from stedi.contract.tables import load
    from stedi.pipeline.forget import forget as erase

    wanted = list(emails) + ([line for line in email_file.read().splitlines() if line.strip()] if email_file else [])
    if not wanted:
        raise click.UsageError("give at least one EMAIL or --file")
    result = erase(warehouse, wanted, catalog=catalog, landing=landing)
    order = [t.name for t in load()]
    if fmt == "json":
        from stedi.cli.render import as_json

        click.echo(as_json(_as_record(result, order, landing is not None), indent=2))
    else:
        _say(result, order, landing is not None)


def _as_record(result: ForgetResult, order: list[str], with_landing: bool) -> dict[str, Any]:
    return {
        "people": [{"email": p.email, "found": p.found, "rows_removed": {t: p.rows[t] for t in order if p.rows.get(t)},
                    "in_landing_file_names": p.in_paths, "in_history": p.in_history} for p in result.people],
        "history_purged": result.erasure.history_purged, "files_deleted": result.erasure.files_deleted,
        "landing_files_holding_them": result.landing_files if with_landing else None,
        "seconds": round(result.seconds, 3),
    }  # fmt: skip


def _say(result: ForgetResult, order: list[str], with_landing: bool) -> None:
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
    elif not any(p.found for p in result.people):
        click.echo("  nothing was removed, so no history was expired")
    if with_landing:
        if result.landing_files:
            click.echo("landing files that still hold them (not ours to delete; later runs suppress them):")
            for path in result.landing_files:
                click.echo(f"  {path}")
        else:
            click.echo("no landing file holds them")
