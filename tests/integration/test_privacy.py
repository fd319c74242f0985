"""Erasure that really erases, consent over time, and the privacy invariants of every run."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stedi import subject_key
from stedi.cli import main
from stedi.config import Settings
from stedi.contract import privacy
from stedi.errors import PrivacyError, Refused
from stedi.pipeline.query import query
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.bytesearch import files_holding
from tests.support.corpora import corpus, data_tables
from tests.support.landing import customer, models_folder, phone, step

pytestmark = pytest.mark.slow

PERSON = "Santosh.Clayton@test.com"
KEY = b"test-subject-key"


def _count(wh: Warehouse, sql: str) -> int:
    return int(query(wh, sql).column(0)[0].as_py())


def _person_rows(wh: Warehouse, email: str) -> dict[str, int]:
    """Rows of one person per table, counted with plain SQL from the definitions (not by `forget`)."""
    e = email.lower()
    serial = query(wh, f"SELECT serialNumber FROM customer_landing WHERE lower(email) = '{e}'").column(0)[0].as_py()
    holders = _count(wh, f"SELECT count(DISTINCT lower(email)) FROM customer_landing WHERE serialNumber = '{serial}'")
    assert holders == 1  # on the starter data the person's serial is theirs alone: every reading of it is theirs
    sid = hmac.new(KEY, e.encode(), hashlib.sha256).hexdigest()
    return {
        "customer_landing": _count(wh, f"SELECT count(*) FROM customer_landing WHERE lower(trim(email)) = '{e}'"),
        "accelerometer_landing": _count(
            wh, f"SELECT count(*) FROM accelerometer_landing WHERE lower(trim(user)) = '{e}'"
        ),
        "step_trainer_landing": _count(
            wh, f"SELECT count(*) FROM step_trainer_landing WHERE serialNumber = '{serial}'"
        ),
        "customer_trusted": _count(wh, f"SELECT count(*) FROM customer_trusted WHERE email = '{e}'"),
        "customer_curated": _count(wh, f"SELECT count(*) FROM customer_curated WHERE email = '{e}'"),
        "accelerometer_trusted": _count(wh, f"SELECT count(*) FROM accelerometer_trusted WHERE user = '{e}'"),
        "step_trainer_trusted": _count(
            wh, f"SELECT count(*) FROM step_trainer_trusted WHERE serialNumber = '{serial}'"
        ),
        "machine_learning_curated": _count(
            wh, f"SELECT count(*) FROM machine_learning_curated WHERE subject_id = '{sid}'"
        ),
    }


@pytest.fixture
def starter_copy(tmp_path: Path) -> Path:
    """A warehouse of its own built from the starter data (forget changes it)."""
    target = tmp_path / "wh"
    run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(target)))
    return target


def test_forget_removes_every_byte_of_the_person_and_exactly_their_rows(starter_copy: Path) -> None:
    wh = Warehouse(starter_copy)
    before = {name: wh.describe(name).rows for name in wh.table_names()}
    theirs = _person_rows(wh, PERSON)
    assert all(theirs[t] > 0 for t in theirs)
    assert files_holding(starter_copy, PERSON)  # the search finds them before

    result = CliRunner().invoke(
        main, ["forget", PERSON.upper(), "--warehouse", str(starter_copy), "--landing", str(corpus("stedi-starter"))]
    )
    assert result.exit_code == 0, result.output
    assert "customer/landing/customer-1691348231425.json" in result.output  # landing files are reported, kept

    wh = Warehouse(starter_copy)
    after = {name: wh.describe(name).rows for name in wh.table_names()}
    for name, n in before.items():
        assert after[name] == n - theirs.get(name, 0), name
    assert files_holding(starter_copy, PERSON) == []
    assert files_holding(starter_copy, "Ben.Khatib@test.com")  # everyone else is still there


def test_an_incremental_run_after_forget_reads_nothing_and_changes_nothing(starter_copy: Path) -> None:
    theirs = _person_rows(Warehouse(starter_copy), PERSON)
    assert CliRunner().invoke(main, ["forget", PERSON, "--warehouse", str(starter_copy)]).exit_code == 0
    wh = Warehouse(starter_copy)
    # The ledger counts the rows the files give now (the starter's landing counts, less theirs): how
    # many rows the erased person had in a file is in no count.
    held = query(wh, "SELECT source, SUM(records) AS n, SUM(quarantined) AS q FROM ingested_files GROUP BY source")
    assert sorted(zip(*(held.column(c).to_pylist() for c in ("source", "n", "q")), strict=True)) == [
        ("accelerometer", 81273 - theirs["accelerometer_landing"], 0),
        ("customer", 956 - theirs["customer_landing"], 0),
        ("step_trainer", 28680 - theirs["step_trainer_landing"], 0),
    ]
    forgotten = {name: (wh.describe(name).rows, wh.describe(name).snapshot_id) for name in data_tables(wh)}
    result = run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(starter_copy)))
    assert sum(s.files for s in result.sources) == 0  # the forget kept the map of ingested files
    wh = Warehouse(starter_copy)
    after = {name: (wh.describe(name).rows, wh.describe(name).snapshot_id) for name in data_tables(wh)}
    assert after == forgotten  # the ledger too: the forget left it as the run counts it


def test_a_full_refresh_after_forget_does_not_bring_them_back(starter_copy: Path) -> None:
    assert CliRunner().invoke(main, ["forget", PERSON, "--warehouse", str(starter_copy)]).exit_code == 0
    wh = Warehouse(starter_copy)
    forgotten = {name: wh.describe(name).rows for name in data_tables(wh)}
    result = run(Settings(landing=str(corpus("stedi-starter")), warehouse=str(starter_copy), full_refresh=True))
    assert any("116 landing records of erased people suppressed" in n for n in result.notes)
    wh = Warehouse(starter_copy)
    assert {name: wh.describe(name).rows for name in data_tables(wh)} == forgotten
    assert files_holding(starter_copy / "stedi", PERSON) == []


def test_the_erasure_ledger_holds_keyed_hashes_not_emails(starter_copy: Path) -> None:
    CliRunner().invoke(main, ["forget", PERSON, "--warehouse", str(starter_copy)])
    ledger = Warehouse(starter_copy).read("erasure_ledger").to_pylist()
    assert [r["subject_id"] for r in ledger] == [hmac.new(KEY, PERSON.lower().encode(), hashlib.sha256).hexdigest()]


def test_withdrawal_in_a_later_landing_file_removes_the_customer_downstream(make_landing: Any, tmp_path: Path) -> None:
    root = make_landing(
        customer={"2023/a.json": customer("a@x.com", "S", updated=1, consent=1)},
        accelerometer=[phone("a@x.com", 10)],
        step_trainer=[step("S", 10)],
    )
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(root), warehouse=str(warehouse)))
    assert Warehouse(warehouse).describe("machine_learning_curated").rows == 1
    (root / "customer" / "landing" / "2024").mkdir()
    (root / "customer" / "landing" / "2024" / "b.json").write_text(customer("A@x.com", "S", updated=2, consent=None))
    with pytest.raises(Refused, match="customer_trusted would go from 1 rows to none"):  # the shrink guard
        run(Settings(landing=str(root), warehouse=str(warehouse)))
    assert Warehouse(warehouse).describe("machine_learning_curated").rows == 1
    run(Settings(landing=str(root), warehouse=str(warehouse), allow_shrink=True))
    wh = Warehouse(warehouse)
    for table in (
        "customer_trusted",
        "accelerometer_trusted",
        "step_trainer_trusted",
        "customer_curated",
        "machine_learning_curated",
    ):
        assert wh.describe(table).rows == 0, table


def test_a_run_that_would_publish_a_customer_without_consent_fails_naming_the_invariant(
    make_landing: Any, tmp_path: Path
) -> None:
    leaky = models_folder(tmp_path / "sql", replace={"customer_trusted": "SELECT * FROM customer_standing"})
    root = make_landing(customer=[customer("a@x.com", "S", consent=None)], accelerometer=[phone("a@x.com", 1)])
    with pytest.raises(PrivacyError, match=privacy.CONSENT_INVARIANT):
        run(Settings(landing=str(root), warehouse=str(tmp_path / "wh"), models=str(leaky)))
    assert "customer_trusted" not in Warehouse(tmp_path / "wh").table_names()  # nothing trusted was published


# Readings of consenting customers, and (a leak) every reading with x = 99, whoever took it.
LEAKS_X_99 = """SELECT DISTINCT a.user, a.timestamp, a.x, a.y, a.z
FROM accelerometer_readings AS a JOIN customer_trusted AS c ON c.email = a.user
UNION SELECT user, timestamp, x, y, z FROM accelerometer_readings WHERE x = 99"""


@pytest.mark.usefixtures("extends_at_any_size")
def test_a_run_that_extends_checks_the_new_rows_against_consent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table that only gains rows has its invariants checked over its new rows: a leak they bring
    fails the run, as a full rebuild would."""
    from stedi.stages import building
    from tests.support.landing import small_landing, write_landing

    checked: list[tuple[str, str | None]] = []
    real = building.check_privacy

    def spied(ctx, table, rows=None):  # type: ignore[no-untyped-def]
        checked.append((table.name, rows))
        return real(ctx, table, rows)

    monkeypatch.setattr(building, "check_privacy", spied)
    leaky = models_folder(tmp_path / "sql", replace={"accelerometer_trusted": LEAKS_X_99})
    landing = small_landing(tmp_path / "landing")
    settings = Settings(landing=str(landing), warehouse=str(tmp_path / "wh"), models=str(leaky))
    run(settings)
    write_landing(landing, accelerometer={"later.json": phone("jane@x.com", 50) + "\n"})
    run(settings)
    assert ("accelerometer_trusted", "accelerometer_trusted__delta") in checked
    write_landing(landing, accelerometer={"leak.json": phone("carl@x.com", 60, x=99.0) + "\n"})
    with pytest.raises(PrivacyError, match=privacy.CONSENT_INVARIANT):
        run(settings)
    assert checked[-1] == ("accelerometer_trusted", "accelerometer_trusted__delta")
    with pytest.raises(PrivacyError, match=privacy.CONSENT_INVARIANT):
        run(replace(settings, full_refresh=True))


