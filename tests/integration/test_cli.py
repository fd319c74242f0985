"""The `stedi` command as a user sees it: output, exit codes, clear errors, reruns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stedi.cli import main
from stedi.warehouse.catalog import Warehouse
from tests.support.corpora import corpus, data_tables

pytestmark = pytest.mark.slow

STEDI = [sys.executable, "-m", "stedi"]


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def starter_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warehouse = tmp_path_factory.mktemp("wh")
    env = {**os.environ, "STEDI_SUBJECT_KEY": "cli-subject-key-of-the-test", "XDG_CONFIG_HOME": str(warehouse.parent)}
    done = subprocess.run(
        [*STEDI, "run", "--landing", str(corpus("stedi-starter")), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (warehouse / "run-output.txt").write_text(done.stdout)
    return warehouse


def test_run_prints_rows_per_table_with_reasons_and_time(starter_warehouse: Path) -> None:
    out = (starter_warehouse / "run-output.txt").read_text()
    assert "customer_trusted" in out and "956 in" in out and "482 out" in out
    assert "474 customers without research consent" in out
    assert "machine_learning_curated" in out and "40,981 out" in out
    assert "done in" in out


def test_sql_reads_tables_by_bare_name(starter_warehouse: Path) -> None:
    result = invoke("sql", "--warehouse", str(starter_warehouse), "SELECT count(*) AS n FROM machine_learning_curated")
    assert result.exit_code == 0
    assert result.output.splitlines() == ["    n", "-----", "40981", "(1 row)"]


def test_sql_csv_and_json_formats(starter_warehouse: Path) -> None:
    sql = "SELECT email, registrationDate FROM customer_trusted ORDER BY email LIMIT 2"
    csv_out = invoke("sql", "--warehouse", str(starter_warehouse), "--format", "csv", sql).output.splitlines()
    assert csv_out[0] == "email,registrationDate" and len(csv_out) == 3
    rows = json.loads(invoke("sql", "--warehouse", str(starter_warehouse), "--format", "json", sql).output)
    assert [sorted(r) for r in rows] == [["email", "registrationDate"]] * 2
    assert csv_out[1] == f"{rows[0]['email']},{rows[0]['registrationDate']}"


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM customer_trusted",
        "DROP TABLE customer_trusted",
        "CREATE TABLE t AS SELECT 1",
        "COPY customer_trusted TO 'x.csv'",
    ],
)
def test_sql_refuses_statements_that_would_write(starter_warehouse: Path, statement: str) -> None:
    result = invoke("sql", "--warehouse", str(starter_warehouse), statement)
    assert result.exit_code == 2  # a usage error: the query is refused
    assert "read-only" in result.output
    assert (
        invoke("sql", "--warehouse", str(starter_warehouse), "SELECT count(*) FROM customer_trusted")
        .output.splitlines()[2]
        .strip()
        == "482"
    )


def test_sql_error_is_one_clear_line(starter_warehouse: Path) -> None:
    result = invoke("sql", "--warehouse", str(starter_warehouse), "SELECT nope FROM customer_trusted")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "Traceback" not in result.output


def test_tables_lists_every_table_with_zone_and_rows(starter_warehouse: Path) -> None:
    result = invoke("tables", "--warehouse", str(starter_warehouse), "--format", "csv")
    lines = {line.split(",")[0]: line.split(",")[1:3] for line in result.output.splitlines()[1:]}
    assert lines["customer_trusted"] == ["trusted", "482"]
    assert lines["machine_learning_curated"] == ["curated", "40981"]
    assert lines["step_trainer_quarantine"] == ["quarantine", "0"]
    assert lines["ingested_files"] == ["system", "13"]
    assert lines["run_history"][0] == "system"
    assert len(lines) == 13


@pytest.mark.parametrize(("landing", "why"), [("nope", "does not exist"), ("a-file.json", "is not a folder")])
def test_missing_landing_folder_is_a_clear_error(tmp_path: Path, landing: str, why: str) -> None:
    (tmp_path / "a-file.json").write_text("{}\n")
    done = subprocess.run(
        [*STEDI, "run", "--landing", str(tmp_path / landing), "--warehouse", str(tmp_path / "wh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: landing folder {tmp_path / landing} {why}"
    assert not (tmp_path / "wh").exists()  # a mistyped landing path leaves no empty warehouse behind


def test_landing_without_a_source_folder_names_it(make_landing: Any, tmp_path: Path) -> None:
    root = make_landing()
    (root / "step_trainer" / "landing").rmdir()
    result = invoke("run", "--landing", str(root), "--warehouse", str(tmp_path / "wh"))
    assert result.exit_code == 1
    assert "no step_trainer/landing/ folder" in result.output


def test_bad_option_value_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("run", "--landing", str(tmp_path), "--consent-policy", "sometimes")
    assert result.exit_code == 2
    assert "sometimes" in result.output and "Traceback" not in result.output


def test_no_landing_given_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("run", "--warehouse", str(tmp_path / "wh"))
    assert result.exit_code == 1
    assert "no landing folder given" in result.output


def test_unreadable_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("sql", "--warehouse", str(tmp_path / "missing"), "SELECT 1")
    assert result.exit_code == 1 and "no STEDI warehouse" in result.output
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "catalog.db").write_bytes(b"this is not sqlite" * 100)
    result = invoke("tables", "--warehouse", str(tmp_path / "broken"))
    assert result.exit_code == 1 and result.output.startswith("error: ")


def test_settings_come_from_environment_variables(make_landing: Any, tmp_path: Path) -> None:
    from tests.support.landing import customer

    root = make_landing(customer=[customer("a@x.com", "S")])
    env = {"STEDI_LANDING": str(root), "STEDI_WAREHOUSE": str(tmp_path / "env-wh"), "STEDI_CONSENT_POLICY": "as-of"}
    result = invoke("run", env=env)
    assert result.exit_code == 0, result.output
    assert "consent policy as-of" in result.output
    assert Warehouse(tmp_path / "env-wh").describe("customer_trusted").rows == 1


def test_rerun_on_the_same_landing_data_leaves_identical_tables(tmp_path: Path) -> None:
    landing = str(corpus("stedi-2022-07"))
    warehouse = tmp_path / "wh"
    assert invoke("run", "--landing", landing, "--warehouse", str(warehouse)).exit_code == 0
    wh = Warehouse(warehouse)
    first = {name: (wh.read(name), wh.describe(name).snapshot_id) for name in data_tables(wh)}
    again = invoke("run", "--landing", landing, "--warehouse", str(warehouse))
    assert again.exit_code == 0
    assert again.output.count("(unchanged, no new snapshot)") == 12  # all but run_history, which is a log
    wh = Warehouse(warehouse)
    second = {name: (wh.read(name), wh.describe(name).snapshot_id) for name in data_tables(wh)}
    assert first.keys() == second.keys()
    for name, (rows, snapshot_id) in first.items():
        assert second[name][0].equals(rows), name
        assert second[name][1] == snapshot_id, name


def test_run_with_other_settings_commits_only_the_tables_that_change(tmp_path: Path) -> None:
    landing = str(corpus("stedi-starter"))
    warehouse = str(tmp_path / "wh")
    assert invoke("run", "--landing", landing, "--warehouse", warehouse).exit_code == 0
    out = invoke("run", "--landing", landing, "--warehouse", warehouse, "--ml-join", "timestamp").output
    changed = [
        line.split()[0]
        for line in out.splitlines()
        if line.startswith("  ") and " out " in line and "unchanged" not in line
    ]
    assert changed == ["machine_learning_curated"]
    assert Warehouse(warehouse).describe("machine_learning_curated").rows == 43681


def test_every_command_has_help_text() -> None:
    for name, command in main.commands.items():
        assert command.help, name
        result = invoke(name, "--help")
        assert result.exit_code == 0
        for param in command.params:
            if isinstance(param, __import__("click").Option):
                assert param.help, f"{name} {param.name}"


def test_every_command_that_reports_data_prints_json(tmp_path: Path) -> None:
    """`--format json` (`--output-format json` for export, whose --format is the file format) gives
    one JSON document a script can read, with the figures as numbers."""
    from tests.support.cli import stedi
    from tests.support.landing import small_landing

    landing, warehouse = small_landing(tmp_path / "landing"), str(tmp_path / "wh")
    where = ["--warehouse", warehouse]

    def document(*args: str) -> Any:
        done = stedi(*args)
        assert done.returncode == 0, (args, done.stderr)
        return json.loads(done.stdout)

    generated = document("generate", str(tmp_path / "gen"), "--scale", "0.01", "--format", "json")
    assert generated["customers"] > 0 and generated["files"] > 0
    first = document("run", "--landing", str(landing), *where, "--format", "json")
    consent = [
        d for t in first["tables"] if t["name"] == "customer_trusted" for d in t["drops"] if d["code"] == "no_consent"
    ]
    assert consent == [{"code": "no_consent", "text": "1 customer without research consent", "count": 1,
                        "reason": "customers without research consent"}]  # fmt: skip
    stored = stedi("sql", *where, "--format", "csv", "SELECT DISTINCT name FROM run_history WHERE code = 'no_consent'"
                   " AND table_name = 'customer_trusted'")  # fmt: skip
    assert stored.stdout.splitlines()[1:] == ["customers without research consent"]  # groupable across runs
    document("run", "--landing", str(landing), *where, "--consent-policy", "as-of", "--format", "json")
    assert set(document("report", *where, "--format", "json")) == {"report"}
    exported = document("export", "customer_trusted", str(tmp_path / "c.csv"), *where, "--format", "csv",
                        "--output-format", "json")  # fmt: skip
    assert exported["rows"] == Warehouse(warehouse).describe("customer_trusted").rows
    back = document("rollback", first["run_id"], *where, "--format", "json")
    assert back["rolled_back_to"] == first["run_id"] and isinstance(back["moved"], list)
    tidy = document("maintain", *where, "--keep-runs", "1", "--format", "json")
    assert isinstance(tidy["deleted_files"], int)
    gone = document("forget", "nobody@example.com", *where, "--format", "json")
    assert gone["people"] == [{"email": "nobody@example.com", "found": False, "rows_removed": {},
                               "in_landing_file_names": False, "in_history": False}]  # fmt: skip
    assert [t["table"] for t in document("verify", *where, "--format", "json")]
    assert document("history", *where, "--format", "json")[0]["outcome"] == "rolled back"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts_as_the_docs_show(shell: str) -> None:
    done = subprocess.run([*STEDI], env={**os.environ, "_STEDI_COMPLETE": f"{shell}_source"},
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0 and "_STEDI_COMPLETE" in done.stdout, done.stderr
    if shell == "bash":
        words = subprocess.run([*STEDI], env={**os.environ, "_STEDI_COMPLETE": "bash_complete",
                                              "COMP_WORDS": "stedi ro", "COMP_CWORD": "1"},
                               capture_output=True, text=True, check=False)  # fmt: skip
        assert "rollback" in words.stdout
