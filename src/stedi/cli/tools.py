"""`stedi generate`."""

from __future__ import annotations

import click

from stedi.cli.group import main, outcome_format_option, user_errors


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--scale", type=float, default=1.0, show_default=True, help="1 is the size of the starter data.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option("--defects", is_flag=True, help="Add what real exports have: duplicates, varied emails, shared "
              "serials, run-together objects, trailing commas, truncated lines, bad types.")  # fmt: skip
@outcome_format_option()
@user_errors
def generate(out: str, scale: float, seed: int, defects: bool, fmt: str) -> None:
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
    if fmt == "json":
        from stedi.cli.render import as_json

        click.echo(as_json({"out": out, "customers": result.customers, "lines": result.lines, "files": result.files,
                            "bytes": result.bytes, "seconds": round(seconds, 3)}, indent=2))  # fmt: skip
        return
    click.echo(
        f"wrote {result.customers:,} customers, {result.accelerometer:,} accelerometer and "
        f"{result.step_trainer:,} step-trainer lines in {result.files} files ({result.bytes / 1e6:,.1f} MB) "
        f"under {out} in {seconds:.1f}s ({lines / seconds / 1e6:.2f}M lines/s)"
    )
