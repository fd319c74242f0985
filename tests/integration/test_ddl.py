"""`stedi ddl`: typed CREATE statements that the target engines accept."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from stedi.cli import main
from stedi.config import Settings
from stedi.contract.sources import SOURCES
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from tests.support.corpora import corpus, corpus_run

pytestmark = pytest.mark.slow


def ddl(*args: str) -> str:
    result = CliRunner().invoke(main, ["ddl", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _execute(con: duckdb.DuckDBPyConnection, text: str) -> None:
    for statement in text.split(";\n"):
        if statement.strip():
            con.execute(statement).fetchall()


@pytest.mark.parametrize("name", ["stedi-starter", "stedi-2022-07", "stedi-2022-10"])
def test_duckdb_ddl_gives_every_table_with_the_counts_of_stedi_sql(name: str) -> None:
    _, warehouse = corpus_run(name)
    con = duckdb.connect()
    _execute(con, ddl("--dialect", "duckdb", "--landing", str(corpus(name)), "--warehouse", warehouse.location))
    for table in warehouse.table_names():
        expected = query(warehouse, f'SELECT count(*) FROM "{table}"').column(0)[0].as_py()
        assert con.execute(f'SELECT count(*) FROM stedi."{table}"').fetchall() == [(expected,)], table
    for source in SOURCES:  # the raw files, read by DuckDB alone: the records the STEDI reader kept
        raw = con.execute(f"SELECT count(*) FROM stedi_raw.{source.landing_table}").fetchall()
        assert raw == con.execute(f"SELECT count(*) FROM stedi.{source.landing_table}").fetchall(), source.name
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'stedi_raw' "
            "AND table_name = 'accelerometer_landing'"
        ).fetchall()
    )
    assert types == {"user": "VARCHAR", "timestamp": "BIGINT", "x": "DOUBLE", "y": "DOUBLE", "z": "DOUBLE"}


def test_duckdb_views_stay_current_after_later_runs(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(warehouse), report=False))
    text = ddl("--dialect", "duckdb", "--warehouse", str(warehouse))
    before = duckdb.connect()
    _execute(before, text)
    assert before.execute("SELECT count(*) FROM stedi.accelerometer_trusted").fetchall() == [(40981,)]
    run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(warehouse), consent_policy="as-of"))
    after = duckdb.connect()  # a new session, the same statements
    _execute(after, text)
    assert after.execute("SELECT count(*) FROM stedi.accelerometer_trusted").fetchall() == [(32025,)]


@pytest.mark.parametrize("dialect", ["athena", "spark"])
def test_athena_and_spark_ddl_parse_in_their_dialects(dialect: str) -> None:
    import sqlglot

    _, warehouse = corpus_run("stedi-starter")
    text = ddl("--dialect", dialect, "--landing", "s3://bucket/prefix", "--warehouse", warehouse.location)
    statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    created = [s.find(sqlglot.exp.Table) for s in statements if isinstance(s, sqlglot.exp.Create)]
    names = [f"{t.db}.{t.name}" for t in created if t is not None]
    assert "stedi_raw.customer_landing" in names and "stedi.customer_landing" in names
    assert len(names) == len(set(names))  # landing files and Iceberg tables never share a name


def test_athena_ddl_has_typed_external_json_tables_and_iceberg_tables() -> None:
    _, warehouse = corpus_run("stedi-starter")
    text = ddl("--dialect", "athena", "--landing", "s3://bucket/prefix", "--warehouse", warehouse.location)
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS stedi_raw.step_trainer_landing (\n  `sensorreadingtime` bigint," in text
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