def test_pii_in_the_ml_table_fails_the_run(make_landing: Any, tmp_path: Path) -> None:
    leaky_ml = (
        "SELECT k.subject_id, s.email, s.serialNumber, s.sensorReadingTime"
        " FROM step_trainer_trusted AS s JOIN subject_keys AS k ON k.email = s.email"
    )
    leaky = models_folder(tmp_path / "sql", replace={"machine_learning_curated": leaky_ml})
    root = make_landing(
        customer=[customer("a@x.com", "S")], accelerometer=[phone("a@x.com", 1)], step_trainer=[step("S", 1)]
    )
    with pytest.raises(PrivacyError, match=privacy.PII_INVARIANT) as broken:
        run(Settings(landing=str(root), warehouse=str(tmp_path / "wh"), models=str(leaky)))
    assert "email" in str(broken.value)


def test_a_subject_key_kept_inside_the_warehouse_fails_the_run(
    make_landing: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "wh"
    monkeypatch.delenv("STEDI_SUBJECT_KEY")
    monkeypatch.setenv("STEDI_SUBJECT_KEY_FILE", str(warehouse / "keys" / "subject.key"))
    root = make_landing(customer=[customer("a@x.com", "S")])
    with pytest.raises(PrivacyError, match=privacy.KEY_INVARIANT):
        run(Settings(landing=str(root), warehouse=str(warehouse)))


def test_generated_subject_key_is_stable_across_runs(
    make_landing: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEDI_SUBJECT_KEY")
    root = make_landing(
        customer=[customer("a@x.com", "S")], accelerometer=[phone("a@x.com", 1)], step_trainer=[step("S", 1)]
    )
    ids = []
    for name in ("one", "two"):
        run(Settings(landing=str(root), warehouse=str(tmp_path / name)))
        ids.append(Warehouse(tmp_path / name).read("machine_learning_curated").column("subject_id").to_pylist())
    assert ids[0] == ids[1] and len(ids[0][0]) == 64
    assert subject_key.default_key_file().is_file()
