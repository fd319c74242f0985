"""Identity, consent, ownership and the ML join on small hand-built landing data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stedi.config import Settings
from stedi.pipeline.run import run
from stedi.warehouse.catalog import Warehouse
from tests.support.landing import customer, phone, sid, step


def build(
    make_landing: Any, tmp_path: Path, policy: str = "all", join: str = "owner", **sources: Any
) -> dict[str, list[dict[str, Any]]]:
    root = make_landing(**sources)
    warehouse = tmp_path / "wh"
    run(Settings(landing=str(root), warehouse=str(warehouse), consent_policy=policy, ml_join=join))
    wh = Warehouse(warehouse)
    return {name: wh.read(name).to_pylist() for name in wh.table_names()}


def test_withdrawn_consent_removes_customer_from_trusted(make_landing: Any, tmp_path: Path) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer("a@x.com", "S1", updated=1, consent=1), customer("a@x.com", "S1", updated=2, consent=None)],
        accelerometer=[phone("a@x.com", 10)],
        step_trainer=[step("S1", 10)],
    )
    assert t["customer_trusted"] == []
    assert t["accelerometer_trusted"] == [] and t["step_trainer_trusted"] == [] and t["machine_learning_curated"] == []


def test_later_consent_stands_over_an_earlier_refusal(make_landing: Any, tmp_path: Path) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer("a@x.com", "S1", updated=5, consent=4), customer("a@x.com", "S1", updated=2, consent=None)],
    )
    assert [(c["email"], c["lastUpdateDate"]) for c in t["customer_trusted"]] == [("a@x.com", 5)]


def test_case_and_space_varied_emails_are_one_customer(make_landing: Any, tmp_path: Path) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer(" Ann@X.com\t", "S1", updated=1), customer("ann@x.COM", "S1", updated=2)],
        accelerometer=[phone("ANN@x.com", 10), phone("ann@x.com ", 10)],
        step_trainer=[step("S1", 10)],
    )
    assert [c["email"] for c in t["customer_trusted"]] == ["ann@x.com"]
    # Exact duplicate readings after normalisation count once.
    assert [(a["user"], a["timestamp"]) for a in t["accelerometer_trusted"]] == [("ann@x.com", 10)]
    assert [m["subject_id"] for m in t["machine_learning_curated"]] == [sid("ann@x.com")]


def test_ties_go_to_the_record_read_later(make_landing: Any, tmp_path: Path) -> None:
    files = {
        "b.json": customer("a@x.com", "FROM-B", consent=1),
        "a.json": customer("a@x.com", "FROM-A1", consent=None) + customer("a@x.com", "FROM-A2", consent=None),
        "c/first.json": customer("b@x.com", "B1") + "\n" + customer("b@x.com", "B2"),
    }
    t = build(make_landing, tmp_path, customer=files)
    assert sorted((c["email"], c["serialNumber"]) for c in t["customer_trusted"]) == [
        ("a@x.com", "FROM-B"),
        ("b@x.com", "B2"),
    ]


def test_greater_registration_date_breaks_a_last_update_tie_before_read_order(
    make_landing: Any, tmp_path: Path
) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer("a@x.com", "NEWER", registered=9), customer("a@x.com", "OLDER", registered=3)],
    )
    assert [c["serialNumber"] for c in t["customer_trusted"]] == ["NEWER"]


def test_shared_serial_goes_to_the_single_holder_with_a_phone_reading_at_that_instant(
    make_landing: Any, tmp_path: Path
) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer("a@x.com", "S"), customer("b@x.com", "S"), customer("c@x.com", "ONLY-C")],
        accelerometer=[phone("a@x.com", 10), phone("a@x.com", 20), phone("b@x.com", 20), phone("c@x.com", 50)],
        step_trainer=[step("S", 10), step("S", 20), step("S", 30), step("ONLY-C", 40), step("NOBODY", 10)],
    )
    owned = sorted((s["serialNumber"], s["sensorReadingTime"], s["email"]) for s in t["step_trainer_trusted"])
    # t=10: only a's phone; t=20: both phones (ambiguous); t=30: neither; ONLY-C: a single holder owns it.
    assert owned == [("ONLY-C", 40, "c@x.com"), ("S", 10, "a@x.com")]
    assert [(m["serialNumber"], m["sensorReadingTime"]) for m in t["machine_learning_curated"]] == [("S", 10)]


def test_every_step_trainer_reading_without_an_owner_is_counted_under_its_reason(
    make_landing: Any, tmp_path: Path
) -> None:
    holders = [("a@x.com", "S"), ("b@x.com", "S"), ("c@x.com", "ONLY-C")] + [(f"{e}@x.com", "T") for e in "def"]
    phones = [("a@x.com", 10), ("a@x.com", 20), ("b@x.com", 20), ("c@x.com", 40), ("d@x.com", 60)]
    phones += [("e@x.com", 80), ("f@x.com", 80)]
    steps = [("S", 10), ("S", 20), ("S", 30), ("T", 60), ("T", 70), ("T", 80), ("ONLY-C", 40)]
    steps += [("NOBODY", 10), ("NOBODY", 11)]
    root = make_landing(
        customer=[customer(email, serial) for email, serial in holders],
        accelerometer=[phone(email, t) for email, t in phones],
        step_trainer=[step(serial, t) for serial, t in steps],
    )
    result = run(Settings(landing=str(root), warehouse=str(tmp_path / "wh")))
    trusted = result.table("step_trainer_trusted")
    # Owned: S at 10 (a), T at 60 (d), ONLY-C at 40 (c). No single owner: S at 20 (two phones) and 30
    # (none), T at 70 (none) and 80 (two of three holders' phones). No holder: NOBODY's two readings.
    assert (trusted.rows_in, trusted.rows_out) == (9, 3)
    assert [(d.code, d.count) for d in trusted.drops] == [("unheld_serial", 2), ("no_single_owner", 4)]


def test_owner_without_consent_keeps_the_reading_out_even_if_another_holder_consents(
    make_landing: Any, tmp_path: Path
) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer("a@x.com", "S", consent=1), customer("b@x.com", "S", consent=None)],
        accelerometer=[phone("a@x.com", 5), phone("b@x.com", 10)],
        step_trainer=[step("S", 10)],
    )
    assert t["step_trainer_trusted"] == []


def test_serial_numbers_are_compared_exactly_as_written(make_landing: Any, tmp_path: Path) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer("a@x.com", "abc")],
        accelerometer=[phone("a@x.com", 10)],
        step_trainer=[step("ABC", 10), step(" abc", 10), step("abc", 10)],
    )
    assert [s["serialNumber"] for s in t["step_trainer_trusted"]] == ["abc"]


def test_owner_join_pairs_only_the_owners_phone_and_timestamp_join_pairs_any(make_landing: Any, tmp_path: Path) -> None:
    sources = {
        "customer": [customer("a@x.com", "SA"), customer("b@x.com", "SB")],
        "accelerometer": [phone("a@x.com", 10, x=1.0), phone("b@x.com", 10, x=2.0)],
        "step_trainer": [step("SA", 10)],
    }
    owner = build(make_landing, tmp_path / "o", **sources)
    assert [(m["subject_id"], m["x"]) for m in owner["machine_learning_curated"]] == [(sid("a@x.com"), 1.0)]
    compat = build(make_landing, tmp_path / "t", join="timestamp", **sources)
    assert sorted((m["subject_id"], m["x"]) for m in compat["machine_learning_curated"]) == [
        (sid("a@x.com"), 1.0),
        (sid("a@x.com"), 2.0),
    ]


def test_as_of_policy_drops_readings_before_consent(make_landing: Any, tmp_path: Path) -> None:
    t = build(
        make_landing,
        tmp_path,
        policy="as-of",
        customer=[customer("a@x.com", "S", consent=20)],
        accelerometer=[phone("a@x.com", 10), phone("a@x.com", 20), phone("a@x.com", 30)],
        step_trainer=[step("S", 10), step("S", 20), step("S", 30)],
    )
    assert sorted(a["timestamp"] for a in t["accelerometer_trusted"]) == [20, 30]
    assert sorted(s["sensorReadingTime"] for s in t["step_trainer_trusted"]) == [20, 30]
    assert sorted(m["sensorReadingTime"] for m in t["machine_learning_curated"]) == [20, 30]


def test_customer_without_phone_readings_is_trusted_but_not_curated(make_landing: Any, tmp_path: Path) -> None:
    t = build(
        make_landing,
        tmp_path,
        customer=[customer("a@x.com", "S"), customer("b@x.com", "T")],
        accelerometer=[phone("a@x.com", 1)],
    )
    assert sorted(c["email"] for c in t["customer_trusted"]) == ["a@x.com", "b@x.com"]
    assert [c["email"] for c in t["customer_curated"]] == ["a@x.com"]
