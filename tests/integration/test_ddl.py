"""`stedi ddl`: typed CREATE statements that the target engines accept."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from stedi.cli import main
from tests.support.corpora import corpus, corpus_run

pytestmark = pytest.mark.slow


def ddl(*args: str) -> str:
    result = CliRunner().invoke(main, ["ddl", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_duckdb_ddl_creates_typed_landing_tables_over_the_files() -> None:
    con = duckdb.connect()
    for statement in ddl("--dialect", "duckdb", "--landing", str(corpus("stedi-starter"))).split(";\n"):
        if statement.strip():
            con.execute(statement).fetchall()
    counts = [
        con.execute(f"SELECT count(*) FROM {t}_landing").fetchall()[0][0]
        for t in ("customer", "accelerometer", "step_trainer")
    ]
    assert counts == [956, 81273, 28680]
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'accelerometer_landing'"
        ).fetchall()
    )
    assert types == {"user": "VARCHAR", "timestamp": "BIGINT", "x": "DOUBLE", "y": "DOUBLE", "z": "DOUBLE"}


def test_athena_ddl_has_typed_external_json_tables_and_iceberg_tables() -> None:
    _, warehouse = corpus_run("stedi-starter")
    text = ddl("--dialect", "athena", "--landing", "s3://bucket/prefix", "--warehouse", warehouse.location)
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS stedi.step_trainer_landing (\n  `sensorreadingtime` bigint," in text
    assert "LOCATION 's3://bucket/prefix/step_trainer/landing/';" in text
    assert "org.openx.data.jsonserde.JsonSerDe" in text
    assert text.count("TBLPROPERTIES ('table_type' = 'ICEBERG')") == 13
    assert (
        "CREATE TABLE IF NOT EXISTS stedi.machine_learning_curated (\n  `subject_id` string,\n  `serialnumber` string,"
        in text
    )


def test_ddl_needs_something_to_describe(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ddl"])
    assert result.exit_code == 2 and "--landing" in result.output
