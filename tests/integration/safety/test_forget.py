"""Erasure is exact and completes: whole addresses only, a person found nowhere kept out all the
same, addresses in file names redacted, and a forget killed anywhere completed by the next command."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from stedi.config import Settings
from stedi.pipeline.forget import forget
from stedi.pipeline.run import run
from stedi.stages.erasure import read_ledger
from stedi.warehouse.catalog import Warehouse
from tests.support.bytesearch import files_holding
from tests.support.cli import one_line_error, stedi, stedi_process
from tests.support.corpora import snapshots
from tests.support.landing import customer, phone, sid, small_landing, step, write_landing


def _all_bytes(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    landing = small_landing(tmp_path / "landing")
    quarantine = (
        '{"email": "jimbob@x.com", "serialNumber": "S7"}\n'  # no dates: quarantined, holds jimbob, not bob
        '{"email": "bob@x.com.au", "serialNumber": "S8"}\n'
        '{"note": "call bob@x.com today"\n'  # truncated: holds bob
    )
    (landing / "customer" / "landing" / "bad.json").write_text(quarantine)
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    return landing, tmp_path / "wh"


@pytest.mark.parametrize("argument", ["x.com", "@", "", "not an email", "a@b@c", " "])
def test_anything_but_an_email_address_is_refused_and_nothing_changes(built: tuple[Path, Path], argument: str) -> None:
    _, warehouse = built
    before = _all_bytes(warehouse)
    done = stedi("forget", argument, "--warehouse", str(warehouse))
    assert done.returncode == 2
    assert "not an email address" in one_line_error(done) or "at least one" in done.stderr
    assert _all_bytes(warehouse) == before


def test_matching_is_on_the_whole_address_never_a_substring(built: tuple[Path, Path]) -> None:
    _, warehouse = built
    result = forget(str(warehouse), ["BOB@x.com"])
    person = result.people[0]
    assert person.rows["customer_landing"] == 1 and person.rows["customer_quarantine"] == 1
    texts = [r["raw_text"] for r in Warehouse(warehouse).read("customer_quarantine").to_pylist()]
    assert any("jimbob@x.com" in t for t in texts) and any("bob@x.com.au" in t for t in texts)
    assert not any("call bob@x.com" in t for t in texts)
    assert files_holding(warehouse, "jimbob@x.com") and files_holding(warehouse, "bob@x.com.au")


def test_a_person_found_nowhere_is_recorded_and_kept_out_and_nothing_expires(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    landing, warehouse = built
    before = snapshots(warehouse)
    files_before = len([p for p in warehouse.rglob("*") if p.is_file()])
    done = stedi("forget", "zoe@x.com", "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    assert "zoe@x.com: found in no table; recorded in the erasure ledger, so later runs keep them out" in done.stdout
    assert "nothing was removed, so no history was expired" in done.stdout
    after = snapshots(warehouse)
    assert {n: s for n, s in after.items() if n != "erasure_ledger"} == before
    assert len([p for p in warehouse.rglob("*") if p.is_file()]) > files_before  # history kept (and a ledger)
    assert [e.subject_id for e in read_ledger(Warehouse(warehouse))] == [sid("zoe@x.com")]
    write_landing(
        landing,
        customer={"zoe.json": customer("Zoe@X.com", "S4") + "\n"},
        accelerometer={"zoe.json": phone("zoe@x.com", 40) + "\n"},
    )
    result = run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert any("landing records of erased people suppressed" in n for n in result.notes)
    assert files_holding(warehouse, "zoe@x.com") == []


def test_rows_removed_are_printed_per_person_and_table(built: tuple[Path, Path]) -> None:
    _, warehouse = built
    done = stedi("forget", "jane@x.com", "bob@x.com", "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("forgot 2 people")
    jane = lines[lines.index("  jane@x.com:") + 1 : lines.index("  jane@x.com:") + 9]
    assert {line.split()[0]: int(line.split()[1]) for line in jane} == {
        "customer_landing": 1, "accelerometer_landing": 2, "step_trainer_landing": 2, "customer_trusted": 1,
        "accelerometer_trusted": 2, "customer_curated": 1, "step_trainer_trusted": 2, "machine_learning_curated": 2,
    }  # fmt: skip
    assert "history removed" in done.stdout


def test_an_address_in_a_landing_file_name_is_erased_everywhere_and_stays_redacted(tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing")
    folder = landing / "accelerometer" / "landing"
    (folder / "export-jane@x.com.json").write_text(phone("bob@x.com", 99) + "\n")  # someone else's readings
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    assert files_holding(tmp_path / "wh", "jane@x.com")
    forget(str(tmp_path / "wh"), ["jane@x.com"])
    assert files_holding(tmp_path / "wh", "jane@x.com") == []
    wh = Warehouse(tmp_path / "wh")
    paths = [r["path"] for r in wh.read("ingested_files").to_pylist()]
    redacted = f"accelerometer/landing/export-erased-{sid('jane@x.com')[:12]}.json"
    assert redacted in paths
    bob = [r for r in wh.read("accelerometer_landing").to_pylist() if r["timestamp"] == 99]
    assert [r["source_file"] for r in bob] == [redacted]  # bob's reading stays, under the redacted name
    again = run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    assert sum(s.files for s in again.sources) == 0  # the redacted name is the file's name from now on
    assert files_holding(tmp_path / "wh", "jane@x.com") == []


FORGET_KILL_POINTS = [
    "forget:recorded",
    "commit:customer_landing",
    "committed:accelerometer_landing",
    "committed:machine_learning_curated",
    "forget:purged:customer_landing",
    "forget:purged:step_trainer_landing",
    "forget:completed",
]


@pytest.mark.slow
@pytest.mark.parametrize("point", FORGET_KILL_POINTS)
@pytest.mark.parametrize("completed_by", ["forget", "run"])
def test_a_forget_killed_anywhere_is_completed_and_leaves_the_address_in_no_file(
    built: tuple[Path, Path], point: str, completed_by: str
) -> None:
    landing, warehouse = built
    killed = stedi_process("forget", "jane@x.com", "--warehouse", str(warehouse), env={"STEDI_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if completed_by == "forget":
        done = stedi("forget", "jane@x.com", "--warehouse", str(warehouse))
    else:
        done = stedi("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    assert files_holding(warehouse, "jane@x.com") == []
    assert files_holding(warehouse, "Jane Roe") == []
    assert files_holding(warehouse, "bob@x.com.au")  # everyone else stays
    ledger = read_ledger(Warehouse(warehouse))
    assert [(e.subject_id, e.completed_at is not None) for e in ledger] == [(sid("jane@x.com"), True)]
    for name in Warehouse(warehouse).table_names():
        Warehouse(warehouse).read(name)  # every table readable, every file there


def test_forget_keeps_others_step_trainer_readings_of_a_shared_serial(tmp_path: Path) -> None:
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer("jane@x.com", "S"), customer("bob@x.com", "S")],
        accelerometer=[phone("jane@x.com", 10), phone("bob@x.com", 20)],
        step_trainer=[step("S", 10), step("S", 20)],
    )
    run(Settings(landing=str(landing), warehouse=str(tmp_path / "wh")))
    result = forget(str(tmp_path / "wh"), ["jane@x.com"])
    assert result.people[0].rows["step_trainer_landing"] == 1
    remaining = Warehouse(tmp_path / "wh").read("step_trainer_landing").to_pylist()
    assert [r["sensorReadingTime"] for r in remaining] == [20]


def test_an_address_that_is_not_ascii_is_erased_whatever_its_case(tmp_path: Path) -> None:
    # Lower-cased by Unicode's rules in SQL as in Python: ΟΔΟΣ is οδος (final sigma), İ is i + U+0307;
    # quarantined lines holding the address, also spelt with JSON escapes, go too.
    escaped = r"\u039f\u0394\u039f\u03a3@ODOS.GR"
    landing = write_landing(
        tmp_path / "landing",
        customer=[
            customer("ΟΔΟΣ@ODOS.GR", "S1"),
            customer("İvan@x.com", "S2"),
            customer("bob@x.com", "S3"),
            '{"email": "ΟΔΟΣ@ODOS.GR", "serialNumber": "S1", "registrationDate": "soon", "lastUpdateDate": 1}',
        ],
        accelerometer=[
            phone("ΟΔΟΣ@ODOS.GR", 10),
            phone("οδος@odos.gr", 20),
            phone("İvan@x.com", 10),
            phone("bob@x.com", 10),
            '{"user": "' + escaped + '", "timestamp": true, "x": 0, "y": 0, "z": 0}',
        ],
        step_trainer=[step("S1", 10), step("S2", 10), step("S3", 10)],
    )
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert files_holding(warehouse / "stedi", "@odos.gr")  # the search finds the address where it is
    forget(str(warehouse), ["οδος@odos.gr", "İVAN@X.COM"])
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    wh = Warehouse(warehouse)
    assert wh.read("customer_trusted").column("email").to_pylist() == ["bob@x.com"]
    assert wh.read("accelerometer_trusted").column("user").to_pylist() == ["bob@x.com"]
    assert wh.read("machine_learning_curated").num_rows == 1
    assert wh.read("customer_quarantine").num_rows == wh.read("accelerometer_quarantine").num_rows == 0
    assert files_holding(warehouse / "stedi", "@odos.gr") == []


def test_an_address_with_a_no_break_space_is_erased_when_named_with_it(tmp_path: Path) -> None:
    # The contract trims space, tab, CR and LF only: "jane@x.com" + U+00A0 is an address of its own.
    held = "jane@x.com\u00a0"
    landing = write_landing(
        tmp_path / "landing",
        customer=[customer(held, "S1"), customer("bob@x.com", "S2")],
        accelerometer=[phone(held, 10), phone("bob@x.com", 10)],
        step_trainer=[step("S1", 10), step("S2", 10)],
    )
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    assert sorted(Warehouse(warehouse).read("customer_trusted").column("email").to_pylist()) == ["bob@x.com", held]
    done = stedi("forget", held, "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stderr
    run(Settings(landing=str(landing), warehouse=str(warehouse)))
    wh = Warehouse(warehouse)
    assert wh.read("customer_trusted").column("email").to_pylist() == ["bob@x.com"]
    assert wh.read("machine_learning_curated").num_rows == 1
