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
    """Write STEDI-shaped landing data (customer, accelerometer, step_trainer) under OUT, a new or empty folder."""
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


@main.command("glue-job")
@click.option("--bucket", required=True, help="S3 bucket of the job: s3://BUCKET/stedi/ holds its script and wheel.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write the job's files to.")
@click.option("--name", default="stedi", show_default=True, help="Name of the Glue job.")
@click.option("--role", default="AWSGlueServiceRole-stedi", show_default=True, help="IAM role the job runs as.")
@click.option("--landing", default="", help="Landing root of the job (default s3://BUCKET/landing).")
@click.option("--warehouse", default="", help="Warehouse of the job (default s3://BUCKET/lakehouse).")
@outcome_format_option()
@user_errors
def glue_job(bucket: str, out: str, name: str, role: str, landing: str, warehouse: str, fmt: str) -> None:
    """Write an AWS Glue 5 job that runs the pipeline on Glue's Spark with the Glue Data Catalog: the
    job script, the package's wheel and create-job.json for `aws glue create-job --cli-input-json`."""
    from stedi.pipeline.glue_job import write_glue_job

    job = write_glue_job(out, bucket, name, role, landing, warehouse)
    if fmt == "json":
        from stedi.cli.render import as_json

        click.echo(as_json({"script": str(job.script), "wheel": str(job.wheel), "request": str(job.request)}))
        return
    click.echo(f"wrote {job.script}, {job.wheel} and {job.request}")
    click.echo(f"next: aws s3 cp {job.script} s3://{bucket}/stedi/ && aws s3 cp {job.wheel} s3://{bucket}/stedi/")
    click.echo(f"      aws glue create-job --cli-input-json file://{job.request}")
