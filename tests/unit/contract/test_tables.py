"""Each table declared once, in its SQL file's header; the build order and every derived concern."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from stedi.contract.privacy import invariant_queries
from stedi.contract.tables import Zone, load, parse
from stedi.errors import SettingsError
from tests.support.landing import models_folder

HEADER = '/* @table\nzone = "curated"\ninput = "customer_trusted"\n*/\n'


def test_the_package_declares_every_table_in_zones_and_build_order() -> None:
    models = load()
    zones = {t.name: t.zone for t in models}
    assert zones["customer_landing"] is Zone.LANDING and zones["customer_quarantine"] is Zone.QUARANTINE
    assert zones["customer_standing"] is Zone.INTERNAL and zones["machine_learning_curated"] is Zone.CURATED
    assert zones["ingested_files"] is Zone.SYSTEM and zones["erasure_ledger"] is Zone.SYSTEM
    order = [t.name for t in models.transforms]
    for table in models.transforms:
        assert all(order.index(d) < order.index(table.name) for d in table.depends if d in order), table.name
    assert models.published == (
        "customer_trusted", "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"
    )  # fmt: skip


def test_every_table_holding_people_says_how_erasure_finds_them() -> None:
    models = load()
    people = {t.name: {p.kind for p in t.person} for t in models}
    assert people["customer_landing"] == {"email", "path"}
    assert people["step_trainer_landing"] == {"owned", "path"}
    assert people["customer_quarantine"] == {"text", "path"}
    assert people["machine_learning_curated"] == {"subject_id"}
    assert people["ingested_files"] == {"path"}
    assert people["erasure_ledger"] == set()  # never erased from, or erased people would come back
    assert {"email", "user", "customername", "phone", "birthday"} <= models.personal_columns


def test_privacy_invariants_come_from_the_declarations() -> None:
    models = load()
    assert [i for i, _ in invariant_queries(models["customer_trusted"])] == [
        "no trusted or curated row of a customer without standing consent"
    ]
    ml = models["machine_learning_curated"]
    assert ml.no_personal_columns and ml.pseudonym is not None and ml.pseudonym.source == ("customer_curated", "email")


def test_a_table_needs_only_the_relations_it_reads() -> None:
    assert [t.name for t in load().needed_for("step_trainer_owner")] == [
        "accelerometer_readings", "customer_standing", "step_trainer_readings", "serial_holders",
        "shared_serial_owners", "step_trainer_owner"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1", "no declaration"),
        ("/* @table\nzone = \n*/ SELECT 1", "not TOML"),
        ('/* @table\nzone = "curated"\ncolour = "red"\n*/ SELECT 1', "unknown declaration keys: colour"),
        ('/* @table\nzone = "gold"\n*/ SELECT 1', "zone must be"),
        ('/* @table\nzone = "curated"\nperson = [{kind = "vibe", column = "a"}]\n*/ SELECT 1', "person needs a kind"),
        ('/* @table\nzone = "curated"\ngroups = {r = "k"}\n*/ SELECT 1', "only an internal table declares groups"),
        ('/* @table\nzone = "internal"\ngroups = ["r"]\n*/ SELECT 1', "groups maps each input relation"),
        ('/* @table\nzone = "internal"\ngroups = {r = 1}\n*/ SELECT 1', "groups maps each input relation"),
    ],
)
def test_a_bad_declaration_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse("toy", text)


@pytest.mark.parametrize(
    "body", ["SELECT 1 AS a;", "SELECT 1 AS a ;\n ;\n", "SELECT 1 AS a -- the last line is a comment", "SELECT 1 AS a"]
)
def test_a_query_can_be_embedded_in_a_larger_statement(body: str) -> None:
    """A run reads a table's query inside others (`SELECT * FROM (...)`): semicolons that end it are
    left out, and a comment on its last line ends before what follows."""
    sql = parse("toy", '/* @table\nzone = "curated"\n*/\n' + body).sql
    assert sql is not None
    assert duckdb.sql(f"SELECT * FROM ({sql}) AS embedded").fetchall() == [(1,)]


def test_sql_tables_reading_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    folder = models_folder(
        tmp_path / "sql", add={"a_loop": HEADER + "SELECT * FROM b_loop", "b_loop": HEADER + "SELECT * FROM a_loop"}
    )
    with pytest.raises(SettingsError, match="cycle: a_loop, b_loop"):
        load(folder)


def test_groups_name_relations_the_table_reads(tmp_path: Path) -> None:
    header = '/* @table\nzone = "internal"\ngroups = {customer_landing = "email", elsewhere = "k"}\n*/\n'
    folder = models_folder(tmp_path / "sql", add={"per_person": header + "SELECT email FROM customer_landing"})
    with pytest.raises(SettingsError, match="groups names relations its SQL does not read: elsewhere"):
        load(folder)


def test_a_sql_file_cannot_take_a_landing_or_system_name(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ingested_files"):
        load(models_folder(tmp_path / "sql", add={"ingested_files": HEADER + "SELECT 1"}))
