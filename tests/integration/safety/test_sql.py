"""`stedi sql` reads the tables and nothing else: no file read or written, no extension, whatever the
statement's form."""

from __future__ import annotations

from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.cli import one_line_error, stedi
from tests.support.landing import small_landing


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    os.environ["STEDI_SUBJECT_KEY"] = "test-subject-key"
    root = tmp_path_factory.mktemp("sql")
    run(Settings(landing=str(small_landing(root / "landing")), warehouse=str(root / "wh")))
    return root / "wh"


def _data_file(warehouse: Path, table: str) -> Path:
    plan = Warehouse(warehouse).data_files(table)
    assert plan is not None
    return Path(plan[0][0].removeprefix("file://"))


@pytest.mark.parametrize(
    "statement",
    [
        "EXPLAIN ANALYZE COPY (SELECT 1 AS a) TO '{data}' (FORMAT parquet)",
        "COPY (SELECT 1) TO '{data}'",
        "EXPLAIN ANALYZE COPY (SELECT 1) TO '{catalog}'",
        "SELECT * FROM read_text('{key}')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_blob('{catalog}')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_text('/proc/self/environ')",
        "ATTACH '{catalog}' AS c",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "CALL pragma_version()",
        "PRAGMA database_list",
    ],
)
def test_no_statement_reaches_a_file(warehouse: Path, tmp_path: Path, statement: str) -> None:
    key = tmp_path / "subject.key"
    key.write_text("the-secret-key-of-this-test\n")
    data = _data_file(warehouse, "customer_trusted")
    before = {p: p.read_bytes() for p in warehouse.rglob("*") if p.is_file()}
    sql = statement.format(data=data, catalog=warehouse / "catalog.db", key=key)
    done = stedi("sql", "--warehouse", str(warehouse), sql)
    assert done.returncode != 0
    one_line_error(done)
    assert "the-secret-key" not in done.stdout and "root:" not in done.stdout
    assert {p: p.read_bytes() for p in warehouse.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT count(*) AS n FROM customer_trusted", "2"),
        ("DESCRIBE customer_trusted", "shareWithResearchAsOfDate"),
        ("SHOW TABLES", "machine_learning_curated"),
        ("EXPLAIN SELECT * FROM customer_trusted", "physical_plan"),
        ("SUMMARIZE customer_trusted", "email"),
    ],
)
def test_queries_that_only_read_still_work(warehouse: Path, statement: str, expected: str) -> None:
    done = stedi("sql", "--warehouse", str(warehouse), "--format", "csv", statement)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
