"""The Spark engine builds exactly the tables the embedded engine builds, in the same warehouse format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stedi.cli import main
from stedi.config import Settings
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.corpora import corpus, data_tables, table_rows
from tests.support.defects import write_defect_landing

pytestmark = pytest.mark.spark

SETTINGS = [("all", "owner"), ("as-of", "owner"), ("all", "timestamp")]


@pytest.fixture(scope="session")
def spark() -> Any:
    from stedi.engines.spark import base_session

    session = base_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def defect_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_defect_landing(tmp_path_factory.mktemp("defects"))


def _build(landing: Path, warehouse: Path, engine: str, policy: str, join: str) -> Warehouse:
    return _run(landing, warehouse, engine, policy, join)[0]


def _run(landing: Path, warehouse: Path, engine: str, policy: str, join: str) -> tuple[Warehouse, list[tuple]]:
    """The warehouse a run built, and what each of its checks found (counts and figures, as said)."""
    settings = Settings(
        landing=str(landing), warehouse=str(warehouse), engine=engine, consent_policy=policy, ml_join=join
    )
    result = run(settings)
    return Warehouse(warehouse), [(c.table, c.description, c.status, c.value, c.detail) for c in result.checks]


@pytest.mark.parametrize(("policy", "join"), SETTINGS)
@pytest.mark.parametrize("dataset", ["stedi-starter", "stedi-2022-07", "defects"])
def test_spark_tables_equal_duckdb_tables_row_for_row(
    spark: Any, defect_landing: Path, tmp_path: Path, dataset: str, policy: str, join: str
) -> None:
    landing = defect_landing if dataset == "defects" else corpus(dataset)
    embedded, embedded_checks = _run(landing, tmp_path / "duckdb", "duckdb", policy, join)
    on_spark, spark_checks = _run(landing, tmp_path / "spark", "spark", policy, join)
    names = data_tables(embedded)
    assert data_tables(on_spark) == names and len(names) == 12
    for name in names:
        assert table_rows(on_spark, name) == table_rows(embedded, name), name
    assert spark_checks == embedded_checks


def test_defect_fixture_exercises_quarantine_ownership_and_consent(
    spark: Any, defect_landing: Path, tmp_path: Path
) -> None:
    wh = _build(defect_landing, tmp_path / "wh", "spark", "all", "owner")
    counts = {n: wh.describe(n).rows for n in wh.table_names()}
    assert counts["customer_quarantine"] == 4  # bad consent type, duplicate key, null email, truncated line
    assert counts["step_trainer_quarantine"] == 3  # boolean time, duplicate key, "{"
    owned = [
        (r["serialNumber"], r["sensorReadingTime"], r["email"]) for r in wh.read("step_trainer_trusted").to_pylist()
    ]
    assert ("S-SHARED", 2000, "bob@x.com") in owned and not any(s == "S-SHARED" and t == 1000 for s, t, _ in owned)
    assert not any(email == "dan@x.com" for _, _, email in owned)  # withdrew consent


def test_tables_written_by_spark_are_read_by_stedi_sql_and_rewritten_by_duckdb(
    spark: Any, defect_landing: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "shared"
    spark_built = _build(defect_landing, warehouse, "spark", "all", "owner")
    n = spark_built.describe("accelerometer_trusted").rows
    assert query(spark_built, "SELECT count(*) AS n FROM accelerometer_trusted").column("n")[0].as_py() == n
    before = {name: table_rows(spark_built, name) for name in data_tables(spark_built)}
    duck_built = _build(defect_landing, warehouse, "duckdb", "all", "owner")
    assert {name: table_rows(duck_built, name) for name in data_tables(duck_built)} == before


def test_cli_runs_the_spark_engine(spark: Any, defect_landing: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["run", "--engine", "spark", "--landing", str(defect_landing), "--warehouse", str(tmp_path / "wh"),
         "--spark-conf", "spark.sql.shuffle.partitions=3"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "engine spark" in result.output and "machine_learning_curated" in result.output


def test_spark_conf_must_be_key_value(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--engine", "spark", "--landing", str(tmp_path), "--spark-conf", "oops"])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output


def test_spark_ddl_reads_the_landing_files_with_typed_columns(spark: Any, tmp_path: Path) -> None:
    from stedi.pipeline.ddl import ddl

    session = spark.newSession()
    # The database in the test's folder, not in Spark's default warehouse folder (the working directory).
    session.sql(f"CREATE DATABASE IF NOT EXISTS stedi_raw LOCATION '{tmp_path / 'stedi_raw.db'}'")
    for statement in ddl("spark", str(corpus("stedi-starter"))).split(";\n"):
        if statement.strip() and not statement.startswith("CREATE DATABASE"):
            session.sql(statement.rstrip(";"))
    assert session.sql("SELECT count(*) FROM stedi_raw.accelerometer_landing").collect()[0][0] == 81273
    types = dict(session.table("stedi_raw.step_trainer_landing").dtypes)
    assert types == {"sensorReadingTime": "bigint", "serialNumber": "string", "distanceFromObject": "bigint"}


def test_spark_suppresses_erased_people_like_the_embedded_engine(
    spark: Any, defect_landing: Path, tmp_path: Path
) -> None:
    from stedi.pipeline.forget import forget

    built = {}
    for engine in ("duckdb", "spark"):
        warehouse = tmp_path / engine
        _build(defect_landing, warehouse, "duckdb", "all", "owner")
        forget(str(warehouse), ["CAT@x.com", "bob@x.com"])
        built[engine] = _build(defect_landing, warehouse, engine, "all", "owner")
    names = data_tables(built["duckdb"])
    assert "erasure_ledger" in names
    for name in names:
        if name != "erasure_ledger":
            assert table_rows(built["spark"], name) == table_rows(built["duckdb"], name), name
    assert not any("cat@x.com" in str(r).lower() for r in table_rows(built["spark"], "customer_landing"))


def test_both_engines_lower_case_addresses_by_unicode_rules(spark: Any, tmp_path: Path) -> None:
    """A capital sigma ending a word is ς, and İ is i with a combining dot (Unicode's full lower-casing,
    Java's and Python's); a per-character mapping would make οδοσ of ΟΔΟΣ and two people of one."""
    from tests.support.landing import customer, phone, step, write_landing

    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("ΟΔΟΣ@X.COM", "S1"), customer(" İvan@X.com", "S2")],
        accelerometer=[phone("ΟΔΟΣ@X.COM", 10), phone("οδος@x.com", 20), phone("İVAN@x.com", 10)],
        step_trainer=[step("S1", 10), step("S1", 20), step("S2", 10)],
    )
    expected = {"\u03bf\u03b4\u03bf\u03c2@x.com", "i\u0307van@x.com"}  # οδος (final ς), i + U+0307
    for engine in ("duckdb", "spark"):
        wh = _build(landing, tmp_path / engine, engine, "all", "owner")
        assert set(wh.read("customer_curated").column("email").to_pylist()) == expected, engine
        users = sorted(wh.read("accelerometer_trusted").column("user").to_pylist())
        assert users == sorted(["\u03bf\u03b4\u03bf\u03c2@x.com"] * 2 + ["i\u0307van@x.com"]), engine
        assert wh.read("machine_learning_curated").num_rows == 3, engine


def test_spark_lower_cases_by_unicode_rules_whatever_the_machines_locale(tmp_path: Path) -> None:
    """Java lower-cases by the JVM's default locale: under a Turkish one İ would be i and I would be ı,
    another person than DuckDB and `stedi forget` see. A Spark run in a JVM told it is Turkish
    (JAVA_TOOL_OPTIONS, as a Turkish machine's settings would) still makes the address Unicode's, and
    forget, naming the address as it landed, erases that person."""
    from tests.support.cli import stedi_process
    from tests.support.landing import customer, phone, step, write_landing

    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("DİLEK.I@X.COM", "S1")],
        accelerometer=[phone("DİLEK.I@X.COM", 10)],
        step_trainer=[step("S1", 10)],
    )
    warehouse = tmp_path / "wh"
    turkish = {"JAVA_TOOL_OPTIONS": "-Duser.language=tr -Duser.country=TR"}
    done = stedi_process(
        "run", "--engine", "spark", "--landing", str(landing), "--warehouse", str(warehouse), env=turkish, timeout=900
    )
    assert done.returncode == 0, done.stderr
    wh = Warehouse(warehouse)
    assert wh.read("customer_curated").column("email").to_pylist() == ["di\u0307lek.i@x.com"]  # not dilek.ı
    assert wh.read("machine_learning_curated").num_rows == 1
    forgot = stedi_process("forget", "DİLEK.I@X.COM", "--warehouse", str(warehouse))
    assert forgot.returncode == 0, forgot.stderr
    assert Warehouse(warehouse).read("customer_landing").num_rows == 0
